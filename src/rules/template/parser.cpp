// Go's text/template parser (text/template/parse/parse.go and node.go): the grammar, the variables in
// scope, {{break}}/{{continue}} only inside {{range}}, {{define}} at the top level, numbers and strings
// as Go reads them, and Go's error messages. Nesting is bounded (kMaxParseDepth).

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "rules/template/format.hpp"
#include "rules/template/parse.hpp"

namespace tocsin::rules::tmpl {

namespace {

using NodePtr = std::unique_ptr<Node>;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// strconv.UnquoteChar: one (possibly escaped) character of a literal quoted with `quote` from s[i];
// false on a bad escape. `value` is the rune, or the byte for \x and octal escapes (`is_byte`).
bool unquote_char(std::string_view s, std::size_t& i, char quote, std::uint32_t& value, bool& is_byte) {
  is_byte = false;
  if (i >= s.size()) return false;
  const char c = s[i];
  if (c == quote && (quote == '\'' || quote == '"')) return false;
  if (c != '\\') {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      value = b;
      ++i;
      return true;
    }
    // A UTF-8 sequence: copy its bytes as they are.
    int n = (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 1;
    std::uint32_t r = n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
    if (n == 1 || i + static_cast<std::size_t>(n) > s.size()) {
      value = 0xfffd;
      ++i;
      return true;
    }
    for (int k = 1; k < n; ++k)
      r = (r << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3f);
    value = r;
    i += static_cast<std::size_t>(n);
    return true;
  }
  if (i + 1 >= s.size()) return false;
  const char e = s[i + 1];
  i += 2;
  switch (e) {
    case 'a': value = '\a'; return true;
    case 'b': value = '\b'; return true;
    case 'f': value = '\f'; return true;
    case 'n': value = '\n'; return true;
    case 'r': value = '\r'; return true;
    case 't': value = '\t'; return true;
    case 'v': value = '\v'; return true;
    case '\\': value = '\\'; return true;
    case '\'':
    case '"':
      if (e != quote) return false;
      value = static_cast<unsigned char>(e);
      return true;
    case 'x':
    case 'u':
    case 'U': {
      const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (i + static_cast<std::size_t>(n) > s.size()) return false;
      std::uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        const int d = hex_digit(s[i + static_cast<std::size_t>(k)]);
        if (d < 0) return false;
        v = (v << 4) | static_cast<std::uint32_t>(d);
      }
      i += static_cast<std::size_t>(n);
      if (e == 'x') {
        is_byte = true;
      } else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return false;
      }
      value = v;
      return true;
    }
    default:
      if (e >= '0' && e <= '7') {
        if (i + 2 > s.size()) return false;
        std::uint32_t v = static_cast<std::uint32_t>(e - '0');
        for (int k = 0; k < 2; ++k) {
          const char d = s[i + static_cast<std::size_t>(k)];
          if (d < '0' || d > '7') return false;
          v = v * 8 + static_cast<std::uint32_t>(d - '0');
        }
        if (v > 255) return false;
        i += 2;
        is_byte = true;
        value = v;
        return true;
      }
      return false;
  }
}

// strconv.Unquote of a "..." or `...` literal.
bool unquote(std::string_view lit, std::string& out) {
  out.clear();
  if (lit.size() < 2) return false;
  if (lit.front() == '`') {
    for (char c : lit.substr(1, lit.size() - 2)) {
      if (c != '\r') out += c;
    }
    return true;
  }
  const std::string_view body = lit.substr(1, lit.size() - 2);
  for (std::size_t i = 0; i < body.size();) {
    if (body[i] == '\n') return false;
    std::uint32_t v = 0;
    bool is_byte = false;
    if (!unquote_char(body, i, '"', v, is_byte)) return false;
    if (is_byte) {
      out += static_cast<char>(v);
    } else {
      out += encode_rune(static_cast<std::int32_t>(v));
    }
  }
  return true;
}

// strconv.ParseUint/ParseInt(text, 0, 64) and ParseFloat(text, 64), as far as template numbers go.
bool underscores_ok(std::string_view s) {
  // Go: underscores only between digits (or after a base prefix).
  if (s.find('_') == std::string_view::npos) return true;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool base_prefix =
      s.size() >= i + 2 && s[i] == '0' && std::string_view("xXoObB").find(s[i + 1]) != std::string_view::npos;
  char saw = '^';
  if (base_prefix) {
    i += 2;
    saw = '0';
  }
  bool hex = base_prefix && (s[i - 1] == 'x' || s[i - 1] == 'X');
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= '0' && c <= '9') || (hex && hex_digit(c) >= 0)) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

