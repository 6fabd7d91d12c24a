// Alert templates (Go's text/template with Prometheus's functions): parse, then render with labels,
// a value and a query function. Errors are TemplateError; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tocsin/rules/template.hpp"

using tocsin::Labels;
using tocsin::rules::Template;
using tocsin::rules::TemplateData;
using tocsin::rules::TemplateError;
using tocsin::rules::TemplateSample;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const Labels labels =
      Labels::from_unsorted({{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}});
  static const Labels external = Labels::from_unsorted({{"cluster", "eu1"}});
  try {
    Template t(text, "fuzz");
    TemplateData d;
    d.labels = &labels;
    d.external_labels = &external;
    d.value = 0.25;
    d.external_url = "http://tocsin.example:9099";
    d.query = [](const std::string&) {
      return std::vector<TemplateSample>{{labels, 3.5}, {external, -1e300}};
    };
    (void)t.render(d);
  } catch (const TemplateError&) {
  }
  return 0;
}
