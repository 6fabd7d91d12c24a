// Go's builtins (text/template/funcs.go) and Prometheus 2.42's template functions
// (template/template.go), with their errors as Go writes them.

#include "rules/template/functions.hpp"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "rules/template/format.hpp"
#include "tocsin/core/duration.hpp"

namespace tocsin::rules {

namespace {

// Go's %.4g.
std::string g4(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

std::string go_float(double v) { return tmpl::format_float_shortest(v); }

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
  if (std::fabs(v) >= 1) {
    const char* sign = v < 0 ? "-" : "";
    v = std::fabs(v);
    // Go's int64(v): values beyond int64 saturate here (Go's conversion is undefined there).
    const auto duration = v >= 9.2e18 ? INT64_MAX : static_cast<std::int64_t>(v);
    const long long seconds = duration % 60, minutes = (duration / 60) % 60, hours = (duration / 3600) % 24,
                    days = duration / 86400;
    char buf[128];
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

namespace tmpl {

namespace {

using Args = std::vector<Value>;

[[noreturn]] void fail(const std::string& message) { throw FunctionError(message); }

// strconv.ParseFloat(s, 64), with its errors.
double parse_float(const std::string& s) {
  const std::string syntax = "strconv.ParseFloat: parsing " + quote(s) + ": invalid syntax";
  std::string t;
  for (char c : s) {
    if (c != '_') t += c;
  }
  if (t.empty()) fail(syntax);
  std::string_view body = t;
  if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
  std::string lower;
  for (char c : body) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf" || lower == "infinity") return t[0] == '-' ? -INFINITY : INFINITY;
  if (lower == "nan") {
    if (body.size() != t.size()) fail(syntax);
    return NAN;
  }
  if (lower.empty() || !(std::isdigit(static_cast<unsigned char>(lower[0])) || lower[0] == '.')) fail(syntax);
  if (lower.size() > 1 && lower[0] == '0' && lower[1] == 'x' && lower.find('p') == std::string::npos)
    fail(syntax);
  if (s.find('_') != std::string::npos &&
      (s.front() == '_' || s.back() == '_' || s.find("__") != std::string::npos)) {
    fail(syntax);
  }
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) fail(syntax);
  if (errno == ERANGE && std::isinf(v))
    fail("strconv.ParseFloat: parsing " + quote(s) + ": value out of range");
  return v;
}

// Prometheus's convertToFloat.
double to_float(const Value& v) {
  switch (v.kind) {
    case Kind::floating: return v.f;
    case Kind::string: return parse_float(v.s);
    case Kind::integer: return static_cast<double>(v.i);
    default: fail("can't convert " + (v.valid() ? type_name(v) : std::string("<nil>")) + " to float");
  }
}

// Prometheus's floatToTime: Unix nanoseconds, truncated to milliseconds (model.Time).
std::int64_t float_to_time(double v) {
  const double ns = v * 1e9;
  if (ns > 9.223372036854775807e18 || ns < -9.223372036854775808e18) {
    fail(format_float_shortest(v) +
         " cannot be represented as a nanoseconds timestamp since it overflows int64");
  }
  const auto n = ns >= 9.223372036854775807e18 ? INT64_MAX : static_cast<std::int64_t>(ns);
  return (n / 1000000) * 1000000;
}

// url.QueryEscape.
std::string query_escape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

// text/template's evalArgs: one string as it is, otherwise fmt.Sprint of the printable values.
std::string eval_args(const Args& args) {
  if (args.size() == 1 && args[0].kind == Kind::string) return args[0].s;
  Args printable = args;
  for (Value& v : printable) {
    if (!v.valid()) v = Value::string("<no value>");
  }
  return sprint(printable);
}

Value f_html(const Env&, Args& args) {
  std::string out;
  for (char c : eval_args(args)) {
    switch (c) {
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\0': out += "\xef\xbf\xbd"; break;
      default: out += c;
    }
  }
  return Value::string(out);
}

Value f_js(const Env&, Args& args) {
  static const char* kHex = "0123456789ABCDEF";
  const std::string s = eval_args(args);
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\\': out += "\\\\"; continue;
      case '\'': out += "\\'"; continue;
      case '"': out += "\\\""; continue;
      case '<': out += "\\u003C"; continue;
      case '>': out += "\\u003E"; continue;
      case '&': out += "\\u0026"; continue;
      case '=': out += "\\u003D"; continue;
      default: break;
    }
    if (c < ' ') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return Value::string(out);
}

Value f_urlquery(const Env&, Args& args) { return Value::string(query_escape(eval_args(args))); }
Value f_print(const Env&, Args& args) { return Value::string(sprint(args)); }
Value f_println(const Env&, Args& args) { return Value::string(sprintln(args)); }
Value f_printf(const Env&, Args& args) {
  const std::string format = args[0].s;
  return Value::string(sprintf(format, Args(args.begin() + 1, args.end())));
}

Value f_len(const Env&, Args& args) {
  const Value& v = args[0];
  if (v.kind == Kind::sample && !v.sample) fail("len of nil pointer");
  const std::int64_t n = length(v);
  if (n < 0) fail("len of type " + (v.valid() ? type_name(v) : std::string("<nil>")));
  return Value::integer(n);
}

Value f_not(const Env&, Args& args) { return Value::boolean(!truth(args[0])); }

// The kinds Go compares.
enum class Basic { invalid, boolean, integer, unsigned_integer, floating, complex, string, other };
Basic basic(const Value& v) {
  switch (v.kind) {
    case Kind::invalid: return Basic::invalid;
    case Kind::boolean: return Basic::boolean;
    case Kind::integer: return Basic::integer;
    case Kind::byte: return Basic::unsigned_integer;
    case Kind::floating: return Basic::floating;
    case Kind::complex: return Basic::complex;
    case Kind::string:
    case Kind::html: return Basic::string;
    default: return Basic::other;
  }
}

const char* kBadComparisonType = "invalid type for comparison";
const char* kBadComparison = "incompatible types for comparison";

bool comparable(const Value& v) {
  return v.kind != Kind::string_map && v.kind != Kind::any_map && v.kind != Kind::samples;
}

bool equal(const Value& a, const Value& b) {
  const Basic ka = basic(a), kb = basic(b);
  if (ka != kb) {
    if (ka == Basic::integer && kb == Basic::unsigned_integer) return a.i >= 0 && a.i == b.i;
    if (ka == Basic::unsigned_integer && kb == Basic::integer) return b.i >= 0 && a.i == b.i;
    if (a.valid() && b.valid()) fail(kBadComparison);
    return false;
  }
  switch (ka) {
    case Basic::boolean: return a.b == b.b;
    case Basic::integer:
    case Basic::unsigned_integer: return a.i == b.i;
    case Basic::floating: return a.f == b.f;
    case Basic::complex: return a.f == b.f && a.imag == b.imag;
    case Basic::string: return a.s == b.s;
    case Basic::invalid: return true;
    case Basic::other:
      if (!comparable(b)) fail("non-comparable type " + sprint_value(b) + ": " + type_name(b));
      if (a.kind != b.kind) return false;
      if (a.kind == Kind::sample) return a.sample == b.sample;
      if (a.kind == Kind::time) return a.i == b.i;
      if (a.kind == Kind::root) return a.root == b.root;
      return false;
  }
  return false;
}

Value f_eq(const Env&, Args& args) {
  const Value& a = args[0];
  if (args.size() < 2) fail("missing argument for comparison");
  for (std::size_t k = 1; k < args.size(); ++k) {
    if (equal(a, args[k])) return Value::boolean(true);
  }
  return Value::boolean(false);
}

Value f_ne(const Env& env, Args& args) { return Value::boolean(!f_eq(env, args).b); }

bool less(const Value& a, const Value& b) {
  const Basic ka = basic(a), kb = basic(b);
  if (ka == Basic::invalid || ka == Basic::other || kb == Basic::invalid || kb == Basic::other) {
    fail(kBadComparisonType);
  }
  if (ka != kb) {
    if (ka == Basic::integer && kb == Basic::unsigned_integer) return a.i < 0 || a.i < b.i;
    if (ka == Basic::unsigned_integer && kb == Basic::integer) return b.i >= 0 && a.i < b.i;
    fail(kBadComparison);
  }
  switch (ka) {
    case Basic::boolean:
    case Basic::complex: fail(kBadComparisonType);
    case Basic::floating: return a.f < b.f;
    case Basic::string: return a.s < b.s;
    default: return a.i < b.i;
  }
}

Value f_lt(const Env&, Args& args) { return Value::boolean(less(args[0], args[1])); }
Value f_le(const Env& env, Args& args) {
  if (less(args[0], args[1])) return Value::boolean(true);
  return f_eq(env, args);
}
Value f_gt(const Env& env, Args& args) { return Value::boolean(!f_le(env, args).b); }
Value f_ge(const Env&, Args& args) { return Value::boolean(!less(args[0], args[1])); }

// indexArg: an integer index up to `cap`.
std::int64_t index_arg(const Value& index, std::int64_t cap) {
  std::int64_t x = 0;
  switch (index.kind) {
    case Kind::integer:
    case Kind::byte: x = index.i; break;
    case Kind::invalid: fail("cannot index slice/array with nil");
    default: fail("cannot index slice/array with type " + type_name(index));
  }
  if (x < 0 || x > cap) fail("index out of range: " + std::to_string(x));
  return x;
}

Value map_key(const Value& index) {
  if (index.kind == Kind::string) return index;
  if (!index.valid()) fail("value is nil; should be of type string");
  fail("value has type " + type_name(index) + "; should be string");
}

Value f_index(const Env&, Args& args) {
  Value item = args[0];
  if (!item.valid()) fail("index of untyped nil");
  for (std::size_t k = 1; k < args.size(); ++k) {
    const Value& index = args[k];
    if (item.kind == Kind::sample && !item.sample) fail("index of nil pointer");
    switch (item.kind) {
      case Kind::string:
      case Kind::html: {
        const std::int64_t x = index_arg(index, static_cast<std::int64_t>(item.s.size()));
        if (x >= static_cast<std::int64_t>(item.s.size())) fail("reflect: string index out of range");
        Value b;
        b.kind = Kind::byte;
        b.i = static_cast<unsigned char>(item.s[static_cast<std::size_t>(x)]);
        item = b;
        break;
      }
      case Kind::samples: {
        const auto n = static_cast<std::int64_t>(item.samples ? item.samples->size() : 0);
        const std::int64_t x = index_arg(index, n);
        if (x >= n) fail("reflect: slice index out of range");
        Value s;
        s.kind = Kind::sample;
        s.sample = (*item.samples)[static_cast<std::size_t>(x)];
        item = s;
        break;
      }
      case Kind::string_map: {
        const Value key = map_key(index);
        const auto it = item.string_map->find(key.s);
        item = Value::string(it == item.string_map->end() ? "" : it->second);
        break;
      }
      case Kind::any_map: {
        const Value key = map_key(index);
        const auto it = item.any_map->find(key.s);
        item = it == item.any_map->end() ? Value() : it->second;
        break;
      }
      default: fail("can't index item of type " + type_name(item));
    }
  }
  return item;
}

Value f_slice(const Env&, Args& args) {
  const Value& item = args[0];
  if (!item.valid()) fail("slice of untyped nil");
  const std::size_t n = args.size() - 1;
  if (n > 3) fail("too many slice indexes: " + std::to_string(n));
  std::int64_t cap = 0;
  if (item.kind == Kind::string || item.kind == Kind::html) {
    if (n == 3) fail("cannot 3-index slice a string");
    cap = static_cast<std::int64_t>(item.s.size());
  } else if (item.kind == Kind::samples) {
    cap = static_cast<std::int64_t>(item.samples ? item.samples->size() : 0);
  } else {
    fail("can't slice item of type " + type_name(item));
  }
  std::int64_t idx[3] = {0, cap, cap};
  for (std::size_t k = 0; k < n; ++k) idx[k] = index_arg(args[k + 1], cap);
  if (idx[0] > idx[1])
    fail("invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1]));
  if (n == 3 && idx[1] > idx[2]) {
    fail("invalid slice index: " + std::to_string(idx[1]) + " > " + std::to_string(idx[2]));
  }
  Value out = item;
  if (item.kind == Kind::samples) {
    auto part = std::make_shared<Samples>();
    if (item.samples) {
      part->assign(item.samples->begin() + idx[0], item.samples->begin() + idx[1]);
    }
    out.samples = part;
  } else {
    out.s = item.s.substr(static_cast<std::size_t>(idx[0]), static_cast<std::size_t>(idx[1] - idx[0]));
  }
  return out;
}

Value f_call(const Env&, Args& args) {
  if (!args[0].valid()) fail("call of nil");
  fail("non-function of type " + type_name(args[0]));
}

// Prometheus's functions.

std::shared_ptr<const StringMap> to_map(const Labels& labels) {
  auto m = std::make_shared<StringMap>();
  for (const Label& l : labels) m->emplace(l.name, l.value);
  return m;
}

Value f_query(const Env& env, Args& args) {
  if (!env.data.query) fail("no query function");
  std::vector<TemplateSample> result;
  try {
    result = env.data.query(args[0].s);
  } catch (const FunctionError&) {
    throw;
  } catch (const std::exception& e) {
    fail(e.what());
  }
  Value out;
  out.kind = Kind::samples;
  out.samples = std::make_shared<Samples>();
  for (const TemplateSample& s : result) {
    auto sample = std::make_shared<SampleData>();
    sample->labels = to_map(s.labels);
    sample->value = s.value;
    out.samples->push_back(std::move(sample));
  }
  return out;
}

Value f_first(const Env&, Args& args) {
  if (!args[0].samples || args[0].samples->empty()) fail("first() called on vector with no elements");
  Value out;
  out.kind = Kind::sample;
  out.sample = args[0].samples->front();
  return out;
}

const char* kNilPointer = "runtime error: invalid memory address or nil pointer dereference";

std::string label_of(const SampleData& s, const std::string& name) {
  if (!s.labels) return "";
  const auto it = s.labels->find(name);
  return it == s.labels->end() ? "" : it->second;
}

Value f_label(const Env&, Args& args) {
  if (!args[1].sample) fail(kNilPointer);
  return Value::string(label_of(*args[1].sample, args[0].s));
}
Value f_value(const Env&, Args& args) {
  if (!args[0].sample) fail(kNilPointer);
  return Value::floating(args[0].sample->value);
}
Value f_strvalue(const Env&, Args& args) {
  if (!args[0].sample) fail(kNilPointer);
  return Value::string(label_of(*args[0].sample, "__value__"));
}

Value f_args(const Env&, Args& args) {
  auto m = std::make_shared<AnyMap>();
  for (std::size_t k = 0; k < args.size(); ++k) (*m)["arg" + std::to_string(k)] = args[k];
  Value out;
  out.kind = Kind::any_map;
  out.any_map = m;
  return out;
}

// Go's regexp error text for RE2's.
std::string regexp_error(const re2::RE2& re) {
  std::string code;
  switch (re.error_code()) {
    case re2::RE2::ErrorMissingParen: code = "missing closing )"; break;
    case re2::RE2::ErrorUnexpectedParen: code = "unexpected )"; break;
    case re2::RE2::ErrorMissingBracket: code = "missing closing ]"; break;
    case re2::RE2::ErrorBadEscape: code = "invalid escape sequence"; break;
    case re2::RE2::ErrorBadCharClass: code = "invalid character class"; break;
    case re2::RE2::ErrorBadCharRange: code = "invalid character class range"; break;
    case re2::RE2::ErrorRepeatArgument: code = "missing argument to repetition operator"; break;
    case re2::RE2::ErrorRepeatSize: code = "invalid repeat count"; break;
    case re2::RE2::ErrorRepeatOp: code = "invalid nested repetition operator"; break;
    case re2::RE2::ErrorBadPerlOp: code = "invalid or unsupported Perl syntax"; break;
    case re2::RE2::ErrorBadUTF8: code = "invalid UTF-8"; break;
    case re2::RE2::ErrorBadNamedCapture: code = "invalid named capture"; break;
    case re2::RE2::ErrorTrailingBackslash: code = "trailing backslash at end of expression"; break;
    case re2::RE2::ErrorPatternTooLarge: code = "expression too large"; break;
    default: code = re.error(); break;
  }
  return "error parsing regexp: " + code + ": `" + re.error_arg() + "`";
}

std::unique_ptr<re2::RE2> compile(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);
  return std::make_unique<re2::RE2>(pattern, options);
}

Value f_match(const Env&, Args& args) {
  const auto re = compile(args[0].s);
  if (!re->ok()) fail(regexp_error(*re));
  return Value::boolean(re2::RE2::PartialMatch(args[1].s, *re));
}

// regexp.Expand of Go's template ($1, ${1}, $name, ${name}, $$) for one match.
void expand(std::string& out, std::string_view repl, const re2::RE2& re,
            const std::vector<re2::StringPiece>& groups) {
  const auto& names = re.NamedCapturingGroups();
  auto group = [&](std::string_view name) -> std::string_view {
    bool numeric = !name.empty();
    for (char c : name) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
    if (numeric) {
      if (name.size() > 8) return {};
      const auto n = static_cast<std::size_t>(std::stoul(std::string(name)));
      if (n < groups.size() && groups[n].data() != nullptr) return {groups[n].data(), groups[n].size()};
      return {};
    }
    const auto it = names.find(std::string(name));
    if (it != names.end() && static_cast<std::size_t>(it->second) < groups.size() &&
        groups[static_cast<std::size_t>(it->second)].data() != nullptr) {
      const auto& g = groups[static_cast<std::size_t>(it->second)];
      return {g.data(), g.size()};
    }
    return {};
  };
  for (std::size_t i = 0; i < repl.size();) {
    if (repl[i] != '$' || i + 1 >= repl.size()) {
      out += repl[i++];
      continue;
    }
    if (repl[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (repl[i + 1] == '{') {
      const std::size_t close = repl.find('}', i + 2);
      std::string_view name;
      bool ok = close != std::string_view::npos && close > i + 2;
      if (ok) {
        name = repl.substr(i + 2, close - i - 2);
        for (char c : name) ok = ok && word(c);
      }
      if (!ok) {
        out += repl[i++];
        continue;
      }
      out += group(name);
      i = close + 1;
      continue;
    }
    std::size_t j = i + 1;
    while (j < repl.size() && word(repl[j])) ++j;
    if (j == i + 1) {
      out += repl[i++];
      continue;
    }
    out += group(repl.substr(i + 1, j - i - 1));
    i = j;
  }
}

Value f_re_replace_all(const Env&, Args& args) {
  const std::string& pattern = args[0].s;
  const auto re = compile(pattern);
  if (!re->ok()) {
    const bool backquote = pattern.find('`') == std::string::npos;
    fail("regexp: Compile(" + (backquote ? "`" + pattern + "`" : quote(pattern)) + "): " + regexp_error(*re));
  }
  const std::string& src = args[2].s;
  const std::string_view repl = args[1].s;
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
  std::string out;
  std::size_t last_end = 0, search = 0;
  while (search <= src.size()) {
    if (!re->Match(src, search, src.size(), re2::RE2::UNANCHORED, groups.data(),
                   static_cast<int>(groups.size()))) {
      break;
    }
    const auto a0 = static_cast<std::size_t>(groups[0].data() - src.data());
    const std::size_t a1 = a0 + groups[0].size();
    out.append(src, last_end, a0 - last_end);
    if (a1 > last_end || a0 == 0) expand(out, repl, *re, groups);
    last_end = a1;
    std::size_t width = 1;
    if (search < src.size()) {
      const auto c = static_cast<unsigned char>(src[search]);
      width = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
    }
    if (search + width > a1) {
      search += width;
    } else if (search + 1 > a1) {
      ++search;
    } else {
      search = a1;
    }
    if (out.size() > (1u << 20)) fail("reReplaceAll: result too large");
  }
  if (last_end < src.size()) out.append(src, last_end, std::string::npos);
  return Value::string(out);
}

Value f_safe_html(const Env&, Args& args) { return Value::html(args[0].s); }

// strings.ToUpper/ToLower for ASCII, Latin-1, Greek and Cyrillic; other runes unchanged.
std::string change_case(const std::string& s, bool upper) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
      ++i;
      continue;
    }
    int n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
    if (n != 2 || i + 2 > s.size()) {
      out.append(s, i, static_cast<std::size_t>(n));
      i += static_cast<std::size_t>(n);
      continue;
    }
    std::uint32_t r = ((c & 0x1fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3fu);
    if (upper) {
      if ((r >= 0xe0 && r <= 0xfe && r != 0xf7) || (r >= 0x3b1 && r <= 0x3c9 && r != 0x3c2) ||
          (r >= 0x430 && r <= 0x44f)) {
        r -= 0x20;
      } else if (r >= 0x450 && r <= 0x45f) {
        r -= 0x50;
      }
    } else {
      if ((r >= 0xc0 && r <= 0xde && r != 0xd7) || (r >= 0x391 && r <= 0x3a9 && r != 0x3a2) ||
          (r >= 0x410 && r <= 0x42f)) {
        r += 0x20;
      } else if (r >= 0x400 && r <= 0x40f) {
        r += 0x50;
      }
    }
    out += static_cast<char>(0xc0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3f));
    i += 2;
  }
  return out;
}

Value f_to_upper(const Env&, Args& args) { return Value::string(change_case(args[0].s, true)); }
Value f_to_lower(const Env&, Args& args) { return Value::string(change_case(args[0].s, false)); }

// strings.Title: the first letter of each word upper-cased; ASCII punctuation and spaces separate words.
Value f_title(const Env&, Args& args) {
  const std::string& s = args[0].s;
  std::string out;
  bool separator = true;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80             ? 1
                    : (c & 0xe0) == 0xc0 ? 2
                    : (c & 0xf0) == 0xe0 ? 3
                    : (c & 0xf8) == 0xf0 ? 4
                                         : 1;
    n = std::min(n, s.size() - i);
    const std::string rune = s.substr(i, n);
    out += separator ? change_case(rune, true) : rune;
    if (c < 0x80) {
      separator = !(std::isalnum(c) || c == '_');
    } else {
      separator = false;
    }
    i += n;
  }
  return Value::string(out);
}

Value f_graph_link(const Env&, Args& args) {
  return Value::string("/graph?g0.expr=" + query_escape(args[0].s) + "&g0.tab=0");
}
Value f_table_link(const Env&, Args& args) {
  return Value::string("/graph?g0.expr=" + query_escape(args[0].s) + "&g0.tab=1");
}

Value f_sort_by_label(const Env&, Args& args) {
  const std::string name = args[0].s;
  Value v = args[1];
  if (v.samples) {
    std::stable_sort(v.samples->begin(), v.samples->end(),
                     [&](const auto& a, const auto& b) { return label_of(*a, name) < label_of(*b, name); });
  }
  return v;
}

// net.SplitHostPort; false where it fails.
bool split_host_port(const std::string& hp, std::string& host, std::string& port) {
  const std::size_t i = hp.rfind(':');
  if (i == std::string::npos) return false;
  std::size_t j = 0, k = 0;
  if (!hp.empty() && hp[0] == '[') {
    const std::size_t end = hp.find(']');
    if (end == std::string::npos) return false;
    if (end + 1 == hp.size()) return false;
    if (end + 1 != i) return false;
    host = hp.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hp.substr(0, i);
    if (host.find(':') != std::string::npos) return false;
  }
  if (hp.find('[', j) != std::string::npos) return false;
  if (hp.find(']', k) != std::string::npos) return false;
  port = hp.substr(i + 1);
  return true;
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Value f_strip_port(const Env&, Args& args) {
  std::string host, port;
  if (!split_host_port(args[0].s, host, port)) return args[0];
  return Value::string(host);
}

Value f_strip_domain(const Env&, Args& args) {
  const std::string& hp = args[0].s;
  std::string host, port;
  if (!split_host_port(hp, host, port)) {
    host = hp;
    port.clear();
  }
  if (is_ip(host)) return args[0];
  host = host.substr(0, host.find('.'));
  if (!port.empty()) {
    if (host.find(':') != std::string::npos) return Value::string("[" + host + "]:" + port);
    return Value::string(host + ":" + port);
  }
  return Value::string(host);
}

Value f_humanize(const Env&, Args& args) { return Value::string(humanize(to_float(args[0]))); }
Value f_humanize1024(const Env&, Args& args) { return Value::string(humanize_1024(to_float(args[0]))); }
Value f_humanize_duration(const Env&, Args& args) {
  return Value::string(humanize_duration(to_float(args[0])));
}
Value f_humanize_percentage(const Env&, Args& args) {
  return Value::string(humanize_percentage(to_float(args[0])));
}
Value f_humanize_timestamp(const Env&, Args& args) {
  const double v = to_float(args[0]);
  if (std::isnan(v) || std::isinf(v)) return Value::string(g4(v));
  return Value::string(format_time(float_to_time(v)));
}
Value f_to_time(const Env&, Args& args) {
  const double v = to_float(args[0]);
  if (std::isnan(v) || std::isinf(v)) fail("value is NaN or Inf");
  Value out;
  out.kind = Kind::time;
  out.i = float_to_time(v);
  return out;
}

// The path of the external URL (url.URL.Path: the part after the authority, before ? and #).
std::string url_path(const std::string& url) {
  std::size_t start = 0;
  const std::size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    start = url.find('/', scheme + 3);
    if (start == std::string::npos) return "";
  }
  const std::size_t end = url.find_first_of("?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

Value f_path_prefix(const Env& env, Args&) { return Value::string(url_path(env.data.external_url)); }
Value f_external_url(const Env& env, Args&) { return Value::string(env.data.external_url); }

Value f_parse_duration(const Env&, Args& args) {
  const auto d = parse_duration(args[0].s);
  if (!d) fail("not a valid duration string: " + quote(args[0].s));
  return Value::floating(static_cast<double>(d->count()) / 1000.0);
}

using P = Param;

const std::vector<Function>& functions() {
  static const std::vector<Function> kFunctions = {
      // Go's builtins.
      {"and", {P::any, P::any}, true, nullptr, true},
      {"or", {P::any, P::any}, true, nullptr, true},
      {"call", {P::any, P::any}, true, f_call},
      {"html", {P::any}, true, f_html},
      {"index", {P::any, P::any}, true, f_index},
      {"slice", {P::any, P::any}, true, f_slice},
      {"js", {P::any}, true, f_js},
      {"len", {P::any}, false, f_len},
      {"not", {P::any}, false, f_not},
      {"print", {P::any}, true, f_print},
      {"printf", {P::string, P::any}, true, f_printf},
      {"println", {P::any}, true, f_println},
      {"urlquery", {P::any}, true, f_urlquery},
      {"eq", {P::any, P::any}, true, f_eq},
      {"ge", {P::any, P::any}, false, f_ge},
      {"gt", {P::any, P::any}, false, f_gt},
      {"le", {P::any, P::any}, false, f_le},
      {"lt", {P::any, P::any}, false, f_lt},
      {"ne", {P::any, P::any}, false, f_ne},
      // Prometheus's.
      {"query", {P::string}, false, f_query},
      {"first", {P::samples}, false, f_first},
      {"label", {P::string, P::sample}, false, f_label},
      {"value", {P::sample}, false, f_value},
      {"strvalue", {P::sample}, false, f_strvalue},
      {"args", {P::any}, true, f_args},
      {"reReplaceAll", {P::string, P::string, P::string}, false, f_re_replace_all},
      {"safeHtml", {P::string}, false, f_safe_html},
      {"match", {P::string, P::string}, false, f_match},
      {"title", {P::string}, false, f_title},
      {"toUpper", {P::string}, false, f_to_upper},
      {"toLower", {P::string}, false, f_to_lower},
      {"graphLink", {P::string}, false, f_graph_link},
      {"tableLink", {P::string}, false, f_table_link},
      {"sortByLabel", {P::string, P::samples}, false, f_sort_by_label},
      {"stripPort", {P::string}, false, f_strip_port},
      {"stripDomain", {P::string}, false, f_strip_domain},
      {"humanize", {P::any}, false, f_humanize},
      {"humanize1024", {P::any}, false, f_humanize1024},
      {"humanizeDuration", {P::any}, false, f_humanize_duration},
      {"humanizePercentage", {P::any}, false, f_humanize_percentage},
      {"humanizeTimestamp", {P::any}, false, f_humanize_timestamp},
      {"toTime", {P::any}, false, f_to_time},
      {"pathPrefix", {}, false, f_path_prefix},
      {"externalURL", {}, false, f_external_url},
      {"parseDuration", {P::string}, false, f_parse_duration},
  };
  return kFunctions;
}

}  // namespace

const Function* find_function(std::string_view name) {
  for (const Function& f : functions()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool is_function(std::string_view name) { return find_function(name) != nullptr; }

std::string param_type_name(Param p) {
  switch (p) {
    case Param::any: return "interface {}";
    case Param::string: return "string";
    case Param::sample: return "*template.sample";
    case Param::samples: return "template.queryResult";
  }
  return "";
}

}  // namespace tmpl
}  // namespace tocsin::rules
