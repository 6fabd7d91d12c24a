#pragma once
// For the readers that take a path (the alert state file, the store snapshot): the input written to a
// file of this process's own, which the reader then reads as it would at start.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace tocsin::fuzz {

inline const std::string& input_path(const char* name) {
  static const std::string path = "/tmp/tocsin-fuzz-" + std::to_string(::getpid()) + "." + name;
  return path;
}

inline void write_input(const std::string& path, const char* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
}

}  // namespace tocsin::fuzz