std::string strip(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_') out += c;
  }
  return out;
}

bool parse_uint(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text[0] == '+' || text[0] == '-' || !underscores_ok(text)) return false;
  std::string s = strip(text);
  int base = 10;
  std::size_t i = 0;
  if (s.size() > 1 && s[0] == '0') {
    const char p = s[1];
    if (p == 'x' || p == 'X') {
      base = 16;
      i = 2;
    } else if (p == 'o' || p == 'O') {
      base = 8;
      i = 2;
    } else if (p == 'b' || p == 'B') {
      base = 2;
      i = 2;
    } else {
      base = 8;
      i = 1;
    }
  }
  if (i >= s.size()) return false;
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    const int d = hex_digit(s[i]);
    if (d < 0 || d >= base) return false;
    if (v > (UINT64_MAX - static_cast<std::uint64_t>(d)) / static_cast<std::uint64_t>(base)) return false;
    v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

bool parse_int(std::string_view text, std::int64_t& out) {
  bool negative = false;
  std::string_view s = text;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::uint64_t u = 0;
  if (!parse_uint(s, u)) return false;
  if (negative) {
    if (u > static_cast<std::uint64_t>(INT64_MAX) + 1) return false;
    out = static_cast<std::int64_t>(0 - u);
  } else {
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = static_cast<std::int64_t>(u);
  }
  return true;
}

bool parse_float(std::string_view text, double& out) {
  if (text.empty() || !underscores_ok(text)) return false;
  const std::string s = strip(text);
  // strtod takes what Go's ParseFloat does here (decimal and hex floats), and more (inf, nan, hex
  // without exponent): those cannot come from the lexer except hex without 'p', refused below.
  std::string_view body = s;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body.size() > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') &&
      body.find_first_of("pP") == std::string_view::npos) {
    return false;
  }
  if (body.empty() || !(std::isdigit(static_cast<unsigned char>(body[0])) || body[0] == '.')) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  if (errno == ERANGE && std::isinf(v)) return false;
  out = v;
  return true;
}

class Parser {
 public:
  Parser(std::string_view text, std::string name, bool (*is_function)(std::string_view))
      : text_(text), name_(std::move(name)), is_function_(is_function), tokens_(lex(text)) {}

  Trees run() {
    Tree main = start_tree(name_);
    parse_top(main);
    add(std::move(main));
    return std::move(trees_);
  }

 private:
  struct Tree {
    std::string name;
    NodePtr root;
    std::vector<std::string> vars;
  };

  Tree start_tree(std::string name) {
    Tree t;
    t.name = std::move(name);
    t.vars = {"$"};
    return t;
  }

  [[noreturn]] void fail(const std::string& message, std::size_t pos) {
    const Token& t = tokens_[std::min(furthest_, tokens_.size() - 1)];
    throw ParseError("template: " + name_ + ":" + std::to_string(t.line) + ": " + message, pos);
  }
  [[noreturn]] void fail(const std::string& message) {
    fail(message, tokens_[std::min(furthest_, tokens_.size() - 1)].pos);
  }

  const Token& next() {
    const std::size_t k = std::min(index_, tokens_.size() - 1);
    if (index_ < tokens_.size()) ++index_;
    furthest_ = std::max(furthest_, k);
    return tokens_[k];
  }
  void backup(std::size_t n = 1) { index_ -= n; }
  const Token& peek() {
    const Token& t = next();
    backup();
    return t;
  }
  const Token& next_non_space() {
    for (;;) {
      const Token& t = next();
      if (t.type != Item::space) return t;
    }
  }
  const Token& peek_non_space() {
    const std::size_t before = index_;
    const Token& t = next_non_space();
    index_ = before;
    // Go's peekNonSpace consumes the spaces: leave the index just before the token.
    while (index_ < tokens_.size() && tokens_[index_].type == Item::space) ++index_;
    return t;
  }
  const Token& expect(Item type, const std::string& context) {
    const Token& t = next_non_space();
    if (t.type != type) unexpected(t, context);
    return t;
  }
  [[noreturn]] void unexpected(const Token& t, const std::string& context) {
    if (t.type == Item::error) {
      std::string extra;
      if (action_line_ != 0 && action_line_ != t.line) {
        extra = " in action started at " + name_ + ":" + std::to_string(action_line_);
        if (t.val.size() >= 7 && t.val.ends_with(" action"))
          extra = extra.substr(std::string(" in action").size());
      }
      fail(t.val + extra, t.pos);
    }
    fail("unexpected " + token_string(t) + " in " + context, t.pos);
  }

