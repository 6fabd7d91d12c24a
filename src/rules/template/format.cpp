// Go's fmt for template values. The rules followed are fmt's (print.go, format.go) and strconv's
// (ftoa.go, quote.go); finite floats with an explicit precision go through C's printf, which rounds
// exactly as strconv does.

#include "rules/template/format.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace tocsin::rules::tmpl {

namespace {

// fmt's flags, width and precision for one verb.
struct Spec {
  bool plus = false, minus = false, sharp = false, space = false, zero = false;
  bool plus_v = false;  // %+v: struct fields with their names
  int width = -1;
  int prec = -1;
};

constexpr int kMaxWidth = 1 << 16;  // wider is an error in tocsin (Go would allocate it)

// UTF-8: the rune at s[i] and its length; -1 for an invalid byte (length 1).
std::pair<std::int32_t, int> decode_rune(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1};
  int n = 0;
  std::int32_t r = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    r = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    r = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    r = c & 0x07;
  } else {
    return {-1, 1};
  }
  if (i + static_cast<std::size_t>(n) > s.size()) return {-1, 1};
  for (int k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((cc & 0xc0) != 0x80) return {-1, 1};
    r = (r << 6) | (cc & 0x3f);
  }
  if ((n == 2 && r < 0x80) || (n == 3 && r < 0x800) || (n == 4 && (r < 0x10000 || r > 0x10ffff)) ||
      (r >= 0xd800 && r <= 0xdfff)) {
    return {-1, 1};
  }
  return {r, n};
}

std::size_t rune_count(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) i += static_cast<std::size_t>(decode_rune(s, i).second);
  return n;
}

// fmt's pad: width in runes, spaces (or zeros) on the left, or spaces on the right with '-'.
std::string pad(std::string s, const Spec& spec, bool zero_ok = false) {
  if (spec.width < 0) return s;
  const std::size_t n = rune_count(s);
  const auto width = static_cast<std::size_t>(spec.width);
  if (n >= width) return s;
  const std::string fill(width - n, spec.zero && zero_ok && !spec.minus ? '0' : ' ');
  if (spec.minus) return s + fill;
  if (fill[0] == '0' && !s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) {
    return s.substr(0, 1) + fill + s.substr(1);
  }
  return fill + s;
}

std::string hex_escape(unsigned c, int digits, char prefix) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\\";
  out += prefix;
  for (int k = digits - 1; k >= 0; --k) out += kHex[(c >> (4 * k)) & 0xf];
  return out;
}

// unicode.IsPrint, approximated outside ASCII: the C1 controls, the surrogates and non-characters are not.
bool printable(std::int32_t r) {
  if (r < 0x20 || r == 0x7f) return false;
  if (r >= 0x80 && r < 0xa0) return false;
  if (r == 0xad || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe || r == 0xffff) return false;
  if (r >= 0x2028 && r <= 0x202e) return false;
  if (r >= 0x2060 && r <= 0x206f) return false;
  return true;
}

std::string quote_with(std::string_view s, char q, bool ascii_only) {
  std::string out(1, q);
  for (std::size_t i = 0; i < s.size();) {
    auto [r, n] = decode_rune(s, i);
    if (r < 0) {
      out += hex_escape(static_cast<unsigned char>(s[i]), 2, 'x');
      i += 1;
      continue;
    }
    i += static_cast<std::size_t>(n);
    if (r == q || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
      continue;
    }
    if (printable(r) && (!ascii_only || r < 0x80)) {
      out += encode_rune(r);
      continue;
    }
    switch (r) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (r < ' ' || r == 0x7f) {
          out += hex_escape(static_cast<unsigned>(r), 2, 'x');
        } else if (r < 0x10000) {
          out += hex_escape(static_cast<unsigned>(r), 4, 'u');
        } else {
          out += hex_escape(static_cast<unsigned>(r), 8, 'U');
        }
    }
  }
  out += q;
  return out;
}

