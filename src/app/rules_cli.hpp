#pragma once
// `tocsin rules export [--tests] [-o DIR] [--compat MODE] FILE...`: tocsin rule files as plain
// Prometheus rule files (to standard output, or one file per input in DIR), and (--tests) `tocsin test`
// files as promtool test files over the exported rules, in DIR (rules/export.hpp). Exit status 0 ok,
// 1 a file could not be written, 2 bad usage or input (every error positioned as `tocsin check rules`).

#include "app/args.hpp"

namespace tocsin::app {

// `rules`, for run_cli's table of commands.
Command rules_command();

}  // namespace tocsin::app