  struct DepthGuard {
    Parser& p;
    DepthGuard(Parser& parser, std::size_t pos) : p(parser) {
      if (p.depth_ >= kMaxParseDepth) p.fail("max expression depth exceeded", pos);
      ++p.depth_;
    }
    ~DepthGuard() { --p.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
  };

  void add(Tree t) {
    auto it = trees_.find(t.name);
    if (it == trees_.end() || is_empty_tree(*it->second)) {
      trees_[t.name] = std::move(t.root);
      return;
    }
    if (!is_empty_tree(*t.root)) fail("template: multiple definition of template \"" + t.name + "\"");
  }

  static bool is_empty_tree(const Node& n) {
    switch (n.type) {
      case NodeType::list:
        for (const auto& c : n.nodes) {
          if (!is_empty_tree(*c)) return false;
        }
        return true;
      case NodeType::text:
        for (char c : n.text) {
          if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
        }
        return true;
      case NodeType::comment: return true;
      default: return false;
    }
  }

  void parse_top(Tree& t) {
    cur_ = &t;
    t.root = std::make_unique<Node>(NodeType::list, peek().pos);
    while (peek().type != Item::eof) {
      if (peek().type == Item::left_delim) {
        next();
        if (next_non_space().type == Item::define) {
          parse_definition();
          cur_ = &t;
          continue;
        }
        // Back to the delimiter (over any spaces read).
        while (tokens_[index_ - 1].type != Item::left_delim) backup();
        backup();
      }
      NodePtr n = text_or_action();
      if (n->type == NodeType::end || n->type == NodeType::else_)
        fail("unexpected " + node_string(*n), n->pos);
      t.root->nodes.push_back(std::move(n));
    }
  }

  void parse_definition() {
    const std::string context = "define clause";
    const Token& name = next_non_space();
    if (name.type != Item::string && name.type != Item::raw_string) unexpected(name, context);
    std::string unquoted;
    if (!unquote(name.val, unquoted)) fail("invalid syntax", name.pos);
    expect(Item::right_delim, context);
    Tree def = start_tree(unquoted);
    Tree* outer = cur_;
    cur_ = &def;
    auto [list, end] = item_list();
    if (end->type != NodeType::end) fail("unexpected " + node_string(*end) + " in " + context, end->pos);
    def.root = std::move(list);
    cur_ = outer;
    add(std::move(def));
  }

  std::pair<NodePtr, NodePtr> item_list() {
    auto list = std::make_unique<Node>(NodeType::list, peek_non_space().pos);
    while (peek_non_space().type != Item::eof) {
      NodePtr n = text_or_action();
      if (n->type == NodeType::end || n->type == NodeType::else_) return {std::move(list), std::move(n)};
      list->nodes.push_back(std::move(n));
    }
    fail("unexpected EOF");
  }

  NodePtr text_or_action() {
    const Token& t = next_non_space();
    switch (t.type) {
      case Item::text: {
        auto n = std::make_unique<Node>(NodeType::text, t.pos, t.line);
        n->text = t.val;
        return n;
      }
      case Item::left_delim: {
        const int saved = action_line_;
        action_line_ = t.line;
        NodePtr n = action();
        action_line_ = saved;
        return n;
      }
      case Item::comment: {
        auto n = std::make_unique<Node>(NodeType::comment, t.pos, t.line);
        n->text = t.val;
        return n;
      }
      default: unexpected(t, "input");
    }
  }

