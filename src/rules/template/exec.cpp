// Go's text/template executor, function for function (exec.go: walk, walkIfOrWith, walkRange,
// walkTemplate, evalPipeline, evalCommand, evalField, evalCall, evalArg, validateType), with the
// option Prometheus sets (missingkey=zero) and Go's error messages.

#include "rules/template/exec.hpp"

#include <ctime>
#include <optional>

#include "rules/template/format.hpp"

namespace tocsin::rules::tmpl {

namespace {

enum class Flow { normal, break_, continue_ };

class Exec {
 public:
  Exec(const Trees& trees, std::string name, std::string_view text, const Env& env, const ExecLimits& limits)
      : trees_(trees), parse_name_(name), name_(std::move(name)), text_(text), env_(env), limits_(limits) {}

  std::string run(const Value& dot) {
    const auto it = trees_.find(name_);
    if (it == trees_.end()) {
      throw ExecError("template: " + name_ + ": \"" + name_ + "\" is an incomplete or empty template", 0);
    }
    vars_.push_back({"$", dot});
    walk(dot, *it->second);
    return std::move(out_);
  }

 private:
  struct Variable {
    std::string name;
    Value value;
  };

  // s.errorf: "template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE".
  [[noreturn]] void fail(const std::string& message) {
    if (node_ == nullptr) throw ExecError("template: " + name_ + ": " + message, 0);
    const std::size_t pos = node_->pos;
    const std::string_view before = text_.substr(0, std::min(pos, text_.size()));
    const std::size_t nl = before.rfind('\n');
    std::size_t line = 1;
    for (char c : before) line += c == '\n' ? 1 : 0;
    const std::size_t column = nl == std::string_view::npos ? pos : pos - (nl + 1);
    throw ExecError("template: " + parse_name_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
                        ": executing " + quote(name_) + " at <" + node_string(*node_) + ">: " + message,
                    pos);
  }

  void at(const Node& n) { node_ = &n; }

  [[gnu::noinline]] void step() {
    if (++steps_ > limits_.max_steps) {
      fail("template execution exceeded " + std::to_string(limits_.max_steps) + " steps");
    }
  }

  struct Nest {
    Exec& e;
    explicit Nest(Exec& exec) : e(exec) {
      if (++e.nesting_ > e.limits_.max_nesting) {
        e.fail("exceeded maximum template nesting (" + std::to_string(e.limits_.max_nesting) + ")");
      }
    }
    ~Nest() { --e.nesting_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
  };

  [[gnu::noinline]] void write(std::string_view s) {
    if (out_.size() + s.size() > limits_.max_output) {
      fail("template output exceeds " + std::to_string(limits_.max_output) + " bytes");
    }
    out_.append(s);
  }

  Flow walk(const Value& dot, const Node& node) {
    at(node);
    step();
    switch (node.type) {
      case NodeType::action: walk_action(dot, node); return Flow::normal;
      case NodeType::break_: return Flow::break_;
      case NodeType::continue_: return Flow::continue_;
      case NodeType::comment: return Flow::normal;
      case NodeType::if_:
      case NodeType::with: return walk_if_or_with(node, dot);
      case NodeType::list:
        for (const auto& n : node.nodes) {
          const Flow f = walk(dot, *n);
          if (f != Flow::normal) return f;
        }
        return Flow::normal;
      case NodeType::range: return walk_range(dot, node);
      case NodeType::template_: walk_template(dot, node); return Flow::normal;
      case NodeType::text: write(node.text); return Flow::normal;
      default: unknown(node);
    }
  }

  [[noreturn, gnu::noinline]] void unknown(const Node& node) { fail("unknown node: " + node_string(node)); }

  // The helpers of walk stay out of line: walk recurses, and its frame should stay small.
  [[gnu::noinline]] void walk_action(const Value& dot, const Node& node) {
    const Value v = eval_pipeline(dot, node.pipe.get());
    if (node.pipe->decls.empty()) print_value(node, v);
  }

  [[gnu::noinline]] Flow walk_if_or_with(const Node& node, const Value& dot) {
    Nest nest(*this);
    const std::size_t mark = vars_.size();
    const Value val = eval_pipeline(dot, node.pipe.get());
    Flow f = Flow::normal;
    if (truth(val)) {
      f = walk(node.type == NodeType::with ? val : dot, *node.list);
    } else if (node.else_list) {
      f = walk(dot, *node.else_list);
    }
    vars_.resize(mark);
    return f;
  }

