#pragma once
// A file captured on a real machine (tests/data/host/real, made by its capture.sh), whole.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace tocsin::collectors::host::captured {

// Read once and kept for the test binary's life: the parsers hand out views into their text.
inline const std::string& real(const std::string& name) {
  static std::map<std::string, std::string> files;
  auto it = files.find(name);
  if (it != files.end()) return it->second;
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/data/host/real/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return files.emplace(name, text.str()).first->second;
}

}  // namespace tocsin::collectors::host::captured
