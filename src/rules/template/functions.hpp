#pragma once
// The functions a rule template can call: Go's text/template builtins (funcs.go) and Prometheus's
// (template/template.go), each with the Go signature that decides how its arguments are checked.

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rules/template/value.hpp"
#include "tocsin/rules/template.hpp"

namespace tocsin::rules::tmpl {

// How an argument is checked (Go's parameter type).
enum class Param {
  any,      // interface{} (and reflect.Value of the builtins)
  string,   // string
  sample,   // *template.sample
  samples,  // template.queryResult
};

// A function's own failure: the template reports "error calling NAME: <what>".
struct FunctionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Env {
  const TemplateData& data;
};

using FunctionImpl = Value (*)(const Env&, std::vector<Value>&);

struct Function {
  std::string_view name;
  std::vector<Param> params;
  bool variadic = false;  // the last parameter takes any number of arguments
  FunctionImpl impl = nullptr;
  // and/or: evaluated by the executor, which stops at the deciding argument.
  bool short_circuit = false;
};

const Function* find_function(std::string_view name);
bool is_function(std::string_view name);
// Go's name of a parameter type, for "expected string" and "wrong type for value" errors.
std::string param_type_name(Param p);

}  // namespace tocsin::rules::tmpl
