#pragma once
// The one command-line parser of `tocsin`: every command declares the options it accepts and is
// parsed here, so option syntax, `--`, help and the messages for bad usage are the same everywhere.
//
//   tocsin COMMAND [ARGUMENT | --name VALUE | --name=VALUE | -n VALUE | -n=VALUE | --flag]...
//                  [-- ARGUMENT...]
//
// Options may come before, between or after the arguments. Every word after `--` is an argument, even
// one starting with '-'; so is a lone `-`. `-h` and `--help` ask for the command's help. An option may
// be given more than once: value() is the last one given, values() all of them (a repeated --filter).
// A command's own words (`check rules`, `silence add`) are its first argument: the command decides
// what they mean, with its own message when they are wrong.

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tocsin::app {

// The exit status of every command: 0 ok, 1 runtime failure, 2 bad input (usage, config, rules).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

struct OptionSpec {
  std::string name;         // without the dashes: "config" is --config
  char short_name = '\0';   // 'c' is -c; '\0': none
  bool takes_value = true;  // false: a flag, given or not (--json); giving it a value is an error
};

class ParsedArgs;
using ParseResult = std::variant<ParsedArgs, std::string>;

// Parses the words after the command against the options it accepts (-h and --help are always
// accepted). On bad usage returns the message, naming the option as it was written:
// "unknown option --x", "option --x needs a value", "option --x takes no value".
ParseResult parse_args(std::span<const std::string> words, std::span<const OptionSpec> options);

class ParsedArgs {
 public:
  const std::vector<std::string>& arguments() const { return arguments_; }
  // -h or --help was given.
  bool help() const { return help_; }
  // The option (valued or flag) was given at least once; `name` as in its OptionSpec.
  bool has(const std::string& name) const { return options_.contains(name); }
  // The last value given for `name`; nullopt when it was not given (or is a flag).
  std::optional<std::string> value(const std::string& name) const;
  std::string value_or(const std::string& name, const std::string& fallback) const {
    return value(name).value_or(fallback);
  }
  // Every value given for `name`, in order; empty when it was not given.
  const std::vector<std::string>& values(const std::string& name) const;

 private:
  friend ParseResult parse_args(std::span<const std::string>, std::span<const OptionSpec>);
  std::vector<std::string> arguments_;
  std::map<std::string, std::vector<std::string>> options_;  // a flag's list is empty
  bool help_ = false;
};

// One command of `tocsin`: what it accepts, its usage text and what runs it.
struct Command {
  using Run = std::function<int(const ParsedArgs& args, std::ostream& out, std::ostream& err)>;

  std::string name;
  std::vector<OptionSpec> options;
  bool takes_arguments = false;  // false: an argument is a usage error ("unexpected argument")
  std::string usage;             // printed for --help and after every usage error
  std::string help_epilogue;     // printed after `usage` for --help only
  Run run;                       // called with valid options, help not asked; returns the exit status
};

// Prints "tocsin COMMAND: MESSAGE", a blank line and `usage` to `err`; returns kExitBadInput.
int usage_error(std::ostream& err, std::string_view command, std::string_view message,
                std::string_view usage);

// Runs the command `args[0]` names with the rest of `args`. No command prints `usage` to `err` and
// returns kExitBadInput; `help`, `-h` and `--help` print it to `out`; an unknown command, an unknown or
// malformed option or an unexpected argument is a usage error. Otherwise returns what the command's
// run returns.
int run_command(std::span<const Command> commands, std::span<const std::string> args, std::string_view usage,
                std::ostream& out, std::ostream& err);

}  // namespace tocsin::app
