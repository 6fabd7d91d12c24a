#include <iostream>

#include "app/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return tocsin::app::run_cli(args, std::cout, std::cerr);
}
