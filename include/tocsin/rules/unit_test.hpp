#pragma once
// `tocsin test`: rule unit tests in `promtool test rules` file format (input_series in the
// expanding notation, alert_rule_test, promql_expr_test, group_eval_order, external_labels), with
// promtool's output and exit codes; tiered rules are tested the same way (severity is a label).

#include <ostream>
#include <string>
#include <vector>

#include "tocsin/promql/engine.hpp"

namespace tocsin::rules {

struct UnitTestOptions {
  promql::Compat compat = promql::Compat::prometheus3;
};

// Runs every file; prints "Unit Testing:  FILE" and SUCCESS or FAILED with expected vs got, as promtool
// does. Returns 0 when every test passed, 1 otherwise (promtool's codes).
int run_unit_tests(const std::vector<std::string>& files, std::ostream& out,
                   const UnitTestOptions& options = {});

}  // namespace tocsin::rules
