#include "tocsin/core/labels.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tocsin {
namespace {

TEST(Labels, SortsDropsEmptyValuesAndKeepsTheLastDuplicate) {
  Labels l{{"b", "2"}, {"a", "1"}, {"c", ""}, {"b", "3"}};
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "a");
  EXPECT_EQ(l.get("b"), "3");
  EXPECT_FALSE(l.has("c"));
}

TEST(Labels, HashIsEqualForEqualSetsAndSeparatesBoundaries) {
  Labels a{{"__name__", "up"}, {"job", "x"}};
  Labels b = Labels::from_unsorted({{"job", "x"}, {"__name__", "up"}});
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_NE((Labels{{"a", "bc"}}).hash(), (Labels{{"ab", "c"}}).hash());
}

TEST(Labels, HashIsStableAcrossVersions) {
  // Alert fingerprints in state files and receivers' dedup keys are made from this hash: it must
  // not change (64-bit FNV-1a over name, 0xff, value, 0xff, ...).
  EXPECT_EQ((Labels{{"__name__", "up"}, {"job", "api"}}).hash(), 0x352aa4b15fa28bb6ULL);
  EXPECT_EQ(Labels().hash(), 14695981039346656037ULL);
}

TEST(Labels, CopiesShareOneSetAndKeepItsHash) {
  Labels a{{"__name__", "up"}, {"job", "api"}};
  const std::uint64_t h = a.hash();
  Labels copy = a;
  EXPECT_TRUE(copy.shares_with(a));
  EXPECT_EQ(copy.hash(), h);
  EXPECT_EQ(copy, a);
  // Equal but built apart: equal, not shared.
  Labels twin{{"job", "api"}, {"__name__", "up"}};
  EXPECT_EQ(twin, a);
  EXPECT_FALSE(twin.shares_with(a));
  EXPECT_EQ(twin.hash(), h);
  // Empty sets share nothing, and a moved-from set is empty.
  EXPECT_FALSE(Labels().shares_with(Labels()));
  Labels moved = std::move(copy);
  EXPECT_TRUE(moved.shares_with(a));
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): what a moved-from set holds
  EXPECT_LT(Labels({{"a", "1"}}), Labels({{"a", "2"}}));
  EXPECT_EQ(Labels({{"a", "1"}}) <=> a, std::strong_ordering::greater);  // "a" > "__name__"
}

TEST(Labels, InvalidUtf8ValuesAreRepairedAndValidSetsKept) {
  Labels good{{"__name__", "m"}, {"key", "caf\xC3\xA9"}};
  EXPECT_TRUE(good.values_valid_utf8());
  EXPECT_TRUE(with_valid_utf8_values(good).shares_with(good));  // not copied
  Labels bad{{"__name__", "m"},
             {"key",
              "a\xFF"
              "b"}};
  EXPECT_FALSE(bad.values_valid_utf8());
  EXPECT_FALSE(bad.values_valid_utf8());  // the kept answer
  EXPECT_EQ(with_valid_utf8_values(bad).get("key"),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(Labels, WriterBuildsInPlaceAndRefusesMoreThanItsCapacity) {
  Labels::Writer w(3);
  w.add("__name__", "m");
  w.add("empty", "");  // absent, as everywhere: not stored, no capacity used
  w.add(Label{"job", "api"});
  Labels built = w.finish();
  EXPECT_EQ(built, (Labels{{"__name__", "m"}, {"job", "api"}}));
  EXPECT_TRUE(w.finish().empty());  // the writer is empty after finish()

  Labels::Writer full(1);
  full.add("a", "1");
  EXPECT_THROW(full.add("b", "2"), std::length_error);
  EXPECT_TRUE(Labels::Writer(2).finish().empty());
}

TEST(Labels, HashForOnAndIgnoring) {
  Labels a{{"__name__", "x"}, {"job", "j"}, {"instance", "1"}};
  Labels b{{"__name__", "y"}, {"job", "j"}, {"instance", "2"}};
  EXPECT_EQ(a.hash_for({"job"}, true), b.hash_for({"job"}, true));
  EXPECT_NE(a.hash_for({"job"}, false), b.hash_for({"job"}, false));
  EXPECT_EQ(a.hash_for({"__name__", "instance"}, false), b.hash_for({"__name__", "instance"}, false));
}

TEST(Labels, ToStringEscapesValues) {
  Labels l{{"__name__", "m"}, {"path", "a\"b\\c\nd"}};
  EXPECT_EQ(l.to_string(), "m{path=\"a\\\"b\\\\c\\nd\"}");
}

TEST(LabelsBuilder, SetDeleteAndKeep) {
  Labels base{{"__name__", "m"}, {"a", "1"}, {"b", "2"}};
  EXPECT_EQ(LabelsBuilder(base).set("c", "3").del("a").build(),
            (Labels{{"__name__", "m"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(LabelsBuilder(base).set("b", "").build(), (Labels{{"__name__", "m"}, {"a", "1"}}));
  EXPECT_EQ(LabelsBuilder(base).keep_only({"a"}).build(), (Labels{{"a", "1"}}));
}

TEST(Names, ValidationAndSanitising) {
  EXPECT_TRUE(is_valid_metric_name("node_cpu_seconds_total"));
  EXPECT_TRUE(is_valid_metric_name("job:rate5m:sum"));
  EXPECT_FALSE(is_valid_metric_name("1abc"));
  EXPECT_FALSE(is_valid_metric_name("a-b"));
  EXPECT_TRUE(is_valid_label_name("_x1"));
  EXPECT_FALSE(is_valid_label_name("a:b"));
  EXPECT_EQ(sanitize_metric_name("queue depth-1"), "queue_depth_1");
  EXPECT_EQ(sanitize_metric_name("9lives"), "_9lives");
}

TEST(Utf8, ValidationFollowsTheStandard) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("café ☕ \xF0\x9F\x94\xA5"));  // 2, 3 and 4 bytes
  EXPECT_FALSE(is_valid_utf8("caf\xE9"));                 // LATIN1 é
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));            // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));        // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x98"));                // cut short
  EXPECT_FALSE(is_valid_utf8("\xFF\xFE"));
}

TEST(Utf8, RepairReplacesEachBadByteAndKeepsTheRest) {
  EXPECT_EQ(to_valid_utf8("caf\xE9!"), "caf\xEF\xBF\xBD!");
  EXPECT_EQ(to_valid_utf8("\xFF\xFE"
                          "big"),
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            "big");
  EXPECT_EQ(to_valid_utf8("a\xE2\x98"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("ok ☕"), "ok ☕");
  Labels repaired = with_valid_utf8_values({{"__name__", "redis_key_size"},
                                            {"key",
                                             "\xFF"
                                             "k"},
                                            {"db", "db0"}});
  EXPECT_EQ(repaired.get("key"),
            "\xEF\xBF\xBD"
            "k");
  EXPECT_EQ(repaired.get("db"), "db0");
  EXPECT_EQ(repaired.size(), 3u);
}

}  // namespace
}  // namespace tocsin
