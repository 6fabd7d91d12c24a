#include "app/args.hpp"

#include <algorithm>
#include <ostream>

namespace tocsin::app {

namespace {

const std::vector<std::string> kNoValues;

bool is_help(const std::string& word) { return word == "-h" || word == "--help"; }

}  // namespace

std::optional<std::string> ParsedArgs::value(const std::string& name) const {
  auto it = options_.find(name);
  if (it == options_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& ParsedArgs::values(const std::string& name) const {
  auto it = options_.find(name);
  return it == options_.end() ? kNoValues : it->second;
}

ParseResult parse_args(std::span<const std::string> words, std::span<const OptionSpec> options) {
  ParsedArgs out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "--") {
      out.arguments_.insert(out.arguments_.end(), words.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                            words.end());
      break;
    }
    if (word.size() < 2 || word[0] != '-') {
      out.arguments_.push_back(word);
      continue;
    }
    // `written` is the option as the user wrote it, without any `=value`: what the messages name.
    std::string written = word;
    std::optional<std::string> value;
    if (auto eq = word.find('='); eq != std::string::npos) {
      written = word.substr(0, eq);
      value = word.substr(eq + 1);
    }
    if (is_help(written)) {
      if (value) return "option " + written + " takes no value";
      out.help_ = true;
      continue;
    }
    const bool is_long = written.starts_with("--");
    auto spec = std::find_if(options.begin(), options.end(), [&](const OptionSpec& o) {
      return is_long ? written.substr(2) == o.name
                     : o.short_name != '\0' && written.size() == 2 && written[1] == o.short_name;
    });
    if (spec == options.end()) return "unknown option " + written;
    std::vector<std::string>& values = out.options_[spec->name];
    if (!spec->takes_value) {
      if (value) return "option " + written + " takes no value";
      continue;
    }
    if (!value) {
      if (i + 1 >= words.size()) return "option " + written + " needs a value";
      value = words[++i];
    }
    values.push_back(std::move(*value));
  }
  return out;
}

int usage_error(std::ostream& err, std::string_view command, std::string_view message,
                std::string_view usage) {
  err << "tocsin " << command << ": " << message << "\n\n" << usage;
  return kExitBadInput;
}

int run_command(std::span<const Command> commands, std::span<const std::string> args, std::string_view usage,
                std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << usage;
    return kExitBadInput;
  }
  if (args[0] == "help" || is_help(args[0])) {
    out << usage;
    return kExitOk;
  }
  auto command =
      std::find_if(commands.begin(), commands.end(), [&](const Command& c) { return c.name == args[0]; });
  if (command == commands.end() && args[0].starts_with("-")) {
    err << "tocsin: unknown option " << args[0] << "\n\n" << usage;
    return kExitBadInput;
  }
  if (command == commands.end()) {
    err << "tocsin: unknown command \"" << args[0] << "\"\n\n" << usage;
    return kExitBadInput;
  }
  ParseResult parsed = parse_args(args.subspan(1), command->options);
  if (auto* error = std::get_if<std::string>(&parsed))
    return usage_error(err, command->name, *error, command->usage);
  const ParsedArgs& parsed_args = std::get<ParsedArgs>(parsed);
  if (parsed_args.help()) {
    out << command->usage << command->help_epilogue;
    return kExitOk;
  }
  if (!command->takes_arguments && !parsed_args.arguments().empty()) {
    return usage_error(err, command->name, "unexpected argument \"" + parsed_args.arguments()[0] + "\"",
                       command->usage);
  }
  return command->run(parsed_args, out, err);
}

}  // namespace tocsin::app
