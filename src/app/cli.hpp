#pragma once
// The `tocsin` command line. Exit codes (kExitOk, kExitFailure, kExitBadInput in app/args.hpp): 0 ok,
// 1 runtime failure, 2 bad input (usage, config, rules).

#include <iosfwd>
#include <string>
#include <vector>

#include "app/args.hpp"

namespace tocsin::app {

// `args` are the words after the program's name: the command first.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tocsin::app
