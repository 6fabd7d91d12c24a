#include "tocsin/yaml/decoder.hpp"

#include <yaml-cpp/depthguard.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "tocsin/core/file_read.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::yaml {

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace {

Position position_of(const YAML::Node& node, const std::string& file) {
  Position p{file, 0, 0};
  if (node) {
    YAML::Mark m = node.Mark();
    if (m.line >= 0) p.line = m.line + 1;
    if (m.column >= 0) p.column = m.column + 1;
  }
  return p;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

// Where flow collections ([ and {) first nest `depth` deep in `text`, quoted scalars and comments
// skipped; the document's start when they never do (block nesting).
Position too_deep_position(const std::string& text, const std::string& file, int depth) {
  int line = 1, column = 0, open = 0;
  char quote = 0;
  bool comment = false;
  for (char c : text) {
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      comment = true;
    } else if (c == '[' || c == '{') {
      if (++open >= depth) return {file, line, column};
    } else if ((c == ']' || c == '}') && open > 0) {
      --open;
    }
  }
  return {file, 1, 1};
}

// The credentials a scalar carries whatever its key: a URL's user:password@ and a connection string's
// password=... .
void redact_credentials_in(const std::string& text, Diagnostics& diagnostics) {
  if (auto scheme = text.find("://"); scheme != std::string::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t end = text.find_first_of("/?#", start);
    const std::size_t at = text.rfind('@', end == std::string::npos ? text.size() : end);
    if (at != std::string::npos && at > start) {
      // As Prometheus does: the user stays, the password goes (http://user:<secret>@host); a userinfo
      // without a password is a token and goes whole.
      const std::string userinfo = text.substr(start, at - start);
      if (auto colon = userinfo.find(':'); colon != std::string::npos)
        diagnostics.redact(userinfo.substr(colon + 1));
      else
        diagnostics.redact(userinfo);
    }
  }
  for (std::size_t p = text.find("password="); p != std::string::npos; p = text.find("password=", p + 1)) {
    const std::size_t start = p + 9;
    diagnostics.redact(text.substr(start, text.find_first_of(" \t", start) - start));
  }
}

// Registers with `diagnostics` every value of `root` that is a secret: the scalars under a secret key
// (is_secret_key) or under `headers` (header values carry credentials), and credentials inside any
// scalar. Iterative: yaml-cpp bounds the depth, but the walk need not rely on it.
void redact_secrets_of(const YAML::Node& root, Diagnostics& diagnostics) {
  std::vector<std::pair<YAML::Node, bool>> stack{{root, false}};
  while (!stack.empty()) {
    auto [node, secret] = stack.back();
    stack.pop_back();
    if (!node) continue;
    if (node.IsScalar()) {
      if (secret) diagnostics.redact(node.Scalar());
      redact_credentials_in(node.Scalar(), diagnostics);
    } else if (node.IsSequence()) {
      for (const YAML::Node& item : node) stack.emplace_back(item, secret);
    } else if (node.IsMap()) {
      for (const auto& entry : node) {
        const bool key_secret = entry.first.IsScalar() &&
                                (is_secret_key(entry.first.Scalar()) || entry.first.Scalar() == "headers");
        stack.emplace_back(entry.second, secret || key_secret);
      }
    }
  }
}

// The last key of a node's path (`collectors.redis[0].password` -> `password`).
std::string_view last_key(std::string_view path) {
  while (path.ends_with(']')) path = path.substr(0, path.rfind('['));
  if (auto dot = path.rfind('.'); dot != std::string_view::npos) path.remove_prefix(dot + 1);
  return path;
}

std::string kind_of(const YAML::Node& node) {
  if (!node || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return quote(node.Scalar());
}

}  // namespace

Position Node::position() const { return position_of(yaml_, ctx_->file); }

void Node::error(std::string message) const {
  ctx_->diagnostics->error(position(), path_, std::move(message));
}

std::string Node::kind() const { return kind_of(yaml_); }

std::optional<std::string> Node::as_raw_string() const {
  if (!yaml_.IsScalar()) {
    error("expected a string, got " + kind_of(yaml_));
    return std::nullopt;
  }
  return yaml_.Scalar();
}

std::optional<std::string> Node::as_string() const {
  auto raw = as_raw_string();
  if (!raw) return std::nullopt;
  const std::string& s = *raw;
  if (s.find('$') == std::string::npos) return raw;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 == s.size()) {
      out += s[i];
    } else if (s[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (s[i + 1] == '{') {
      std::size_t close = s.find('}', i + 2);
      if (close == std::string::npos) {
        error("unterminated ${ in " + quote(s));
        return std::nullopt;
      }
      std::string name = s.substr(i + 2, close - i - 2);
      std::optional<std::string> fallback;  // ${NAME:-default}, as in the shell
      if (auto sep = name.find(":-"); sep != std::string::npos) {
        fallback = name.substr(sep + 2);
        name.resize(sep);
      }
      auto value = ctx_->env ? ctx_->env(name) : std::nullopt;
      if (!value || (value->empty() && fallback)) value = fallback;
      if (!value) {
        error("environment variable " + name + " is not set");
        return std::nullopt;
      }
      out += *value;
      i = close;
      // A variable's value is as secret as the key it is given to.
      if (is_secret_key(last_key(path_)) || path_.find(".headers.") != std::string::npos)
        ctx_->diagnostics->redact(*value);
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<bool> Node::as_bool() const {
  if (yaml_.IsScalar()) {
    const std::string& s = yaml_.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error("expected true or false, got " + kind_of(yaml_));
  return std::nullopt;
}

std::optional<long long> Node::as_int() const {
  if (yaml_.IsScalar()) {
    const std::string& s = yaml_.Scalar();
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
  }
  error("expected an integer, got " + kind_of(yaml_));
  return std::nullopt;
}

std::optional<double> Node::as_double() const {
  if (yaml_.IsScalar()) {
    const std::string& s = yaml_.Scalar();
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
  }
  error("expected a number, got " + kind_of(yaml_));
  return std::nullopt;
}

std::optional<Duration> Node::as_duration() const {
  if (!yaml_.IsScalar()) {
    error("expected a duration like 15s, got " + kind_of(yaml_));
    return std::nullopt;
  }
  auto d = parse_duration(yaml_.Scalar());
  if (!d) {
    error("invalid duration " + quote(yaml_.Scalar()) + " (use e.g. 500ms, 15s, 5m, 1h30m, 2d)");
    return std::nullopt;
  }
  // Longer than anything can wait for, and past ~292 years a timer's nanoseconds overflow (it fires
  // at once, again and again).
  if (*d > kMaxConfigDuration) {
    error("duration " + quote(yaml_.Scalar()) + " out of range: at most " +
          format_duration(kMaxConfigDuration));
    return std::nullopt;
  }
  return d;
}

std::vector<Node> Node::items() const {
  std::vector<Node> out;
  if (!yaml_.IsSequence()) {
    error("expected a list, got " + kind_of(yaml_));
    return out;
  }
  for (std::size_t i = 0; i < yaml_.size(); ++i) {
    out.emplace_back(yaml_[i], path_ + "[" + std::to_string(i) + "]", ctx_);
  }
  return out;
}

Node Node::child(const YAML::Node& value, std::string_view key) const {
  return Node(value, path_.empty() ? std::string(key) : path_ + "." + std::string(key), ctx_);
}

bool decode(const Node& node, std::string& out) {
  auto v = node.as_string();
  if (v) out = std::move(*v);
  return v.has_value();
}

bool decode(const Node& node, bool& out) {
  auto v = node.as_bool();
  if (v) out = *v;
  return v.has_value();
}

bool decode(const Node& node, long long& out) {
  auto v = node.as_int();
  if (v) out = *v;
  return v.has_value();
}

bool decode(const Node& node, int& out) {
  auto v = node.as_int();
  if (!v) return false;
  if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
    node.error("integer out of range: " + std::to_string(*v));
    return false;
  }
  out = static_cast<int>(*v);
  return true;
}

bool decode(const Node& node, unsigned& out) {
  auto v = node.as_int();
  if (!v) return false;
  if (*v < 0 || *v > std::numeric_limits<unsigned>::max()) {
    node.error("expected a non-negative integer, got " + std::to_string(*v));
    return false;
  }
  out = static_cast<unsigned>(*v);
  return true;
}

bool decode(const Node& node, double& out) {
  auto v = node.as_double();
  if (v) out = *v;
  return v.has_value();
}

bool decode(const Node& node, Duration& out) {
  auto v = node.as_duration();
  if (v) out = *v;
  return v.has_value();
}

bool decode(const Node& node, std::map<std::string, std::string>& out) {
  if (node.is_null()) return true;
  if (!node.is_map()) {
    node.error("expected a mapping of names to strings, got " + kind_of(node.yaml()));
    return false;
  }
  bool ok = true;
  out.clear();
  for (const auto& entry : node.yaml()) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    std::string value;
    if (decode(node.child(entry.second, key), value)) {
      out[key] = std::move(value);
    } else {
      ok = false;
    }
  }
  return ok;
}

MapDecoder::MapDecoder(const Node& node) : node_(node) {
  if (node.is_null()) return;
  if (!node.is_map()) {
    node.error("expected a mapping, got " + kind_of(node.yaml()));
    valid_ = false;
    return;
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& entry : node.yaml()) {
    if (!entry.first.IsScalar()) {
      node.context().diagnostics->error(position_of(entry.first, node.context().file), node.path(),
                                        "keys must be strings");
      continue;
    }
    if (!seen.insert(entry.first.Scalar()).second) {
      node.context().diagnostics->error(position_of(entry.first, node.context().file),
                                        node.child(entry.second, entry.first.Scalar()).path(),
                                        "duplicate key");
    }
  }
}

bool MapDecoder::has(std::string_view key) const {
  if (!valid_ || !node_.is_map()) return false;
  for (const auto& entry : node_.yaml()) {
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return true;
  }
  return false;
}

std::optional<Node> MapDecoder::get(std::string_view key) {
  known_.insert(std::string(key));
  if (!valid_ || !node_.is_map()) return std::nullopt;
  for (const auto& entry : node_.yaml()) {
    if (entry.first.IsScalar() && entry.first.Scalar() == key) return node_.child(entry.second, key);
  }
  return std::nullopt;
}

void MapDecoder::missing(std::string_view key) const {
  std::string path = node_.path().empty() ? std::string(key) : node_.path() + "." + std::string(key);
  node_.context().diagnostics->error(node_.position(), path, "missing required key");
}

bool MapDecoder::positive(std::string_view key, std::optional<Duration>& out) {
  auto child = get(key);
  if (!child || child->is_null()) return true;
  Duration value{};
  if (!decode(*child, value)) return false;
  if (value.count() <= 0) {
    child->error("must be positive");
    return false;
  }
  out = value;
  return true;
}

bool MapDecoder::positive(std::string_view key, Duration& out) {
  std::optional<Duration> value;
  if (!positive(key, value)) return false;
  if (value) out = *value;
  return true;
}

bool MapDecoder::secret(std::string_view key, Secret& out, bool required) {
  std::string file_key = std::string(key) + "_file";
  auto inline_node = get(key);
  auto file_node = get(file_key);
  bool has_inline = inline_node && !inline_node->is_null();
  bool has_file = file_node && !file_node->is_null();
  if (has_inline && has_file) {
    file_node->error("give either " + std::string(key) + " or " + file_key + ", not both");
    return false;
  }
  if (has_inline) {
    // Never quote the value in an error: it is a secret.
    if (!inline_node->is_scalar()) {
      inline_node->error("expected a string");
      return false;
    }
    // Whatever key the code reads as a secret (a Slack webhook's url, say) is redacted from here on,
    // in messages about the value itself too.
    node_.context().diagnostics->redact(inline_node->yaml().Scalar());
    auto v = inline_node->as_string();
    if (!v) return false;
    node_.context().diagnostics->redact(*v);
    out = Secret(std::move(*v));
    return true;
  }
  if (has_file) {
    auto path = file_node->as_string();
    if (!path) return false;
    std::string resolved = resolve_path(node_.context(), *path);
    std::string why;
    auto content = read_regular_file(resolved, kMaxSecretFileBytes, why);
    if (!content) {
      file_node->error("cannot read " + resolved + ": " + why);
      return false;
    }
    std::string value = std::move(*content);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    node_.context().diagnostics->redact(value);
    out = Secret(std::move(value));
    return true;
  }
  if (required) missing(key);
  return !required;
}

void MapDecoder::finish() {
  if (!valid_ || !node_.is_map()) return;
  for (const auto& entry : node_.yaml()) {
    if (!entry.first.IsScalar()) continue;
    const std::string& key = entry.first.Scalar();
    if (known_.count(key) == 0) {
      node_.context().diagnostics->error(position_of(entry.first, node_.context().file),
                                         node_.child(entry.second, key).path(), "unknown key");
    }
  }
}

std::optional<std::vector<YAML::Node>> parse_yaml_documents(const std::string& text, const std::string& file,
                                                            Diagnostics& diagnostics) {
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    for (const YAML::Node& d : documents) redact_secrets_of(d, diagnostics);
    return documents;
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp stops at 500 levels but marks where the document starts: find the bracket that went
    // too deep.
    Position p = too_deep_position(text, file, e.depth());
    diagnostics.error(p, "", "YAML nested deeper than " + std::to_string(e.depth()) + " levels");
  } catch (const YAML::Exception& e) {
    Position p{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
    diagnostics.error(p, "", "YAML syntax error: " + e.msg);
  }
  return std::nullopt;
}

YAML::Node parse_yaml_string(const std::string& text, const std::string& file, Diagnostics& diagnostics) {
  auto documents = parse_yaml_documents(text, file, diagnostics);
  if (!documents) return YAML::Node(YAML::NodeType::Undefined);
  // One document per file: a second one would be dropped unread (an empty one after `---` drops
  // nothing).
  for (std::size_t i = 1; i < documents->size(); ++i) {
    if ((*documents)[i].IsNull()) continue;
    diagnostics.error(position_of((*documents)[i], file), "",
                      "a second YAML document (after ---): a file holds one document; put everything in "
                      "the first");
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return documents->empty() ? YAML::Node() : documents->front();
}

YAML::Node parse_yaml_file(const std::string& path, Diagnostics& diagnostics) {
  std::string why;
  auto text = read_regular_file(path, kMaxConfigFileBytes, why);
  if (!text) {
    diagnostics.error({path, 0, 0}, "", "cannot read file: " + why);
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return parse_yaml_string(*text, path, diagnostics);
}

std::string resolve_path(const DecodeContext& ctx, const std::string& path) {
  if (path.empty() || path[0] == '/' || ctx.base_dir.empty()) return path;
  return (std::filesystem::path(ctx.base_dir) / path).lexically_normal().string();
}

bool check_http_url(const Node& node, const std::string& url, bool secret) {
  auto quoted = [&] {
    std::string out = "\"";
    append_escaped_label_value(out, url);
    return out + '"';
  };
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    node.error(secret ? "expected an http:// or https:// URL"
                      : "expected an http:// or https:// URL, got " + quoted());
    return false;
  }
  std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.starts_with(':')) {
    node.error(secret ? "URL has no host" : "URL has no host: " + quoted());
    return false;
  }
  return true;
}

}  // namespace tocsin::yaml
