#include <csignal>
#include <iostream>

#include "app/cli.hpp"

int main(int argc, char** argv) {
  // A write to a socket whose peer has gone (hiredis writes with plain write(); a Redis on a unix
  // socket restarting) must be an EPIPE for the caller to handle, not a signal that ends the daemon.
  // Children (exec receivers) get the default disposition back when they are spawned.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  return tocsin::app::run_cli(args, std::cout, std::cerr);
}
