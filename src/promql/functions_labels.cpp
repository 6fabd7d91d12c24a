// label_replace() and label_join(): each element keeps its value and gets a destination label built from
// its other labels. Both check literal arguments at parse time, as Prometheus's parser does.

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "promql/functions_common.hpp"

namespace tocsin::promql::detail {

namespace {

// Go's regexp.Expand for label_replace: $1, ${1}, $name, ${name}, $$.
std::string expand(const std::string& tmpl, const re2::RE2& re, const std::vector<std::string_view>& groups) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    std::size_t end = i + 1;
    if (tmpl[end] == '{') {
      const std::size_t close = tmpl.find('}', end);
      if (close == std::string::npos) {
        out += tmpl[i];
        continue;
      }
      name = tmpl.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[end])) || tmpl[end] == '_'))
        ++end;
      name = tmpl.substr(i + 1, end - i - 1);
    }
    if (name.empty()) {
      out += tmpl[i];
      continue;
    }
    const bool numeric = std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
    int index = -1;
    if (numeric) {
      index = name.size() < 9 ? std::stoi(name) : -1;
    } else {
      const auto& named = re.NamedCapturingGroups();
      if (auto it = named.find(name); it != named.end()) index = it->second;
    }
    if (index >= 0 && static_cast<std::size_t>(index) < groups.size())
      out += groups[static_cast<std::size_t>(index)];
    i = end - 1;
  }
  return out;
}

EvalValue label_replace(Evaluator&, const Call&, Args args, Timestamp t) {
  const std::string& dst = string_arg(args[1]);
  const std::string& replacement = string_arg(args[2]);
  const std::string& src = string_arg(args[3]);
  const std::string& pattern = string_arg(args[4]);
  re2::RE2::Options options;
  options.set_dot_nl(true);
  options.set_log_errors(false);
  re2::RE2 re("^(?:" + pattern + ")$", options);
  if (!re.ok()) execution_error("invalid regular expression in label_replace(): " + pattern);
  if (!is_valid_label_name(dst)) execution_error("invalid destination label name in label_replace(): " + dst);
  Vector v = vector_arg(args[0]);
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(n));
  for (Sample& s : v) {
    const std::string value(s.labels.get(src));
    if (!re.Match(value, 0, value.size(), re2::RE2::UNANCHORED, pieces.data(), n)) {
      s.t = t;
      continue;
    }
    std::vector<std::string_view> groups;
    for (const auto& p : pieces)
      groups.emplace_back(p.data() ? std::string_view(p.data(), p.size()) : std::string_view());
    LabelsBuilder b(s.labels);
    b.set(dst, expand(replacement, re, groups));  // an empty value deletes the label
    s.labels = b.build();
    s.t = t;
  }
  return v;
}

EvalValue label_join(Evaluator&, const Call&, Args args, Timestamp t) {
  const std::string& dst = string_arg(args[1]);
  const std::string& sep = string_arg(args[2]);
  if (!is_valid_label_name(dst)) execution_error("invalid destination label name in label_join(): " + dst);
  Vector v = vector_arg(args[0]);
  for (Sample& s : v) {
    std::string joined;
    for (std::size_t i = 3; i < args.size(); ++i) {
      if (i > 3) joined += sep;
      joined += s.labels.get(string_arg(args[i]));
    }
    LabelsBuilder b(s.labels);
    b.set(dst, joined);
    s.labels = b.build();
    s.t = t;
  }
  return v;
}

const std::string* literal(const ExprPtr& e) {
  const auto* s = std::get_if<StringLiteral>(&e->node);
  return s ? &s->value : nullptr;
}

// A literal destination must be a valid label name (a computed one is checked at evaluation).
std::optional<ArgumentError> check_destination(std::string_view function, const std::vector<ExprPtr>& args) {
  if (const std::string* dst = literal(args[1]); dst && !is_valid_label_name(*dst)) {
    return ArgumentError{args[1]->pos.offset,
                         "invalid destination label name in " + std::string(function) + "(): " + *dst};
  }
  return std::nullopt;
}

std::optional<ArgumentError> check_label_replace(const std::vector<ExprPtr>& args) {
  if (auto error = check_destination("label_replace", args)) return error;
  if (const std::string* regex = literal(args[4])) {
    try {
      store::Matcher(MatchType::regex, "x", *regex);
    } catch (const std::exception& e) {
      return ArgumentError{args[4]->pos.offset,
                           "invalid regular expression in label_replace(): " + *regex + ": " + e.what()};
    }
  }
  return std::nullopt;
}

std::optional<ArgumentError> check_label_join(const std::vector<ExprPtr>& args) {
  return check_destination("label_join", args);
}

}  // namespace

std::vector<Function> label_functions() {
  return {
      {"label_replace", {V, T, T, T, T}, 0, V, label_replace, check_label_replace},
      {"label_join", {V, T, T, T}, -1, V, label_join, check_label_join},
  };
}

}  // namespace tocsin::promql::detail
