// Rule file loading and validation (Prometheus's rulefmt rules, plus tocsin's tiers).

#include "tocsin/rules/rule_file.hpp"

#include <glob.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/core/file_read.hpp"
#include "tocsin/core/labels.hpp"
#include "tocsin/promql/parser.hpp"
#include "tocsin/yaml/decoder.hpp"

namespace tocsin::rules {

std::string Threshold::to_string() const {
  std::ostringstream out;
  out << (direction == Direction::above ? (inclusive ? "at_least " : "above ")
                                        : (inclusive ? "at_most " : "below "))
      << value;
  return out.str();
}

namespace {

using yaml::Node;

// The position in the file of byte `offset` of a block scalar's value (| or >, header at `header`):
// the value's characters are walked against the content lines, so a line break that folding (>) turned
// into a space, or dropped, still maps each character back to its own line and column.
std::optional<std::pair<std::size_t, std::size_t>> block_position(const std::string& file_text,
                                                                  std::size_t header,
                                                                  const std::string& value,
                                                                  std::size_t offset) {
  std::size_t line_start = file_text.find('\n', header);
  if (line_start == std::string::npos) return std::nullopt;
  ++line_start;
  std::vector<std::string_view> lines;  // the block's lines, up to the first one indented less
  std::size_t indent = std::string::npos;
  for (std::size_t at = line_start; at < file_text.size();) {
    std::size_t end = file_text.find('\n', at);
    if (end == std::string::npos) end = file_text.size();
    std::string_view line(file_text.data() + at, end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);  // CRLF files: the break is "\r\n"
    const std::size_t spaces = std::min(line.find_first_not_of(' '), line.size());
    if (spaces < line.size()) {
      if (indent == std::string::npos) indent = spaces;
      if (spaces < indent) break;
    }
    lines.push_back(line);
    at = end + 1;
  }
  if (indent == std::string::npos) return std::nullopt;
  std::size_t row = 0, col = indent;  // col: into lines[row], which holds the indentation too
  for (std::size_t i = 0; i < value.size() && row < lines.size();) {
    const std::string_view line = lines[row];
    if (col < line.size()) {
      if (value[i] != line[col]) return std::nullopt;
      if (i == offset) return std::pair{row + 1, col + 1};
      ++i;
      ++col;
      continue;
    }
    // The end of a content line: the value holds its break as '\n' or (folded) ' ', or not at all.
    if (value[i] == '\n' || value[i] == ' ') {
      if (i == offset) return std::pair{row + 1, col + 1};
      ++i;
    }
    ++row;
    col = indent;
  }
  return std::nullopt;
}

// The position in the file of a PromQL error at (line, column) of an expression written as the YAML
// scalar `node`: plain, quoted, or a block scalar (| or >) whose content starts on the next line.
yaml::Position expr_position(const Node& node, const std::string& file_text, const std::string& expr,
                             std::size_t line, std::size_t column) {
  yaml::Position p = node.position();
  const YAML::Mark mark = node.yaml().Mark();
  if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= file_text.size()) return p;
  const char first = file_text[static_cast<std::size_t>(mark.pos)];
  if (first == '|' || first == '>') {
    std::size_t offset = 0;
    for (std::size_t l = 1; l < line && offset != std::string::npos; ++l) {
      offset = expr.find('\n', offset);
      if (offset != std::string::npos) ++offset;
    }
    if (offset != std::string::npos) offset += column > 0 ? column - 1 : 0;
    // Past the end of the text (e.g. "unexpected end of input"): just after its last visible character.
    const bool at_end = offset != std::string::npos && offset >= expr.size();
    if (at_end) offset = expr.find_last_not_of(" \n");
    auto found = offset == std::string::npos
                     ? std::nullopt
                     : block_position(file_text, static_cast<std::size_t>(mark.pos), expr, offset);
    if (found) {
      p.line += static_cast<int>(found->first);
      p.column = static_cast<int>(found->second + (at_end ? 1 : 0));
    } else {
      p.line += 1;
      p.column = 1;
    }
    return p;
  }
  const int quote = first == '"' || first == '\'' ? 1 : 0;
  p.line += static_cast<int>(line) - 1;
  p.column = line == 1 ? p.column + quote + static_cast<int>(column) - 1 : static_cast<int>(column);
  return p;
}

std::optional<std::string> raw_string(const Node& node) { return node.as_raw_string(); }

// A template that does not parse is reported where in the file its error is (Prometheus's text, which
// names only the line within the template).
void decode_templates(const Node& node, bool is_labels, std::vector<std::pair<std::string, Template>>& out,
                      std::vector<std::pair<std::string, std::string>>& texts, const std::string& file_text,
                      const std::string& rule_name) {
  if (node.is_null()) return;
  if (!node.is_map()) {
    node.error("expected a mapping of names to strings, got " + node.kind());
    return;
  }
  yaml::MapDecoder keys(node);  // reports a name given twice (the keys are read below)
  for (const auto& entry : node.yaml()) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    Node child = node.child(entry.second, key);
    if (!is_valid_label_name(key) || (is_labels && key == kMetricNameLabel)) {
      child.error(std::string("invalid ") + (is_labels ? "label" : "annotation") + " name: \"" + key + "\"");
      continue;
    }
    auto text = raw_string(child);
    if (!text) continue;
    try {
      out.emplace_back(key, Template(*text, rule_name));
      texts.emplace_back(key, *text);
    } catch (const TemplateError& e) {
      const yaml::Position p = expr_position(child, file_text, *text, static_cast<std::size_t>(e.line()),
                                             static_cast<std::size_t>(e.column()));
      node.context().diagnostics->error(p, child.path(), e.what());
    }
  }
  auto by_name = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::sort(out.begin(), out.end(), by_name);
  std::sort(texts.begin(), texts.end(), by_name);
}

