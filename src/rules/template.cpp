#include "tocsin/rules/template.hpp"

#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <variant>
#include <vector>

namespace tocsin::rules {

namespace {

// Go's %.4g (C's %.4g, but NaN and infinities spelled as Go spells them).
std::string g4(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

using Value = std::variant<std::string, double>;

std::string to_text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return go_float(std::get<double>(v));
}

double to_number(const Value& v, std::string_view function) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  const std::string& s = std::get<std::string>(v);
  double out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size()) {
    throw TemplateError(std::string(function) + ": cannot convert \"" + s + "\" to a number");
  }
  return out;
}

// Go's fmt verbs for printf: %s %v %d %f %e %g %q %%, with flags, width and precision.
std::string go_printf(const std::string& format, const std::vector<Value>& args) {
  std::string out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    std::size_t j = i + 1;
    std::string spec = "%";
    while (j < format.size() && std::string_view("+- #0").find(format[j]) != std::string_view::npos)
      spec += format[j++];
    while (j < format.size() && (std::isdigit(static_cast<unsigned char>(format[j])) || format[j] == '.'))
      spec += format[j++];
    if (j >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = format[j];
    i = j;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const Value& arg = args[next++];
    char buf[512];
    switch (verb) {
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        const double v = to_number(arg, "printf");
        if (std::isnan(v) || std::isinf(v)) {
          out += go_float(v);
        } else {
          std::snprintf(buf, sizeof buf, (spec + verb).c_str(), v);
          out += buf;
        }
        break;
      }
      case 'd': {
        const double v = to_number(arg, "printf");
        std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), static_cast<long long>(v));
        out += buf;
        break;
      }
      case 'q': out += "\"" + to_text(arg) + "\""; break;
      default: {
        std::snprintf(buf, sizeof buf, (spec + "s").c_str(), to_text(arg).c_str());
        out += buf;
      }
    }
  }
  if (next < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = next; k < args.size(); ++k) out += (k > next ? ", " : "") + to_text(args[k]);
    out += ")";
  }
  return out;
}

std::string title(std::string s) {
  bool start = true;
  for (char& c : s) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      if (start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      start = false;
    } else {
      start = true;
    }
  }
  return s;
}

}  // namespace

std::string go_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, end);  // shortest digits: d.ddde±XX
  const std::size_t e = sci.find('e');
  const int exp = std::stoi(sci.substr(e + 1));
  // Go's shortest 'g' (what %v prints) switches to exponent form below 1e-4 and from 1e+06 on.
  if (exp < -4 || exp >= 6) return sci;
  auto [fend, fec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, fend);
}

std::string humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return g4(v);
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

std::string humanize_1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return g4(v);
  std::string prefix;
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

std::string humanize_percentage(double v) { return g4(v * 100) + "%"; }

