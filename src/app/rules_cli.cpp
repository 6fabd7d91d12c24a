#include "app/rules_cli.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <set>

#include "tocsin/rules/export.hpp"
#include "tocsin/rules/rule_file.hpp"

namespace tocsin::app {

namespace {

namespace fs = std::filesystem;

constexpr const char* kRulesUsage = R"(Usage: tocsin rules export [-o DIR] RULE_FILE...
       tocsin rules export --tests -o DIR [--compat prometheus2|prometheus3] TEST_FILE...

Writes tocsin rule files as plain Prometheus rule files that Prometheus 2.42 and later and
`promtool check rules` load: one alerting rule per severity tier, `clear` as PromQL hysteresis over
ALERTS, SLOs as Sloth-style recording rules and burn-rate alerts; tocsin-only keys (escalation, ...)
are dropped with a comment naming them. To standard output, or with -o one file per input in DIR.

With --tests, converts `tocsin test` files to promtool test files in DIR, with the rule files they
name exported beside them. A test case whose expected result the exported rules do not give (checked
under --compat, prometheus2 by default: Debian's promtool) is left out with a comment saying why.
docs/rules.md, "Exporting to Prometheus", says what maps exactly and what cannot.

  -o, --output DIR   write one file per input into DIR (created if missing)
      --tests        the inputs are test files
      --compat MODE  the PromQL semantics the exported tests are checked under
)";

int write_file(const fs::path& path, const std::string& text, std::ostream& err) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    err << "tocsin rules export: cannot write " << path.string() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int export_rules(const ParsedArgs& args, const std::vector<std::string>& files, std::ostream& out,
                 std::ostream& err) {
  yaml::Diagnostics diagnostics;
  std::vector<rules::GroupDefinition> groups = rules::load_rule_files(files, diagnostics);
  if (!diagnostics.empty()) {
    diagnostics.sort();
    err << diagnostics.to_string();
    return kExitBadInput;
  }
  const std::optional<std::string> dir = args.value("output");
  std::map<std::string, std::string> names;  // output name -> input
  if (dir) {
    for (const std::string& f : files) {
      const std::string name = fs::path(f).filename().string();
      auto [it, fresh] = names.emplace(name, f);
      if (!fresh && it->second != f) {
        err << "tocsin rules export: " << f << " and " << it->second << " would both be written to " << name
            << "\n";
        return kExitBadInput;
      }
    }
    std::error_code ec;
    fs::create_directories(*dir, ec);
    if (ec) {
      err << "tocsin rules export: cannot create " << *dir << ": " << ec.message() << "\n";
      return kExitFailure;
    }
  }
  std::set<std::string> done;
  for (const std::string& f : files) {
    if (!done.insert(f).second) continue;
    std::vector<rules::GroupDefinition> mine;
    for (const auto& g : groups) {
      if (g.file == f) mine.push_back(g);
    }
    const std::string text = rules::export_rule_file(mine, f);
    if (!dir) {
      out << (done.size() > 1 ? "---\n" : "") << text;
      continue;
    }
    if (int rc = write_file(fs::path(*dir) / fs::path(f).filename(), text, err); rc != kExitOk) return rc;
  }
  return kExitOk;
}

int export_tests(const ParsedArgs& args, const std::vector<std::string>& files, std::ostream& out,
                 std::ostream& err) {
  const std::optional<std::string> dir = args.value("output");
  if (!dir) return usage_error(err, "rules export", "--tests needs -o DIR", kRulesUsage);
  rules::TestExportOptions options;
  if (auto value = args.value("compat")) {
    auto compat = promql::parse_compat(*value);
    if (!compat)
      return usage_error(err, "rules export", "--compat must be prometheus3 or prometheus2", kRulesUsage);
    options.compat = *compat;
  }
  std::error_code ec;
  fs::create_directories(*dir, ec);
  if (ec) {
    err << "tocsin rules export: cannot create " << *dir << ": " << ec.message() << "\n";
    return kExitFailure;
  }
  yaml::Diagnostics diagnostics;
  rules::TestExportResult result = rules::export_unit_tests(files, *dir, diagnostics, options);
  if (!diagnostics.empty()) {
    diagnostics.sort();
    err << diagnostics.to_string();
    return kExitBadInput;
  }
  out << "exported " << result.kept << " test case(s) to " << *dir << "; left out " << result.left_out
      << " the exported rules do not reproduce (see the comments in the files)\n";
  return kExitOk;
}

int cmd_rules(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string>& words = args.arguments();
  if (words.empty() || words[0] != "export")
    return usage_error(err, "rules", "expected `export` and files", kRulesUsage);
  const std::vector<std::string> files(words.begin() + 1, words.end());
  if (files.empty()) return usage_error(err, "rules export", "no files given", kRulesUsage);
  if (args.has("tests")) return export_tests(args, files, out, err);
  if (args.has("compat")) return usage_error(err, "rules export", "--compat is for --tests", kRulesUsage);
  return export_rules(args, files, out, err);
}

}  // namespace

Command rules_command() {
  return {"rules", {{"output", 'o'}, {"tests", '\0', false}, {"compat"}}, true, kRulesUsage, "", cmd_rules};
}

}  // namespace tocsin::app
