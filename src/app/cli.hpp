#pragma once
// The `tocsin` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad input (usage, config,
// rules).

#include <iosfwd>
#include <string>
#include <vector>

namespace tocsin::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tocsin::app
