// The command-line parser every `tocsin` command uses: option syntax, `--`, help, the messages for
// bad usage, and how run_command dispatches and reports.
#include "app/args.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tocsin::app {
namespace {

const std::vector<OptionSpec> kOptions = {{"config", 'c'}, {"filter"}, {"json", '\0', false}};

ParsedArgs parse_ok(const std::vector<std::string>& words) {
  ParseResult r = parse_args(words, kOptions);
  if (auto* error = std::get_if<std::string>(&r)) ADD_FAILURE() << *error;
  return std::get_if<ParsedArgs>(&r) ? std::get<ParsedArgs>(r) : ParsedArgs{};
}

std::string parse_error(const std::vector<std::string>& words) {
  ParseResult r = parse_args(words, kOptions);
  auto* error = std::get_if<std::string>(&r);
  return error ? *error : "(parsed)";
}

TEST(Args, ValuesBySpaceEqualsAndShortName) {
  EXPECT_EQ(parse_ok({"--config", "a.yaml"}).value("config"), "a.yaml");
  EXPECT_EQ(parse_ok({"--config=a.yaml"}).value("config"), "a.yaml");
  EXPECT_EQ(parse_ok({"-c", "a.yaml"}).value("config"), "a.yaml");
  EXPECT_EQ(parse_ok({"-c=a.yaml"}).value("config"), "a.yaml");
  // Only the first '=' splits; an empty value is a value.
  EXPECT_EQ(parse_ok({"--filter=job=\"a=b\""}).value("filter"), "job=\"a=b\"");
  EXPECT_EQ(parse_ok({"--config="}).value("config"), "");
  // The next word is the value even when it looks like an option.
  EXPECT_EQ(parse_ok({"--config", "--json"}).value("config"), "--json");
}

TEST(Args, MissingOptionsAndDefaults) {
  ParsedArgs none = parse_ok({});
  EXPECT_FALSE(none.has("config"));
  EXPECT_EQ(none.value("config"), std::nullopt);
  EXPECT_EQ(none.value_or("config", "/etc/x.yaml"), "/etc/x.yaml");
  EXPECT_TRUE(none.values("filter").empty());
  EXPECT_TRUE(none.arguments().empty());
  EXPECT_FALSE(none.help());
}

TEST(Args, RepeatedOptionsKeepEveryValueAndTheLastWins) {
  ParsedArgs p = parse_ok({"--filter", "a=\"1\"", "-c", "x", "--filter=b=\"2\"", "--config", "y"});
  EXPECT_EQ(p.values("filter"), (std::vector<std::string>{"a=\"1\"", "b=\"2\""}));
  EXPECT_EQ(p.value("filter"), "b=\"2\"");
  EXPECT_EQ(p.value("config"), "y");
}

TEST(Args, FlagsArePresentOrNotAndTakeNoValue) {
  ParsedArgs p = parse_ok({"--json"});
  EXPECT_TRUE(p.has("json"));
  EXPECT_EQ(p.value("json"), std::nullopt);
  EXPECT_FALSE(parse_ok({}).has("json"));
  EXPECT_EQ(parse_error({"--json=yes"}), "option --json takes no value");
}

TEST(Args, ArgumentsAnywhereAndEverythingAfterDoubleDash) {
  ParsedArgs p = parse_ok({"add", "--json", "a", "-c", "f", "-", "--", "--config", "-x", "--"});
  EXPECT_EQ(p.arguments(), (std::vector<std::string>{"add", "a", "-", "--config", "-x", "--"}));
  EXPECT_EQ(p.value("config"), "f");
  EXPECT_TRUE(p.has("json"));
  EXPECT_TRUE(parse_ok({"--", "--help"}).arguments() == std::vector<std::string>{"--help"});
  EXPECT_FALSE(parse_ok({"--", "--help"}).help());
}

TEST(Args, Help) {
  EXPECT_TRUE(parse_ok({"--help"}).help());
  EXPECT_TRUE(parse_ok({"x", "-h"}).help());
  EXPECT_EQ(parse_error({"--help=1"}), "option --help takes no value");
}

TEST(Args, ErrorsNameTheOptionAsWritten) {
  EXPECT_EQ(parse_error({"--confgi", "x"}), "unknown option --confgi");
  EXPECT_EQ(parse_error({"--confgi=x"}), "unknown option --confgi");
  EXPECT_EQ(parse_error({"-x"}), "unknown option -x");
  EXPECT_EQ(parse_error({"-cfile"}), "unknown option -cfile");
  EXPECT_EQ(parse_error({"--c", "x"}), "unknown option --c");  // a short name is not a long one
  EXPECT_EQ(parse_error({"-config", "x"}), "unknown option -config");
  EXPECT_EQ(parse_error({"--config"}), "option --config needs a value");
  EXPECT_EQ(parse_error({"a", "-c"}), "option -c needs a value");
  // The first error is the one reported.
  EXPECT_EQ(parse_error({"--bogus", "--config"}), "unknown option --bogus");
}

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
  std::vector<std::string> arguments;  // what the command got
};