  NodePtr action() {
    const Token& t = next_non_space();
    switch (t.type) {
      case Item::block: return block_control();
      case Item::break_: return break_or_continue(t, NodeType::break_, "{{break}}");
      case Item::continue_: return break_or_continue(t, NodeType::continue_, "{{continue}}");
      case Item::else_: return else_control();
      case Item::end: {
        const Token& e = expect(Item::right_delim, "end");
        return std::make_unique<Node>(NodeType::end, e.pos, e.line);
      }
      case Item::if_: return control(NodeType::if_, true, "if");
      case Item::range: return control(NodeType::range, false, "range");
      case Item::template_: return template_control();
      case Item::with: return control(NodeType::with, false, "with");
      default: break;
    }
    backup();
    const Token& at = peek();
    auto n = std::make_unique<Node>(NodeType::action, at.pos, at.line);
    n->pipe = pipeline("command", Item::right_delim);
    return n;
  }

  NodePtr break_or_continue(const Token& t, NodeType type, const std::string& what) {
    const Token& after = next_non_space();
    if (after.type != Item::right_delim) unexpected(after, what);
    if (range_depth_ == 0) fail(what + " outside {{range}}", t.pos);
    return std::make_unique<Node>(type, t.pos, t.line);
  }

  NodePtr else_control() {
    const Token& p = peek_non_space();
    if (p.type == Item::if_) return std::make_unique<Node>(NodeType::else_, p.pos, p.line);
    const Token& t = expect(Item::right_delim, "else");
    return std::make_unique<Node>(NodeType::else_, t.pos, t.line);
  }

  NodePtr control(NodeType type, bool allow_else_if, const std::string& context) {
    DepthGuard guard(*this, peek().pos);
    const std::size_t vars = cur_->vars.size();
    NodePtr pipe = pipeline(context, Item::right_delim);
    auto n = std::make_unique<Node>(type, pipe->pos, pipe->line);
    if (type == NodeType::range) ++range_depth_;
    auto [list, next_node] = item_list();
    if (type == NodeType::range) --range_depth_;
    n->list = std::move(list);
    if (next_node->type == NodeType::else_) {
      if (allow_else_if && peek().type == Item::if_) {
        next();
        auto else_list = std::make_unique<Node>(NodeType::list, next_node->pos, next_node->line);
        else_list->nodes.push_back(control(NodeType::if_, true, "if"));
        n->else_list = std::move(else_list);
      } else {
        auto [else_list, end] = item_list();
        if (end->type != NodeType::end) fail("expected end; found " + node_string(*end), end->pos);
        n->else_list = std::move(else_list);
      }
    }
    n->pipe = std::move(pipe);
    cur_->vars.resize(vars);
    return n;
  }

  std::string template_name(const Token& t, const std::string& context) {
    if (t.type != Item::string && t.type != Item::raw_string) unexpected(t, context);
    std::string s;
    if (!unquote(t.val, s)) fail("invalid syntax", t.pos);
    return s;
  }

  NodePtr template_control() {
    const std::string context = "template clause";
    const Token& t = next_non_space();
    auto n = std::make_unique<Node>(NodeType::template_, t.pos, t.line);
    n->text = template_name(t, context);
    if (next_non_space().type != Item::right_delim) {
      backup();
      n->pipe = pipeline(context, Item::right_delim);
    }
    return n;
  }

  NodePtr block_control() {
    const std::string context = "block clause";
    DepthGuard guard(*this, peek().pos);
    const Token& t = next_non_space();
    auto n = std::make_unique<Node>(NodeType::template_, t.pos, t.line);
    n->text = template_name(t, context);
    n->pipe = pipeline(context, Item::right_delim);
    Tree block = start_tree(n->text);
    Tree* outer = cur_;
    cur_ = &block;
    const int saved_range = range_depth_;
    range_depth_ = 0;
    auto [list, end] = item_list();
    range_depth_ = saved_range;
    cur_ = outer;
    if (end->type != NodeType::end) fail("unexpected " + node_string(*end) + " in " + context, end->pos);
    block.root = std::move(list);
    add(std::move(block));
    return n;
  }

