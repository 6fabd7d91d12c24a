#pragma once
// A query result as the server sends it in text form: column names and rows of nullable strings.
// The parse functions read Tables, so they are tested without a server.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tocsin::collectors::postgres {

using Field = std::optional<std::string>;  // nullopt is SQL NULL

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Field>> rows;

  // The index of a column, or -1 when the result has none of that name.
  int column(std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

// Postgres's text forms of numbers and booleans: "42", "-1.5e+30", "NaN", "Infinity", "t"/"f".
// nullopt for NULL and for text that is not a number.
std::optional<double> to_number(const Field& field);

}  // namespace tocsin::collectors::postgres