// The shortest digits of |v| (finite, non-zero) and its decimal exponent: v = 0.d1d2... x 10^dp.
void shortest_digits(double v, std::string& digits, int& dp) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  (void)ec;
  const std::string sci(buf, end);
  const std::size_t e = sci.find('e');
  digits.clear();
  for (std::size_t k = 0; k < e; ++k) {
    if (sci[k] != '.') digits += sci[k];
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  dp = std::stoi(sci.substr(e + 1)) + 1;
}

std::string exponent_text(int exp) {
  std::string out = exp < 0 ? "-" : "+";
  const int a = exp < 0 ? -exp : exp;
  if (a < 10) out += '0';
  out += std::to_string(a);
  return out;
}

// strconv's %e and %f from shortest digits (prec -1).
std::string shortest_e(const std::string& d, int dp, char e) {
  std::string out(1, d[0]);
  if (d.size() > 1) out += "." + d.substr(1);
  return out + e + exponent_text(dp - 1);
}
std::string shortest_f(const std::string& d, int dp) {
  std::string out;
  if (dp <= 0) {
    out = "0." + std::string(static_cast<std::size_t>(-dp), '0') + d;
  } else if (static_cast<std::size_t>(dp) >= d.size()) {
    out = d + std::string(static_cast<std::size_t>(dp) - d.size(), '0');
  } else {
    out = d.substr(0, static_cast<std::size_t>(dp)) + "." + d.substr(static_cast<std::size_t>(dp));
  }
  return out;
}

// The unsigned text of finite v for verb (e E f F g G) with prec (-1: shortest).
std::string float_body(double v, char verb, int prec, bool sharp) {
  if (prec >= 0 || verb == 'e' || verb == 'E' || verb == 'f' || verb == 'F') {
    if (prec < 0) prec = 6;
    if (prec > 1000) prec = 1000;
    std::string f = "%";
    if (sharp) f += '#';
    f += "." + std::to_string(prec) + verb;
    const int n = std::snprintf(nullptr, 0, f.c_str(), std::fabs(v));
    std::string out(static_cast<std::size_t>(n) + 1, '\0');
    std::snprintf(out.data(), out.size(), f.c_str(), std::fabs(v));
    out.resize(static_cast<std::size_t>(n));
    return out;
  }
  if (v == 0) return "0";
  std::string d;
  int dp = 0;
  shortest_digits(v, d, dp);
  const int exp = dp - 1;
  const char e = verb == 'G' ? 'E' : 'e';
  // strconv: %e when the exponent is below -4 or at least 6 (the precision used for shortest).
  if (exp < -4 || exp >= 6) return shortest_e(d, dp, e);
  return shortest_f(d, dp);
}