std::string humanize_duration(double v) {
  if (std::isnan(v) || std::isinf(v)) return g4(v);
  if (v == 0) return g4(v) + "s";
  char buf[128];
  if (std::fabs(v) >= 1) {
    const char* sign = v < 0 ? "-" : "";
    v = std::fabs(v);
    const auto duration = static_cast<long long>(v);
    const long long seconds = duration % 60, minutes = (duration / 60) % 60, hours = (duration / 3600) % 24,
                    days = duration / 86400;
    if (days != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldd %lldh %lldm %llds", sign, days, hours, minutes, seconds);
    } else if (hours != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldh %lldm %llds", sign, hours, minutes, seconds);
    } else if (minutes != 0) {
      std::snprintf(buf, sizeof buf, "%s%lldm %llds", sign, minutes, seconds);
    } else {
      return sign + g4(v) + "s";
    }
    return buf;
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix + "s";
}

// A pipeline: commands separated by '|'; the output of one is the last argument of the next.
struct Command;
struct Operand {
  enum class Kind {
    literal_string,
    literal_number,
    labels_field,
    value,
    external_labels_field,
    external_url,
    labels_map,
    function,
    pipeline
  } kind;
  std::string text;  // literal, field name or function name
  double number = 0;
  std::vector<Command> pipeline;  // a parenthesised pipeline: (humanize $value)
};
struct Command {
  std::vector<Operand> operands;  // a function with its arguments, or one operand
};
struct Template::Node {
  bool is_text = true;
  std::string text;
  std::vector<Command> pipeline;
};

namespace {

bool known_function(const std::string& name) {
  static const char* kFunctions[] = {"humanize",
                                     "humanize1024",
                                     "humanizePercentage",
                                     "humanizeDuration",
                                     "humanizeTimestamp",
                                     "printf",
                                     "toUpper",
                                     "toLower",
                                     "title",
                                     "stripPort",
                                     "reReplaceAll",
                                     "match",
                                     "safeHtml",
                                     "index",
                                     "print",
                                     "len",
                                     "trimSpace"};
  for (const char* f : kFunctions) {
    if (name == f) return true;
  }
  return false;
}

// Parses a pipeline from action[i]; a nested one (inside parentheses) ends at its ")".
std::vector<Command> parse_pipeline(std::string_view action, std::size_t& i, bool nested) {
  std::vector<Command> pipeline(1);
  auto fail = [&](const std::string& why) {
    throw TemplateError("template action {{" + std::string(action) + "}}: " + why);
  };
  bool closed = false;
  while (i < action.size()) {
    const char c = action[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '|') {
      if (pipeline.back().operands.empty()) fail("empty command before \"|\"");
      pipeline.emplace_back();
      ++i;
      continue;
    }
    if (c == ')') {
      if (!nested) fail("unexpected \")\"");
      ++i;
      closed = true;
      break;
    }
    Operand op{};
    if (c == '(') {
      ++i;
      op.kind = Operand::Kind::pipeline;
      op.pipeline = parse_pipeline(action, i, true);
    } else if (c == '"' || c == '`') {
      std::string s;
      std::size_t j = i + 1;
      for (; j < action.size() && action[j] != c; ++j) {
        if (c == '"' && action[j] == '\\' && j + 1 < action.size()) {
          ++j;
          switch (action[j]) {
            case 'n': s += '\n'; break;
            case 't': s += '\t'; break;
            default: s += action[j];
          }
        } else {
          s += action[j];
        }
      }
      if (j >= action.size()) fail("unterminated string");
      op.kind = Operand::Kind::literal_string;
      op.text = std::move(s);
      i = j + 1;
    } else {
      std::size_t j = i;
      while (j < action.size() && !std::isspace(static_cast<unsigned char>(action[j])) && action[j] != '|' &&
             action[j] != '(' && action[j] != ')') {
        ++j;
      }
      const std::string word(action.substr(i, j - i));
      i = j;
      double number = 0;
      auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), number);
      if (ec == std::errc() && end == word.data() + word.size()) {
        op.kind = Operand::Kind::literal_number;
        op.number = number;
      } else if (word == "$value" || word == ".Value") {
        op.kind = Operand::Kind::value;
      } else if (word == "$labels" || word == ".Labels") {
        op.kind = Operand::Kind::labels_map;
      } else if (word.starts_with("$labels.") || word.starts_with(".Labels.")) {
        op.kind = Operand::Kind::labels_field;
        op.text = word.substr(word.find('.', 1) + 1);
      } else if (word.starts_with("$externalLabels.") || word.starts_with(".ExternalLabels.")) {
        op.kind = Operand::Kind::external_labels_field;
        op.text = word.substr(word.find('.', 1) + 1);
      } else if (word == "$externalURL" || word == ".ExternalURL") {
        op.kind = Operand::Kind::external_url;
      } else if (word == "if" || word == "range" || word == "with" || word == "else" || word == "end" ||
                 word == "define" || word == "template" || word == "block") {
        fail("\"" + word + "\" is not supported in tocsin templates (only expressions and pipelines)");
      } else if (word == "query" || word == "first" || word == "label" || word == "value" ||
                 word == "sortByLabel") {
        fail("the query functions (" + word + ") are not supported in tocsin templates");
      } else if (known_function(word)) {
        op.kind = Operand::Kind::function;
        op.text = word;
      } else if (word.starts_with("$") && word.find(":=") == std::string::npos) {
        fail("undefined variable \"" + word + "\"");
      } else if (word.find(":=") != std::string::npos || word == "=") {
        fail("variables are not supported in tocsin templates");
      } else {
        fail("function \"" + word + "\" not defined");
      }
    }
    pipeline.back().operands.push_back(std::move(op));
  }
  if (nested && !closed) fail("unclosed left paren");
  if (pipeline.back().operands.empty()) fail("missing value for command");
  for (const Command& cmd : pipeline) {
    if (cmd.operands.size() > 1 && cmd.operands[0].kind != Operand::Kind::function) {
      fail("can't give argument to non-function");
    }
  }
  return pipeline;
}

