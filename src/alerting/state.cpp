#include "state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace tocsin::alerting::detail {

namespace {

using nlohmann::json;

// The file's layout version; a newer daemon reads older layouts, an older one refuses newer ones.
// 2: a tiered alert's id leaves out `severity` (one incident across tiers), with its tier fields.
constexpr int kFormat = 2;

json matchers_to_json(const std::vector<config::LabelMatcher>& matchers) {
  json out = json::array();
  for (const auto& m : matchers) out.push_back(config::to_string(m));
  return out;
}

std::vector<config::LabelMatcher> matchers_from_json(const json& j) {
  std::vector<config::LabelMatcher> out;
  for (const json& item : j) {
    config::LabelMatcher m;
    if (auto err = config::parse_label_matcher(item.get<std::string>(), m)) throw std::invalid_argument(*err);
    out.push_back(std::move(m));
  }
  return out;
}

json double_json(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double double_from(const json& j) { return j.is_null() ? std::nan("") : j.get<double>(); }

}  // namespace

json labels_to_json(const Labels& labels) {
  json out = json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

Labels labels_from_json(const json& j) {
  std::vector<Label> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back({it.key(), it.value().get<std::string>()});
  return Labels::from_unsorted(std::move(out));
}

json to_json(const State& state) {
  json instances = json::array();
  for (const auto& [fp, i] : state.instances) {
    json resent = json::object();
    for (const auto& [r, t] : i.resent_at) resent[r] = t;
    instances.push_back({{"fingerprint", i.fingerprint},
                         {"labels", labels_to_json(i.labels)},
                         {"annotations", labels_to_json(i.annotations)},
                         {"state", to_string(i.state)},
                         {"active_at", i.active_at},
                         {"fired_at", i.fired_at},
                         {"resolved_at", i.resolved_at},
                         {"value", double_json(i.value)},
                         {"rule_group", i.rule_group},
                         {"rule_name", i.rule_name},
                         {"escalation", i.escalation},
                         {"last_seen", i.last_seen},
                         {"notified_step", i.notified_step},
                         {"repeats", i.repeats},
                         {"last_notified_at", i.last_notified_at},
                         {"rearm", i.rearm},
                         {"rearmed_at", i.rearmed_at},
                         {"rearmed_step", i.rearmed_step},
                         {"ack_notified", i.ack_notified},
                         {"receivers", i.receivers},
                         {"resent_at", resent},
                         {"tiered", i.tiered},
                         {"tier", i.tier},
                         {"tier_since", i.tier_since},
                         {"notified_severity", i.notified_severity},
                         {"notified_tier", i.notified_tier},
                         {"previous_severity", i.previous_severity},
                         {"quiet_step", i.quiet_step},
                         {"legacy", i.legacy}});
  }
  json acks = json::object();
  for (const auto& [key, a] : state.acks) {
    acks[key] = {{"by", a.ack.by},
                 {"comment", a.ack.comment},
                 {"at", a.ack.at},
                 {"expires_at", a.ack.expires_at},
                 {"severity", a.ack.severity},
                 {"rank", a.rank},
                 {"fingerprint", a.fingerprint}};
  }
  json silences = json::array();
  for (const auto& [id, s] : state.silences) {
    silences.push_back({{"id", s.id},
                        {"matchers", matchers_to_json(s.matchers)},
                        {"starts_at", s.starts_at},
                        {"ends_at", s.ends_at},
                        {"created_by", s.created_by},
                        {"comment", s.comment},
                        {"updated_at", s.updated_at}});
  }
  json transitions = json::object();
  for (const auto& [fp, times] : state.transitions) transitions[fp] = times;
  json gaps = json::object();
  for (const auto& [group, g] : state.report_gaps) gaps[group] = g;
  json outbox = json::array();
  for (const auto& [id, e] : state.outbox) {
    outbox.push_back({{"id", e.id},
                      {"receiver", e.receiver},
                      {"group_key", e.group_key},
                      {"notification", to_webhook_json(e.notification)},
                      {"resend", e.resend},
                      {"created_at", e.created_at},
                      {"next_attempt_at", e.next_attempt_at},
                      {"expires_at", e.expires_at},
                      {"attempts", e.attempts},
                      {"last_error", e.last_error}});
  }
  return {{"format", kFormat},
          {"instances", instances},
          {"acks", acks},
          {"silences", silences},
          {"transitions", transitions},
          {"outbox", outbox},
          {"next_entry_id", state.next_entry_id},
          {"report_gaps", gaps}};
}

int state_format(const json& j) { return j.at("format").get<int>(); }

int current_state_format() { return kFormat; }

State state_from_json(const json& j) {
  const int format = state_format(j);
  if (format > kFormat) {
    throw std::invalid_argument("written by a newer tocsin (format " + std::to_string(format) + ")");
  }
  State state;
  for (const json& i : j.at("instances")) {
    Instance out;
    out.fingerprint = i.at("fingerprint").get<std::string>();
    out.labels = labels_from_json(i.at("labels"));
    out.annotations = labels_from_json(i.at("annotations"));
    std::string s = i.at("state").get<std::string>();
    out.state = s == "firing"     ? AlertState::firing
                : s == "resolved" ? AlertState::resolved
                                  : AlertState::pending;
    out.active_at = i.at("active_at").get<Timestamp>();
    out.fired_at = i.at("fired_at").get<Timestamp>();
    out.resolved_at = i.at("resolved_at").get<Timestamp>();
    out.value = double_from(i.at("value"));
    out.rule_group = i.at("rule_group").get<std::string>();
    out.rule_name = i.at("rule_name").get<std::string>();
    out.escalation = i.at("escalation").get<std::string>();
    out.last_seen = i.at("last_seen").get<Timestamp>();
    out.notified_step = i.at("notified_step").get<int>();
    out.repeats = i.at("repeats").get<int>();
    out.last_notified_at = i.at("last_notified_at").get<Timestamp>();
    out.rearm = i.at("rearm").get<bool>();
    out.rearmed_at = i.value("rearmed_at", Timestamp{0});  // absent in older files
    out.rearmed_step = i.value("rearmed_step", -1);
    out.ack_notified = i.at("ack_notified").get<bool>();
    out.receivers = i.at("receivers").get<std::set<std::string>>();
    for (auto it = i.at("resent_at").begin(); it != i.at("resent_at").end(); ++it) {
      out.resent_at[it.key()] = it.value().get<Timestamp>();
    }
    if (format >= 2) {
      out.tiered = i.at("tiered").get<bool>();
      out.tier = i.at("tier").get<int>();
      out.tier_since = i.at("tier_since").get<Timestamp>();
      out.notified_severity = i.at("notified_severity").get<std::string>();
      out.notified_tier = i.at("notified_tier").get<int>();
      out.previous_severity = i.at("previous_severity").get<std::string>();
      out.quiet_step = i.at("quiet_step").get<bool>();
      // Read from format 1 and not yet re-keyed by its rule's report: it stays to be migrated.
      out.legacy = i.value("legacy", false);
    } else {
      // Format 1 keyed every alert by all its labels; whether it is tiered is known once the rule
      // engine reports it again (Engine::absorb re-keys it then). What receivers were told is what
      // it carries now.
      out.legacy = true;
      out.tier_since = out.fired_at;
      if (out.notified_step >= 0) out.notified_severity = std::string(out.labels.get("severity"));
    }
    out.restored = true;
    state.instances[out.fingerprint] = std::move(out);
  }
  for (auto it = j.at("acks").begin(); it != j.at("acks").end(); ++it) {
    const json& a = it.value();
    AckRecord r;
    r.ack = {a.at("by").get<std::string>(), a.at("comment").get<std::string>(), a.at("at").get<Timestamp>(),
             a.at("expires_at").get<Timestamp>(), a.at("severity").get<std::string>()};
    r.rank = a.at("rank").get<int>();
    r.fingerprint = a.at("fingerprint").get<std::string>();
    state.acks[it.key()] = std::move(r);
  }
  for (const json& s : j.at("silences")) {
    Silence out;
    out.id = s.at("id").get<std::string>();
    out.matchers = matchers_from_json(s.at("matchers"));
    out.starts_at = s.at("starts_at").get<Timestamp>();
    out.ends_at = s.at("ends_at").get<Timestamp>();
    out.created_by = s.at("created_by").get<std::string>();
    out.comment = s.at("comment").get<std::string>();
    out.updated_at = s.at("updated_at").get<Timestamp>();
    state.silences[out.id] = std::move(out);
  }
  for (auto it = j.at("transitions").begin(); it != j.at("transitions").end(); ++it) {
    state.transitions[it.key()] = it.value().get<std::vector<Timestamp>>();
  }
  for (const json& e : j.at("outbox")) {
    OutboxEntry out;
    out.id = e.at("id").get<std::uint64_t>();
    out.receiver = e.at("receiver").get<std::string>();
    out.group_key = e.at("group_key").get<std::string>();
    out.notification = notification_from_json(e.at("notification"));
    out.resend = e.at("resend").get<bool>();
    out.created_at = e.at("created_at").get<Timestamp>();
    out.next_attempt_at = e.at("next_attempt_at").get<Timestamp>();
    out.expires_at = e.at("expires_at").get<Timestamp>();
    out.attempts = e.at("attempts").get<int>();
    out.last_error = e.at("last_error").get<std::string>();
    state.outbox[out.id] = std::move(out);
  }
  state.next_entry_id = j.at("next_entry_id").get<std::uint64_t>();
  if (j.contains("report_gaps")) {  // absent in files written before it was kept
    for (auto it = j.at("report_gaps").begin(); it != j.at("report_gaps").end(); ++it)
      state.report_gaps[it.key()] = it.value().get<std::vector<Timestamp>>();
  }
  if (!state.outbox.empty())
    state.next_entry_id = std::max(state.next_entry_id, state.outbox.rbegin()->first + 1);
  return state;
}

void write_file_atomically(const std::string& path, const std::string& content) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("cannot write " + path + ": " + what + ": " + std::strerror(errno));
  };
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("open " + tmp);
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      errno = saved;
      fail("write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
  // The rename itself is durable only once the directory is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace tocsin::alerting::detail
