// The hwmon section of the host collector: node_hwmon_* from /sys/class/hwmon/hwmon*/ (and each one's
// device/ directory), named as node_exporter 1.5 names them.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <map>

#include "collectors/host/hwmon_names.hpp"
#include "collectors/host/section.hpp"
#include "collectors/host/text.hpp"

namespace tocsin::collectors::host {

std::optional<SensorFile> explode_sensor_filename(std::string_view name) {
  std::size_t nondigits = 0;
  while (nondigits < name.size() && (name[nondigits] < '0' || name[nondigits] > '9')) ++nondigits;
  // The regex's type is greedy and backtracks: try the longest type first.
  for (std::size_t t = nondigits; t >= 1; --t) {
    std::size_t end = t;
    while (t == nondigits && end < name.size() && name[end] >= '0' && name[end] <= '9') ++end;
    const std::string_view id = name.substr(t, end - t);
    const std::string_view rest = name.substr(end);
    if (!rest.empty() && (rest.size() < 2 || rest[0] != '_')) continue;
    SensorFile out;
    out.type = std::string(name.substr(0, t));
    if (!id.empty()) {
      const auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), out.number);
      if (ec != std::errc()) return std::nullopt;  // Atoi fails (too large): node_exporter skips it
    }
    if (!rest.empty()) out.property = std::string(rest.substr(1));
    return out;
  }
  return std::nullopt;
}

std::string clean_hwmon_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '_';
    out += ok ? c : '_';
  }
  const std::size_t begin = out.find_first_not_of('_');
  if (begin == std::string::npos) return {};
  return out.substr(begin, out.find_last_not_of('_') - begin + 1);
}

namespace {

namespace fs = std::filesystem;
using store::MetricType;

constexpr std::string_view kSensorTypes[] = {
    "vrm",  "beep_enable", "update_interval", "in",     "cpu",      "fan",      "pwm",
    "temp", "curr",        "power",           "energy", "humidity", "intrusion"};

using SensorData = std::map<std::string, std::map<std::string, std::string>>;

class HwmonSection final : public Section {
 public:
  explicit HwmonSection(const config::HostCollectorConfig& c) : dir_(c.sys_path + "/class/hwmon") {}
  std::string_view name() const override { return "hwmon"; }

  void collect(SectionContext& ctx) override {
    std::error_code ec;
    std::vector<fs::path> chips;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      if (entry.is_directory(ec)) chips.push_back(entry.path());  // follows the class symlinks
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
      ctx.problems.report("hwmon", spdlog::level::warn,
                          dir_ + ": " + ec.message() + "; node_hwmon_* left out");
      return;
    }
    std::sort(chips.begin(), chips.end());
    for (const fs::path& chip : chips) collect_chip(ctx, chip);
  }

