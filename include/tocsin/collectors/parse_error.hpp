#pragma once
// The error the collectors' pure parsers throw for malformed text (a procfs or cgroupfs file, a
// server's reply): what is wrong and on which line. The caller adds the file or command name.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace tocsin::collectors {

// `line` is 1-based, 0 when the problem is the text as a whole (empty, truncated).
class ParseError : public std::runtime_error {
 public:
  ParseError(std::size_t line, const std::string& message) : std::runtime_error(message), line_(line) {}
  std::size_t line() const { return line_; }

 private:
  std::size_t line_;
};

}  // namespace tocsin::collectors
