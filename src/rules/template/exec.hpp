#pragma once
// Go's text/template executor (text/template/exec.go) over the parse trees: the walk of actions,
// if/with/range (break, continue), template calls, variables, pipelines, field chains, function calls
// with Go's argument checks, and Go's printing of the result. Bounded: template call depth, nesting,
// steps (each node, call and range iteration) and output size are limited, and past a limit
// execution stops with an error.

#include <string>
#include <string_view>

#include "rules/template/functions.hpp"
#include "rules/template/parse.hpp"
#include "rules/template/value.hpp"

namespace tocsin::rules::tmpl {

struct ExecLimits {
  int max_template_depth = 1000;     // template calls in progress (Go: 100000)
  int max_nesting = 1000;            // nested actions, parentheses and calls together
  std::size_t max_steps = 1000000;   // nodes walked, functions called, range iterations
  std::size_t max_output = 1 << 20;  // bytes written, and bytes of any one string value
};

// Executes trees[name] with `dot` as data; `text` is the parsed text (for line:column in errors).
// Throws ExecError.
std::string execute(const Trees& trees, const std::string& name, std::string_view text, const Value& dot,
                    const Env& env, const ExecLimits& limits = {});

struct ExecError : std::runtime_error {
  ExecError(const std::string& message, std::size_t p) : std::runtime_error(message), pos(p) {}
  std::size_t pos;
};

}  // namespace tocsin::rules::tmpl
