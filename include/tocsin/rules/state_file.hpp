#pragma once
// The alert state file, state_dir/alerts.json, which carries pending and firing alerts across
// restarts: {"version": 1, "groups": [Group::save_state(), ...]}, each alert in the shape below.
// Reading it and writing it (atomically, and only when its content changes) live here; what a group
// or rule does with the state is theirs.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>

#include "tocsin/rules/alerting_rule.hpp"

namespace tocsin::rules {

// One alert's entry: labels, state, active_at, fired_at, keep_firing_since, tier, tier_since and
// clear_since. Not its value or annotations, which the next evaluation sets again, so that the
// entry changes only when the alert changes state.
nlohmann::json alert_state_json(const AlertInstance& alert);
// The alert an entry saved for `rule` describes; nullopt when it does not fit (no labels, resolved, or
// tier state saved for another shape of the rule's tiers). Throws (std::exception) for an entry of the
// wrong shape.
std::optional<AlertInstance> alert_from_state_json(const nlohmann::json& entry, const RuleDefinition& rule);

// Not thread-safe: the caller serialises every call.
class AlertStateFile {
 public:
  // "" (no state_dir): nothing is read or written. A new path keeps what the old one last held.
  void set_path(std::string path) { path_ = std::move(path); }
  const std::string& path() const { return path_; }

  struct Loaded {
    bool found = false;     // false: there is no file, which is not an error
    std::string error;      // found and not empty: why the file cannot be used
    nlohmann::json groups;  // found, no error: the saved groups (an array)
  };
  // Reads the file. A file that can be used counts as the one last written.
  Loaded read();
  // Moves an unusable file aside to "<path>.corrupt-<now in seconds>" (kept for a post-mortem, and out of
  // the way of the next write) and returns that name; `ec` says whether it moved.
  std::string move_aside(Timestamp now, std::error_code& ec);
  // Writes the groups' saved state (an array) unless the file already holds it; returns whether it wrote.
  // Throws std::runtime_error naming the path and the cause.
  bool write(const nlohmann::json& groups);

 private:
  std::string path_;
  std::string last_;  // the file's content as last read or written, to skip writes that change nothing
};

// Writes `content` to `path` atomically: a temp file in the same directory, fsync, rename, fsync of
// the directory. Throws std::runtime_error naming the path and the cause.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace tocsin::rules
