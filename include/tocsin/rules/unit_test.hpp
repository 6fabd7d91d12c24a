#pragma once
// `tocsin test`: rule unit tests in `promtool test rules` file format (input_series in the
// expanding notation, alert_rule_test, promql_expr_test, group_eval_order, external_labels), with
// promtool's output and exit codes; tiered rules are tested the same way (severity is a label).

#include <ostream>
#include <string>
#include <vector>

#include "tocsin/promql/engine.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::rules {

struct UnitTestOptions {
  promql::Compat compat = promql::Compat::prometheus3;
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