std::vector<Command> parse_action(std::string_view action) {
  std::size_t i = 0;
  return parse_pipeline(action, i, false);
}

Value call(const std::string& name, const std::vector<Value>& args, const TemplateData& data) {
  auto need = [&](std::size_t n) {
    if (args.size() != n) {
      throw TemplateError("wrong number of args for " + name + ": want " + std::to_string(n) + " got " +
                          std::to_string(args.size()));
    }
  };
  (void)data;
  if (name == "printf") {
    if (args.empty()) throw TemplateError("wrong number of args for printf: want at least 1 got 0");
    return go_printf(to_text(args[0]), std::vector<Value>(args.begin() + 1, args.end()));
  }
  if (name == "print") {
    std::string out;
    for (const auto& a : args) out += to_text(a);
    return out;
  }
  if (name == "humanize") return need(1), humanize(to_number(args[0], name));
  if (name == "humanize1024") return need(1), humanize_1024(to_number(args[0], name));
  if (name == "humanizePercentage") return need(1), humanize_percentage(to_number(args[0], name));
  if (name == "humanizeDuration") return need(1), humanize_duration(to_number(args[0], name));
  if (name == "humanizeTimestamp") {
    need(1);
    const double v = to_number(args[0], name);
    if (std::isnan(v) || std::isinf(v)) return g4(v);
    const auto secs = static_cast<std::time_t>(v);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    const double frac = v - std::floor(v);
    std::string out = buf;
    if (frac > 0) {
      char f[32];
      std::snprintf(f, sizeof f, "%.9f", frac);
      std::string digits = std::string(f).substr(1);
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      out += digits;
    }
    return out + " +0000 UTC";
  }
  if (name == "toUpper" || name == "toLower" || name == "title" || name == "trimSpace" ||
      name == "safeHtml" || name == "stripPort" || name == "len") {
    need(1);
    std::string s = to_text(args[0]);
    if (name == "toUpper")
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name == "toLower")
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "title") s = title(s);
    if (name == "trimSpace") {
      const auto b = s.find_first_not_of(" \t\r\n");
      s = b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
    }
    if (name == "stripPort") {
      if (!s.empty() && s[0] == '[') {
        const auto close = s.find(']');
        if (close != std::string::npos) s = s.substr(1, close - 1);
      } else if (s.find(':') == s.rfind(':') && s.find(':') != std::string::npos) {
        s = s.substr(0, s.find(':'));
      }
    }
    if (name == "len") return static_cast<double>(s.size());
    return s;
  }
  if (name == "reReplaceAll") {
    need(3);
    std::string text = to_text(args[2]);
    re2::RE2 re(to_text(args[0]));
    if (!re.ok()) throw TemplateError("reReplaceAll: invalid regular expression: " + re.error());
    std::string rewrite = to_text(args[1]);
    // Go's $1 becomes RE2's \1.
    std::string converted;
    for (std::size_t i = 0; i < rewrite.size(); ++i) {
      if (rewrite[i] == '$' && i + 1 < rewrite.size() &&
          std::isdigit(static_cast<unsigned char>(rewrite[i + 1]))) {
        converted += '\\';
      } else if (rewrite[i] == '\\') {
        converted += '\\';
      }
      converted += rewrite[i] == '$' && i + 1 < rewrite.size() &&
                           std::isdigit(static_cast<unsigned char>(rewrite[i + 1]))
                       ? ""
                       : std::string(1, rewrite[i]);
    }
    re2::RE2::GlobalReplace(&text, re, converted);
    return text;
  }
  if (name == "match") {
    need(2);
    re2::RE2 re(to_text(args[0]));
    if (!re.ok()) throw TemplateError("match: invalid regular expression: " + re.error());
    return re2::RE2::PartialMatch(to_text(args[1]), re) ? std::string("true") : std::string("false");
  }
  if (name == "index") {
    need(2);
    // index $labels "name": args[0] is the labels placeholder, resolved by the caller.
    return args[0];
  }
  throw TemplateError("function \"" + name + "\" not defined");
}