std::optional<Threshold> decode_threshold(yaml::MapDecoder& map, const Node& node) {
  struct Key {
    const char* name;
    Threshold::Direction direction;
    bool inclusive;
  };
  static constexpr Key kKeys[] = {{"above", Threshold::Direction::above, false},
                                  {"at_least", Threshold::Direction::above, true},
                                  {"below", Threshold::Direction::below, false},
                                  {"at_most", Threshold::Direction::below, true}};
  std::optional<Threshold> out;
  std::vector<std::string> given;
  for (const Key& k : kKeys) {
    auto n = map.get(k.name);
    if (!n) continue;
    given.push_back(k.name);
    auto v = n->as_double();
    if (!v) continue;
    out = Threshold{k.direction, k.inclusive, *v};
  }
  if (given.size() > 1) {
    node.error("give one threshold (above, at_least, below or at_most), not " + given[0] + " and " +
               given[1]);
    return std::nullopt;
  }
  if (given.empty()) {
    node.error("missing the threshold: one of above, at_least, below, at_most");
    return std::nullopt;
  }
  return out;
}

void decode_tiers(const Node& node, RuleDefinition& rule) {
  if (!node.is_map()) {
    node.error(
        "expected a mapping of severities to {above|below, for}, e.g. warning: { above: 0.8, for: 5m }");
    return;
  }
  yaml::MapDecoder keys(node);  // reports a severity given twice (the keys are read below)
  for (const auto& entry : node.yaml()) {
    const std::string severity = entry.first.IsScalar() ? entry.first.Scalar() : "";
    Node child = node.child(entry.second, severity);
    if (severity.empty()) {
      child.error("empty severity name");
      continue;
    }
    yaml::MapDecoder map(child);
    if (!map.valid()) continue;
    Tier tier;
    tier.severity = severity;
    auto threshold = decode_threshold(map, child);
    map.optional("for", tier.for_duration);
    map.finish();
    if (!threshold) continue;
    tier.threshold = *threshold;
    rule.tiers.push_back(std::move(tier));
  }
  if (node.yaml().size() == 0) node.error("at least one tier is needed");
}

