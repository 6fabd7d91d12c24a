#include "collectors/scrape/relabel.hpp"

#include <openssl/evp.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>

namespace tocsin::collectors::scrape {

namespace {

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Prometheus's relabelTarget: label-name characters and $var / ${var} references.
bool valid_template_target(std::string_view s) {
  static const re2::RE2 re(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
  return re2::RE2::FullMatch(re2::StringPiece(s.data(), s.size()), re);
}

std::string ascii_case(std::string_view s, bool upper) {
  std::string out(s);
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::uint64_t md5_tail(std::string_view s) {
  std::array<unsigned char, 16> digest{};
  unsigned int size = 0;
  EVP_Digest(s.data(), s.size(), digest.data(), &size, EVP_md5(), nullptr);
  std::uint64_t v = 0;
  for (std::size_t i = 8; i < 16; ++i) v = (v << 8) | digest[i];
  return v;
}

// Matches `text` against the anchored rule regex; fills `groups` (group 0 first). False: no match.
bool match(const re2::RE2& re, std::string_view text, std::vector<std::string_view>& groups) {
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(n));
  if (!re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), re2::RE2::ANCHOR_BOTH,
                pieces.data(), n)) {
    return false;
  }
  groups.clear();
  for (const auto& p : pieces) {
    groups.emplace_back(p.data() == nullptr ? std::string_view() : std::string_view(p.data(), p.size()));
  }
  return true;
}

bool full_match(const re2::RE2& re, std::string_view text) {
  return re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), re2::RE2::ANCHOR_BOTH, nullptr,
                  0);
}

}  // namespace

std::optional<RelabelAction> parse_relabel_action(std::string_view name) {
  const std::string lower = ascii_case(name, false);
  static constexpr std::pair<std::string_view, RelabelAction> kActions[] = {
      {"replace", RelabelAction::replace},     {"keep", RelabelAction::keep},
      {"drop", RelabelAction::drop},           {"keepequal", RelabelAction::keepequal},
      {"dropequal", RelabelAction::dropequal}, {"hashmod", RelabelAction::hashmod},
      {"labelmap", RelabelAction::labelmap},   {"labeldrop", RelabelAction::labeldrop},
      {"labelkeep", RelabelAction::labelkeep}, {"lowercase", RelabelAction::lowercase},
      {"uppercase", RelabelAction::uppercase},
  };
  for (const auto& [n, a] : kActions) {
    if (n == lower) return a;
  }
  return std::nullopt;
}

std::string_view to_string(RelabelAction action) {
  switch (action) {
    case RelabelAction::replace: return "replace";
    case RelabelAction::keep: return "keep";
    case RelabelAction::drop: return "drop";
    case RelabelAction::keepequal: return "keepequal";
    case RelabelAction::dropequal: return "dropequal";
    case RelabelAction::hashmod: return "hashmod";
    case RelabelAction::labelmap: return "labelmap";
    case RelabelAction::labeldrop: return "labeldrop";
    case RelabelAction::labelkeep: return "labelkeep";
    case RelabelAction::lowercase: return "lowercase";
    case RelabelAction::uppercase: return "uppercase";
  }
  return "replace";
}

std::optional<std::string> RelabelRule::compile() {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<re2::RE2>("^(?:" + regex + ")$", options);
  if (!re->ok()) return "invalid regex \"" + regex + "\": " + re->error();
  compiled = std::move(re);
  regex_is_default = regex == "(.*)";
  const std::string action_name(to_string(action));
  const bool needs_target = action == RelabelAction::replace || action == RelabelAction::hashmod ||
                            action == RelabelAction::lowercase || action == RelabelAction::uppercase ||
                            action == RelabelAction::keepequal || action == RelabelAction::dropequal;
  if (action == RelabelAction::hashmod && modulus == 0) return "hashmod requires a non-zero modulus";
  if (needs_target && target_label.empty()) return action_name + " requires target_label";
  if (action == RelabelAction::replace) {
    const bool templated = target_label.find('$') != std::string::npos;
    if ((!templated && !is_valid_label_name(target_label)) ||
        (templated && !valid_template_target(target_label)))
      return "\"" + target_label + "\" is not a valid target_label for replace";
  }
  const bool plain_target = action == RelabelAction::lowercase || action == RelabelAction::uppercase ||
                            action == RelabelAction::keepequal || action == RelabelAction::dropequal ||
                            action == RelabelAction::hashmod;
  if (plain_target && !is_valid_label_name(target_label))
    return "\"" + target_label + "\" is not a valid target_label for " + action_name;
  if ((action == RelabelAction::lowercase || action == RelabelAction::uppercase ||
       action == RelabelAction::keepequal || action == RelabelAction::dropequal) &&
      replacement != "$1")
    return "replacement cannot be set for " + action_name;
  if (action == RelabelAction::labelmap && !valid_template_target(replacement))
    return "\"" + replacement + "\" is not a valid replacement for labelmap";
  if ((action == RelabelAction::keepequal || action == RelabelAction::dropequal) &&
      (!regex_is_default || modulus != 0 || separator != ";"))
    return action_name + " takes only source_labels and target_label";
  if ((action == RelabelAction::labeldrop || action == RelabelAction::labelkeep) &&
      (!source_labels.empty() || !target_label.empty() || modulus != 0 || separator != ";" ||
       replacement != "$1"))
    return action_name + " takes only regex";
  return std::nullopt;
}

