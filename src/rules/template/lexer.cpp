// Go's text/template lexer (text/template/parse/lex.go), state for state: text, actions between
// "{{" and "}}", trim markers ("{{- " and " -}}"), comments ("{{/* */}}"), and the items of an action.

#include <cstdio>

#include "rules/template/parse.hpp"

namespace tocsin::rules::tmpl {

namespace {

constexpr std::string_view kLeftDelim = "{{";
constexpr std::string_view kRightDelim = "}}";
constexpr std::string_view kLeftComment = "/*";
constexpr std::string_view kRightComment = "*/";
constexpr int kEof = -1;

bool is_space(int r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }
// unicode.IsLetter/IsDigit, with every non-ASCII byte taken as part of a letter.
bool is_alphanumeric(int r) {
  return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r >= 0x80;
}
bool has_left_trim_marker(std::string_view s) { return s.size() >= 2 && s[0] == '-' && is_space(s[1]); }
bool has_right_trim_marker(std::string_view s) { return s.size() >= 2 && is_space(s[0]) && s[1] == '-'; }
std::size_t right_trim_length(std::string_view s) {
  std::size_t n = s.size();
  while (n > 0 && is_space(s[n - 1])) --n;
  return s.size() - n;
}
std::size_t left_trim_length(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && is_space(s[n])) ++n;
  return n;
}

// %#U of a byte-sized rune: U+002F '/'.
std::string rune_text(int r) {
  char buf[32];
  if (r >= 0x20 && r < 0x7f) {
    std::snprintf(buf, sizeof buf, "U+%04X '%c'", r, r);
  } else {
    std::snprintf(buf, sizeof buf, "U+%04X", r < 0 ? 0xfffd : r);
  }
  return buf;
}

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  std::vector<Token> run() {
    State state = State::lex_text;
    while (state != State::done) state = step(state);
    return std::move(items_);
  }

 private:
  enum class State {
    done,
    lex_text,
    lex_left_delim,
    lex_comment,
    lex_right_delim,
    lex_inside_action,
    lex_space,
    lex_identifier,
    lex_field,
    lex_variable,
    lex_char,
    lex_number,
    lex_quote,
    lex_raw_quote
  };

  State step(State s) {
    switch (s) {
      case State::lex_text: return lex_text();
      case State::lex_left_delim: return lex_left_delim();
      case State::lex_comment: return lex_comment();
      case State::lex_right_delim: return lex_right_delim();
      case State::lex_inside_action: return lex_inside_action();
      case State::lex_space: return lex_space();
      case State::lex_identifier: return lex_identifier();
      case State::lex_field: return lex_field();
      case State::lex_variable: return lex_variable();
      case State::lex_char: return lex_char();
      case State::lex_number: return lex_number();
      case State::lex_quote: return lex_quote();
      case State::lex_raw_quote: return lex_raw_quote();
      case State::done: break;
    }
    return State::done;
  }

