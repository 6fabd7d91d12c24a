#pragma once
// The PromQL parser: text to a type-checked syntax tree, or an error with its position.

#include <stdexcept>
#include <string>
#include <string_view>

#include "tocsin/promql/ast.hpp"

namespace tocsin::promql {

// what() is "line:column: message", e.g. `1:17: unexpected ")" in aggregation, expected label name`.
// Lines and columns are 1-based; columns count bytes.
class ParseError : public std::runtime_error {
 public:
  ParseError(std::size_t line, std::size_t column, const std::string& message)
      : std::runtime_error(std::to_string(line) + ":" + std::to_string(column) + ": " + message),
        line_(line),
        column_(column),
        message_(message) {}
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  std::size_t line_;
  std::size_t column_;
  std::string message_;
};

// Parses and type-checks an expression. Throws ParseError.
ExprPtr parse(std::string_view text);

}  // namespace tocsin::promql
