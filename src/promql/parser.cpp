// A hand-written lexer and recursive-descent parser for PromQL, following Prometheus's grammar
// (promql/parser/generated_parser.y and lex.go): the same precedence and associativity, the same
// type checks (checkAST), and errors that name the position and what was expected.

#include "tocsin/promql/parser.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "promql/functions.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::promql {

namespace {

enum class Tok {
  eof,
  ident,
  number,
  duration,
  string,
  lparen,
  rparen,
  lbrace,
  rbrace,
  lbracket,
  rbracket,
  comma,
  colon,
  add,
  sub,
  mul,
  div,
  mod,
  pow,
  eqlc,
  neq,
  lte,
  lss,
  gte,
  gtr,
  eql,
  eql_regex,
  neq_regex,
  at,
};

struct Token {
  Tok kind = Tok::eof;
  std::string_view text;  // as written
  std::size_t pos = 0;
  double number = 0;     // for number
  Duration duration{0};  // for duration
  std::string value;     // for string: the unquoted value
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::eof: return "end of input";
    case Tok::string: return "string " + std::string(t.text);
    case Tok::number: return "number \"" + std::string(t.text) + "\"";
    case Tok::duration: return "duration \"" + std::string(t.text) + "\"";
    case Tok::ident: return "identifier \"" + std::string(t.text) + "\"";
    default: return "\"" + std::string(t.text) + "\"";
  }
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<AggregateOp> aggregate_op(std::string_view word) {
  static const std::pair<const char*, AggregateOp> kOps[] = {{"sum", AggregateOp::sum},
                                                             {"avg", AggregateOp::avg},
                                                             {"min", AggregateOp::min},
                                                             {"max", AggregateOp::max},
                                                             {"count", AggregateOp::count},
                                                             {"stddev", AggregateOp::stddev},
                                                             {"stdvar", AggregateOp::stdvar},
                                                             {"topk", AggregateOp::topk},
                                                             {"bottomk", AggregateOp::bottomk},
                                                             {"quantile", AggregateOp::quantile},
                                                             {"count_values", AggregateOp::count_values},
                                                             {"group", AggregateOp::group}};
  const std::string w = lower(word);
  for (const auto& [name, op] : kOps) {
    if (w == name) return op;
  }
  return std::nullopt;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) { advance(); }

  ExprPtr parse_all() {
    if (tok_.kind == Tok::eof) fail(tok_.pos, "no expression found in input");
    ExprPtr e = parse_expr(0);
    if (tok_.kind != Tok::eof) fail(tok_.pos, "unexpected " + describe(tok_));
    return e;
  }