std::string format_float(double v, char verb, const Spec& spec) {
  if (std::isnan(v) || std::isinf(v)) {
    std::string s = std::isnan(v) ? "NaN" : "Inf";
    if (std::isinf(v)) {
      s = (v < 0 ? "-" : spec.plus ? "+" : spec.space ? " " : "+") + s;
    } else if (spec.plus) {
      s = "+" + s;
    } else if (spec.space) {
      s = " " + s;
    }
    Spec no_zero = spec;
    no_zero.zero = false;
    return pad(s, no_zero);
  }
  std::string body;
  if (verb == 'x' || verb == 'X') {
    char buf[128];
    if (spec.prec >= 0) {
      std::snprintf(buf, sizeof buf, "%.*a", std::min(spec.prec, 64), std::fabs(v));
    } else {
      std::snprintf(buf, sizeof buf, "%a", std::fabs(v));
    }
    body = buf;
    const auto p = body.find('p');
    if (p != std::string::npos && p + 2 < body.size() + 1 && body.size() - p == 3) body.insert(p + 2, "0");
    if (verb == 'X') {
      for (char& c : body) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  } else {
    body = float_body(v, verb == 'v' ? 'g' : verb, spec.prec, spec.sharp);
  }
  const bool negative = std::signbit(v);
  const std::string sign = negative ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  return pad(sign + body, spec, true);
}

std::string format_integer(std::int64_t value, bool is_signed, char verb, const Spec& spec) {
  const bool negative = is_signed && value < 0;
  std::uint64_t u = negative ? (0 - static_cast<std::uint64_t>(value)) : static_cast<std::uint64_t>(value);
  if (verb == 'c') return pad(encode_rune(static_cast<std::int32_t>(value)), spec);
  if (verb == 'q')
    return pad(quote_with(encode_rune(static_cast<std::int32_t>(value)), '\'', spec.plus), spec);
  if (verb == 'U') {
    char buf[32];
    std::snprintf(buf, sizeof buf, "U+%04llX", static_cast<unsigned long long>(u));
    return pad(buf, spec);
  }
  int base = 10;
  const char* digits = "0123456789abcdefx";
  switch (verb) {
    case 'b': base = 2; break;
    case 'o':
    case 'O': base = 8; break;
    case 'x': base = 16; break;
    case 'X':
      base = 16;
      digits = "0123456789ABCDEFX";
      break;
    default: break;
  }
  std::string body;
  do {
    body.insert(body.begin(), digits[u % static_cast<std::uint64_t>(base)]);
    u /= static_cast<std::uint64_t>(base);
  } while (u != 0);
  if (spec.prec == 0 && value == 0) body.clear();
  if (spec.prec > 0 && static_cast<int>(body.size()) < spec.prec) {
    body.insert(0, static_cast<std::size_t>(std::min(spec.prec, kMaxWidth)) - body.size(), '0');
  }
  std::string prefix;
  if (verb == 'O') prefix = "0o";
  if (spec.sharp) {
    if (base == 16) prefix = verb == 'X' ? "0X" : "0x";
    if (base == 8 && (body.empty() || body[0] != '0')) prefix = "0";
    if (base == 2) prefix = "0b";
  }
  const std::string sign = negative ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  Spec s = spec;
  if (spec.prec >= 0) s.zero = false;
  if (s.zero && !s.minus && s.width > 0) {
    const int used = static_cast<int>(sign.size() + prefix.size() + body.size());
    if (used < s.width) body.insert(0, static_cast<std::size_t>(s.width - used), '0');
  }
  return pad(sign + prefix + body, s);
}

std::string hex_string(std::string_view s, bool upper, const Spec& spec) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  std::size_t n = s.size();
  if (spec.prec >= 0 && static_cast<std::size_t>(spec.prec) < n) n = static_cast<std::size_t>(spec.prec);
  for (std::size_t k = 0; k < n; ++k) {
    if (spec.space && k > 0) out += ' ';
    if (spec.sharp && (spec.space || k == 0)) out += upper ? "0X" : "0x";
    const auto c = static_cast<unsigned char>(s[k]);
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return pad(out, spec);
}

std::string format_string(std::string_view s, char verb, const Spec& spec) {
  switch (verb) {
    case 'v':
    case 's': {
      std::string text(s);
      if (spec.prec >= 0) {
        std::size_t i = 0;
        for (int r = 0; r < spec.prec && i < text.size(); ++r) {
          i += static_cast<std::size_t>(decode_rune(text, i).second);
        }
        text.resize(i);
      }
      return pad(text, spec);
    }
    case 'q': {
      if (spec.sharp && s.find('`') == std::string_view::npos) {
        bool can = true;
        for (char c : s) {
          if ((static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f) can = false;
        }
        if (can) return pad("`" + std::string(s) + "`", spec);
      }
      return pad(quote_with(s, '"', spec.plus), spec);
    }
    case 'x': return hex_string(s, false, spec);
    case 'X': return hex_string(s, true, spec);
    default: return "";
  }
}

bool is_string_kind(const Value& v) { return v.kind == Kind::string || v.kind == Kind::html; }

// fmt's printArg / printValue for one value with a verb; `depth` > 0 inside a map or struct.
std::string print_arg(const Value& v, char verb, const Spec& spec, int depth);

std::string bad_verb(const Value& v, char verb) {
  std::string out = "%!";
  out += verb;
  out += "(";
  if (!v.valid()) return out + "<nil>)";
  return out + type_name(v) + "=" + print_arg(v, 'v', Spec{}, 0) + ")";
}

// The address fmt prints for a pointer inside a composite value: tocsin has none, so a stable stand-in.
std::string pointer_text(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0xc%09llx",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(p) & 0xfffffffffULL));
  return buf;
}

std::string print_map(const StringMap* m, char verb, const Spec& spec, int depth) {
  std::string out = "map[";
  bool first = true;
  if (m != nullptr) {
    for (const auto& [k, val] : *m) {
      if (!first) out += ' ';
      first = false;
      out += print_arg(Value::string(k), verb, spec, depth + 1) + ":" +
             print_arg(Value::string(val), verb, spec, depth + 1);
    }
  }
  return out + "]";
}

std::string print_sample(const SampleData& s, char verb, const Spec& spec, int depth) {
  const Value value = Value::floating(s.value);
  const bool names = verb == 'v' && spec.plus_v;
  return std::string("{") + (names ? "Labels:" : "") + print_map(s.labels.get(), verb, spec, depth + 1) +
         " " + (names ? "Value:" : "") + print_arg(value, verb, spec, depth + 1) + "}";
}

std::string print_arg(const Value& v, char verb, const Spec& spec, int depth) {
  if (verb == 'T') return pad(v.valid() ? type_name(v) : "<nil>", spec);
  switch (v.kind) {
    case Kind::invalid:
      if (verb == 'v') return pad("<nil>", spec);
      return bad_verb(v, verb);
    case Kind::boolean:
      if (verb == 'v' || verb == 't') return pad(v.b ? "true" : "false", spec);
      return bad_verb(v, verb);
    case Kind::integer:
    case Kind::byte:
      switch (verb) {
        case 'v':
        case 'd': return format_integer(v.i, v.kind == Kind::integer, 'd', spec);
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X':
        case 'c':
        case 'q':
        case 'U': return format_integer(v.i, v.kind == Kind::integer, verb, spec);
        default: return bad_verb(v, verb);
      }
    case Kind::floating:
      switch (verb) {
        case 'v':
        case 'g':
        case 'G':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'x':
        case 'X': return format_float(v.f, verb, spec);
        default: return bad_verb(v, verb);
      }
    case Kind::complex: {
      if (verb != 'v' && verb != 'g' && verb != 'G' && verb != 'e' && verb != 'E' && verb != 'f' &&
          verb != 'F') {
        return bad_verb(v, verb);
      }
      Spec plus = spec;
      plus.plus = true;
      Spec inner = spec;
      inner.width = -1;
      plus.width = -1;
      return pad("(" + format_float(v.f, verb, inner) + format_float(v.imag, verb, plus) + "i)", spec);
    }
    case Kind::string:
    case Kind::html:
      if (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X') {
        return format_string(v.s, verb, spec);
      }
      return bad_verb(v, verb);
    case Kind::string_map: return print_map(v.string_map.get(), verb, spec, depth);
    case Kind::any_map: {
      std::string out = "map[";
      bool first = true;
      if (v.any_map) {
        for (const auto& [k, val] : *v.any_map) {
          if (!first) out += ' ';
          first = false;
          out +=
              format_string(k, verb == 'v' ? 's' : verb, spec) + ":" + print_arg(val, verb, spec, depth + 1);
        }
      }
      return out + "]";
    }
    case Kind::samples: {
      std::string out = "[";
      if (v.samples) {
        for (std::size_t k = 0; k < v.samples->size(); ++k) {
          if (k > 0) out += ' ';
          out += pointer_text((*v.samples)[k].get());
        }
      }
      return out + "]";
    }
    case Kind::sample:
      if (!v.sample) return depth > 0 ? "<nil>" : pad("<nil>", spec);
      if (depth > 0) return pointer_text(v.sample.get());
      return "&" + print_sample(*v.sample, verb, spec, depth);
    case Kind::time:
      if (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X') {
        return format_string(format_time(v.i), verb, spec);
      }
      return bad_verb(v, verb);
    case Kind::root: {
      const RootData& r = *v.root;
      const bool names = verb == 'v' && spec.plus_v;
      return std::string("{") + (names ? "Labels:" : "") + print_map(r.labels.get(), verb, spec, depth + 1) +
             " " + (names ? "ExternalLabels:" : "") +
             print_map(r.external_labels.get(), verb, spec, depth + 1) + " " + (names ? "ExternalURL:" : "") +
             print_arg(Value::string(r.external_url), verb, spec, depth + 1) + " " + (names ? "Value:" : "") +
             print_arg(Value::floating(r.value), verb, spec, depth + 1) + "}";
    }
  }
  return "";
}

}  // namespace

std::string encode_rune(std::int32_t r) {
  std::string out;
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xc0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3f));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xe0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (r & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (r & 0x3f));
  }
  return out;
}

