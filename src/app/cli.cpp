#include "app/cli.hpp"

#include <iostream>
#include <map>
#include <optional>

#include "app/alerts_cli.hpp"
#include "app/args.hpp"
#include "app/config_hints.hpp"
#include "app/daemon.hpp"
#include "app/logging.hpp"
#include "app/rules_cli.hpp"
#include "app/version.hpp"
#include "tocsin/collectors/kind.hpp"
#include "tocsin/collectors/scheduler.hpp"
#include "tocsin/config/config.hpp"
#include "tocsin/http/web_config.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/rules/rule_file.hpp"
#include "tocsin/rules/unit_test.hpp"
#include "tocsin/store/exposition.hpp"

namespace tocsin::app {

namespace {

constexpr const char* kUsage = R"(tocsin: a performance-monitoring daemon with an embedded rule engine

Usage:
  tocsin run     [--config FILE] [--log-format text|json] [--listen HOST:PORT]
  tocsin check   [--config FILE]
  tocsin test    [--compat prometheus3|prometheus2] TEST_FILE...
  tocsin rules   export [--tests] [-o DIR] FILE...
  tocsin once    [--config FILE]
  tocsin alerts  [--state STATE] [--filter MATCHER]... [--json] [--url URL]
  tocsin ack     ID --by NAME [--comment TEXT] [--expires DURATION] [--undo]
  tocsin silence add|list|expire ...
  tocsin version | --version
  tocsin COMMAND --help

Commands:
  run      collect, evaluate rules and serve /metrics until stopped (SIGTERM/SIGINT; SIGHUP reloads)
  check    validate the config and every rule file; print OK or every error
  test     run rule unit tests in promtool's format (alert_rule_test, promql_expr_test)
  rules    export rule files (and their tests) as plain Prometheus rule files (and promtool tests)
  once     run one collection cycle of every collector and print the exposition to stdout
  alerts   list the running daemon's alerts with their escalation step, ack and silence state
  ack      acknowledge an alert (stops its escalation)
  silence  create, list or expire silences
  version  print the version, branch, revision, build user and date, compiler and platform

Options:
  -c, --config FILE   the config file (default /etc/tocsin/tocsin.yaml)
  -h, --help          print this usage (COMMAND --help: the command's)
      --version       print the version (as `tocsin version`)

Exit status: 0 ok, 1 runtime failure, 2 bad input (usage, config, rules).
)";

const std::map<std::string, std::string> kCommandHelp = {
    {"run", R"(Usage: tocsin run [--config FILE] [--log-format text|json] [--listen HOST:PORT]

Runs the daemon: collects on each collector's interval, evaluates the rules, serves /metrics, the
API and the status page. SIGHUP or POST /-/reload re-reads the config and rules (a bad new config
is rejected and the running one kept); SIGTERM or SIGINT stops within 5 seconds.

  -c, --config FILE     the config file (default /etc/tocsin/tocsin.yaml)
      --log-format FMT  text (default; human-readable) or json (one JSON object per line)
      --listen ADDR     override the config's listen address, e.g. 127.0.0.1:9850
      --compat MODE     override the config's PromQL compatibility: prometheus3 or prometheus2
      --web.config.file FILE  override web.config_file: TLS, basic auth and headers in the format of
                        Prometheus's exporter-toolkit (docs/security.md)
      --web.enable-lifecycle  allow POST /-/reload without the API token (web.enable_lifecycle)
)"},
    {"check", R"(Usage: tocsin check [--config FILE]
       tocsin check rules RULE_FILE...

Validates the config file and every rule file it names, or (check rules) the rule files given, on
their own, as `promtool check rules` does. Prints OK, or every error as
FILE:LINE:COLUMN: KEY.PATH: MESSAGE. Exit status 0 when valid, 2 otherwise.

  -c, --config FILE   the config file (default /etc/tocsin/tocsin.yaml)
)"},
    {"test", R"(Usage: tocsin test [--compat prometheus3|prometheus2] TEST_FILE...

Runs rule unit tests written in `promtool test rules` format: input_series in the expanding notation,
alert_rule_test (including tiered rules: severity is a label), promql_expr_test. Prints SUCCESS or
FAILED with what was expected and what came, per file, as promtool does. Exit status 0 when every test
passed, 1 when one failed, 2 for bad usage.

      --compat MODE   prometheus3 (default): range windows (t-range, t]; prometheus2: [t-range, t],
                      to agree with tests written for Prometheus 2.x's promtool
)"},
    {"once", R"(Usage: tocsin once [--config FILE]

Runs one collection cycle of every configured collector and prints the samples in the Prometheus
text format to standard output; collector errors go to standard error. Exit status 1 when a
collector failed.

  -c, --config FILE   the config file (default /etc/tocsin/tocsin.yaml)
)"},
    {"version",
     "Usage: tocsin version\n       tocsin --version\n\nPrints the version, branch, revision, build user "
     "and date, compiler and platform.\n"},
};

std::optional<config::Config> load_or_report(const std::string& path, std::ostream& err) {
  auto loaded = config::load_config(path);
  if (auto* diagnostics = std::get_if<yaml::Diagnostics>(&loaded)) {
    err << diagnostics->to_string();
    return std::nullopt;
  }
  return std::get<config::Config>(std::move(loaded));
}

int cmd_check(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::string path = args.value_or("config", config::kDefaultConfigPath);
  auto config = load_or_report(path, err);
  if (!config) return kExitBadInput;
  yaml::Diagnostics diagnostics;
  std::vector<std::string> rule_files =
      rules::expand_rule_globs(config->rule_files, config->base_dir, config->file, diagnostics);
  std::size_t rule_count = 0;
  std::vector<rules::GroupDefinition> groups;
  if (diagnostics.empty()) groups = rules::load_rule_files(rule_files, diagnostics);
  if (!config->web.config_file.empty()) {
    auto web = http::load_web_config(config->web.config_file);
    if (auto* errors = std::get_if<yaml::Diagnostics>(&web)) diagnostics.append(*errors);
  }
  // An SLO's `exclude:` names alerting's time_intervals: the daemon refuses to start on an unknown one,
  // so check says so too.
  for (const auto& group : groups) {
    for (const auto& rule : group.rules) {
      if (!rule.slo) continue;
      for (const std::string& name : rule.slo->exclude) {
        if (!config->alerting.time_intervals.contains(name)) {
          diagnostics.error(rule.slo->position, "slos",
                            "SLO \"" + rule.slo->name + "\" excludes time interval \"" + name +
                                "\", which alerting's time_intervals do not define");
        }
      }
    }
  }
  if (diagnostics.empty()) hint_family_coverage(*config, groups, diagnostics);
  diagnostics.sort();
  if (!diagnostics.empty()) {
    err << diagnostics.to_string();
    return kExitBadInput;
  }
  err << diagnostics.warnings_to_string();
  // A rule naming a policy the config lacks falls back to its route's: worth a warning once alerting
  // is set up (a typo), not on an install that has no policies yet.
  const auto& policies = config->alerting.escalation_policies;
  for (const auto& group : groups) {
    rule_count += group.rules.size();
    for (const auto& rule : group.rules) {
      if (policies.empty() || rule.escalation.empty() || policies.contains(rule.escalation)) continue;
      std::string defined;
      for (const auto& [name, _] : policies) defined += (defined.empty() ? "" : ", ") + name;
      err << "warning: " << rule.position.file << ":" << rule.position.line << ":" << rule.position.column
          << ": " << rule.name << ": escalation policy \"" << rule.escalation
          << "\" is not defined (defined: " << defined << "); the matching route decides\n";
    }
  }
  out << "OK: " << path << " (" << rule_files.size() << " rule file(s), " << rule_count << " rule(s))\n";
  return kExitOk;
}

// `tocsin check rules FILE...`: rule files without a config (escalation names are not checked).
int cmd_check_rules(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string>& words = args.arguments();
  if (words[0] != "rules" || words.size() < 2) {
    return usage_error(err, "check", "expected no arguments, or `rules` and rule files",
                       kCommandHelp.at("check"));
  }
  const std::vector<std::string> files(words.begin() + 1, words.end());
  yaml::Diagnostics diagnostics;
  std::size_t rule_count = 0;
  for (const auto& group : rules::load_rule_files(files, diagnostics)) rule_count += group.rules.size();
  diagnostics.sort();
  if (!diagnostics.empty()) {
    err << diagnostics.to_string();
    return kExitBadInput;
  }
  err << diagnostics.warnings_to_string();
  out << "OK: " << files.size() << " rule file(s), " << rule_count << " rule(s)\n";
  return kExitOk;
}

int cmd_check_or_rules(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  return args.arguments().empty() ? cmd_check(args, out, err) : cmd_check_rules(args, out, err);
}

int cmd_version(const ParsedArgs&, std::ostream& out, std::ostream&) {
  // The layout of Prometheus's tools' --version (prometheus/common's version.Print).
  out << "tocsin, version " << kVersion << " (branch: " << kBranch << ", revision: " << kRevision << ")\n"
      << "  build user:       " << kBuildUser << "\n"
      << "  build date:       " << kBuildDate << "\n"
      << "  compiler:         " << kCompiler << "\n"
      << "  platform:         " << kPlatform << "\n";
  return kExitOk;
}

int cmd_test(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  rules::UnitTestOptions options;
  if (auto value = args.value("compat")) {
    auto compat = promql::parse_compat(*value);
    if (!compat) {
      err << "tocsin test: --compat must be prometheus3 or prometheus2\n";
      return kExitBadInput;
    }
    options.compat = *compat;
  }
  if (args.arguments().empty())
    return usage_error(err, "test", "no test files given", kCommandHelp.at("test"));
  return rules::run_unit_tests(args.arguments(), out, options);
}

int cmd_once(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::string path = args.value_or("config", config::kDefaultConfigPath);
  auto config = load_or_report(path, err);
  if (!config) return kExitBadInput;
  auto log = make_logger("text", config->log.level);
  std::vector<collectors::CollectorSpec> specs;
  try {
    specs = collectors::make_specs(config->collectors.instances, config->interval, log);
  } catch (const std::exception& e) {
    err << e.what() << "\n";
    return kExitBadInput;
  }
  SystemClock clock;
  store::Store store(store::StoreOptions{config->retention}, clock);
  bool all_ok = collectors::Scheduler::run_once(specs, store, clock, *log);
  std::string exposition;
  store::render_exposition(store, exposition);
  out << exposition;
  return all_ok ? kExitOk : kExitFailure;
}

int cmd_run(const ParsedArgs& args, std::ostream&, std::ostream& err) {
  DaemonOptions options;
  options.config_path = args.value_or("config", config::kDefaultConfigPath);
  if (auto value = args.value("log-format")) {
    options.log_format_override = *value;
    if (options.log_format_override != "text" && options.log_format_override != "json") {
      err << "tocsin run: --log-format must be text or json\n";
      return kExitBadInput;
    }
  }
  if (auto value = args.value("compat")) {
    options.compat_override = *value;
    if (!promql::parse_compat(options.compat_override)) {
      err << "tocsin run: --compat must be prometheus3 or prometheus2\n";
      return kExitBadInput;
    }
  }
  if (auto value = args.value("listen")) {
    options.listen_override = *value;
    config::ListenAddress ignored;
    if (auto e = config::parse_listen_address(options.listen_override, ignored)) {
      err << "tocsin run: --listen: " << *e << "\n";
      return kExitBadInput;
    }
  }
  options.web_config_file_override = args.value_or("web.config.file", "");
  options.enable_lifecycle = args.has("web.enable-lifecycle");
  auto config = load_or_report(options.config_path, err);
  if (!config) return kExitBadInput;
  return run_daemon(options, std::move(*config));
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const OptionSpec config = {"config", 'c'};
  const OptionSpec compat = {"compat"};
  std::vector<Command> commands = {
      {"run",
       {config,
        {"log-format"},
        {"listen"},
        compat,
        {"web.config.file"},
        {"web.enable-lifecycle", '\0', false}},
       false,
       kCommandHelp.at("run"),
       "",
       cmd_run},
      {"check", {config}, true, kCommandHelp.at("check"), "", cmd_check_or_rules},
      {"test", {compat}, true, kCommandHelp.at("test"), "", cmd_test},
      {"once", {config}, false, kCommandHelp.at("once"), "", cmd_once},
      {"version", {}, false, kCommandHelp.at("version"), "", cmd_version},
  };
  commands.push_back(rules_command());
  for (Command& command : alerts_commands()) commands.push_back(std::move(command));
  // `tocsin --version` is `tocsin version`, as Prometheus's tools have it.
  if (!args.empty() && args[0] == "--version") {
    std::vector<std::string> as_command = args;
    as_command[0] = "version";
    return run_command(commands, as_command, kUsage, out, err);
  }
  return run_command(commands, args, kUsage, out, err);
}

}  // namespace tocsin::app
