#pragma once
// Alert label and annotation templates: Go's text/template language, as Prometheus 2.42 runs it for
// rule templates (if/else if/else, with, range with break and continue, define/template/block,
// variables, pipelines, Go's builtins) with Prometheus's functions (query, humanize, ...). The
// implementation lives in src/rules/template/ (lexer, parser, exec, functions, Go's fmt).
//
// As Prometheus does, every template is run as the text
//   {{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}
//   {{$value := .Value}}<template>
// named "__alert_<rule name>", so error messages (and the columns in them) read as Prometheus's.

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/core/labels.hpp"

namespace tocsin::rules {

// A template that does not parse (thrown by the constructor) or fails with some data (by render).
// what() is Go's text: "template: __alert_X:1: function \"nosuch\" not defined" at parse,
// "error executing template __alert_X: template: __alert_X:1:125: executing ..." at render.
class TemplateError : public std::runtime_error {
 public:
  TemplateError(const std::string& message, int line = 0, int column = 0)
      : std::runtime_error(message), line_(line), column_(column) {}
  // Where in the template text as written (without Prometheus's prefix), 1-based; 0 when unknown.
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_;
  int column_;
};

// One sample of a `query` result.
struct TemplateSample {
  Labels labels;  // with __name__ when the expression keeps it
  double value = 0;
};
// Runs a PromQL instant query at the alert's evaluation time; throws std::exception on failure (the
// text becomes the template's error, as Prometheus's "error calling query: ...").
using TemplateQuery = std::function<std::vector<TemplateSample>(const std::string& expr)>;

struct TemplateData {
  const Labels* labels = nullptr;  // $labels: the result sample's labels (with __name__ if kept)
  double value = 0;                // $value
  const Labels* external_labels = nullptr;
  std::string external_url;
  TemplateQuery query;  // unset: `query` fails with "no query function"
};

class Template {
 public:
  // Parses `text` as the template named "__alert_<alert_name>". Throws TemplateError (with the position
  // in `text`) where Prometheus's load (rulefmt's template parse test) fails.
  explicit Template(std::string_view text, std::string_view alert_name = "");
  // Throws TemplateError for errors only visible with data (humanize of a non-number, a range over a
  // number, the depth, output and step limits, ...).
  std::string render(const TemplateData& data) const;
  // No action at all: the text is the value.
  bool is_constant() const;

  struct Parsed;  // the parse trees; src/rules/template/

 private:
  std::shared_ptr<const Parsed> parsed_;
};

// Prometheus's template functions, also used by notifications.
std::string humanize(double v);
std::string humanize_1024(double v);
std::string humanize_percentage(double v);
std::string humanize_duration(double seconds);
// Go's %v of a float64 ("1.5", "1e+06", "NaN", "+Inf").
std::string go_float(double v);

}  // namespace tocsin::rules
