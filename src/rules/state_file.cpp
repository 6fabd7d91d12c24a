#include "tocsin/rules/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tocsin/core/file_read.hpp"
#include "tocsin/core/json_text.hpp"

namespace tocsin::rules {

namespace fs = std::filesystem;

namespace {

using alerting::AlertState;

nlohmann::json time_json(Timestamp t) {
  return t == AlertInstance::kNever ? nlohmann::json(nullptr) : nlohmann::json(t);
}
Timestamp time_from(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) return AlertInstance::kNever;
  return j[key].get<Timestamp>();
}

AlertState state_from(const std::string& s) {
  if (s == "firing") return AlertState::firing;
  if (s == "resolved") return AlertState::resolved;
  return AlertState::pending;
}

nlohmann::json labels_json(const Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

Labels labels_from(const nlohmann::json& j) {
  std::vector<Label> out;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string()) out.push_back({it.key(), it.value().get<std::string>()});
    }
  }
  return Labels::from_unsorted(std::move(out));
}

}  // namespace

nlohmann::json alert_state_json(const AlertInstance& a) {
  nlohmann::json tier_since = nlohmann::json::array();
  for (Timestamp s : a.tier_since) tier_since.push_back(time_json(s));
  return {{"labels", labels_json(a.labels)},
          {"state", std::string(alerting::to_string(a.state))},
          {"active_at", a.active_at},
          {"fired_at", a.fired_at},
          {"keep_firing_since", time_json(a.keep_firing_since)},
          {"tier", a.tier},
          {"tier_since", tier_since},
          {"clear_since", time_json(a.clear_since)}};
}

std::optional<AlertInstance> alert_from_state_json(const nlohmann::json& j, const RuleDefinition& rule) {
  if (!j.is_object()) throw std::runtime_error("an alert entry of rule " + rule.name + " is not an object");
  const auto tiers = static_cast<std::int64_t>(rule.tiers.size());
  AlertInstance a;
  a.labels = labels_from(j.value("labels", nlohmann::json::object()));
  a.state = state_from(j.value("state", "pending"));
  if (j.contains("value") && j["value"].is_number()) a.value = j["value"].get<double>();
  a.active_at = j.value("active_at", Timestamp{0});
  a.fired_at = j.value("fired_at", Timestamp{0});
  a.keep_firing_since = time_from(j, "keep_firing_since");
  const std::int64_t tier = j.value("tier", std::int64_t{-1});
  if (j.contains("tier_since") && j["tier_since"].is_array()) {
    for (const auto& s : j["tier_since"])
      a.tier_since.push_back(s.is_number_integer() ? s.get<Timestamp>() : AlertInstance::kNever);
  }
  a.clear_since = time_from(j, "clear_since");
  if (a.labels.empty() || a.state == AlertState::resolved) return std::nullopt;
  // State saved for another shape of the rule (its tiers edited since) does not fit it: that alert
  // starts afresh rather than index past the rule's tiers.
  const bool fits_tiers = tiers == 0
                              ? tier == -1 && a.tier_since.empty()
                              : tier >= -1 && tier < tiers && a.tier_since.size() == rule.tiers.size() &&
                                    (a.state != AlertState::firing || tier >= 0);
  if (!fits_tiers) return std::nullopt;
  a.tier = static_cast<int>(tier);
  return a;
}

AlertStateFile::Loaded AlertStateFile::read() {
  Loaded loaded;
  if (path_.empty()) return loaded;
  std::string why;
  auto text = read_regular_file(path_, kMaxStateFileBytes, why);
  if (!text) {
    if (errno != ENOENT) {
      loaded.found = true;
      loaded.error = "cannot read it: " + why;
    }
    return loaded;
  }
  loaded.found = true;
  nlohmann::json state = parse_json_bounded(*text, false);
  if (state.is_discarded() || !state.is_object() || !state.contains("groups") ||
      !state["groups"].is_array()) {
    loaded.error = state.is_discarded() ? "not JSON" : "no \"groups\" list";
    return loaded;
  }
  loaded.groups = std::move(state["groups"]);
  last_ = std::move(*text);
  return loaded;
}

std::string AlertStateFile::move_aside(Timestamp now, std::error_code& ec) {
  const std::string aside = path_ + ".corrupt-" + std::to_string(now / 1000);
  fs::rename(path_, aside, ec);
  last_.clear();  // moved or not, what was read is not what the next write must match
  return aside;
}

bool AlertStateFile::write(const nlohmann::json& groups) {
  if (path_.empty()) return false;
  const std::string content = json_text(nlohmann::json{{"version", 1}, {"groups", groups}}, 1) + "\n";
  if (content == last_) return false;
  write_file_atomically(path_, content);
  last_ = content;
  return true;
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(what + " " + tmp + ": " + std::strerror(errno));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) fail("cannot create");
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("cannot fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename to " + path + ":");
  const std::string dir = fs::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace tocsin::rules
