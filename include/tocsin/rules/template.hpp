#pragma once
// Alert label and annotation templates: the subset of Go's text/template that Prometheus rule files
// use, with Prometheus's functions. `{{ $labels.instance }}`, `{{ $value | humanizePercentage }}`,
// `{{ printf "%.2f" $value }}`, `{{ printf "%s" (humanize $value) }}` (parenthesised pipelines),
// `{{ $externalLabels.cluster }}`, `{{- ... -}}` trimming.
// Control structures (if/range/with), variables, `query` and template definitions are not supported; a
// template using them is rejected at load time with a message saying so.

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tocsin/core/labels.hpp"

namespace tocsin::rules {

class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TemplateData {
  const Labels* labels = nullptr;  // the alert's labels (without __name__)
  double value = 0;
  const Labels* external_labels = nullptr;
  std::string external_url;
};

class Template {
 public:
  // Throws TemplateError for syntax errors and unsupported constructs.
  explicit Template(std::string_view text);
  // Throws TemplateError for errors only visible with data (printf of a missing argument, ...).
  std::string render(const TemplateData& data) const;
  bool is_constant() const;

  struct Node;  // parsed pieces; defined in template.cpp

 private:
  std::shared_ptr<const std::vector<Node>> nodes_;
};

// Prometheus's template functions, also used by notifications.
std::string humanize(double v);
std::string humanize_1024(double v);
std::string humanize_percentage(double v);
std::string humanize_duration(double seconds);
// Go's %v of a float64 ("1.5", "1e+06", "NaN", "+Inf").
std::string go_float(double v);

}  // namespace tocsin::rules
