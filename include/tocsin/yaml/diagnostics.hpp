#pragma once
// Errors in user input (config, rule files), each with a position and a key path, all reported at
// once: `config/tocsin.yaml:12:7: collectors.redis[0].interval: invalid duration "15x"`.

#include <string>
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
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
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

 private:
  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace tocsin::yaml
