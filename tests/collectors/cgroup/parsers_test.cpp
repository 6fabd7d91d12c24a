// The cgroupfs parsers on text in the kernel's exact formats (captured from Linux 6.x, v2 and v1), and
// on what they must refuse: malformed, truncated and huge content, each with where and what.
#include "collectors/cgroup/parsers.hpp"

#include <gtest/gtest.h>

namespace tocsin::collectors::cgroup {
namespace {

template <typename Fn>
std::string parse_error(Fn fn) {
  try {
    fn();
  } catch (const ParseError& e) {
    return std::to_string(e.line()) + ": " + e.what();
  }
  return "no error";
}

TEST(CgroupParsers, FlatKeyedCpuStatV2) {
  const auto keys = parse_flat_keyed(
      "usage_usec 8001129031\nuser_usec 7233504699\nsystem_usec 767624331\nnice_usec 773300657\n"
      "core_sched.force_idle_usec 0\nnr_periods 1200\nnr_throttled 300\nthrottled_usec 4500000\n"
      "nr_bursts 0\nburst_usec 0\n");
  ASSERT_EQ(keys.size(), 10u);
  EXPECT_EQ(find(keys, "usage_usec"), 8001129031u);
  EXPECT_EQ(find(keys, "core_sched.force_idle_usec"), 0u);
  EXPECT_EQ(find(keys, "throttled_usec"), 4500000u);
  EXPECT_EQ(find(keys, "nope"), std::nullopt);
  // The root cgroup's memory.events can be empty; a missing final newline is fine.
  EXPECT_TRUE(parse_flat_keyed("").empty());
  EXPECT_EQ(find(parse_flat_keyed("oom_kill 3"), "oom_kill"), 3u);
}

TEST(CgroupParsers, FlatKeyedRefusesMalformed) {
  EXPECT_EQ(parse_error([] { parse_flat_keyed("cache 1\nrss\n"); }),
            "2: expected \"key value\", got \"rss\"");
  EXPECT_EQ(parse_error([] { parse_flat_keyed("cache -1\n"); }), "1: cache: invalid value \"-1\"");
  EXPECT_EQ(parse_error([] { parse_flat_keyed("rss 99999999999999999999999\n"); }),
            "1: rss: invalid value \"99999999999999999999999\"");
  // Truncated mid-line: "total_rs" with no value.
  EXPECT_EQ(parse_error([] { parse_flat_keyed("cache 655360\ntotal_rs"); }),
            "2: expected \"key value\", got \"total_rs\"");
  // Huge content: the message quotes at most 64 characters.
  const std::string huge = "k " + std::string(100000, 'x');
  EXPECT_EQ(parse_error([&] { parse_flat_keyed(huge); }),
            "1: k: invalid value \"" + std::string(64, 'x') + "...\"");
}

TEST(CgroupParsers, SingleValues) {
  EXPECT_EQ(parse_single_value("3608576\n"), 3608576u);
  EXPECT_EQ(parse_single_value("max\n"), std::nullopt);
  EXPECT_EQ(parse_single_value("9223372036854771712\n"), 9223372036854771712u);
  EXPECT_EQ(parse_error([] { parse_single_value("\n"); }), "0: empty file");
  EXPECT_EQ(parse_error([] { parse_single_value("12 34\n"); }),
            "1: expected a number or \"max\", got \"12 34\"");
  EXPECT_EQ(parse_signed_value("-1\n"), -1);
  EXPECT_EQ(parse_signed_value("50000\n"), 50000);
  EXPECT_EQ(parse_error([] { parse_signed_value("max\n"); }), "1: expected a number, got \"max\"");
}

TEST(CgroupParsers, CpuMax) {
  const CpuMax unlimited = parse_cpu_max("max 100000\n");
  EXPECT_EQ(unlimited.quota_us, std::nullopt);
  EXPECT_EQ(unlimited.period_us, 100000u);
  const CpuMax half = parse_cpu_max("50000 100000\n");
  EXPECT_EQ(half.quota_us, 50000u);
  EXPECT_EQ(half.period_us, 100000u);
  EXPECT_EQ(parse_error([] { parse_cpu_max("max\n"); }), "1: expected \"$MAX $PERIOD\", got \"max\"");
  EXPECT_EQ(parse_error([] { parse_cpu_max("lots 100000\n"); }), "1: invalid quota \"lots\"");
  EXPECT_EQ(parse_error([] { parse_cpu_max(""); }), "0: empty file");
}

TEST(CgroupParsers, Pressure) {
  const PressureTotals t = parse_pressure(
      "some avg10=6.48 avg60=3.85 avg300=2.49 total=2314024452\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=21558822\n");
  EXPECT_EQ(t.some_us, 2314024452u);
  EXPECT_EQ(t.full_us, 21558822u);
  EXPECT_EQ(parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n").full_us, std::nullopt);
  EXPECT_EQ(parse_error([] { parse_pressure("full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"); }),
            "0: no \"some\" line");
  EXPECT_EQ(parse_error([] { parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=x\n"); }),
            "1: invalid total \"x\"");
  EXPECT_EQ(parse_error([] { parse_pressure("some avg10=0.00 avg60=0.0"); }),
            "1: no total= in \"some avg10=0.00 avg60=0.0\"");
}

TEST(CgroupParsers, IoStat) {
  const auto devices = parse_io_stat(
      "259:0 rbytes=180224 wbytes=4096 rios=17 wios=1 dbytes=0 dios=0\n"
      "8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6 cost.vrate=100.00\n");
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].major, 259u);
  EXPECT_EQ(devices[0].minor, 0u);
  EXPECT_EQ(devices[0].rbytes, 180224u);
  EXPECT_EQ(devices[0].wios, 1u);
  EXPECT_EQ(devices[1].minor, 16u);
  EXPECT_EQ(devices[1].rios, 3u);
  EXPECT_TRUE(parse_io_stat("").empty());
  EXPECT_EQ(parse_error([] { parse_io_stat("sda rbytes=1\n"); }),
            "1: expected a MAJ:MIN device, got \"sda\"");
  EXPECT_EQ(parse_error([] { parse_io_stat("8:0 rbytes=1\n8:1 rbytes\n"); }),
            "2: expected key=value, got \"rbytes\"");
  EXPECT_EQ(parse_error([] { parse_io_stat("8:0 wbytes=-4\n"); }), "1: wbytes: invalid value \"-4\"");
}

TEST(CgroupParsers, ProcCgroupHybrid) {
  // This development machine's /proc/self/cgroup: v1 controllers, a named systemd tree, an empty unified.
  const ProcCgroup c = parse_proc_cgroup(
      "9:name=systemd:/\n8:pids:/\n7:blkio:/\n4:memory:/process_api/db3f471a765ee31a990552ef5131c863\n"
      "2:cpuacct:/\n1:cpu,cpuset:/a\n0::/\n");
  EXPECT_EQ(c.unified, "/");
  ASSERT_NE(c.v1_path("memory"), nullptr);
  EXPECT_EQ(*c.v1_path("memory"), "/process_api/db3f471a765ee31a990552ef5131c863");
  EXPECT_EQ(*c.v1_path("cpuset"), "/a");
  EXPECT_EQ(*c.v1_path("cpu"), "/a");
  EXPECT_EQ(*c.v1_path("name=systemd"), "/");
  EXPECT_EQ(c.v1_path("hugetlb"), nullptr);

  const ProcCgroup v2 = parse_proc_cgroup("0::/system.slice/tocsin.service\n");
  EXPECT_EQ(v2.unified, "/system.slice/tocsin.service");
  EXPECT_TRUE(v2.v1.empty());

  EXPECT_EQ(parse_error([] { parse_proc_cgroup(""); }), "0: no cgroup lines");
  EXPECT_EQ(parse_error([] { parse_proc_cgroup("0::/\n4:memory\n"); }),
            "2: expected \"hierarchy-ID:controllers:path\", got \"4:memory\"");
  EXPECT_EQ(parse_error([] { parse_proc_cgroup("0::relative\n"); }), "1: not an absolute path: \"relative\"");
}

TEST(CgroupParsers, GlobsMatchSegments) {
  EXPECT_TRUE(glob_match("system.slice/app-*.service", "system.slice/app-web.service"));
  EXPECT_FALSE(glob_match("system.slice/app-*.service", "system.slice/app-web.service/child"));
  EXPECT_FALSE(glob_match("system.slice/*", "user.slice/x.service"));
  // `*` does not cross a slash.
  EXPECT_FALSE(glob_match("system.slice/*.service", "system.slice/a/b.service"));
  EXPECT_TRUE(glob_match("system.slice/docker-?*.scope", "system.slice/docker-0123abcd.scope"));
  EXPECT_TRUE(glob_match("kubepods.slice/**", "kubepods.slice"));
  EXPECT_TRUE(glob_match("kubepods.slice/**", "kubepods.slice/kubepods-burstable.slice/pod1.slice"));
  EXPECT_TRUE(glob_match("**/nginx.service", "system.slice/nginx.service"));
  EXPECT_TRUE(glob_match("**/nginx.service", "nginx.service"));
  EXPECT_FALSE(glob_match("**/nginx.service", "system.slice/nginx.service.d"));
  EXPECT_TRUE(glob_match("**", ""));
  EXPECT_TRUE(glob_match("*.slice/[a-c]*", "system.slice/cron.service"));
  EXPECT_FALSE(glob_match("*.slice/[a-c]*", "system.slice/nginx.service"));

  EXPECT_TRUE(glob_may_descend("system.slice/*.service", "system.slice"));
  EXPECT_FALSE(glob_may_descend("system.slice/*.service", "user.slice"));
  EXPECT_FALSE(glob_may_descend("system.slice/*.service", "system.slice/a.service"));
  EXPECT_TRUE(glob_may_descend("kubepods.slice/**", "kubepods.slice/a/b"));
  EXPECT_FALSE(glob_may_descend("kubepods.slice/**", "system.slice"));
  EXPECT_TRUE(glob_may_descend("**/x.service", "any/where"));
}

TEST(CgroupParsers, CheckGlob) {
  EXPECT_EQ(check_glob("system.slice/*.service"), std::nullopt);
  EXPECT_EQ(check_glob(""), "an empty pattern (the root cgroup is reported with self: true)");
  EXPECT_EQ(check_glob("a//b"), "an empty path segment in \"a//b\"");
  EXPECT_EQ(check_glob("system.slice/../x"), "\"..\" would leave the cgroup tree: \"system.slice/../x\"");
  EXPECT_EQ(check_glob("[abc"), "an unterminated \"[\" in \"[abc\"");
}

TEST(CgroupParsers, Names) {
  EXPECT_EQ(cgroup_name("/system.slice/nginx.service"), "nginx.service");
  EXPECT_EQ(cgroup_name("/"), "/");
  EXPECT_EQ(cgroup_name("/docker/0123"), "0123");
}

}  // namespace
}  // namespace tocsin::collectors::cgroup