// A less severe tier that a more severe one always pre-empts can never fire.
void check_tiers(const Node& node, const RuleDefinition& rule) {
  for (std::size_t i = 0; i < rule.tiers.size(); ++i) {
    for (std::size_t j = i + 1; j < rule.tiers.size(); ++j) {
      const Tier& lo = rule.tiers[i];
      const Tier& hi = rule.tiers[j];
      if (lo.threshold.direction != hi.threshold.direction) continue;
      // lo's condition implies hi's when lo's threshold is at least as strict.
      const bool implied = lo.threshold.direction == Threshold::Direction::above
                               ? (lo.threshold.value > hi.threshold.value ||
                                  (lo.threshold.value == hi.threshold.value &&
                                   (!lo.threshold.inclusive || hi.threshold.inclusive)))
                               : (lo.threshold.value < hi.threshold.value ||
                                  (lo.threshold.value == hi.threshold.value &&
                                   (!lo.threshold.inclusive || hi.threshold.inclusive)));
      if (implied && lo.for_duration >= hi.for_duration) {
        node.error("tier \"" + lo.severity + "\" (" + lo.threshold.to_string() + " for " +
                   format_duration(lo.for_duration) + ") can never fire: \"" + hi.severity + "\" (" +
                   hi.threshold.to_string() + " for " + format_duration(hi.for_duration) +
                   ") fires first on the same values; list tiers from least to most severe");
      }
    }
  }
  if (rule.clear) {
    for (const Tier& t : rule.tiers) {
      const bool opposite = t.threshold.direction != rule.clear->threshold.direction;
      const bool ok = !opposite ? false
                      : t.threshold.direction == Threshold::Direction::above
                          ? rule.clear->threshold.value <= t.threshold.value
                          : rule.clear->threshold.value >= t.threshold.value;
      if (!ok) {
        node.error("clear (" + rule.clear->threshold.to_string() +
                   ") must be on the other side of every tier's " + "threshold, but tier \"" + t.severity +
                   "\" is " + t.threshold.to_string());
        break;
      }
    }
  }
}

