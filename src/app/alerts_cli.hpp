#pragma once
// The commands on-call types, which talk to a running daemon's API (the daemon's own side of
// alerting is app/alert_delivery.hpp):
//   tocsin alerts   [--state firing|pending|resolved] [--filter MATCHER]... [--json]
//   tocsin ack ID   --by NAME [--comment TEXT] [--expires DURATION] [--undo]
//   tocsin silence  add MATCHER... (--duration D | --until TIME) --by NAME [--comment TEXT]
//   tocsin silence  list [--all] | expire ID
// each with [--url URL] [--config FILE] [--token-file FILE].

#include <iosfwd>
#include <string>
#include <vector>

namespace tocsin::app {

bool is_alerts_command(const std::string& command);
// `args` as run_cli gets them (args[0] is the command). Exit status 0 ok, 1 the daemon failed or
// could not be reached, 2 bad usage.
int run_alerts_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tocsin::app