  NodePtr pipeline(const std::string& context, Item end) {
    const Token& first = peek_non_space();
    auto pipe = std::make_unique<Node>(NodeType::pipe, first.pos, first.line);
    // Declarations or assignments: $x :=, $x =, $i, $v :=
    for (;;) {
      const Token& v = peek_non_space();
      if (v.type != Item::variable) break;
      next();
      const std::size_t after_var = index_;
      const Token& token_after = peek();
      const Token& nxt = peek_non_space();
      if (nxt.type == Item::assign || nxt.type == Item::declare) {
        pipe->is_assign = nxt.type == Item::assign;
        next_non_space();
        pipe->decls.push_back(variable_node(v));
        cur_->vars.push_back(v.val);
        break;
      }
      if (nxt.type == Item::character && nxt.val == ",") {
        next_non_space();
        pipe->decls.push_back(variable_node(v));
        cur_->vars.push_back(v.val);
        if (context == "range" && pipe->decls.size() < 2) {
          const Item p = peek_non_space().type;
          if (p == Item::variable || p == Item::right_delim || p == Item::right_paren) continue;
          fail("range can only initialize variables");
        }
        fail("too many declarations in " + context);
      }
      // Not a declaration: the variable is an operand.
      index_ = after_var;
      (void)token_after;
      backup();
      break;
    }
    for (;;) {
      const Token& t = next_non_space();
      if (t.type == end) {
        if (pipe->nodes.empty()) fail("missing value for " + context);
        for (std::size_t i = 1; i < pipe->nodes.size(); ++i) {
          switch (pipe->nodes[i]->nodes[0]->type) {
            case NodeType::boolean:
            case NodeType::dot:
            case NodeType::nil:
            case NodeType::number:
            case NodeType::string:
              fail("non executable command in pipeline stage " + std::to_string(i + 1), pipe->nodes[i]->pos);
            default: break;
          }
        }
        return pipe;
      }
      switch (t.type) {
        case Item::boolean:
        case Item::char_constant:
        case Item::complex:
        case Item::dot:
        case Item::field:
        case Item::identifier:
        case Item::number:
        case Item::nil:
        case Item::raw_string:
        case Item::string:
        case Item::variable:
        case Item::left_paren:
          backup();
          pipe->nodes.push_back(command());
          break;
        default: unexpected(t, context);
      }
    }
  }

  NodePtr variable_node(const Token& t) {
    auto n = std::make_unique<Node>(NodeType::variable, t.pos, t.line);
    split_fields(t.val, n->idents);
    return n;
  }

  static void split_fields(std::string_view s, std::vector<std::string>& out) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t dot = s.find('.', start);
      out.emplace_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }

  NodePtr command() {
    auto cmd = std::make_unique<Node>(NodeType::command, peek_non_space().pos);
    for (;;) {
      peek_non_space();
      NodePtr op = operand();
      if (op) cmd->nodes.push_back(std::move(op));
      const Token& t = next();
      if (t.type == Item::space) continue;
      if (t.type == Item::right_delim || t.type == Item::right_paren) {
        backup();
      } else if (t.type != Item::pipe) {
        unexpected(t, "operand");
      }
      break;
    }
    if (cmd->nodes.empty()) fail("empty command");
    return cmd;
  }

  NodePtr operand() {
    NodePtr node = term();
    if (!node) return nullptr;
    if (peek().type == Item::field) {
      auto chain = std::make_unique<Node>(NodeType::chain, peek().pos);
      while (peek().type == Item::field) chain->idents.push_back(next().val.substr(1));
      switch (node->type) {
        case NodeType::field:
        case NodeType::variable:
          for (auto& f : chain->idents) node->idents.push_back(std::move(f));
          node->pos = chain->pos;
          return node;
        case NodeType::boolean:
        case NodeType::string:
        case NodeType::number:
        case NodeType::nil:
        case NodeType::dot: fail("unexpected . after term " + quote_simple(node_string(*node)), chain->pos);
        default: chain->base = std::move(node); return chain;
      }
    }
    return node;
  }

  static std::string quote_simple(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }

  NodePtr term() {
    const Token& t = next_non_space();
    switch (t.type) {
      case Item::identifier: {
        if (!is_function_(t.val)) fail("function \"" + t.val + "\" not defined", t.pos);
        auto n = std::make_unique<Node>(NodeType::identifier, t.pos, t.line);
        n->text = t.val;
        return n;
      }
      case Item::dot: return std::make_unique<Node>(NodeType::dot, t.pos, t.line);
      case Item::nil: return std::make_unique<Node>(NodeType::nil, t.pos, t.line);
      case Item::variable: {
        NodePtr v = variable_node(t);
        for (const auto& name : cur_->vars) {
          if (name == v->idents[0]) return v;
        }
        fail("undefined variable \"" + v->idents[0] + "\"", t.pos);
      }
      case Item::field: {
        auto n = std::make_unique<Node>(NodeType::field, t.pos, t.line);
        split_fields(std::string_view(t.val).substr(1), n->idents);
        return n;
      }
      case Item::boolean: {
        auto n = std::make_unique<Node>(NodeType::boolean, t.pos, t.line);
        n->boolean = t.val == "true";
        return n;
      }
      case Item::char_constant:
      case Item::complex:
      case Item::number: return number(t);
      case Item::left_paren: {
        DepthGuard guard(*this, t.pos);
        return pipeline("parenthesized pipeline", Item::right_paren);
      }
      case Item::string:
      case Item::raw_string: {
        auto n = std::make_unique<Node>(NodeType::string, t.pos, t.line);
        n->quoted = t.val;
        if (!unquote(t.val, n->text)) fail("invalid syntax", t.pos);
        return n;
      }
      default: break;
    }
    backup();
    return nullptr;
  }

  static void simplify_complex(Node& n) {
    if (n.imag_value == 0) {
      n.is_float = true;
      if (std::trunc(n.float_value) == n.float_value && std::fabs(n.float_value) < 9.2e18) {
        n.is_int = true;
        n.int_value = static_cast<std::int64_t>(n.float_value);
      }
      if (n.float_value >= 0 && std::trunc(n.float_value) == n.float_value && n.float_value < 1.8e19) {
        n.is_uint = true;
        n.uint_value = static_cast<std::uint64_t>(n.float_value);
      }
    }
  }

  NodePtr number(const Token& t) {
    auto n = std::make_unique<Node>(NodeType::number, t.pos, t.line);
    const std::string& text = t.val;
    n->text = text;
    if (t.type == Item::char_constant) {
      std::size_t i = 1;
      std::uint32_t r = 0;
      bool is_byte = false;
      if (!unquote_char(text, i, '\'', r, is_byte)) fail("invalid syntax", t.pos);
      if (text.substr(i) != "'") fail("malformed character constant: " + text, t.pos);
      n->int_value = r;
      n->is_int = true;
      n->uint_value = r;
      n->is_uint = true;
      n->float_value = r;
      n->is_float = true;
      return n;
    }
    if (t.type == Item::complex) {
      // real+imag i, or real-imag i
      std::size_t split = text.find_last_of("+-");
      if (split == 0 || split == std::string::npos) fail("expected integer", t.pos);
      while (split > 0 && (text[split - 1] == 'e' || text[split - 1] == 'E' || text[split - 1] == 'p' ||
                           text[split - 1] == 'P')) {
        split = text.find_last_of("+-", split - 1);
        if (split == 0 || split == std::string::npos) fail("expected integer", t.pos);
      }
      double re = 0, im = 0;
      if (!parse_float(text.substr(0, split), re) ||
          !parse_float(std::string_view(text).substr(split, text.size() - split - 1), im)) {
        fail("expected integer", t.pos);
      }
      n->is_complex = true;
      n->float_value = re;
      n->imag_value = im;
      simplify_complex(*n);
      return n;
    }
    if (!text.empty() && text.back() == 'i') {
      double f = 0;
      if (parse_float(std::string_view(text).substr(0, text.size() - 1), f)) {
        n->is_complex = true;
        n->float_value = 0;
        n->imag_value = f;
        simplify_complex(*n);
        return n;
      }
    }
    std::uint64_t u = 0;
    if (parse_uint(text, u)) {
      n->is_uint = true;
      n->uint_value = u;
    }
    std::int64_t i = 0;
    if (parse_int(text, i)) {
      n->is_int = true;
      n->int_value = i;
      if (i == 0) {
        n->is_uint = true;
        n->uint_value = u;
      }
    }
    if (n->is_int) {
      n->is_float = true;
      n->float_value = static_cast<double>(n->int_value);
    } else if (n->is_uint) {
      n->is_float = true;
      n->float_value = static_cast<double>(n->uint_value);
    } else {
      double f = 0;
      if (parse_float(text, f)) {
        if (text.find_first_of(".eEpP") == std::string::npos)
          fail("integer overflow: \"" + text + "\"", t.pos);
        n->is_float = true;
        n->float_value = f;
        if (!n->is_int && std::fabs(f) < 9.2e18 && std::trunc(f) == f) {
          n->is_int = true;
          n->int_value = static_cast<std::int64_t>(f);
        }
        if (!n->is_uint && f >= 0 && f < 1.8e19 && std::trunc(f) == f) {
          n->is_uint = true;
          n->uint_value = static_cast<std::uint64_t>(f);
        }
      }
    }
    if (!n->is_int && !n->is_uint && !n->is_float) fail("illegal number syntax: \"" + text + "\"", t.pos);
    return n;
  }