void decode_rule(const Node& node, RuleDefinition& rule, const std::string& file_text) {
  yaml::MapDecoder map(node);
  if (!map.valid()) return;
  rule.position = node.position();
  auto record = map.get("record");
  auto alert = map.get("alert");
  if (record && alert) {
    node.error("only one of 'record' and 'alert' must be set");
  } else if (!record && !alert) {
    node.error("one of 'record' or 'alert' must be set");
  }
  if (record) {
    rule.kind = RuleDefinition::Kind::recording;
    if (auto name = raw_string(*record)) {
      rule.name = *name;
      if (!is_valid_metric_name(rule.name))
        record->error("invalid recording rule name: \"" + rule.name + "\"");
    }
  } else if (alert) {
    rule.kind = RuleDefinition::Kind::alerting;
    if (auto name = raw_string(*alert)) {
      rule.name = *name;
      if (rule.name.empty()) alert->error("alert name must not be empty");
    }
  }
  if (auto expr = map.get("expr"); expr && !expr->is_null()) {
    if (auto text = raw_string(*expr)) {
      rule.expr_text = *text;
      try {
        rule.expr = promql::parse(*text);
        const promql::ValueType type = rule.expr->type;
        if (rule.kind == RuleDefinition::Kind::alerting && type != promql::ValueType::vector) {
          expr->error("an alerting rule's expression must be an instant vector, got " +
                      std::string(promql::to_string(type)));
        } else if (type != promql::ValueType::vector && type != promql::ValueType::scalar) {
          expr->error("a recording rule's expression must be an instant vector or a scalar, got " +
                      std::string(promql::to_string(type)));
        }
      } catch (const promql::ParseError& e) {
        yaml::Position p = expr_position(*expr, file_text, *text, e.line(), e.column());
        node.context().diagnostics->error(p, expr->path(), "could not parse expression: " + e.message());
      }
    }
  } else {
    node.error("field 'expr' must be set in rule");
  }
  const bool recording = rule.kind == RuleDefinition::Kind::recording;
  if (auto n = map.get("for"); n && !n->is_null()) {
    if (recording) n->error("invalid field 'for' in recording rule");
    if (auto d = n->as_duration()) rule.for_duration = *d;
  }
  if (auto n = map.get("keep_firing_for"); n && !n->is_null()) {
    if (recording) n->error("invalid field 'keep_firing_for' in recording rule");
    if (auto d = n->as_duration()) rule.keep_firing_for = *d;
  }
  if (auto n = map.get("labels"))
    decode_templates(*n, true, rule.labels, rule.label_texts, file_text, rule.name);
  if (auto n = map.get("annotations"); n && !n->is_null()) {
    if (recording) n->error("invalid field 'annotations' in recording rule");
    decode_templates(*n, false, rule.annotations, rule.annotation_texts, file_text, rule.name);
  }
  if (auto n = map.get("escalation"); n && !n->is_null()) {
    if (recording) n->error("invalid field 'escalation' in recording rule");
    if (auto s = raw_string(*n)) rule.escalation = *s;
  }
  if (auto n = map.get("tiers"); n && !n->is_null()) {
    if (recording) {
      n->error("invalid field 'tiers' in recording rule");
    } else {
      decode_tiers(*n, rule);
      if (rule.for_duration > Duration(0)) {
        n->error("a tiered rule takes `for` per tier, not on the rule");
      }
      for (const auto& [name, tmpl] : rule.label_texts) {
        if (name == "severity")
          n->error("a tiered rule's severity label comes from its tiers; remove labels.severity");
      }
    }
  }
  if (auto n = map.get("clear"); n && !n->is_null()) {
    if (rule.tiers.empty()) {
      n->error("`clear` needs `tiers`");
    } else {
      yaml::MapDecoder clear_map(*n);
      if (clear_map.valid()) {
        Clear clear;
        auto threshold = decode_threshold(clear_map, *n);
        clear_map.optional("for", clear.for_duration);
        clear_map.finish();
        if (threshold) {
          clear.threshold = *threshold;
          rule.clear = clear;
        }
      }
    }
  }
  if (!rule.tiers.empty()) check_tiers(node, rule);
  map.finish();
}

void decode_group(const Node& node, GroupDefinition& group, const std::string& file_text) {
  yaml::MapDecoder map(node);
  if (!map.valid()) return;
  if (auto n = map.get("name"); n && !n->is_null()) {
    if (auto s = raw_string(*n)) group.name = *s;
  }
  if (group.name.empty()) node.error("Groupname must not be empty");
  if (auto n = map.get("interval"); n && !n->is_null()) {
    if (auto d = n->as_duration()) {
      if (*d <= Duration(0)) n->error("interval must be positive");
      group.interval = *d;
    }
  }
  if (auto n = map.get("limit"); n && !n->is_null()) {
    if (auto v = n->as_int()) {
      if (*v < 0) n->error("limit must not be negative");
      group.limit = static_cast<std::size_t>(std::max(0LL, *v));
    }
  }
  if (auto n = map.get("query_offset"); n && !n->is_null()) {
    if (auto d = n->as_duration()) group.query_offset = *d;
  }
  // Prometheus 3's group labels: added to every rule of the group; a rule's own label wins.
  std::vector<std::pair<std::string, Template>> group_labels;
  std::vector<std::pair<std::string, std::string>> group_label_texts;
  if (auto n = map.get("labels"); n && !n->is_null())
    decode_templates(*n, true, group_labels, group_label_texts, file_text, "");
  auto rules = map.get("rules");
  if (rules && !rules->is_null()) {
    if (!rules->is_sequence()) {
      rules->error("expected a list of rules, got " + rules->kind());
    } else {
      for (const Node& item : rules->items()) {
        RuleDefinition rule;
        decode_rule(item, rule, file_text);
        for (std::size_t k = 0; k < group_labels.size(); ++k) {
          bool own = false;
          for (const auto& [name, text] : rule.label_texts) own = own || name == group_labels[k].first;
          if (own) continue;
          rule.labels.push_back(group_labels[k]);
          rule.label_texts.push_back(group_label_texts[k]);
        }
        auto by_name = [](const auto& a, const auto& b) { return a.first < b.first; };
        std::sort(rule.labels.begin(), rule.labels.end(), by_name);
        std::sort(rule.label_texts.begin(), rule.label_texts.end(), by_name);
        group.rules.push_back(std::move(rule));
      }
    }
  }
  // Two rules producing the same series (same name and fixed labels) write the same series or alerts:
  // promtool's lint warns (Prometheus loads the group), and so does tocsin.
  std::set<std::string> seen;
  for (std::size_t i = 0; i < group.rules.size(); ++i) {
    const RuleDefinition& r = group.rules[i];
    std::string key = (r.kind == RuleDefinition::Kind::recording ? "record " : "alert ") + r.name;
    for (const auto& [name, text] : r.label_texts) key += "," + name + "=" + text;
    if (!r.tiers.empty()) key += ",tiered";
    if (!seen.insert(key).second) {
      node.context().diagnostics->warn(r.position, node.path() + ".rules[" + std::to_string(i) + "]",
                                       "duplicate rule: \"" + r.name +
                                           "\" with the same labels is already in group \"" + group.name +
                                           "\"; both may write the same series");
    }
  }
  map.finish();
}