  [[gnu::noinline]] Flow walk_range(const Value& dot, const Node& r) {
    Nest nest(*this);
    at(r);
    const std::size_t outer = vars_.size();
    Value val = eval_pipeline(dot, r.pipe.get());
    const std::size_t mark = vars_.size();
    bool stop = false;
    auto one = [&](const Value& index, const Value& elem) {
      step();
      if (!r.pipe->decls.empty()) vars_[vars_.size() - 1].value = elem;
      if (r.pipe->decls.size() > 1) vars_[vars_.size() - 2].value = index;
      const Flow f = walk(elem, *r.list);
      vars_.resize(mark);
      if (f == Flow::break_) stop = true;
    };
    bool empty = true;
    switch (val.kind) {
      case Kind::samples:
        if (val.samples && !val.samples->empty()) {
          empty = false;
          const Samples items = *val.samples;  // the body may sort the same result
          for (std::size_t i = 0; i < items.size() && !stop; ++i) {
            Value elem;
            elem.kind = Kind::sample;
            elem.sample = items[i];
            one(Value::integer(static_cast<std::int64_t>(i)), elem);
          }
        }
        break;
      case Kind::string_map:
        if (val.string_map && !val.string_map->empty()) {
          empty = false;
          const auto map = val.string_map;
          for (auto it = map->begin(); it != map->end() && !stop; ++it) {
            one(Value::string(it->first), Value::string(it->second));
          }
        }
        break;
      case Kind::any_map:
        if (val.any_map && !val.any_map->empty()) {
          empty = false;
          const auto map = val.any_map;
          for (auto it = map->begin(); it != map->end() && !stop; ++it)
            one(Value::string(it->first), it->second);
        }
        break;
      case Kind::invalid: break;
      case Kind::sample:
        if (!val.sample) break;
        fail("range can't iterate over " + sprint_value(val, true));
      default: fail("range can't iterate over " + sprint_value(val, true));
    }
    if (empty && r.else_list) walk(dot, *r.else_list);
    vars_.resize(outer);
    return Flow::normal;
  }

  [[gnu::noinline]] void walk_template(const Value& dot, const Node& t) {
    at(t);
    const auto it = trees_.find(t.text);
    if (it == trees_.end()) fail("template " + quote(t.text) + " not defined");
    if (depth_ >= limits_.max_template_depth) {
      fail("exceeded maximum template depth (" + std::to_string(limits_.max_template_depth) + ")");
    }
    const Value new_dot = eval_pipeline(dot, t.pipe.get());
    std::vector<Variable> saved_vars = std::move(vars_);
    std::string saved_name = std::move(name_);
    vars_ = {{"$", new_dot}};
    name_ = t.text;
    ++depth_;
    walk(new_dot, *it->second);
    --depth_;
    vars_ = std::move(saved_vars);
    name_ = std::move(saved_name);
  }

  Value eval_pipeline(const Value& dot, const Node* pipe) {
    if (pipe == nullptr) return {};
    Nest nest(*this);
    at(*pipe);
    std::optional<Value> value;
    for (const auto& cmd : pipe->nodes) value = eval_command(dot, *cmd, value);
    Value result = value ? *value : Value();
    for (const auto& v : pipe->decls) {
      if (pipe->is_assign) {
        set_var(v->idents[0], result);
      } else {
        vars_.push_back({v->idents[0], result});
      }
    }
    return result;
  }

  void set_var(const std::string& name, const Value& value) {
    for (std::size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].name == name) {
        vars_[i].value = value;
        return;
      }
    }
    fail("undefined variable: " + name);
  }