Value run_pipeline(const std::vector<Command>& pipeline, const TemplateData& data);

Value eval_operand(const Operand& op, const TemplateData& data) {
  switch (op.kind) {
    case Operand::Kind::literal_string: return op.text;
    case Operand::Kind::literal_number: return op.number;
    case Operand::Kind::value: return data.value;
    case Operand::Kind::labels_field: return std::string(data.labels ? data.labels->get(op.text) : "");
    case Operand::Kind::external_labels_field:
      return std::string(data.external_labels ? data.external_labels->get(op.text) : "");
    case Operand::Kind::external_url: return data.external_url;
    case Operand::Kind::labels_map: return data.labels ? data.labels->to_string() : std::string("{}");
    case Operand::Kind::function: return call(op.text, {}, data);
    case Operand::Kind::pipeline: return run_pipeline(op.pipeline, data);
  }
  return std::string();
}

Value run_pipeline(const std::vector<Command>& pipeline, const TemplateData& data) {
  std::optional<Value> piped;
  for (const Command& cmd : pipeline) {
    const Operand& head = cmd.operands[0];
    if (head.kind != Operand::Kind::function) {
      piped = eval_operand(head, data);
      continue;
    }
    std::vector<Value> args;
    if (head.text == "index" && cmd.operands.size() == 3 &&
        cmd.operands[1].kind == Operand::Kind::labels_map) {
      const std::string key = to_text(eval_operand(cmd.operands[2], data));
      piped = std::string(data.labels ? data.labels->get(key) : "");
      continue;
    }
    for (std::size_t k = 1; k < cmd.operands.size(); ++k) args.push_back(eval_operand(cmd.operands[k], data));
    if (piped) args.push_back(*piped);
    piped = call(head.text, args, data);
  }
  return piped ? *piped : Value(std::string());
}

}  // namespace

Template::Template(std::string_view text) {
  auto nodes = std::make_shared<std::vector<Node>>();
  std::size_t i = 0;
  bool trim_next = false;
  while (i <= text.size()) {
    const std::size_t open = text.find("{{", i);
    std::string literal(text.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i));
    if (trim_next) {
      const auto b = literal.find_first_not_of(" \t\r\n");
      literal = b == std::string::npos ? "" : literal.substr(b);
    }
    if (open == std::string_view::npos) {
      if (!literal.empty()) nodes->push_back({true, literal, {}});
      break;
    }
    std::size_t start = open + 2;
    if (start < text.size() && text[start] == '-' && start + 1 < text.size() &&
        std::isspace(static_cast<unsigned char>(text[start + 1]))) {
      const auto e = literal.find_last_not_of(" \t\r\n");
      literal = e == std::string::npos ? "" : literal.substr(0, e + 1);
      ++start;
    }
    if (!literal.empty()) nodes->push_back({true, literal, {}});
    const std::size_t close = text.find("}}", start);
    if (close == std::string_view::npos) throw TemplateError("unclosed action: missing \"}}\"");
    std::size_t end = close;
    trim_next = false;
    if (end > start && text[end - 1] == '-' && end - 1 > start &&
        std::isspace(static_cast<unsigned char>(text[end - 2]))) {
      --end;
      trim_next = true;
    }
    std::string_view action = text.substr(start, end - start);
    const auto first = action.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && action.substr(first).starts_with("/*")) {
      // a comment
    } else {
      nodes->push_back({false, "", parse_action(action)});
    }
    i = close + 2;
  }
  nodes_ = std::move(nodes);
}

bool Template::is_constant() const {
  for (const Node& n : *nodes_) {
    if (!n.is_text) return false;
  }
  return true;
}

std::string Template::render(const TemplateData& data) const {
  std::string out;
  for (const Node& n : *nodes_) {
    if (n.is_text) {
      out += n.text;
      continue;
    }
    out += to_text(run_pipeline(n.pipeline, data));
  }
  return out;
}

}  // namespace tocsin::rules