// An SLO as the group that runs it: one rule, of kind alerting, that measures, records and alerts.
GroupDefinition slo_group(slo::Definition definition, const std::string& file) {
  GroupDefinition group;
  group.file = file;
  group.name = "slo:" + definition.name;
  group.interval = definition.interval;
  RuleDefinition rule;
  rule.kind = RuleDefinition::Kind::alerting;
  rule.name = definition.alert_name;
  rule.position = definition.position;
  switch (definition.indicator) {
    case slo::Definition::Indicator::ratio:
    case slo::Definition::Indicator::latency:
      rule.expr = definition.errors ? definition.errors : definition.good;
      rule.expr_text =
          "slo " + definition.id() + ": " +
          (definition.errors ? "errors " + definition.errors_text : "good " + definition.good_text) +
          " / total " + definition.total_text;
      break;
    case slo::Definition::Indicator::threshold:
      rule.expr = definition.threshold;
      rule.expr_text =
          "slo " + definition.id() + ": " + definition.threshold_text + " " + definition.bound.to_string();
      break;
  }
  rule.slo = std::make_shared<const slo::Definition>(std::move(definition));
  group.rules.push_back(std::move(rule));
  return group;
}

std::vector<GroupDefinition> parse_document(const YAML::Node& root, const std::string& file,
                                            const std::string& text, yaml::Diagnostics& diagnostics) {
  std::vector<GroupDefinition> groups;
  yaml::DecodeContext ctx{file, "", &diagnostics, nullptr};
  Node node(root, "", &ctx);
  if (node.is_null()) return groups;  // an empty file holds no groups
  // An OpenSLO document (docs/slo.md): one SLO.
  if (node.is_map() && node.yaml()["apiVersion"]) {
    if (auto d = slo::decode_openslo(node)) groups.push_back(slo_group(std::move(*d), file));
    return groups;
  }
  yaml::MapDecoder map(node);
  if (!map.valid()) return groups;
  std::set<std::string> names;
  if (auto list = map.get("groups"); list && !list->is_null()) {
    for (const Node& item : list->items()) {
      GroupDefinition group;
      group.file = file;
      decode_group(item, group, text);
      if (!group.name.empty() && !names.insert(group.name).second) {
        item.error("groupname: \"" + group.name + "\" is repeated in the same file");
      }
      groups.push_back(std::move(group));
    }
  }
  if (auto list = map.get("slos"); list && !list->is_null()) {
    std::vector<slo::Definition> slos = slo::decode_slos(*list, text);
    for (std::size_t i = 0; i < slos.size(); ++i) {
      GroupDefinition group = slo_group(std::move(slos[i]), file);
      if (!names.insert(group.name).second) {
        node.context().diagnostics->error(group.rules[0].slo->position, "slos[" + std::to_string(i) + "]",
                                          "SLO \"" + group.rules[0].slo->name + "\": a group named \"" +
                                              group.name + "\" is already in the file");
      }
      groups.push_back(std::move(group));
    }
  }
  map.finish();
  return groups;
}

}  // namespace