  std::string_view text_;
  std::string name_;
  bool (*is_function_)(std::string_view);
  std::vector<Token> tokens_;
  std::size_t index_ = 0;
  std::size_t furthest_ = 0;
  Trees trees_;
  Tree* cur_ = nullptr;
  int range_depth_ = 0;
  int depth_ = 0;
  int action_line_ = 0;
};

void write_node(const Node& n, std::string& out);

void write_list(const Node* n, std::string& out) {
  if (n == nullptr) return;
  for (const auto& c : n->nodes) write_node(*c, out);
}

void write_pipe(const Node& p, std::string& out) {
  for (std::size_t i = 0; i < p.decls.size(); ++i) {
    if (i > 0) out += ", ";
    write_node(*p.decls[i], out);
  }
  if (!p.decls.empty()) out += " := ";
  for (std::size_t i = 0; i < p.nodes.size(); ++i) {
    if (i > 0) out += " | ";
    write_node(*p.nodes[i], out);
  }
}

void write_branch(const Node& n, const char* name, std::string& out) {
  out += "{{";
  out += name;
  out += " ";
  write_pipe(*n.pipe, out);
  out += "}}";
  write_list(n.list.get(), out);
  if (n.else_list) {
    out += "{{else}}";
    write_list(n.else_list.get(), out);
  }
  out += "{{end}}";
}

void write_node(const Node& n, std::string& out) {
  switch (n.type) {
    case NodeType::text: out += n.text; break;
    case NodeType::comment: out += "{{" + n.text + "}}"; break;
    case NodeType::action:
      out += "{{";
      write_pipe(*n.pipe, out);
      out += "}}";
      break;
    case NodeType::boolean: out += n.boolean ? "true" : "false"; break;
    case NodeType::chain:
      if (n.base->type == NodeType::pipe) {
        out += "(";
        write_node(*n.base, out);
        out += ")";
      } else {
        write_node(*n.base, out);
      }
      for (const auto& f : n.idents) out += "." + f;
      break;
    case NodeType::command:
      for (std::size_t i = 0; i < n.nodes.size(); ++i) {
        if (i > 0) out += " ";
        if (n.nodes[i]->type == NodeType::pipe) {
          out += "(";
          write_node(*n.nodes[i], out);
          out += ")";
        } else {
          write_node(*n.nodes[i], out);
        }
      }
      break;
    case NodeType::dot: out += "."; break;
    case NodeType::field:
      for (const auto& f : n.idents) out += "." + f;
      break;
    case NodeType::identifier: out += n.text; break;
    case NodeType::if_: write_branch(n, "if", out); break;
    case NodeType::range: write_branch(n, "range", out); break;
    case NodeType::with: write_branch(n, "with", out); break;
    case NodeType::list: write_list(&n, out); break;
    case NodeType::nil: out += "nil"; break;
    case NodeType::number: out += n.text; break;
    case NodeType::pipe: write_pipe(n, out); break;
    case NodeType::string: out += n.quoted; break;
    case NodeType::template_: {
      out += "{{template \"" + n.text + "\"";
      if (n.pipe) {
        out += " ";
        write_pipe(*n.pipe, out);
      }
      out += "}}";
      break;
    }
    case NodeType::variable:
      for (std::size_t i = 0; i < n.idents.size(); ++i) out += (i > 0 ? "." : "") + n.idents[i];
      break;
    case NodeType::break_: out += "{{break}}"; break;
    case NodeType::continue_: out += "{{continue}}"; break;
    case NodeType::end: out += "{{end}}"; break;
    case NodeType::else_: out += "{{else}}"; break;
  }
}

}  // namespace

std::string node_string(const Node& n) {
  std::string out;
  write_node(n, out);
  return out;
}

Trees parse(std::string_view text, const std::string& name, bool (*is_function)(std::string_view)) {
  return Parser(text, name, is_function).run();
}

}  // namespace tocsin::rules::tmpl
