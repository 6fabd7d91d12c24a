#pragma once
// node_exporter's naming of hwmon sensor files (its hwmon collector): pure functions, tested alone.

#include <optional>
#include <string>
#include <string_view>

namespace tocsin::collectors::host {

struct SensorFile {
  std::string type;      // "temp", "in", "fan", "beep_enable", ...
  int number = 0;        // 0 when the name has none
  std::string property;  // "input", "crit_alarm", "" for a bare value ("pwm1")
};

// node_exporter's ^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$ on a file name; nullopt when it
// does not match.
std::optional<SensorFile> explode_sensor_filename(std::string_view name);

// node_exporter's cleanMetricName: lower case, every character outside [a-z0-9:_] replaced by '_',
// leading and trailing '_' trimmed.
std::string clean_hwmon_name(std::string_view name);

}  // namespace tocsin::collectors::host
