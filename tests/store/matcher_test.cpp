#include "tocsin/store/matcher.hpp"

#include <gtest/gtest.h>

namespace tocsin::store {
namespace {

TEST(Matcher, RegexIsFullyAnchored) {
  Matcher m(MatchType::regex, "job", "api|web");
  EXPECT_TRUE(m.matches("api"));
  EXPECT_FALSE(m.matches("api2"));
  EXPECT_FALSE(m.matches("xweb"));
  EXPECT_FALSE(m.matches_empty());
}

TEST(Matcher, EmptyMatching) {
  EXPECT_TRUE(Matcher(MatchType::not_equal, "a", "x").matches_empty());
  EXPECT_TRUE(Matcher(MatchType::equal, "a", "").matches_empty());
  EXPECT_TRUE(Matcher(MatchType::regex, "a", ".*").matches_empty());
  EXPECT_FALSE(Matcher(MatchType::not_regex, "a", ".*").matches_empty());
}

TEST(Matcher, DotMatchesNewlineAsInPrometheus) {
  EXPECT_TRUE(Matcher(MatchType::regex, "a", "x.y").matches("x\ny"));
}

TEST(Matcher, InvalidRegexThrowsWithMessage) {
  try {
    Matcher(MatchType::regex, "a", "(unclosed");
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("invalid regular expression \"(unclosed\""), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tocsin::store
