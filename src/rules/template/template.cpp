// rules::Template: parses once with Prometheus's prefix of variable definitions, executes per alert.

#include "tocsin/rules/template.hpp"

#include "rules/template/exec.hpp"
#include "rules/template/format.hpp"
#include "rules/template/functions.hpp"
#include "rules/template/parse.hpp"

namespace tocsin::rules {

namespace {

// What Prometheus's AlertingRule.Eval (and rulefmt's parse test) put before every template.
constexpr std::string_view kPrefix =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}"
    "{{$value := .Value}}";

// 1-based line and column in the template as written of byte offset `pos` in the prefixed text.
std::pair<int, int> user_position(std::string_view text, std::size_t pos) {
  if (pos < kPrefix.size()) return {1, 1};
  pos = std::min(pos - kPrefix.size(), text.size());
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(pos - line_start) + 1};
}

std::shared_ptr<const tmpl::StringMap> to_map(const Labels* labels) {
  auto m = std::make_shared<tmpl::StringMap>();
  if (labels != nullptr) {
    for (const Label& l : *labels) m->emplace(l.name, l.value);
  }
  return m;
}

}  // namespace

struct Template::Parsed {
  std::string name;
  std::string text;  // as written
  std::string full;  // with the prefix
  bool constant = false;
  tmpl::Trees trees;
};

Template::Template(std::string_view text, std::string_view alert_name) {
  auto parsed = std::make_shared<Parsed>();
  parsed->name = "__alert_" + std::string(alert_name);
  parsed->text = std::string(text);
  parsed->full = std::string(kPrefix) + parsed->text;
  parsed->constant = text.find("{{") == std::string_view::npos;
  try {
    parsed->trees = tmpl::parse(parsed->full, parsed->name, tmpl::is_function);
  } catch (const tmpl::ParseError& e) {
    const auto [line, column] = user_position(parsed->text, e.pos);
    throw TemplateError(e.what(), line, column);
  }
  parsed_ = std::move(parsed);
}

bool Template::is_constant() const { return parsed_->constant; }

std::string Template::render(const TemplateData& data) const {
  if (parsed_->constant) return parsed_->text;
  auto root = std::make_shared<tmpl::RootData>();
  root->labels = to_map(data.labels);
  root->external_labels = to_map(data.external_labels);
  root->external_url = data.external_url;
  root->value = data.value;
  tmpl::Value dot;
  dot.kind = tmpl::Kind::root;
  dot.root = root;
  const tmpl::Env env{data};
  try {
    return tmpl::execute(parsed_->trees, parsed_->name, parsed_->full, dot, env);
  } catch (const tmpl::ExecError& e) {
    const auto [line, column] = user_position(parsed_->text, e.pos);
    throw TemplateError("error executing template " + parsed_->name + ": " + e.what(), line, column);
  }
}

}  // namespace tocsin::rules
