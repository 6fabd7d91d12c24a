#pragma once
// A file captured on a real machine (tests/data/host/real, made by its capture.sh), whole.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tocsin::collectors::host::captured {

inline std::string real(const std::string& name) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/data/host/real/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace tocsin::collectors::host::captured