std::vector<GroupDefinition> parse_rule_text(const std::string& text, const std::string& file,
                                             yaml::Diagnostics& diagnostics) {
  // Several documents (OpenSLO files often hold one SLO each, separated by ---): each read alone.
  auto parsed = yaml::parse_yaml_documents(text, file, diagnostics);
  if (!parsed) return {};
  std::vector<YAML::Node> documents = std::move(*parsed);
  if (documents.empty()) return parse_document(YAML::Node(), file, text, diagnostics);
  if (documents.size() <= 1) return parse_document(documents.front(), file, text, diagnostics);
  std::vector<GroupDefinition> groups;
  std::set<std::string> names;
  for (const YAML::Node& doc : documents) {
    for (auto& g : parse_document(doc, file, text, diagnostics)) {
      if (!names.insert(g.name).second) {
        diagnostics.error(g.rules.empty() ? yaml::Position{file, 0, 0} : g.rules[0].position, "",
                          "group \"" + g.name + "\" is repeated in the same file");
      }
      groups.push_back(std::move(g));
    }
  }
  return groups;
}

std::vector<GroupDefinition> load_rule_files(const std::vector<std::string>& files,
                                             yaml::Diagnostics& diagnostics) {
  std::vector<GroupDefinition> groups;
  for (const std::string& file : files) {
    std::string why;
    auto text = read_regular_file(file, kMaxConfigFileBytes, why);
    if (!text) {
      diagnostics.error({file, 0, 0}, "", "cannot read rule file: " + why);
      continue;
    }
    auto parsed = parse_rule_text(*text, file, diagnostics);
    for (auto& g : parsed) groups.push_back(std::move(g));
  }
  return groups;
}

std::vector<std::string> expand_rule_globs(const std::vector<std::string>& patterns,
                                           const std::string& base_dir, const std::string& config_file,
                                           yaml::Diagnostics& diagnostics) {
  std::vector<std::string> files;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const std::string& pattern = patterns[i];
    const std::string resolved =
        pattern.starts_with("/") || base_dir.empty() ? pattern : base_dir + "/" + pattern;
    glob_t g{};
    const int rc = ::glob(resolved.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (std::size_t k = 0; k < g.gl_pathc; ++k) files.emplace_back(g.gl_pathv[k]);
    } else if (rc == GLOB_NOMATCH) {
      // Not an error (Prometheus loads nothing from it too), but a config that watches nothing must
      // say so: a relative pattern is resolved against the config file's directory.
      diagnostics.warn({config_file, 0, 0}, "rule_files[" + std::to_string(i) + "]",
                       "\"" + pattern + "\" matches no file" +
                           (resolved == pattern ? std::string() : " (looked for " + resolved + ")") +
                           "; no rules are loaded from it");
    } else {
      diagnostics.error({config_file, 0, 0}, "rule_files[" + std::to_string(i) + "]",
                        "cannot expand \"" + pattern + "\"");
    }
    globfree(&g);
  }
  // In the order the patterns name them (each pattern's matches sorted, as Go's filepath.Glob), a file
  // named twice only where it is first: promtool evaluates a test's groups in this order.
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (auto& f : files) {
    if (seen.insert(f).second) unique.push_back(std::move(f));
  }
  return unique;
}

}  // namespace tocsin::rules
