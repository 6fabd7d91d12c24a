// The procfs parsers against files captured from a real Linux 6.x host (tests/data/host/real) and
// against the malformed variants a broken container mount or an odd kernel can produce.
#include "collectors/host/proc_parsers.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "real_file.hpp"

namespace tocsin::collectors::host {
namespace {

using tocsin::collectors::host::captured::real;

template <typename Fn>
std::string parse_error(Fn fn, std::size_t* line = nullptr) {
  try {
    fn();
  } catch (const ParseError& e) {
    if (line) *line = e.line();
    return e.what();
  }
  return "no error";
}

TEST(ProcStat, ParsesTheRealFile) {
  ProcStat stat = parse_proc_stat(real("stat"));
  ASSERT_EQ(stat.cpus.size(), 2u);
  EXPECT_EQ(stat.cpus[0].cpu, 0u);
  EXPECT_EQ(stat.cpus[1].cpu, 1u);
  EXPECT_EQ(stat.cpus[0][CpuField::user], 25014u);
  EXPECT_EQ(stat.cpus[0][CpuField::idle], 1031829u);
  EXPECT_EQ(stat.cpus[1][CpuField::iowait], 8549u);
  EXPECT_EQ(stat.cpus[0].fields, kCpuFields);
  EXPECT_TRUE(stat.boot_time.has_value());
  EXPECT_TRUE(stat.context_switches.has_value());
  EXPECT_TRUE(stat.forks.has_value());
  EXPECT_TRUE(stat.interrupts.has_value());
  EXPECT_TRUE(stat.procs_running.has_value());
}

TEST(ProcStat, OldKernelsWithFewerColumns) {
  ProcStat stat = parse_proc_stat("cpu 1 2 3 4\ncpu0 1 2 3 4 5\n");
  ASSERT_EQ(stat.cpus.size(), 1u);
  EXPECT_EQ(stat.cpus[0].fields, 5u);
  EXPECT_TRUE(stat.cpus[0].has(CpuField::iowait));
  EXPECT_FALSE(stat.cpus[0].has(CpuField::irq));
}

TEST(ProcStat, MalformedFilesNameTheLine) {
  std::size_t line = 0;
  EXPECT_EQ(parse_error([] { parse_proc_stat("cpu 1 2 3 4\ncpu0 1 x 3 4\n"); }, &line),
            "cpu0: invalid number \"x\"");
  EXPECT_EQ(line, 2u);
  EXPECT_EQ(parse_error([] { parse_proc_stat("cpu0 1 2 3\n"); }),
            "cpu0: expected at least 4 columns (user nice system idle), got 3");
  EXPECT_EQ(parse_error([] { parse_proc_stat("cpu1 1 2 3 4\ncpu0 1 2 3 4\n"); }),
            "cpu0 after cpu1: CPU lines repeated or out of order");
  EXPECT_EQ(parse_error([] { parse_proc_stat("cpuX 1 2 3 4\n"); }), "invalid CPU line \"cpuX\"");
  EXPECT_EQ(parse_error([] { parse_proc_stat(""); }, &line), "no per-CPU lines (cpu0, cpu1, ...)");
  EXPECT_EQ(line, 0u);
  EXPECT_EQ(parse_error([] { parse_proc_stat("cpu0 1 2 3 4\nctxt\n"); }), "ctxt: missing value");
  EXPECT_EQ(parse_error([] { parse_proc_stat("cpu0 1 2 3 4\nbtime -5\n"); }), "btime: invalid number \"-5\"");
}

TEST(ProcStat, CountersNeverStepBackUnlessTheCpuWasReplugged) {
  std::vector<CpuTicks> before = parse_proc_stat("cpu0 100 0 50 1000 30\ncpu1 100 0 50 1000 30\n").cpus;
  // cpu0: iowait went back by 5 (the kernel allows it); cpu1: idle dropped by far more than the reset
  // threshold, which means it was unplugged and came back.
  std::vector<CpuTicks> now = parse_proc_stat("cpu0 110 0 55 1010 25\ncpu1 3 0 1 20 0\n").cpus;
  keep_cpu_counters_monotonic(before, now, 300);
  EXPECT_EQ(now[0][CpuField::iowait], 30u);
  EXPECT_EQ(now[0][CpuField::user], 110u);
  EXPECT_EQ(now[1][CpuField::idle], 20u);
  EXPECT_EQ(now[1][CpuField::user], 3u);
}

TEST(Meminfo, ParsesTheRealFileWithNodeExporterNames) {
  std::string text = real("meminfo");
  std::vector<MeminfoField> fields = parse_meminfo(text);
  ASSERT_GT(fields.size(), 40u);
  EXPECT_EQ(fields[0].name, "MemTotal");
  EXPECT_TRUE(fields[0].kilobytes);
  EXPECT_EQ(meminfo_metric_name(fields[0]), "node_memory_MemTotal_bytes");
  EXPECT_DOUBLE_EQ(meminfo_metric_value(fields[0]), static_cast<double>(fields[0].value) * 1024);
  bool saw_anon = false, saw_hugepages = false;
  for (const auto& f : fields) {
    if (f.name == "Active(anon)") {
      saw_anon = true;
      EXPECT_EQ(meminfo_metric_name(f), "node_memory_Active_anon_bytes");
    }
    if (f.name == "HugePages_Total") {
      saw_hugepages = true;
      EXPECT_FALSE(f.kilobytes);
      EXPECT_EQ(meminfo_metric_name(f), "node_memory_HugePages_Total");
    }
  }
  EXPECT_TRUE(saw_anon);
  EXPECT_TRUE(saw_hugepages);
}

TEST(Meminfo, MalformedLines) {
  std::size_t line = 0;
  EXPECT_EQ(parse_error([] { parse_meminfo("MemTotal: 10 kB\nMemFree 5 kB\n"); }, &line),
            "expected \"Name: value [kB]\", got \"MemFree 5 kB\"");
  EXPECT_EQ(line, 2u);
  EXPECT_EQ(parse_error([] { parse_meminfo("MemTotal: ten kB\n"); }), "MemTotal: invalid value \"ten\"");
  EXPECT_EQ(parse_error([] { parse_meminfo("MemTotal: 10 MB\n"); }), "MemTotal: unknown unit \"MB\"");
  EXPECT_EQ(parse_error([] { parse_meminfo("\n\n"); }), "no fields");
}

TEST(Loadavg, ParsesAndRejects) {
  LoadAverage load = parse_loadavg("0.52 0.58 0.59 1/389 12345\n");
  EXPECT_DOUBLE_EQ(load.load1, 0.52);
  EXPECT_DOUBLE_EQ(load.load5, 0.58);
  EXPECT_DOUBLE_EQ(load.load15, 0.59);
  EXPECT_NO_THROW(parse_loadavg(real("loadavg")));
  EXPECT_EQ(parse_error([] { parse_loadavg("0.5 0.6\n"); }), "expected 3 load averages, got \"0.5 0.6\"");
  EXPECT_EQ(parse_error([] { parse_loadavg("0.5 nan 0.1\n"); }), "invalid load average \"nan\"");
  EXPECT_EQ(parse_error([] { parse_loadavg(""); }), "empty");
}

TEST(Pressure, SomeAndFullTotals) {
  PressureTotals cpu = parse_pressure(real("pressure/cpu"));
  EXPECT_TRUE(cpu.some_us.has_value());
  PressureTotals io = parse_pressure(
      "some avg10=0.00 avg60=0.10 avg300=0.05 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 "
      "total=789\n");
  EXPECT_EQ(io.some_us, 123456u);
  EXPECT_EQ(io.full_us, 789u);
  // Linux before 5.13 prints no "full" line for cpu.
  EXPECT_FALSE(parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n").full_us.has_value());
  EXPECT_EQ(parse_error([] { parse_pressure("full avg10=0 total=1\n"); }), "no \"some\" line");
  EXPECT_EQ(parse_error([] { parse_pressure("some avg10=0 total=x\n"); }), "some: invalid total \"total=x\"");
  EXPECT_EQ(parse_error([] { parse_pressure("some avg10=0\n"); }), "some: no total= in \"some avg10=0\"");
}

TEST(Mounts, DecodesEscapesAndRejectsShortLines) {
  std::vector<MountEntry> mounts = parse_mounts(real("mounts"));
  ASSERT_FALSE(mounts.empty());
  mounts = parse_mounts("/dev/sda1 /mnt/my\\040disk ext4 rw,relatime 0 0\n\nproc /proc proc rw 0 0\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].mountpoint, "/mnt/my disk");
  EXPECT_EQ(mounts[0].device, "/dev/sda1");
  EXPECT_EQ(mounts[0].fstype, "ext4");
  EXPECT_EQ(mounts[1].fstype, "proc");
  std::size_t line = 0;
  EXPECT_EQ(parse_error([] { parse_mounts("proc /proc proc rw\n/dev/sda1 /\n"); }, &line),
            "expected at least 4 fields (device, mount point, type, options), got \"/dev/sda1 /\"");
  EXPECT_EQ(line, 2u);
  EXPECT_TRUE(parse_mounts("").empty());
}

}  // namespace
}  // namespace tocsin::collectors::host