 private:
  void read_sensors(SectionContext& ctx, const fs::path& dir, SensorData& data) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string file = entry.path().filename().string();
      auto sensor = explode_sensor_filename(file);
      if (!sensor) continue;
      if (std::find(std::begin(kSensorTypes), std::end(kSensorTypes), sensor->type) ==
          std::end(kSensorTypes)) {
        continue;
      }
      std::string_view text;
      if (ctx.files.read(entry.path().string(), text)) continue;  // node_exporter skips unreadable files
      text = text.substr(0, 128);                                 // its single read of 128 bytes
      while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
      while (!text.empty() && text.front() == '\n') text.remove_prefix(1);
      data[sensor->type + std::to_string(sensor->number)][sensor->property] = std::string(text);
    }
  }

  // node_exporter's hwmonName: <device's parent>_<device> from the device link, else the name file,
  // else the directory's own name.
  static std::string chip_name(SectionContext& ctx, const fs::path& dir) {
    std::error_code ec;
    const fs::path device = fs::canonical(dir / "device", ec);
    if (!ec) {
      const std::string name = clean_hwmon_name(device.filename().string());
      const std::string type = clean_hwmon_name(device.parent_path().filename().string());
      if (!type.empty() && !name.empty()) return type + "_" + name;
      if (!name.empty()) return name;
    }
    std::string_view text;
    if (!ctx.files.read((dir / "name").string(), text) && !text.empty()) {
      if (std::string clean = clean_hwmon_name(text); !clean.empty()) return clean;
    }
    return clean_hwmon_name(fs::canonical(dir, ec).filename().string());
  }

  void add(SectionContext& ctx, const std::string& name, MetricType type, std::string help,
           const std::string& chip, const std::string& sensor, double value) {
    ctx.out.describe(name, type, std::move(help));
    ctx.out.add(Labels{{std::string(kMetricNameLabel), name}, {"chip", chip}, {"sensor", sensor}}, value);
  }

  void collect_chip(SectionContext& ctx, const fs::path& dir) {
    const std::string chip = chip_name(ctx, dir);
    if (chip.empty()) {
      ctx.problems.report(dir.string(), spdlog::level::warn,
                          "could not derive a monitoring name for " + dir.string() + "; left out");
      return;
    }
    SensorData data;
    read_sensors(ctx, dir, data);
    std::error_code ec;
    if (fs::exists(dir / "device", ec)) read_sensors(ctx, dir / "device", data);
    std::string_view text;
    if (!ctx.files.read((dir / "name").string(), text)) {
      if (std::string chip_name = clean_hwmon_name(text); !chip_name.empty()) {
        ctx.out.describe("node_hwmon_chip_names", MetricType::gauge,
                         "Annotation metric for human-readable chip names");
        ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_hwmon_chip_names"},
                           {"chip", chip},
                           {"chip_name", chip_name}},
                    1);
      }
    }
    for (const auto& [sensor, properties] : data) {
      const std::string type = explode_sensor_filename(sensor)->type;
      if (auto it = properties.find("label"); it != properties.end()) {
        ctx.out.describe("node_hwmon_sensor_label", MetricType::gauge, "Label for given chip and sensor");
        ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_hwmon_sensor_label"},
                           {"chip", chip},
                           {"label", it->second},
                           {"sensor", sensor}},
                    1);
      }
      auto bare = properties.find("");
      auto number = [](const std::string& s, double& v) { return text::to_double(s, v); };
      if (type == "beep_enable") {
        add(ctx, "node_hwmon_beep_enabled", MetricType::gauge, "Hardware beep enabled", chip, sensor,
            bare != properties.end() && bare->second == "1" ? 1 : 0);
        continue;
      }
      if (type == "vrm" || type == "update_interval") {
        double v = 0;
        if (bare == properties.end() || !number(bare->second, v)) continue;
        if (type == "vrm") {
          add(ctx, "node_hwmon_voltage_regulator_version", MetricType::gauge, "Hardware voltage regulator",
              chip, sensor, v);
        } else {
          add(ctx, "node_hwmon_update_interval_seconds", MetricType::gauge,
              "Hardware monitor update interval", chip, sensor, v * 0.001);
        }
        continue;
      }
      const std::string prefix = "node_hwmon_" + type;
      for (const auto& [element_name, raw] : properties) {
        std::string element = element_name;
        if (element == "label") continue;
        std::string name = prefix;
        if (element == "input") {
          if (bare != properties.end()) name += "_input";
        } else if (!element.empty()) {
          name += "_" + clean_hwmon_name(element);
        }
        double v = 0;
        if (!number(raw, v)) continue;
        if (element == "fault" || element == "alarm") {
          add(ctx, name, MetricType::gauge, "Hardware sensor " + element + " status (" + type + ")", chip,
              sensor, v);
        } else if (element == "beep") {
          add(ctx, name + "_enabled", MetricType::gauge, "Hardware monitor sensor has beeping enabled", chip,
              sensor, v);
        } else if (type == "in" || type == "cpu") {
          add(ctx, name + "_volts", MetricType::gauge, "Hardware monitor for voltage (" + element + ")", chip,
              sensor, v * 0.001);
        } else if (type == "temp" && element != "type") {
          if (element.empty()) element = "input";
          add(ctx, name + "_celsius", MetricType::gauge, "Hardware monitor for temperature (" + element + ")",
              chip, sensor, v * 0.001);
        } else if (type == "curr") {
          add(ctx, name + "_amps", MetricType::gauge, "Hardware monitor for current (" + element + ")", chip,
              sensor, v * 0.001);
        } else if (type == "energy") {
          add(ctx, name + "_joule_total", MetricType::counter,
              "Hardware monitor for joules used so far (" + element + ")", chip, sensor, v / 1e6);
        } else if (type == "power" && element == "accuracy") {
          add(ctx, name, MetricType::gauge, "Hardware monitor power meter accuracy, as a ratio", chip, sensor,
              v / 1e6);
        } else if (type == "power" && (element == "average_interval" || element == "average_interval_min" ||
                                       element == "average_interval_max")) {
          add(ctx, name + "_seconds", MetricType::gauge,
              "Hardware monitor power usage update interval (" + element + ")", chip, sensor, v * 0.001);
        } else if (type == "power") {
          add(ctx, name + "_watt", MetricType::gauge,
              "Hardware monitor for power usage in watts (" + element + ")", chip, sensor, v / 1e6);
        } else if (type == "humidity") {
          add(ctx, name, MetricType::gauge,
              "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a "
              "percentage) (" +
                  element + ")",
              chip, sensor, v / 1e6);
        } else if (type == "fan" &&
                   (element == "input" || element == "min" || element == "max" || element == "target")) {
          add(ctx, name + "_rpm", MetricType::gauge,
              "Hardware monitor for fan revolutions per minute (" + element + ")", chip, sensor, v);
        } else {
          add(ctx, name, MetricType::gauge, "Hardware monitor " + type + " element " + element, chip, sensor,
              v);
        }
      }
    }
  }

  std::string dir_;
};

}  // namespace

std::unique_ptr<Section> make_hwmon_section(const config::HostCollectorConfig& c) {
  return std::make_unique<HwmonSection>(c);
}

}  // namespace tocsin::collectors::host