std::string quote(std::string_view s) { return quote_with(s, '"', false); }

std::string format_float_shortest(double v) { return format_float(v, 'g', Spec{}); }

std::string format_time(std::int64_t unix_nanos) {
  std::int64_t secs = unix_nanos / 1000000000;
  std::int64_t nanos = unix_nanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    secs -= 1;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (nanos != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nanos));
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  return out + " +0000 UTC";
}

std::string sprint_value(const Value& v, bool deref) {
  if (deref && v.kind == Kind::sample && v.sample) return print_sample(*v.sample, 'v', Spec{}, 0);
  return print_arg(v, 'v', Spec{}, 0);
}

std::string sprint(const std::vector<Value>& args) {
  std::string out;
  for (std::size_t k = 0; k < args.size(); ++k) {
    // fmt.Sprint: a space between operands when neither is a string.
    if (k > 0 && !is_string_kind(args[k]) && !is_string_kind(args[k - 1])) out += ' ';
    out += sprint_value(args[k]);
  }
  return out;
}

std::string sprintln(const std::vector<Value>& args) {
  std::string out;
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (k > 0) out += ' ';
    out += sprint_value(args[k]);
  }
  return out + "\n";
}

std::string sprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  std::size_t next = 0;
  bool reordered = false;
  bool good_arg_num = true;
  auto parse_number = [&](std::size_t& i, int& value) {
    if (i >= format.size() || !std::isdigit(static_cast<unsigned char>(format[i]))) return false;
    long long n = 0;
    while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) {
      n = n * 10 + (format[i] - '0');
      if (n > 1000000) n = 1000000;
      ++i;
    }
    value = static_cast<int>(n);
    return true;
  };
  // %[n]: an explicit argument index.
  auto arg_index = [&](std::size_t& i) {
    if (i >= format.size() || format[i] != '[') return;
    reordered = true;
    const std::size_t close = format.find(']', i);
    int n = 0;
    std::size_t j = i + 1;
    if (close == std::string_view::npos || !parse_number(j, n) || j != close || n < 1 ||
        static_cast<std::size_t>(n) > args.size()) {
      good_arg_num = false;
      i = close == std::string_view::npos ? format.size() : close + 1;
      return;
    }
    next = static_cast<std::size_t>(n - 1);
    i = close + 1;
  };
  for (std::size_t i = 0; i < format.size();) {
    if (format[i] != '%') {
      const std::size_t pct = format.find('%', i);
      out.append(format.substr(i, pct == std::string_view::npos ? std::string_view::npos : pct - i));
      i = pct == std::string_view::npos ? format.size() : pct;
      continue;
    }
    ++i;
    Spec spec;
    good_arg_num = true;
    for (; i < format.size(); ++i) {
      const char c = format[i];
      if (c == '+') {
        spec.plus = true;
      } else if (c == '-') {
        spec.minus = true;
        spec.zero = false;
      } else if (c == '#') {
        spec.sharp = true;
      } else if (c == ' ') {
        spec.space = true;
      } else if (c == '0') {
        spec.zero = !spec.minus;
      } else {
        break;
      }
    }
    arg_index(i);
    bool bad_width = false, bad_prec = false;
    if (i < format.size() && format[i] == '*') {
      ++i;
      if (next < args.size() && args[next].kind == Kind::integer) {
        spec.width = static_cast<int>(std::min<std::int64_t>(std::abs(args[next].i), kMaxWidth));
        if (args[next].i < 0) {
          spec.minus = true;
          spec.zero = false;
        }
      } else {
        bad_width = true;
      }
      ++next;
    } else {
      int w = 0;
      if (parse_number(i, w)) spec.width = std::min(w, kMaxWidth);
    }
    if (i < format.size() && format[i] == '.') {
      ++i;
      arg_index(i);
      if (i < format.size() && format[i] == '*') {
        ++i;
        if (next < args.size() && args[next].kind == Kind::integer && args[next].i >= 0) {
          spec.prec = static_cast<int>(std::min<std::int64_t>(args[next].i, kMaxWidth));
        } else {
          bad_prec = true;
        }
        ++next;
      } else {
        int p = 0;
        spec.prec = parse_number(i, p) ? std::min(p, kMaxWidth) : 0;
      }
    }
    arg_index(i);
    if (bad_width) out += "%!(BADWIDTH)";
    if (bad_prec) out += "%!(BADPREC)";
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    auto [verb32, n] = decode_rune(format, i);
    i += static_cast<std::size_t>(n);
    const char verb = verb32 >= 0 && verb32 < 0x80 ? static_cast<char>(verb32) : '?';
    if (verb == 'v') {
      // fmt: %+v asks for field names, %#v for Go syntax; neither is a sign or alternate form.
      spec.plus_v = spec.plus;
      spec.plus = false;
      spec.sharp = false;
    }
    const std::string verb_text = verb32 >= 0 ? encode_rune(verb32) : "\xef\xbf\xbd";
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (!good_arg_num) {
      out += "%!" + verb_text + "(BADINDEX)";
      continue;
    }
    if (next >= args.size()) {
      out += "%!" + verb_text + "(MISSING)";
      continue;
    }
    const Value& arg = args[next++];
    if (verb32 >= 0x80) {
      out +=
          "%!" + verb_text + "(" + (arg.valid() ? type_name(arg) + "=" + sprint_value(arg) : "<nil>") + ")";
      continue;
    }
    out += print_arg(arg, verb, spec, 0);
  }
  if (!reordered && next < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = next; k < args.size(); ++k) {
      if (k > next) out += ", ";
      out += args[k].valid() ? type_name(args[k]) + "=" + sprint_value(args[k]) : "<nil>";
    }
    out += ")";
  }
  return out;
}

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Kind::invalid: return "<nil>";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::byte: return "uint8";
    case Kind::floating: return "float64";
    case Kind::complex: return "complex128";
    case Kind::string: return "string";
    case Kind::html: return "template.HTML";
    case Kind::string_map: return "map[string]string";
    case Kind::any_map: return "map[string]interface {}";
    case Kind::samples: return "template.queryResult";
    case Kind::sample: return "*template.sample";
    case Kind::time: return "*time.Time";
    case Kind::root:
      return "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value "
             "float64 }";
  }
  return "";
}

bool truth(const Value& v) {
  switch (v.kind) {
    case Kind::invalid: return false;
    case Kind::boolean: return v.b;
    case Kind::integer:
    case Kind::byte: return v.i != 0;
    case Kind::floating: return v.f != 0;
    case Kind::complex: return v.f != 0 || v.imag != 0;
    case Kind::sample: return v.sample != nullptr;
    case Kind::time:
    case Kind::root: return true;
    default: return length(v) > 0;
  }
}

std::int64_t length(const Value& v) {
  switch (v.kind) {
    case Kind::string:
    case Kind::html: return static_cast<std::int64_t>(v.s.size());
    case Kind::string_map: return v.string_map ? static_cast<std::int64_t>(v.string_map->size()) : 0;
    case Kind::any_map: return v.any_map ? static_cast<std::int64_t>(v.any_map->size()) : 0;
    case Kind::samples: return v.samples ? static_cast<std::int64_t>(v.samples->size()) : 0;
    default: return -1;
  }
}

}  // namespace tocsin::rules::tmpl
