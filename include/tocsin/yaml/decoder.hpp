#pragma once
// Decoding YAML into typed structs with positions: each struct has a `decode(const Node&, T&)`
// (found by argument-dependent lookup) that reads its keys through a MapDecoder, which reports
// missing required keys, wrong types and, at finish(), every key nobody read (unknown keys).
// Errors go to a Diagnostics; decoding goes on so that all errors are reported at once.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/yaml/diagnostics.hpp"
#include "tocsin/yaml/secret.hpp"

namespace tocsin::yaml {

// The longest duration a config or rule file may give (100y): every timer can hold it.
inline constexpr Duration kMaxConfigDuration = std::chrono::hours(24 * 365 * 100);

// Looks up environment variables for ${VAR} expansion; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_environment();

// Shared by all nodes of one document.
struct DecodeContext {
  std::string file;      // for positions
  std::string base_dir;  // relative paths (secret files, rule globs) resolve against it
  Diagnostics* diagnostics;
  EnvLookup env;
};

class Node {
 public:
  Node(YAML::Node yaml, std::string path, const DecodeContext* context)
      : yaml_(std::move(yaml)), path_(std::move(path)), ctx_(context) {}

  const YAML::Node& yaml() const { return yaml_; }
  const std::string& path() const { return path_; }
  const DecodeContext& context() const { return *ctx_; }
  Position position() const;
  bool is_null() const { return !yaml_ || yaml_.IsNull(); }
  bool is_map() const { return yaml_.IsMap(); }
  bool is_sequence() const { return yaml_.IsSequence(); }
  bool is_scalar() const { return yaml_.IsScalar(); }

  // Reports an error at this node.
  void error(std::string message) const;
  // What the node holds, for messages: "a mapping", "a list", "nothing" or the quoted scalar.
  std::string kind() const;

  // Scalars. On a type mismatch each reports an error and returns nullopt. Strings have ${VAR}
  // and ${VAR:-default} expanded ($$ is a literal $); an unset variable without a default is an
  // error.
  std::optional<std::string> as_string() const;
  std::optional<std::string> as_raw_string() const;  // no ${VAR} expansion
  std::optional<bool> as_bool() const;
  std::optional<long long> as_int() const;
  std::optional<double> as_double() const;
  std::optional<Duration> as_duration() const;

  // Sequence items with paths like `parent[3]`; reports an error when not a sequence.
  std::vector<Node> items() const;
  // A child for a map entry, path `parent.key`.
  Node child(const YAML::Node& value, std::string_view key) const;

 private:
  YAML::Node yaml_;
  std::string path_;
  const DecodeContext* ctx_;
};

// Scalar and container decoders; return false (after reporting) on error.
bool decode(const Node& node, std::string& out);
bool decode(const Node& node, bool& out);
bool decode(const Node& node, int& out);
bool decode(const Node& node, long long& out);
bool decode(const Node& node, unsigned& out);
bool decode(const Node& node, double& out);
bool decode(const Node& node, Duration& out);
bool decode(const Node& node, std::map<std::string, std::string>& out);

template <typename T>
bool decode(const Node& node, std::optional<T>& out) {
  T value{};
  if (!decode(node, value)) return false;
  out = std::move(value);
  return true;
}

template <typename T>
bool decode(const Node& node, std::vector<T>& out) {
  if (node.is_null()) return true;
  if (!node.is_sequence()) {
    node.error("expected a list, got " + node.kind());
    return false;
  }
  bool ok = true;
  out.clear();
  for (const Node& item : node.items()) {
    T value{};
    if constexpr (std::is_void_v<decltype(decode(item, value))>) {
      // Struct decoders report their own errors and keep what they could read.
      decode(item, value);
      out.push_back(std::move(value));
    } else if (decode(item, value)) {
      out.push_back(std::move(value));
    } else {
      ok = false;
    }
  }
  return ok;
}

class MapDecoder {
 public:
  // Reports an error when the node is neither a mapping nor empty.
  explicit MapDecoder(const Node& node);
  ~MapDecoder() = default;

  bool valid() const { return valid_; }
  const Node& node() const { return node_; }
  bool has(std::string_view key) const;
  // The child under `key`, marking the key as known.
  std::optional<Node> get(std::string_view key);

  template <typename T>
  bool optional(std::string_view key, T& out) {
    auto child = get(key);
    if (!child || child->is_null()) return true;
    return decode(*child, out);
  }
  template <typename T>
  bool required(std::string_view key, T& out) {
    auto child = get(key);
    if (!child || child->is_null()) {
      missing(key);
      return false;
    }
    return decode(*child, out);
  }
  // An optional duration that must be more than zero: a zero or negative one is reported at its key
  // ("must be positive") and leaves `out` as it was. Returns false on any error.
  bool positive(std::string_view key, Duration& out);
  bool positive(std::string_view key, std::optional<Duration>& out);
  // A secret given inline as `key` (with ${VAR} expansion) or read from the file named by
  // `key_file` (trailing newline dropped). Both at once is an error.
  bool secret(std::string_view key, Secret& out, bool required = false);

  // Accepts a key without reading it (decoded elsewhere).
  void accept(std::string_view key) { known_.insert(std::string(key)); }
  void missing(std::string_view key) const;
  // Reports every key that was present but never read.
  void finish();

 private:
  Node node_;
  bool valid_ = true;
  std::set<std::string, std::less<>> known_;
};

// Parses a YAML document, reporting syntax errors with their position. Returns a null node on error.
YAML::Node parse_yaml_file(const std::string& path, Diagnostics& diagnostics);
YAML::Node parse_yaml_string(const std::string& text, const std::string& file, Diagnostics& diagnostics);
// Every document of a multi-document text (OpenSLO files hold one SLO each); nullopt after an error.
std::optional<std::vector<YAML::Node>> parse_yaml_documents(const std::string& text, const std::string& file,
                                                            Diagnostics& diagnostics);

// Resolves `path` against the context's base_dir unless it is absolute.
std::string resolve_path(const DecodeContext& ctx, const std::string& path);

// Checks that `url` is an http:// or https:// URL with a host, reporting on `node` when not. A secret
// URL (it may carry a token) is never repeated in the message.
bool check_http_url(const Node& node, const std::string& url, bool secret);

}  // namespace tocsin::yaml