  int next() {
    if (pos_ >= in_.size()) {
      width_ = 0;
      return kEof;
    }
    width_ = 1;
    return static_cast<unsigned char>(in_[pos_++]);
  }
  int peek() const { return pos_ >= in_.size() ? kEof : static_cast<unsigned char>(in_[pos_]); }
  void backup() { pos_ -= width_; }
  bool accept(std::string_view valid) {
    const int r = next();
    if (r != kEof && valid.find(static_cast<char>(r)) != std::string_view::npos) return true;
    backup();
    return false;
  }
  void accept_run(std::string_view valid) {
    while (accept(valid)) {
    }
  }
  int line_at(std::size_t p) {
    while (line_pos_ < p) {
      if (in_[line_pos_] == '\n') ++line_;
      ++line_pos_;
    }
    return line_;
  }
  void emit(Item t) {
    items_.push_back({t, start_, std::string(in_.substr(start_, pos_ - start_)), line_at(start_)});
    start_ = pos_;
  }
  void ignore() { start_ = pos_; }
  // The error ends the items.
  State error(std::string message) {
    items_.push_back({Item::error, start_, std::move(message), line_at(start_)});
    return State::done;
  }
  // At "}}", or at " -}}" (second: with the trim marker).
  std::pair<bool, bool> at_right_delim() const {
    const std::string_view rest = in_.substr(pos_);
    if (has_right_trim_marker(rest) && rest.substr(2).starts_with(kRightDelim)) return {true, true};
    if (rest.starts_with(kRightDelim)) return {true, false};
    return {false, false};
  }
  bool at_terminator() const {
    const int r = peek();
    if (is_space(r)) return true;
    switch (r) {
      case kEof:
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(': return true;
      default: return r == kRightDelim[0];
    }
  }

  State lex_text() {
    const std::size_t x = in_.find(kLeftDelim, pos_);
    if (x != std::string_view::npos) {
      if (x > pos_) {
        pos_ = x;
        std::size_t trim = 0;
        if (has_left_trim_marker(in_.substr(pos_ + kLeftDelim.size()))) {
          trim = right_trim_length(in_.substr(start_, pos_ - start_));
        }
        pos_ -= trim;
        if (pos_ > start_) emit(Item::text);
        pos_ += trim;
        ignore();
      }
      return State::lex_left_delim;
    }
    pos_ = in_.size();
    if (pos_ > start_) emit(Item::text);
    emit(Item::eof);
    return State::done;
  }

  State lex_left_delim() {
    pos_ += kLeftDelim.size();
    const bool trim = has_left_trim_marker(in_.substr(pos_));
    const std::size_t after_marker = trim ? 2 : 0;
    if (in_.substr(pos_ + after_marker).starts_with(kLeftComment)) {
      pos_ += after_marker;
      ignore();
      return State::lex_comment;
    }
    emit(Item::left_delim);
    pos_ += after_marker;
    ignore();
    paren_depth_ = 0;
    return State::lex_inside_action;
  }

  State lex_comment() {
    pos_ += kLeftComment.size();
    const std::size_t x = in_.find(kRightComment, pos_);
    if (x == std::string_view::npos) return error("unclosed comment");
    pos_ = x + kRightComment.size();
    auto [delim, trim] = at_right_delim();
    if (!delim) return error("comment ends before closing delimiter");
    if (trim) pos_ += 2;
    pos_ += kRightDelim.size();
    if (trim) pos_ += left_trim_length(in_.substr(pos_));
    ignore();
    return State::lex_text;
  }

  State lex_right_delim() {
    auto [delim, trim] = at_right_delim();
    (void)delim;
    if (trim) {
      pos_ += 2;
      ignore();
    }
    pos_ += kRightDelim.size();
    emit(Item::right_delim);
    if (trim) {
      pos_ += left_trim_length(in_.substr(pos_));
      ignore();
    }
    return State::lex_text;
  }

  State lex_inside_action() {
    auto [delim, trim] = at_right_delim();
    (void)trim;
    if (delim) {
      if (paren_depth_ == 0) return State::lex_right_delim;
      return error("unclosed left paren");
    }
    const int r = next();
    if (r == kEof) return error("unclosed action");
    if (is_space(r)) {
      backup();
      return State::lex_space;
    }
    switch (r) {
      case '=': emit(Item::assign); return State::lex_inside_action;
      case ':':
        if (next() != '=') return error("expected :=");
        emit(Item::declare);
        return State::lex_inside_action;
      case '|': emit(Item::pipe); return State::lex_inside_action;
      case '"': return State::lex_quote;
      case '`': return State::lex_raw_quote;
      case '$': return State::lex_variable;
      case '\'': return State::lex_char;
      case '(':
        ++paren_depth_;
        emit(Item::left_paren);
        return State::lex_inside_action;
      case ')':
        --paren_depth_;  // one too many: the parser reports it (unexpected ")")
        emit(Item::right_paren);
        return State::lex_inside_action;
      default: break;
    }
    if (r == '.') {
      if (pos_ < in_.size() && (in_[pos_] < '0' || in_[pos_] > '9')) return State::lex_field;
    }
    if (r == '.' || r == '+' || r == '-' || (r >= '0' && r <= '9')) {
      backup();
      return State::lex_number;
    }
    if (is_alphanumeric(r)) {
      backup();
      return State::lex_identifier;
    }
    if (r < 0x7f && r >= 0x20) {
      emit(Item::character);
      return State::lex_inside_action;
    }
    return error("unrecognized character in action: " + rune_text(r));
  }

  State lex_space() {
    int spaces = 0;
    while (is_space(peek())) {
      next();
      ++spaces;
    }
    if (has_right_trim_marker(in_.substr(pos_ - 1)) && in_.substr(pos_ + 1).starts_with(kRightDelim)) {
      backup();
      if (spaces == 1) return State::lex_right_delim;
    }
    emit(Item::space);
    return State::lex_inside_action;
  }

  State lex_identifier() {
    int r = 0;
    while (is_alphanumeric(r = next())) {
    }
    backup();
    const std::string_view word = in_.substr(start_, pos_ - start_);
    if (!at_terminator()) return error("bad character " + rune_text(r));
    static const std::pair<std::string_view, Item> kKeywords[] = {{".", Item::dot},
                                                                  {"block", Item::block},
                                                                  {"break", Item::break_},
                                                                  {"continue", Item::continue_},
                                                                  {"define", Item::define},
                                                                  {"else", Item::else_},
                                                                  {"end", Item::end},
                                                                  {"if", Item::if_},
                                                                  {"range", Item::range},
                                                                  {"nil", Item::nil},
                                                                  {"template", Item::template_},
                                                                  {"with", Item::with}};
    for (const auto& [k, item] : kKeywords) {
      if (word == k) {
        emit(item);
        return State::lex_inside_action;
      }
    }
    if (word == "true" || word == "false") {
      emit(Item::boolean);
    } else {
      emit(Item::identifier);
    }
    return State::lex_inside_action;
  }

  State lex_field_or_variable(Item type) {
    if (at_terminator()) {
      emit(type == Item::variable ? Item::variable : Item::dot);
      return State::lex_inside_action;
    }
    int r = 0;
    while (is_alphanumeric(r = next())) {
    }
    backup();
    if (!at_terminator()) return error("bad character " + rune_text(r));
    emit(type);
    return State::lex_inside_action;
  }
  State lex_field() { return lex_field_or_variable(Item::field); }
  State lex_variable() { return lex_field_or_variable(Item::variable); }

  State lex_char() {
    for (;;) {
      int r = next();
      if (r == '\\') {
        r = next();
        if (r != kEof && r != '\n') continue;
        return error("unterminated character constant");
      }
      if (r == kEof || r == '\n') return error("unterminated character constant");
      if (r == '\'') break;
    }
    emit(Item::char_constant);
    return State::lex_inside_action;
  }

  bool scan_number() {
    accept("+-");
    std::string_view digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (digits.size() == 11 && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (digits.size() == 23 && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    accept("i");
    if (is_alphanumeric(peek())) {
      next();
      return false;
    }
    return true;
  }

  State lex_number() {
    if (!scan_number()) return error("bad number syntax: " + quote_go(in_.substr(start_, pos_ - start_)));
    const int sign = peek();
    if (sign == '+' || sign == '-') {
      if (!scan_number() || in_[pos_ - 1] != 'i') {
        return error("bad number syntax: " + quote_go(in_.substr(start_, pos_ - start_)));
      }
      emit(Item::complex);
      return State::lex_inside_action;
    }
    emit(Item::number);
    return State::lex_inside_action;
  }

  State lex_quote() {
    for (;;) {
      int r = next();
      if (r == '\\') {
        r = next();
        if (r != kEof && r != '\n') continue;
        return error("unterminated quoted string");
      }
      if (r == kEof || r == '\n') return error("unterminated quoted string");
      if (r == '"') break;
    }
    emit(Item::string);
    return State::lex_inside_action;
  }

  State lex_raw_quote() {
    for (;;) {
      const int r = next();
      if (r == kEof) return error("unterminated raw quoted string");
      if (r == '`') break;
    }
    emit(Item::raw_string);
    return State::lex_inside_action;
  }

  static std::string quote_go(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::size_t start_ = 0;
  std::size_t width_ = 0;
  int paren_depth_ = 0;
  std::size_t line_pos_ = 0;
  int line_ = 1;
  std::vector<Token> items_;
};

}  // namespace

std::vector<Token> lex(std::string_view text) { return Lexer(text).run(); }

std::string token_string(const Token& t) {
  switch (t.type) {
    case Item::eof: return "EOF";
    case Item::error: return t.val;
    case Item::block:
    case Item::break_:
    case Item::continue_:
    case Item::dot:
    case Item::define:
    case Item::else_:
    case Item::end:
    case Item::if_:
    case Item::nil:
    case Item::range:
    case Item::template_:
    case Item::with: return "<" + t.val + ">";
    default: break;
  }
  auto q = [](std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  if (t.val.size() > 10) {
    // %.10q: the quoted first 10 runes, then "...".
    return q(std::string_view(t.val).substr(0, 10)) + "...";
  }
  return q(t.val);
}

}  // namespace tocsin::rules::tmpl
