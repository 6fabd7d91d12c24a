#pragma once
// A pull parser for the two exposition formats Prometheus scrapes: the text format 0.0.4 and
// OpenMetrics 1.0. Pure (no I/O, no clock) and cheap: names and label values are views into the
// body, escaped label values are unescaped into one scratch buffer the parser reuses, so a sample
// costs no allocation. Malformed input throws ExpositionError with the line and column (1-based, in
// bytes); the caller names the target. A scrape with one bad line is rejected whole, as Prometheus
// rejects it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/core/sample.hpp"
#include "tocsin/store/batch.hpp"

namespace tocsin::collectors::scrape {

enum class Format { text, openmetrics };

// The format a Content-Type announces: OpenMetrics for application/openmetrics-text, the text
// format for anything else (text/plain, an empty or unknown type), as Prometheus decides.
Format format_of(std::string_view content_type);

class ExpositionError : public std::runtime_error {
 public:
  ExpositionError(std::size_t line, std::size_t column, const std::string& message);
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  std::size_t line_;
  std::size_t column_;
  std::string message_;
};

struct ExpositionLabel {
  std::string_view name;
  std::string_view value;  // unescaped
};

enum class EntryKind { sample, type, help, unit };

// One line of meaning. Views are valid until the next call of next().
struct Entry {
  EntryKind kind = EntryKind::sample;
  std::string_view name;                    // the metric name (sample) or the family name (type, help, unit)
  std::span<const ExpositionLabel> labels;  // sample: in the order written, __name__ not among them
  // sample: the series as written, from the name to the end of the label set; a cache key (the same
  // text is the same series)
  std::string_view series;
  double value = 0;
  std::optional<Timestamp> timestamp;                   // sample: milliseconds, when the line has one
  store::MetricType type = store::MetricType::untyped;  // type
  std::string_view text;                                // help (unescaped) or unit
  std::size_t line = 0;
};

class ExpositionParser {
 public:
  ExpositionParser(std::string_view body, Format format);

  // The next entry, or false at the end of the body (after `# EOF` for OpenMetrics). Comments,
  // blank lines (text format) and exemplars are skipped. Throws ExpositionError.
  bool next(Entry& out);

  // Lines read so far.
  std::size_t line() const { return line_no_; }

 private:
  [[noreturn]] void fail(std::size_t pos, const std::string& message) const;
  bool parse_comment(Entry& out);
  void parse_sample(Entry& out);
  std::string_view parse_metric_name();
  void parse_labels(bool exemplar);
  std::string_view parse_label_value();
  double parse_value(const char* what);
  void skip_blanks();
  bool at_line_end() const { return pos_ >= line_end_; }

  std::string_view body_;
  Format format_;
  std::size_t pos_ = 0;         // in body_
  std::size_t line_start_ = 0;  // of the current line
  std::size_t line_end_ = 0;    // of the current line, at its '\n' or the body's end
  std::size_t next_line_ = 0;   // where the next line starts
  std::size_t line_no_ = 0;
  bool eof_seen_ = false;
  std::vector<ExpositionLabel> labels_;
  std::string scratch_;  // unescaped label values and help texts of the current line
};

// Go's strconv.ParseFloat as Prometheus uses it for sample values: decimal, with an optional sign,
// and NaN, Inf, +Inf, -Inf, Infinity in any case. nullopt when the text is not a number.
std::optional<double> parse_go_float(std::string_view text);

}  // namespace tocsin::collectors::scrape
