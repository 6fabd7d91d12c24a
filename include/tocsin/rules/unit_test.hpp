#pragma once
// `tocsin test`: rule unit tests in `promtool test rules` file format (input_series in the
// expanding notation, alert_rule_test, promql_expr_test, group_eval_order, external_labels), with
// promtool's output and exit codes; tiered rules are tested the same way (severity is a label).

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tocsin/promql/engine.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::rules {

// What one test file may cost, so that a small hostile file (docs/reliability.md) ends with a
// positioned error instead of exhausting memory or running for ever. promtool has none of these.
struct UnitTestLimits {
  // Input points of all the series of a file, all test cases together, counted before expansion.
  std::uint64_t max_points = 10'000'000;
  // Rule evaluations of each group in a test case: from 0 to the latest eval_time at
  // evaluation_interval, so an eval_time beyond (max_evaluations - 1) intervals is refused.
  std::uint64_t max_evaluations = 1'000'000;
  // Points the rules of a test case record (results, ALERTS, staleness markers), all evaluations together.
  std::uint64_t max_recorded_points = 20'000'000;
  // Each query (a rule's expression, a promql_expr_test), as the query engine bounds the HTTP API's.
  std::chrono::milliseconds query_timeout = std::chrono::minutes(1);
  std::size_t max_samples = 20'000'000;
  // Wall time of one test case's evaluation loop, checked between evaluations.
  std::chrono::milliseconds case_timeout = std::chrono::minutes(5);
};

struct UnitTestOptions {
  promql::Compat compat = promql::Compat::prometheus3;
  UnitTestLimits limits{};
};

// Runs every file; prints "Unit Testing:  FILE" and SUCCESS or FAILED with expected vs got, as promtool
// does. Returns 0 when every test passed, 1 otherwise (promtool's codes).
int run_unit_tests(const std::vector<std::string>& files, std::ostream& out,
                   const UnitTestOptions& options = {});

namespace detail {
// The loading half of run_unit_tests for one file's text, named `file`: the YAML, the test cases, their
// input_series notation and expected labels. Errors, with positions, go to `diagnostics`; nothing is
// evaluated and no rule file is read. Returns the number of test cases. For the fuzzer (fuzz/).
std::size_t decode_unit_test_text(const std::string& text, const std::string& file,
                                  yaml::Diagnostics& diagnostics);
}  // namespace detail

}  // namespace tocsin::rules