 private:
  // ---- errors -------------------------------------------------------------------------------
  [[noreturn]] void fail(std::size_t pos, const std::string& message) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < pos && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw ParseError(line, column, message);
  }
  [[noreturn]] void unexpected(const std::string& context, const std::string& expected) const {
    std::string message = "unexpected " + describe(tok_);
    if (!context.empty()) message += " in " + context;
    if (!expected.empty()) message += ", expected " + expected;
    fail(tok_.pos, message);
  }

  // ---- lexer --------------------------------------------------------------------------------
  void skip_space() {
    while (cur_ < text_.size()) {
      char c = text_[cur_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++cur_;
      } else if (c == '#') {
        while (cur_ < text_.size() && text_[cur_] != '\n') ++cur_;
      } else {
        break;
      }
    }
  }

  void advance() {
    skip_space();
    tok_ = Token{};
    tok_.pos = cur_;
    if (cur_ >= text_.size()) {
      tok_.kind = Tok::eof;
      return;
    }
    const char c = text_[cur_];
    auto single = [&](Tok kind, std::size_t len) {
      tok_.kind = kind;
      tok_.text = text_.substr(cur_, len);
      cur_ += len;
    };
    auto next_is = [&](char n) { return cur_ + 1 < text_.size() && text_[cur_ + 1] == n; };
    switch (c) {
      case '(': return single(Tok::lparen, 1);
      case ')': return single(Tok::rparen, 1);
      case '{': return single(Tok::lbrace, 1);
      case '}': return single(Tok::rbrace, 1);
      case '[': ++bracket_depth_; return single(Tok::lbracket, 1);
      case ']':
        if (bracket_depth_ > 0) --bracket_depth_;
        return single(Tok::rbracket, 1);
      case ',': return single(Tok::comma, 1);
      case '+': return single(Tok::add, 1);
      case '-': return single(Tok::sub, 1);
      case '*': return single(Tok::mul, 1);
      case '/': return single(Tok::div, 1);
      case '%': return single(Tok::mod, 1);
      case '^': return single(Tok::pow, 1);
      case '@': return single(Tok::at, 1);
      case '=':
        if (next_is('=')) return single(Tok::eqlc, 2);
        if (next_is('~')) return single(Tok::eql_regex, 2);
        return single(Tok::eql, 1);
      case '!':
        if (next_is('=')) return single(Tok::neq, 2);
        if (next_is('~')) return single(Tok::neq_regex, 2);
        fail(cur_, "unexpected character after \"!\": expected \"=\" or \"~\"");
      case '<':
        if (next_is('=')) return single(Tok::lte, 2);
        return single(Tok::lss, 1);
      case '>':
        if (next_is('=')) return single(Tok::gte, 2);
        return single(Tok::gtr, 1);
      case '"':
      case '\'':
      case '`': return lex_string(c);
      case ':':
        if (bracket_depth_ > 0) return single(Tok::colon, 1);
        return lex_identifier();
      default: break;
    }
    if (is_digit(c) || (c == '.' && cur_ + 1 < text_.size() && is_digit(text_[cur_ + 1])))
      return lex_number();
    if (is_alpha(c)) return lex_identifier();
    fail(cur_, std::string("unexpected character \"") + c + "\"");
  }

  void lex_identifier() {
    const std::size_t start = cur_;
    while (cur_ < text_.size() && (is_alnum(text_[cur_]) || (text_[cur_] == ':' && bracket_depth_ == 0)))
      ++cur_;
    tok_.kind = Tok::ident;
    tok_.text = text_.substr(start, cur_ - start);
    const std::string w = lower(tok_.text);
    if (w == "inf" || w == "nan") {
      tok_.kind = Tok::number;
      tok_.number =
          w == "inf" ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    }
  }

  void lex_number() {
    const std::size_t start = cur_;
    // Hexadecimal integers.
    if (text_[cur_] == '0' && cur_ + 1 < text_.size() && (text_[cur_ + 1] == 'x' || text_[cur_ + 1] == 'X')) {
      cur_ += 2;
      const std::size_t digits = cur_;
      while (cur_ < text_.size() && std::isxdigit(static_cast<unsigned char>(text_[cur_]))) ++cur_;
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(text_.data() + digits, text_.data() + cur_, v, 16);
      if (ec != std::errc() || p != text_.data() + cur_)
        fail(start, "bad number \"" + std::string(text_.substr(start, cur_ - start)) + "\"");
      tok_.kind = Tok::number;
      tok_.text = text_.substr(start, cur_ - start);
      tok_.number = static_cast<double>(v);
      return;
    }
    // A duration: digits followed by a unit, possibly several ("1h30m").
    std::size_t p = cur_;
    while (p < text_.size() && is_digit(text_[p])) ++p;
    if (p < text_.size() && p > cur_ && std::string_view("smhdwy").find(text_[p]) != std::string_view::npos) {
      std::size_t end = p;
      while (end < text_.size() && (is_alnum(text_[end]))) ++end;
      std::string_view word = text_.substr(cur_, end - cur_);
      if (auto d = parse_duration(word)) {
        tok_.kind = Tok::duration;
        tok_.text = word;
        tok_.duration = *d;
        cur_ = end;
        return;
      }
      fail(start, "bad duration \"" + std::string(word) + "\"");
    }
    while (cur_ < text_.size() && (is_digit(text_[cur_]) || text_[cur_] == '.')) ++cur_;
    if (cur_ < text_.size() && (text_[cur_] == 'e' || text_[cur_] == 'E')) {
      std::size_t q = cur_ + 1;
      if (q < text_.size() && (text_[q] == '+' || text_[q] == '-')) ++q;
      if (q < text_.size() && is_digit(text_[q])) {
        cur_ = q;
        while (cur_ < text_.size() && is_digit(text_[cur_])) ++cur_;
      }
    }
    tok_.text = text_.substr(start, cur_ - start);
    if (cur_ < text_.size() && is_alpha(text_[cur_])) {
      std::size_t end = cur_;
      while (end < text_.size() && is_alnum(text_[end])) ++end;
      fail(start, "bad number or duration syntax: \"" + std::string(text_.substr(start, end - start)) + "\"");
    }
    double v = 0;
    auto [q, ec] = std::from_chars(tok_.text.data(), tok_.text.data() + tok_.text.size(), v);
    if (ec == std::errc::result_out_of_range) {
      v = std::strtod(std::string(tok_.text).c_str(), nullptr);  // ±Inf or 0, as Go's ParseFloat
    } else if (ec != std::errc() || q != tok_.text.data() + tok_.text.size()) {
      fail(start, "bad number \"" + std::string(tok_.text) + "\"");
    }
    tok_.kind = Tok::number;
    tok_.number = v;
  }

  void lex_string(char quote) {
    const std::size_t start = cur_++;
    std::string value;
    for (;;) {
      if (cur_ >= text_.size()) fail(start, "unterminated quoted string");
      char c = text_[cur_++];
      if (c == quote) break;
      if (quote != '`' && c == '\n') fail(start, "unterminated quoted string");
      if (c != '\\' || quote == '`') {
        value += c;
        continue;
      }
      // Escapes as Prometheus's lexEscape validates them; errors point at the string, as there.
      if (cur_ >= text_.size()) fail(start, "escape sequence not terminated");
      const char e = text_[cur_++];
      switch (e) {
        case 'a': value += '\a'; continue;
        case 'b': value += '\b'; continue;
        case 'f': value += '\f'; continue;
        case 'n': value += '\n'; continue;
        case 'r': value += '\r'; continue;
        case 't': value += '\t'; continue;
        case 'v': value += '\v'; continue;
        case '\\': value += '\\'; continue;
        default: break;
      }
      if (e == quote) {
        value += e;
        continue;
      }
      std::size_t n = 0;
      std::uint32_t base = 16, max = 0x10FFFF;
      if (e >= '0' && e <= '7') {
        n = 3, base = 8, max = 255;
        --cur_;  // the first digit is part of the number
      } else if (e == 'x') {
        n = 2, max = 255;
      } else if (e == 'u') {
        n = 4;
      } else if (e == 'U') {
        n = 8;
      } else {
        fail(start, "unknown escape sequence " + go_rune(cur_ - 1));
      }
      std::uint32_t code = 0;
      for (; n > 0; --n) {
        if (cur_ >= text_.size()) fail(start, "escape sequence not terminated");
        const char d = text_[cur_];
        const std::uint32_t digit = d >= '0' && d <= '9'   ? static_cast<std::uint32_t>(d - '0')
                                    : d >= 'a' && d <= 'f' ? static_cast<std::uint32_t>(d - 'a' + 10)
                                    : d >= 'A' && d <= 'F' ? static_cast<std::uint32_t>(d - 'A' + 10)
                                                           : 16;
        if (digit >= base) fail(start, "illegal character " + go_rune(cur_) + " in escape sequence");
        code = code * base + digit;
        ++cur_;
      }
      if (code > max || (code >= 0xD800 && code < 0xE000)) {
        fail(start, "escape sequence is an invalid Unicode code point");
      }
      if (e == 'u' || e == 'U') {
        append_utf8(value, code);
      } else {
        value += static_cast<char>(code);  // \x and octal escapes are bytes, as in Go
      }
    }
    tok_.kind = Tok::string;
    tok_.text = text_.substr(start, cur_ - start);
    tok_.value = std::move(value);
  }

  // Go's %#U of the character at `pos`: U+0071 'q' (the quoted form only for printable characters).
  std::string go_rune(std::size_t pos) const {
    const auto b = static_cast<unsigned char>(text_[pos]);
    std::uint32_t code = b;
    std::size_t len = 1;
    if (b >= 0xC0 && b < 0xF8) {
      len = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
      code = b & (0x7F >> len);
      for (std::size_t i = 1; i < len && pos + i < text_.size(); ++i) {
        code = (code << 6) | (static_cast<unsigned char>(text_[pos + i]) & 0x3F);
      }
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", code);
    std::string out = buf;
    const bool printable = code >= 0x80 ? code >= 0xA0 : code >= 0x20 && code < 0x7F;
    if (printable) out += " '" + std::string(text_.substr(pos, std::min(len, text_.size() - pos))) + "'";
    return out;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  bool is_keyword(std::string_view word) const { return tok_.kind == Tok::ident && lower(tok_.text) == word; }
  void expect(Tok kind, const std::string& context, const std::string& what) {
    if (tok_.kind != kind) unexpected(context, what);
    advance();
  }

  // ---- expressions --------------------------------------------------------------------------
  struct OpInfo {
    BinaryOp op;
    int precedence;
    bool right_assoc;
  };

  std::optional<OpInfo> binary_op() const {
    switch (tok_.kind) {
      case Tok::pow: return OpInfo{BinaryOp::pow, 6, true};
      case Tok::mul: return OpInfo{BinaryOp::mul, 5, false};
      case Tok::div: return OpInfo{BinaryOp::div, 5, false};
      case Tok::mod: return OpInfo{BinaryOp::mod, 5, false};
      case Tok::add: return OpInfo{BinaryOp::add, 4, false};
      case Tok::sub: return OpInfo{BinaryOp::sub, 4, false};
      case Tok::eqlc: return OpInfo{BinaryOp::eql, 3, false};
      case Tok::neq: return OpInfo{BinaryOp::neq, 3, false};
      case Tok::lte: return OpInfo{BinaryOp::lte, 3, false};
      case Tok::lss: return OpInfo{BinaryOp::lss, 3, false};
      case Tok::gte: return OpInfo{BinaryOp::gte, 3, false};
      case Tok::gtr: return OpInfo{BinaryOp::gtr, 3, false};
      case Tok::ident: {
        const std::string w = lower(tok_.text);
        if (w == "atan2") return OpInfo{BinaryOp::atan2, 5, false};
        if (w == "and") return OpInfo{BinaryOp::land, 2, false};
        if (w == "unless") return OpInfo{BinaryOp::lunless, 2, false};
        if (w == "or") return OpInfo{BinaryOp::lor, 1, false};
        return std::nullopt;
      }
      default: return std::nullopt;
    }
  }

  static constexpr int kPowPrecedence = 6;

  // Nesting deeper than this is certainly not a real query; it is refused before it can exhaust the
  // stack.
  static constexpr int kMaxDepth = 500;
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxDepth) p.fail(p.tok_.pos, "expression nested too deeply (more than 500 levels)");
    }
    ~DepthGuard() { --p.depth_; }
  };

  ExprPtr parse_expr(int min_precedence) {
    DepthGuard guard(*this);
    ExprPtr lhs = parse_unary();
    for (;;) {
      auto info = binary_op();
      if (!info || info->precedence < min_precedence) return lhs;
      const std::size_t op_pos = tok_.pos;
      advance();
      Binary b{info->op, nullptr, nullptr, false, std::nullopt};
      if (is_keyword("bool")) {
        b.return_bool = true;
        advance();
      }
      VectorMatching matching;
      bool has_matching = false;
      if (is_keyword("on") || is_keyword("ignoring")) {
        matching.on = is_keyword("on");
        advance();
        matching.labels = parse_label_list("label matching");
        has_matching = true;
        if (is_keyword("group_left") || is_keyword("group_right")) {
          matching.card = is_keyword("group_left") ? Cardinality::many_to_one : Cardinality::one_to_many;
          advance();
          if (tok_.kind == Tok::lparen) matching.include = parse_label_list("grouping labels");
        }
      } else if (is_keyword("group_left") || is_keyword("group_right")) {
        unexpected("binary expression", "\"on\" or \"ignoring\" before " + std::string(tok_.text));
      }
      ExprPtr rhs = parse_expr(info->right_assoc ? info->precedence : info->precedence + 1);
      b.lhs = std::move(lhs);
      b.rhs = std::move(rhs);
      lhs =
          make_binary(std::move(b), has_matching ? std::optional(std::move(matching)) : std::nullopt, op_pos);
    }
  }

  ExprPtr make_binary(Binary b, std::optional<VectorMatching> matching, std::size_t pos) {
    const ValueType lt = b.lhs->type, rt = b.rhs->type;
    const std::string op(to_string(b.op));
    auto operand_ok = [](ValueType t) { return t == ValueType::scalar || t == ValueType::vector; };
    if (!operand_ok(lt) || !operand_ok(rt)) {
      fail(pos, "binary expression must contain only scalar and instant vector types");
    }
    if (b.return_bool && !is_comparison(b.op))
      fail(pos, "bool modifier can only be used on comparison operators");
    if (is_comparison(b.op) && !b.return_bool && lt == ValueType::scalar && rt == ValueType::scalar) {
      fail(pos, "comparisons between scalars must use BOOL modifier");
    }
    if (is_set_operator(b.op) && (lt == ValueType::scalar || rt == ValueType::scalar)) {
      fail(pos, "set operator \"" + op + "\" not allowed in binary scalar expression");
    }
    const bool both_vectors = lt == ValueType::vector && rt == ValueType::vector;
    if (matching && !both_vectors) fail(pos, "vector matching only allowed between instant vectors");
    if (both_vectors) {
      VectorMatching m = matching.value_or(VectorMatching{});
      if (is_set_operator(b.op)) {
        if (m.card == Cardinality::many_to_one || m.card == Cardinality::one_to_many) {
          fail(pos, "no grouping allowed for \"" + op + "\" operation");
        }
        m.card = Cardinality::many_to_many;
      }
      if (m.on) {
        for (const auto& l : m.include) {
          if (std::binary_search(m.labels.begin(), m.labels.end(), l)) {
            fail(pos, "label \"" + l + "\" must not occur in ON and GROUP clause at once");
          }
        }
      }
      b.matching = std::move(m);
    }
    const ValueType type = both_vectors || lt == ValueType::vector || rt == ValueType::vector
                               ? ValueType::vector
                               : ValueType::scalar;
    return std::make_shared<Expr>(Expr{std::move(b), Position{pos}, type});
  }

  ExprPtr parse_unary() {
    if (tok_.kind == Tok::add || tok_.kind == Tok::sub) {
      const bool negate = tok_.kind == Tok::sub;
      const std::size_t pos = tok_.pos;
      advance();
      ExprPtr operand = parse_expr(kPowPrecedence);
      if (operand->type != ValueType::scalar && operand->type != ValueType::vector) {
        fail(pos, "unary expression only allowed on expressions of type scalar or instant vector, got \"" +
                      std::string(to_string(operand->type)) + "\"");
      }
      if (const auto* n = std::get_if<NumberLiteral>(&operand->node)) {
        return std::make_shared<Expr>(
            Expr{NumberLiteral{negate ? -n->value : n->value}, Position{pos}, ValueType::scalar});
      }
      if (!negate) return operand;
      const ValueType type = operand->type;
      return std::make_shared<Expr>(Expr{Unary{negate, std::move(operand)}, Position{pos}, type});
    }
    return parse_postfix(parse_primary());
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      if (tok_.kind == Tok::lbracket) {
        e = parse_range(std::move(e));
      } else if (is_keyword("offset")) {
        e = parse_offset(std::move(e));
      } else if (tok_.kind == Tok::at) {
        e = parse_at(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_range(ExprPtr e) {
    const std::size_t pos = tok_.pos;
    advance();
    if (tok_.kind != Tok::duration) unexpected("range", "duration");
    const Duration range = tok_.duration;
    if (range <= Duration(0)) fail(tok_.pos, "range must be positive");
    advance();
    if (tok_.kind == Tok::rbracket) {
      advance();
      const auto* vs = std::get_if<VectorSelector>(&e->node);
      if (vs == nullptr) {
        fail(pos, "ranges only allowed for vector selectors");
      }
      if (vs->offset != Duration(0) || vs->at) fail(pos, "no offset or @ modifier allowed before a range");
      return std::make_shared<Expr>(Expr{MatrixSelector{*vs, range}, e->pos, ValueType::matrix});
    }
    if (tok_.kind != Tok::colon) unexpected("range", "\"]\" or \":\"");
    advance();
    Duration step{0};
    if (tok_.kind == Tok::duration) {
      step = tok_.duration;
      if (step <= Duration(0)) fail(tok_.pos, "subquery step must be positive");
      advance();
    }
    expect(Tok::rbracket, "subquery", "\"]\"");
    if (e->type != ValueType::vector) {
      fail(pos, "subquery is only allowed on instant vector, got " + std::string(to_string(e->type)));
    }
    return std::make_shared<Expr>(Expr{Subquery{std::move(e), range, step, Duration(0), std::nullopt},
                                       Position{pos}, ValueType::matrix});
  }

  ExprPtr parse_offset(ExprPtr e) {
    const std::size_t pos = tok_.pos;
    advance();
    bool negative = false;
    if (tok_.kind == Tok::sub || tok_.kind == Tok::add) {
      negative = tok_.kind == Tok::sub;
      advance();
    }
    if (tok_.kind != Tok::duration) unexpected("offset", "duration");
    const Duration offset = negative ? -tok_.duration : tok_.duration;
    advance();
    auto copy = std::make_shared<Expr>(*e);
    if (auto* vs = std::get_if<VectorSelector>(&copy->node)) {
      if (vs->offset != Duration(0)) fail(pos, "offset may not be set multiple times");
      vs->offset = offset;
    } else if (auto* ms = std::get_if<MatrixSelector>(&copy->node)) {
      if (ms->selector.offset != Duration(0)) fail(pos, "offset may not be set multiple times");
      ms->selector.offset = offset;
    } else if (auto* sq = std::get_if<Subquery>(&copy->node)) {
      if (sq->offset != Duration(0)) fail(pos, "offset may not be set multiple times");
      sq->offset = offset;
    } else {
      fail(pos,
           "offset modifier must be preceded by an instant vector selector or range vector selector or a "
           "subquery");
    }
    return copy;
  }

  ExprPtr parse_at(ExprPtr e) {
    const std::size_t pos = tok_.pos;
    advance();
    AtModifier at;
    if (tok_.kind == Tok::ident && (lower(tok_.text) == "start" || lower(tok_.text) == "end")) {
      at.kind = lower(tok_.text) == "start" ? AtModifier::Kind::start : AtModifier::Kind::end;
      advance();
      expect(Tok::lparen, "@ modifier", "\"(\"");
      expect(Tok::rparen, "@ modifier", "\")\"");
    } else {
      bool negative = false;
      if (tok_.kind == Tok::sub || tok_.kind == Tok::add) {
        negative = tok_.kind == Tok::sub;
        advance();
      }
      if (tok_.kind != Tok::number) unexpected("@ modifier", "timestamp");
      double v = negative ? -tok_.number : tok_.number;
      if (!std::isfinite(v) || std::fabs(v) >= 9.223372036854775807e18) {
        // Go's %f: "+Inf", "-Inf", "NaN", or six decimals.
        char buf[400];
        if (std::isnan(v)) {
          std::snprintf(buf, sizeof buf, "NaN");
        } else if (std::isinf(v)) {
          std::snprintf(buf, sizeof buf, "%s", v > 0 ? "+Inf" : "-Inf");
        } else {
          std::snprintf(buf, sizeof buf, "%f", v);
        }
        fail(tok_.pos, std::string("timestamp out of bounds for @ modifier: ") + buf);
      }
      at.t = static_cast<Timestamp>(std::llround(v * 1000.0));
      advance();
    }
    auto copy = std::make_shared<Expr>(*e);
    auto set = [&](std::optional<AtModifier>& target) {
      if (target) fail(pos, "@ <timestamp> may not be set multiple times");
      target = at;
    };
    if (auto* vs = std::get_if<VectorSelector>(&copy->node)) {
      set(vs->at);
    } else if (auto* ms = std::get_if<MatrixSelector>(&copy->node)) {
      set(ms->selector.at);
    } else if (auto* sq = std::get_if<Subquery>(&copy->node)) {
      set(sq->at);
    } else {
      fail(
          pos,
          "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
    }
    return copy;
  }

  ExprPtr parse_primary() {
    const std::size_t pos = tok_.pos;
    switch (tok_.kind) {
      case Tok::number: {
        double v = tok_.number;
        advance();
        return std::make_shared<Expr>(Expr{NumberLiteral{v}, Position{pos}, ValueType::scalar});
      }
      case Tok::string: {
        std::string v = std::move(tok_.value);
        advance();
        return std::make_shared<Expr>(Expr{StringLiteral{std::move(v)}, Position{pos}, ValueType::string});
      }
      case Tok::lparen: {
        advance();
        ExprPtr inner = parse_expr(0);
        if (tok_.kind != Tok::rparen) unexpected("paren expression", "\")\"");
        advance();
        const ValueType type = inner->type;
        return std::make_shared<Expr>(Expr{Paren{std::move(inner)}, Position{pos}, type});
      }
      case Tok::lbrace: return parse_selector("", pos);
      case Tok::ident: break;
      case Tok::eof: unexpected("", "expression");
      case Tok::duration:
        fail(pos, "unexpected duration \"" + std::string(tok_.text) + "\", expected expression");
      default: unexpected("", "expression");
    }
    const std::string_view word = tok_.text;
    if (auto agg = aggregate_op(word)) {
      // An aggregation when followed by "(" or by/without; otherwise a metric named like one.
      const std::size_t save_cur = cur_;
      const int save_depth = bracket_depth_;
      const Token save_tok = tok_;
      advance();
      if (tok_.kind == Tok::lparen || is_keyword("by") || is_keyword("without"))
        return parse_aggregation(*agg, pos);
      cur_ = save_cur;
      bracket_depth_ = save_depth;
      tok_ = save_tok;
    }
    static const char* kReserved[] = {"and", "or",       "unless",     "atan2",       "by",   "without",
                                      "on",  "ignoring", "group_left", "group_right", "bool", "offset"};
    for (const char* k : kReserved) {
      if (lower(word) == k) unexpected("", "expression");
    }
    std::string name(word);
    advance();
    if (tok_.kind == Tok::lparen) return parse_call(name, pos);
    return parse_selector(name, pos);
  }

  std::vector<std::string> parse_label_list(const std::string& context) {
    if (tok_.kind != Tok::lparen) unexpected(context, "\"(\"");
    advance();
    std::vector<std::string> labels;
    while (tok_.kind != Tok::rparen) {
      if (tok_.kind != Tok::ident || tok_.text.find(':') != std::string_view::npos) {
        unexpected(context, "label name");
      }
      labels.emplace_back(tok_.text);
      advance();
      if (tok_.kind == Tok::comma) {
        advance();
      } else if (tok_.kind != Tok::rparen) {
        unexpected(context, "\",\" or \")\"");
      }
    }
    advance();
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    return labels;
  }

  ExprPtr parse_aggregation(AggregateOp op, std::size_t pos) {
    Aggregate a{op, nullptr, nullptr, {}, false};
    bool grouped = false;
    auto parse_grouping = [&] {
      if (grouped) unexpected("aggregation", "");
      a.without = is_keyword("without");
      advance();
      a.grouping = parse_label_list("aggregation");
      grouped = true;
    };
    if (is_keyword("by") || is_keyword("without")) parse_grouping();
    if (tok_.kind != Tok::lparen) unexpected("aggregation", "\"(\"");
    advance();
    if (tok_.kind == Tok::rparen) fail(tok_.pos, "no arguments for aggregate expression provided");
    std::vector<ExprPtr> args;
    args.push_back(parse_expr(0));
    while (tok_.kind == Tok::comma) {
      advance();
      args.push_back(parse_expr(0));
    }
    if (tok_.kind != Tok::rparen) unexpected("aggregation", "\",\" or \")\"");
    advance();
    if (is_keyword("by") || is_keyword("without")) parse_grouping();

    const bool has_param = op == AggregateOp::topk || op == AggregateOp::bottomk ||
                           op == AggregateOp::quantile || op == AggregateOp::count_values;
    const std::string name(to_string(op));
    if (args.size() != (has_param ? 2u : 1u)) {
      fail(pos, "wrong number of arguments for aggregate expression provided, expected " +
                    std::to_string(has_param ? 2 : 1) + ", got " + std::to_string(args.size()));
    }
    if (has_param) {
      a.param = std::move(args[0]);
      a.expr = std::move(args[1]);
      const ValueType want = op == AggregateOp::count_values ? ValueType::string : ValueType::scalar;
      if (a.param->type != want) {
        fail(a.param->pos.offset, "expected type " + std::string(to_string(want)) +
                                      " in aggregation parameter, got " +
                                      std::string(to_string(a.param->type)));
      }
    } else {
      a.expr = std::move(args[0]);
    }
    if (a.expr->type != ValueType::vector) {
      fail(a.expr->pos.offset, "expected type instant vector in aggregation expression, got " +
                                   std::string(to_string(a.expr->type)));
    }
    return std::make_shared<Expr>(Expr{std::move(a), Position{pos}, ValueType::vector});
  }

  ExprPtr parse_call(const std::string& name, std::size_t pos) {
    const Function* fn = find_function(name);
    if (fn == nullptr) fail(pos, "unknown function with name \"" + name + "\"");
    advance();  // (
    std::vector<ExprPtr> args;
    if (tok_.kind != Tok::rparen) {
      args.push_back(parse_expr(0));
      while (tok_.kind == Tok::comma) {
        advance();
        args.push_back(parse_expr(0));
      }
    }
    if (tok_.kind != Tok::rparen) unexpected("function call", "\",\" or \")\"");
    advance();
    const std::size_t n = fn->args.size();
    const std::string quoted = "\"" + name + "\"";
    if (fn->variadic == 0) {
      if (args.size() != n) {
        fail(pos, "expected " + std::to_string(n) + " argument(s) in call to " + quoted + ", got " +
                      std::to_string(args.size()));
      }
    } else if (fn->variadic > 0) {
      const std::size_t min = n - static_cast<std::size_t>(fn->variadic);
      if (args.size() < min) {
        fail(pos, "expected at least " + std::to_string(min) + " argument(s) in call to " + quoted +
                      ", got " + std::to_string(args.size()));
      }
      if (args.size() > n) {
        fail(pos, "expected at most " + std::to_string(n) + " argument(s) in call to " + quoted + ", got " +
                      std::to_string(args.size()));
      }
    } else if (args.size() < n - 1) {
      fail(pos, "expected at least " + std::to_string(n - 1) + " argument(s) in call to " + quoted +
                    ", got " + std::to_string(args.size()));
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
      const ValueType want = fn->args[std::min(i, n - 1)];
      if (args[i]->type != want) {
        fail(args[i]->pos.offset, "expected type " + std::string(to_string(want)) + " in call to function " +
                                      quoted + ", got " + std::string(to_string(args[i]->type)));
      }
    }
    if (fn->check) {
      if (auto error = fn->check(args)) fail(error->offset, error->message);
    }
    return std::make_shared<Expr>(Expr{Call{fn, std::move(args)}, Position{pos}, fn->returns});
  }

  ExprPtr parse_selector(const std::string& name, std::size_t pos) {
    VectorSelector vs;
    vs.name = name;
    if (tok_.kind == Tok::lbrace) {
      advance();
      while (tok_.kind != Tok::rbrace) {
        // Inside braces `inf` and `nan` (any case) are label names, as Prometheus lexes them there.
        const bool word = tok_.kind == Tok::number && !tok_.text.empty() && is_alpha(tok_.text[0]);
        if (tok_.kind != Tok::ident && !word) unexpected("label matching", "label name");
        std::string label(tok_.text);
        if (label.find(':') != std::string::npos) unexpected("label matching", "label name");
        advance();
        MatchType type;
        switch (tok_.kind) {
          case Tok::eql: type = MatchType::equal; break;
          case Tok::neq: type = MatchType::not_equal; break;
          case Tok::eql_regex: type = MatchType::regex; break;
          case Tok::neq_regex: type = MatchType::not_regex; break;
          default: unexpected("label matching", "label matching operator");
        }
        advance();
        if (tok_.kind != Tok::string) unexpected("label matching", "string");
        try {
          vs.matchers.emplace_back(type, label, tok_.value);
        } catch (const std::exception& e) {
          fail(tok_.pos, "error parsing regexp " + std::string(tok_.text) + ": " + e.what());
        }
        advance();
        if (tok_.kind == Tok::comma) {
          advance();
        } else if (tok_.kind != Tok::rbrace) {
          unexpected("label matching", "\",\" or \"}\"");
        }
      }
      advance();
    }
    if (!name.empty()) {
      for (const auto& m : vs.matchers) {
        if (m.name() == kMetricNameLabel) fail(pos, "metric name must not be set twice: \"" + name + "\"");
      }
      vs.matchers.emplace(vs.matchers.begin(), MatchType::equal, std::string(kMetricNameLabel), name);
    } else {
      bool non_empty = false;
      for (const auto& m : vs.matchers) non_empty = non_empty || !m.matches_empty();
      if (!non_empty) fail(pos, "vector selector must contain at least one non-empty matcher");
    }
    return std::make_shared<Expr>(Expr{std::move(vs), Position{pos}, ValueType::vector});
  }

  std::string_view text_;
  std::size_t cur_ = 0;
  int bracket_depth_ = 0;
  int depth_ = 0;
  Token tok_;
};

}  // namespace

ExprPtr parse(std::string_view text) { return Parser(text).parse_all(); }

}  // namespace tocsin::promql