Outcome run(const std::vector<std::string>& args) {
  Outcome r;
  Command show{"show", {{"config", 'c'}}, false, "Usage: tocsin show [--config FILE]\n", "\nMore help.\n",
               {}};
  show.run = [](const ParsedArgs& a, std::ostream& out, std::ostream&) {
    out << "config=" << a.value_or("config", "default") << "\n";
    return kExitOk;
  };
  Command take{"take", {}, true, "Usage: tocsin take WORD...\n", "", {}};
  take.run = [&r](const ParsedArgs& a, std::ostream&, std::ostream& err) {
    r.arguments = a.arguments();
    if (a.arguments().empty())
      return usage_error(err, "take", "no words given", "Usage: tocsin take WORD...\n");
    return kExitFailure;
  };
  const std::vector<Command> commands = {show, take};
  std::ostringstream out, err;
  r.status = run_command(commands, args, "Usage: tocsin COMMAND\n", out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(RunCommand, DispatchesWithTheCommandsOptions) {
  Outcome r = run({"show", "-c", "a.yaml"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_EQ(r.out, "config=a.yaml\n");
  EXPECT_EQ(r.err, "");
  r = run({"take", "x", "--", "-y"});
  EXPECT_EQ(r.status, kExitFailure);
  EXPECT_EQ(r.arguments, (std::vector<std::string>{"x", "-y"}));
}

TEST(RunCommand, NoCommandHelpAndUnknownCommand) {
  Outcome none = run({});
  EXPECT_EQ(none.status, kExitBadInput);
  EXPECT_EQ(none.err, "Usage: tocsin COMMAND\n");
  for (const char* help : {"help", "-h", "--help"}) {
    Outcome r = run({help});
    EXPECT_EQ(r.status, kExitOk) << help;
    EXPECT_EQ(r.out, "Usage: tocsin COMMAND\n") << help;
  }
  Outcome unknown = run({"frobnicate", "--help"});
  EXPECT_EQ(unknown.status, kExitBadInput);
  EXPECT_EQ(unknown.err, "tocsin: unknown command \"frobnicate\"\n\nUsage: tocsin COMMAND\n");
}

TEST(RunCommand, CommandHelpHasTheEpilogue) {
  Outcome r = run({"show", "--help"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_EQ(r.out, "Usage: tocsin show [--config FILE]\n\nMore help.\n");
  // Help wins over an unexpected argument, not over a bad option.
  EXPECT_EQ(run({"show", "extra", "-h"}).status, kExitOk);
  EXPECT_EQ(run({"show", "--bogus", "-h"}).status, kExitBadInput);
}

TEST(RunCommand, UsageErrorsNameTheProblemAndShowTheCommandsUsage) {
  Outcome bad = run({"show", "--bogus"});
  EXPECT_EQ(bad.status, kExitBadInput);
  EXPECT_EQ(bad.err, "tocsin show: unknown option --bogus\n\nUsage: tocsin show [--config FILE]\n");
  EXPECT_EQ(bad.out, "");
  Outcome extra = run({"show", "extra"});
  EXPECT_EQ(extra.status, kExitBadInput);
  EXPECT_EQ(extra.err, "tocsin show: unexpected argument \"extra\"\n\nUsage: tocsin show [--config FILE]\n");
  Outcome empty = run({"take"});
  EXPECT_EQ(empty.status, kExitBadInput);
  EXPECT_EQ(empty.err, "tocsin take: no words given\n\nUsage: tocsin take WORD...\n");
  // An option another command has is unknown here.
  EXPECT_EQ(run({"take", "-c", "x"}).err, "tocsin take: unknown option -c\n\nUsage: tocsin take WORD...\n");
}

}  // namespace
}  // namespace tocsin::app
