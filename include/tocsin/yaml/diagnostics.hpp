#pragma once
// Errors in user input (config, rule files), each with a position and a key path, all reported at
// once: `config/tocsin.yaml:12:7: collectors.redis[0].interval: invalid duration "15x"`.

#include <string>
#include <string_view>
#include <vector>

namespace tocsin::yaml {

struct Position {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

struct Diagnostic {
  Position position;
  std::string path;  // the key path, e.g. collectors.redis[0].interval; may be empty
  std::string message;

  std::string to_string() const;
};

class Diagnostics {
 public:
  void error(Position position, std::string path, std::string message);
  // What is accepted but probably not meant (promtool's lint): kept apart, so empty() still means
  // "no errors" and a warning never refuses a file.
  void warn(Position position, std::string path, std::string message);
  void add(Diagnostic d);
  void append(const Diagnostics& other);
  // Orders by file, line and column (stable), so a reader meets them top to bottom.
  void sort();
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  // One diagnostic per line, in the order they were found.
  std::string to_string() const;
  // The warnings, one per line, each starting with "warning: ".
  std::string warnings_to_string() const;

  // Secrets never echoed (docs/reliability.md): from now on, and in what was reported before, every
  // occurrence of `secret` in a message reads "<secret>". parse_yaml_string registers the value of
  // every secret key of the document it parses (is_secret_key, header values, URL credentials), so
  // no decoder has to remember; values shorter than 3 characters are not registered.
  void redact(const std::string& secret);

 private:
  void register_secret(const std::string& secret);
  void redact_in(Diagnostic& d) const;

  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
  std::vector<std::string> secrets_;
};

// Whether a config key holds a secret whose value must never be quoted back: password, token,
// credentials, bearer_token, api_token, routing_key, service_key, api_key, secret, dsn (and any of them
// with a prefix, e.g. redis_password).
bool is_secret_key(std::string_view key);

}  // namespace tocsin::yaml