  Value var_value(const std::string& name) {
    for (std::size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].name == name) return vars_[i].value;
    }
    fail("undefined variable: " + name);
  }

  using NodeList = std::vector<std::unique_ptr<Node>>;

  void not_a_function(const NodeList& args, const std::optional<Value>& final) {
    if (args.size() > 1 || final) fail("can't give argument to non-function " + node_string(*args[0]));
  }

  Value eval_command(const Value& dot, const Node& cmd, const std::optional<Value>& final) {
    const Node& first = *cmd.nodes[0];
    switch (first.type) {
      case NodeType::field: return eval_field_node(dot, first, &cmd.nodes, final);
      case NodeType::chain: return eval_chain_node(dot, first, &cmd.nodes, final);
      case NodeType::identifier: return eval_function(dot, first, cmd, &cmd.nodes, final);
      case NodeType::pipe: not_a_function(cmd.nodes, final); return eval_pipeline(dot, &first);
      case NodeType::variable: return eval_variable_node(dot, first, &cmd.nodes, final);
      default: break;
    }
    at(first);
    not_a_function(cmd.nodes, final);
    switch (first.type) {
      case NodeType::boolean: return Value::boolean(first.boolean);
      case NodeType::dot: return dot;
      case NodeType::nil: fail("nil is not a command");
      case NodeType::number: return ideal_constant(first);
      case NodeType::string: return Value::string(first.text);
      default: fail("can't evaluate command " + quote(node_string(first)));
    }
  }

  Value ideal_constant(const Node& c) {
    at(c);
    const std::string& t = c.text;
    const bool hex_int = t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') &&
                         t.find_first_of("pP") == std::string::npos;
    const bool rune_int = !t.empty() && t[0] == '\'';
    if (c.is_complex) {
      Value v;
      v.kind = Kind::complex;
      v.f = c.float_value;
      v.imag = c.imag_value;
      return v;
    }
    if (c.is_float && !hex_int && !rune_int && t.find_first_of(".eEpP") != std::string::npos) {
      return Value::floating(c.float_value);
    }
    if (c.is_int) return Value::integer(c.int_value);
    if (c.is_uint) fail(t + " overflows int");
    return {};
  }

  Value eval_field_node(const Value& dot, const Node& field, const NodeList* args,
                        const std::optional<Value>& final) {
    at(field);
    return eval_field_chain(dot, dot, field, field.idents, 0, args, final);
  }

  Value eval_chain_node(const Value& dot, const Node& chain, const NodeList* args,
                        const std::optional<Value>& final) {
    at(chain);
    if (chain.idents.empty()) fail("internal error: no fields in evalChainNode");
    if (chain.base->type == NodeType::nil) fail("indirection through explicit nil in " + node_string(chain));
    const Value pipe = eval_arg(dot, Param::any, *chain.base);
    return eval_field_chain(dot, pipe, chain, chain.idents, 0, args, final);
  }

  Value eval_variable_node(const Value& dot, const Node& variable, const NodeList* args,
                           const std::optional<Value>& final) {
    at(variable);
    const Value value = var_value(variable.idents[0]);
    if (variable.idents.size() == 1) {
      if (args != nullptr) not_a_function(*args, final);
      return value;
    }
    return eval_field_chain(dot, value, variable, variable.idents, 1, args, final);
  }

  Value eval_field_chain(const Value& /*dot*/, Value receiver, const Node& node,
                         const std::vector<std::string>& ident, std::size_t from, const NodeList* args,
                         const std::optional<Value>& final) {
    const std::size_t n = ident.size();
    for (std::size_t i = from; i + 1 < n; ++i)
      receiver = eval_field(ident[i], node, nullptr, std::nullopt, receiver);
    return eval_field(ident[n - 1], node, args, final, receiver);
  }

  static std::int64_t time_part(std::int64_t nanos, int part) {
    std::int64_t secs = nanos / 1000000000, ns = nanos % 1000000000;
    if (ns < 0) {
      ns += 1000000000;
      --secs;
    }
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    switch (part) {
      case 0: return tm.tm_year + 1900;
      case 1: return tm.tm_mday;
      case 2: return tm.tm_hour;
      case 3: return tm.tm_min;
      case 4: return tm.tm_sec;
      case 5: return ns;
      case 6: return tm.tm_yday + 1;
      default: return 0;
    }
  }

  // time.Time's methods that take no argument and return a number (or the time).
  std::optional<Value> time_method(const std::string& name, std::int64_t nanos) {
    auto floor_div = [](std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0 && a < 0) ? 1 : 0); };
    if (name == "Unix") return Value::integer(floor_div(nanos, 1000000000));
    if (name == "UnixMilli") return Value::integer(floor_div(nanos, 1000000));
    if (name == "UnixMicro") return Value::integer(floor_div(nanos, 1000));
    if (name == "UnixNano") return Value::integer(nanos);
    static const char* kParts[] = {"Year", "Day", "Hour", "Minute", "Second", "Nanosecond", "YearDay"};
    for (int p = 0; p < 7; ++p) {
      if (name == kParts[p]) return Value::integer(time_part(nanos, p));
    }
    if (name == "String") return Value::string(format_time(nanos));
    if (name == "UTC" || name == "Local") {
      Value v;
      v.kind = Kind::time;
      v.i = nanos;
      return v;
    }
    return std::nullopt;
  }

  Value eval_field(const std::string& field, const Node& node, const NodeList* args,
                   const std::optional<Value>& final, const Value& receiver) {
    if (!receiver.valid()) return {};
    const bool has_args = (args != nullptr && args->size() > 1) || final;
    const std::string type = type_name(receiver);
    switch (receiver.kind) {
      case Kind::time: {
        if (auto v = time_method(field, receiver.i)) {
          if (has_args) {
            fail("wrong number of args for " + field + ": want 0 got " +
                 std::to_string((args != nullptr ? args->size() - 1 : 0) + (final ? 1 : 0)));
          }
          return *v;
        }
        break;
      }
      case Kind::root: {
        const RootData& r = *receiver.root;
        std::optional<Value> v;
        if (field == "Labels") v = Value::map(r.labels);
        if (field == "ExternalLabels") v = Value::map(r.external_labels);
        if (field == "ExternalURL") v = Value::string(r.external_url);
        if (field == "Value") v = Value::floating(r.value);
        if (v) {
          if (has_args) fail(field + " has arguments but cannot be invoked as function");
          return *v;
        }
        break;
      }
      case Kind::sample: {
        if (field == "Labels" || field == "Value") {
          if (!receiver.sample) fail("nil pointer evaluating " + type + "." + field);
          if (has_args) fail(field + " has arguments but cannot be invoked as function");
          if (field == "Labels") return Value::map(receiver.sample->labels);
          return Value::floating(receiver.sample->value);
        }
        break;
      }
      case Kind::string_map: {
        if (has_args) fail(field + " is not a method but has arguments");
        const auto it = receiver.string_map->find(field);
        return Value::string(it == receiver.string_map->end() ? "" : it->second);
      }
      case Kind::any_map: {
        if (has_args) fail(field + " is not a method but has arguments");
        const auto it = receiver.any_map->find(field);
        return it == receiver.any_map->end() ? Value() : it->second;
      }
      default: break;
    }
    (void)node;
    fail("can't evaluate field " + field + " in type " + type);
  }

  Value eval_function(const Value& dot, const Node& ident, const Node& cmd, const NodeList* args,
                      const std::optional<Value>& final) {
    at(ident);
    const Function* fn = find_function(ident.text);
    if (fn == nullptr) fail(quote(ident.text) + " is not a defined function");
    return eval_call(dot, *fn, cmd, args, final);
  }

  Value validate(const Value& value, Param param) {
    if (!value.valid()) {
      switch (param) {
        case Param::any: return value;
        case Param::sample: {
          Value v;
          v.kind = Kind::sample;
          return v;
        }
        case Param::samples: {
          Value v;
          v.kind = Kind::samples;
          return v;
        }
        default: fail("invalid value; expected " + param_type_name(param));
      }
    }
    const bool ok = param == Param::any || (param == Param::string && value.kind == Kind::string) ||
                    (param == Param::sample && value.kind == Kind::sample) ||
                    (param == Param::samples && value.kind == Kind::samples);
    if (!ok) fail("wrong type for value; expected " + param_type_name(param) + "; got " + type_name(value));
    return value;
  }

  Value eval_arg(const Value& dot, Param param, const Node& n) {
    Nest nest(*this);
    at(n);
    switch (n.type) {
      case NodeType::dot: return validate(dot, param);
      case NodeType::nil:
        if (param == Param::string) fail("cannot assign nil to string");
        return validate(Value(), param);
      case NodeType::field: return validate(eval_field_node(dot, n, nullptr, std::nullopt), param);
      case NodeType::variable: return validate(eval_variable_node(dot, n, nullptr, std::nullopt), param);
      case NodeType::pipe: return validate(eval_pipeline(dot, &n), param);
      case NodeType::identifier: {
        const Function* fn = find_function(n.text);
        if (fn == nullptr) fail(quote(n.text) + " is not a defined function");
        return validate(eval_call(dot, *fn, n, nullptr, std::nullopt), param);
      }
      case NodeType::chain: return validate(eval_chain_node(dot, n, nullptr, std::nullopt), param);
      default: break;
    }
    switch (param) {
      case Param::string:
        if (n.type == NodeType::string) return Value::string(n.text);
        fail("expected string; found " + node_string(n));
      case Param::any:
        switch (n.type) {
          case NodeType::boolean: return Value::boolean(n.boolean);
          case NodeType::number: return ideal_constant(n);
          case NodeType::string: return Value::string(n.text);
          default: break;
        }
        fail("can't handle " + node_string(n) + " for arg of type interface {}");
      default: fail("can't handle " + node_string(n) + " for arg of type " + param_type_name(param));
    }
  }

  Value eval_call(const Value& dot, const Function& fn, const Node& node, const NodeList* all_args,
                  const std::optional<Value>& final) {
    step();
    std::vector<const Node*> args;
    if (all_args != nullptr) {
      for (std::size_t k = 1; k < all_args->size(); ++k) args.push_back((*all_args)[k].get());
    }
    const std::size_t num_in = args.size() + (final ? 1 : 0);
    std::size_t num_fixed = args.size();
    const std::string name(fn.name);
    if (fn.variadic) {
      num_fixed = fn.params.size() - 1;
      if (num_in < num_fixed) {
        fail("wrong number of args for " + name + ": want at least " + std::to_string(num_fixed) + " got " +
             std::to_string(args.size()));
      }
    } else if (num_in != fn.params.size()) {
      fail("wrong number of args for " + name + ": want " + std::to_string(fn.params.size()) + " got " +
           std::to_string(num_in));
    }
    if (fn.short_circuit) {
      Value v;
      for (const Node* arg : args) {
        v = eval_arg(dot, Param::any, *arg);
        if (truth(v) == (name == "or")) return v;
      }
      if (final) v = *final;
      return v;
    }
    std::vector<Value> argv;
    argv.reserve(num_in);
    std::size_t i = 0;
    for (; i < num_fixed && i < args.size(); ++i) argv.push_back(eval_arg(dot, fn.params[i], *args[i]));
    if (fn.variadic) {
      for (; i < args.size(); ++i) argv.push_back(eval_arg(dot, fn.params.back(), *args[i]));
    }
    if (final) {
      Param p = fn.params.empty() ? Param::any : fn.params.back();
      if (fn.variadic && num_in - 1 < num_fixed) p = fn.params[num_in - 1];
      argv.push_back(validate(*final, p));
    }
    Value result;
    try {
      result = fn.impl(env_, argv);
    } catch (const FunctionError& e) {
      at(node);
      fail("error calling " + name + ": " + e.what());
    }
    if ((result.kind == Kind::string || result.kind == Kind::html) && result.s.size() > limits_.max_output) {
      at(node);
      fail("error calling " + name + ": result exceeds " + std::to_string(limits_.max_output) + " bytes");
    }
    return result;
  }

  void print_value(const Node& n, const Value& v) {
    at(n);
    if (!v.valid()) {
      write("<no value>");
      return;
    }
    write(sprint_value(v, true));
  }

  const Trees& trees_;
  const std::string parse_name_;
  std::string name_;
  std::string_view text_;
  const Env& env_;
  const ExecLimits& limits_;
  const Node* node_ = nullptr;
  std::vector<Variable> vars_;
  std::string out_;
  std::size_t steps_ = 0;
  int depth_ = 0;
  int nesting_ = 0;
};

}  // namespace

std::string execute(const Trees& trees, const std::string& name, std::string_view text, const Value& dot,
                    const Env& env, const ExecLimits& limits) {
  return Exec(trees, name, text, env, limits).run(dot);
}

}  // namespace tocsin::rules::tmpl
