#pragma once
// The commands on-call types, which talk to a running daemon's API:
//   tocsin alerts   [--state firing|pending|resolved] [--filter MATCHER]... [--json]
//   tocsin ack ID   --by NAME [--comment TEXT] [--expires DURATION] [--undo]
//   tocsin silence  add MATCHER... (--duration D | --until TIME) --by NAME [--comment TEXT]
//   tocsin silence  list [--all] | expire ID
// each with [--url URL] [--config FILE] [--token-file FILE]. Exit status 0 ok, 1 the daemon failed or
// could not be reached, 2 bad usage. (The daemon's own side of alerting is app/alert_delivery.hpp.)

#include <vector>

#include "app/args.hpp"

namespace tocsin::app {

// alerts, ack and silence, for run_cli's table of commands.
std::vector<Command> alerts_commands();

}  // namespace tocsin::app