std::string_view RelabelLabels::get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  return it != labels_.end() && it->name == name ? std::string_view(it->value) : std::string_view();
}

void RelabelLabels::set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name) {
    if (value.empty()) {
      labels_.erase(it);
    } else {
      it->value.assign(value);
    }
  } else if (!value.empty()) {
    labels_.insert(it, Label{std::string(name), std::string(value)});
  }
}

std::string expand_template(const re2::RE2& re, std::string_view tmpl,
                            std::span<const std::string_view> groups) {
  std::string out;
  while (!tmpl.empty()) {
    const auto dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl.front() == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    // Go's extract(): a name of word characters, optionally in braces.
    std::string_view s = tmpl;
    const bool brace = !s.empty() && s.front() == '{';
    if (brace) s.remove_prefix(1);
    std::size_t i = 0;
    while (i < s.size() && is_word(s[i])) ++i;
    if (i == 0 || (brace && (i >= s.size() || s[i] != '}'))) {
      out += '$';  // malformed: the $ stays as text
      continue;
    }
    const std::string_view name = s.substr(0, i);
    tmpl = s.substr(i + (brace ? 1 : 0));
    long num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name.front() == '0') num = -1;
    if (num < 0) {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      if (it != named.end()) num = it->second;
    }
    if (num >= 0 && static_cast<std::size_t>(num) < groups.size())
      out.append(groups[static_cast<std::size_t>(num)]);
  }
  out.append(tmpl);
  return out;
}

bool relabel(std::span<const RelabelRule> rules, RelabelLabels& labels) {
  std::vector<std::string_view> groups;
  std::string value;
  for (const RelabelRule& rule : rules) {
    const re2::RE2& re = *rule.compiled;
    value.clear();
    for (std::size_t i = 0; i < rule.source_labels.size(); ++i) {
      if (i > 0) value += rule.separator;
      value += labels.get(rule.source_labels[i]);
    }
    switch (rule.action) {
      case RelabelAction::drop:
        if (full_match(re, value)) return false;
        break;
      case RelabelAction::keep:
        if (!full_match(re, value)) return false;
        break;
      case RelabelAction::dropequal:
        if (labels.get(rule.target_label) == value) return false;
        break;
      case RelabelAction::keepequal:
        if (labels.get(rule.target_label) != value) return false;
        break;
      case RelabelAction::replace: {
        if (value.empty() && rule.regex_is_default && rule.target_label.find('$') == std::string::npos &&
            rule.replacement.find('$') == std::string::npos) {
          labels.set(rule.target_label, rule.replacement);
          break;
        }
        if (!match(re, value, groups)) break;
        const std::string target = expand_template(re, rule.target_label, groups);
        if (!is_valid_label_name(target)) break;
        const std::string result = expand_template(re, rule.replacement, groups);
        labels.set(target, result);  // an empty result deletes the label
        break;
      }
      case RelabelAction::lowercase: labels.set(rule.target_label, ascii_case(value, false)); break;
      case RelabelAction::uppercase: labels.set(rule.target_label, ascii_case(value, true)); break;
      case RelabelAction::hashmod:
        labels.set(rule.target_label, std::to_string(md5_tail(value) % rule.modulus));
        break;
      case RelabelAction::labelmap: {
        // Over a snapshot of the names, as Prometheus's builder ranges over the set it started with.
        const std::vector<Label> before = labels.items();
        for (const Label& l : before) {
          if (!match(re, l.name, groups)) continue;
          labels.set(expand_template(re, rule.replacement, groups), l.value);
        }
        break;
      }
      case RelabelAction::labeldrop:
      case RelabelAction::labelkeep: {
        const bool keep = rule.action == RelabelAction::labelkeep;
        auto& items = labels.mutable_items();
        items.erase(std::remove_if(items.begin(), items.end(),
                                   [&](const Label& l) { return full_match(re, l.name) != keep; }),
                    items.end());
        break;
      }
    }
  }
  return true;
}

}  // namespace tocsin::collectors::scrape
