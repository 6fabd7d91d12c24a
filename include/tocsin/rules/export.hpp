#pragma once
// `tocsin rules export`: tocsin rule files written as plain Prometheus rule files that a central
// Prometheus (2.42 and later) or promtool loads, and `tocsin test` files written as promtool test files
// over the exported rules (docs/rules.md, "Exporting to Prometheus").
//
// A tiered rule becomes one alerting rule per tier (the most severe first, each with `severity: <tier>`,
// the tier's comparison and `for`), where a less severe tier is `unless` a more severe one fires, and
// `clear` is the lowest tier's hysteresis in the hand-written idiom (`v > fire or (v >= clear and
// ALERTS{...,alertstate="firing"})`, clear's `for` as a max_over_time subquery). An SLO becomes a group of
// Sloth-style recording rules and multiwindow burn-rate alerts. What has no Prometheus equivalent
// (escalation, query_offset, an SLO's guards and exclusions) is dropped with a YAML comment naming it.

#include <string>
#include <vector>

#include "tocsin/promql/engine.hpp"
#include "tocsin/rules/rule_file.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::rules {

// The Prometheus rule file for `groups` (every group loaded from `source`, in file order): YAML text
// that `promtool check rules` accepts. `groups` must have loaded without errors.
std::string export_rule_file(const std::vector<GroupDefinition>& groups, const std::string& source);

struct TestExportOptions {
  // The semantics the exported tests are checked under: Prometheus 2.x's by default (Debian's promtool).
  promql::Compat compat = promql::Compat::prometheus2;
};

struct TestExportResult {
  std::vector<std::string> written;  // the files written, test files and the rule files they name
  std::size_t kept = 0;              // test cases (alert_rule_test and promql_expr_test) exported
  std::size_t left_out = 0;          // cases whose result the exported rules do not reproduce
};

// Converts each promtool-format test file in `test_files` (tocsin test's input) to a promtool test
// file in `out_dir` (same base name), over the rule files it names, which are exported into `out_dir`
// too (by base name; two different ones with the same base name are an error). Each case is run through
// the exported rules first (tocsin's engine with Prometheus's alert semantics, under options.compat):
// a case whose expected result they do not give is left out, with a comment saying what they gave.
// Errors (unreadable or invalid files, positioned as `tocsin check rules` and `tocsin test` report
// them) go to `diagnostics`; nothing is written for a file that has one.
TestExportResult export_unit_tests(const std::vector<std::string>& test_files, const std::string& out_dir,
                                   yaml::Diagnostics& diagnostics, const TestExportOptions& options = {});

}  // namespace tocsin::rules
