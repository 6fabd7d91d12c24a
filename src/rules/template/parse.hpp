#pragma once
// Go's text/template/parse: the lexer's items, the parse tree's nodes, and Parse, which returns every
// template the text defines ({{define}} and {{block}}) beside the main one. Errors are Go's text
// ("template: NAME:LINE: ...") with the byte offset of the token they are about.

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tocsin::rules::tmpl {

enum class Item {
  error,
  boolean,
  character,  // a printable ASCII character in an action: ',' and the rest
  char_constant,
  comment,
  complex,
  assign,   // =
  declare,  // :=
  eof,
  field,  // .Name
  identifier,
  left_delim,
  left_paren,
  number,
  pipe,
  raw_string,
  right_delim,
  right_paren,
  space,
  string,
  text,
  variable,  // $name
  // keywords
  block,
  break_,
  continue_,
  dot,
  define,
  else_,
  end,
  if_,
  nil,
  range,
  template_,
  with,
};

struct Token {
  Item type = Item::eof;
  std::size_t pos = 0;
  std::string val;
  int line = 1;
};

// The whole text as items, up to and including EOF or the first error.
std::vector<Token> lex(std::string_view text);
// Go's item.String(): EOF, the error text, <keyword>, or the quoted value (cut at 10 bytes).
std::string token_string(const Token& t);

enum class NodeType {
  text,
  action,
  boolean,
  chain,
  command,
  dot,
  field,
  identifier,
  if_,
  list,
  nil,
  number,
  pipe,
  range,
  string,
  template_,
  variable,
  with,
  comment,
  break_,
  continue_,
  end,   // parse-time only
  else_  // parse-time only
};

struct Node {
  NodeType type;
  std::size_t pos = 0;
  int line = 0;
  std::string text;                          // text; identifier; string value; number text; template name
  std::string quoted;                        // string: as written
  std::vector<std::string> idents;           // field, variable (with its name first), chain: the fields
  std::vector<std::unique_ptr<Node>> nodes;  // list: items; command: args; pipe: commands
  std::vector<std::unique_ptr<Node>> decls;  // pipe: the variables declared or assigned
  bool is_assign = false;                    // pipe: `=` rather than `:=`
  std::unique_ptr<Node> pipe;                // action, if, range, with, template (may be null)
  std::unique_ptr<Node> list;                // if, range, with
  std::unique_ptr<Node> else_list;           // if, range, with (may be null)
  std::unique_ptr<Node> base;                // chain: the term the fields apply to
  bool boolean = false;
  // number
  bool is_int = false, is_uint = false, is_float = false, is_complex = false;
  std::int64_t int_value = 0;
  std::uint64_t uint_value = 0;
  double float_value = 0;
  double imag_value = 0;

  explicit Node(NodeType t, std::size_t p = 0, int l = 0) : type(t), pos(p), line(l) {}
};

// Go's Node.String(): how the node reads in an error's context.
std::string node_string(const Node& n);

struct ParseError : std::runtime_error {
  ParseError(const std::string& message, std::size_t p) : std::runtime_error(message), pos(p) {}
  std::size_t pos;
};

using Trees = std::map<std::string, std::unique_ptr<Node>>;  // name -> list

// Parses `text` named `name`; the main template is trees[name]. `is_function` says which identifiers
// are functions. Throws ParseError. Nesting deeper than kMaxParseDepth is an error ("max expression
// depth exceeded", Go allows 10000; tocsin 100, which keeps the stack small).
constexpr int kMaxParseDepth = 100;
Trees parse(std::string_view text, const std::string& name, bool (*is_function)(std::string_view));

}  // namespace tocsin::rules::tmpl
