#include "collectors/scrape/targets.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <stdexcept>

#include "tocsin/yaml/decoder.hpp"

namespace tocsin::collectors::scrape {

namespace {

bool has_port(std::string_view address) {
  if (address.starts_with('[')) {
    const auto close = address.find(']');
    return close != std::string_view::npos && close + 1 < address.size() && address[close + 1] == ':';
  }
  const auto colon = address.rfind(':');
  // A bare IPv6 address has several colons and no port.
  return colon != std::string_view::npos && address.find(':') == colon;
}

std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

[[noreturn]] void file_error(const std::string& path, const YAML::Mark& mark, const std::string& message) {
  throw std::runtime_error(path + ":" + std::to_string(mark.line + 1) + ":" +
                           std::to_string(mark.column + 1) + ": " + message);
}

}  // namespace

std::string encode_query(const std::map<std::string, std::vector<std::string>>& params) {
  std::string out;
  for (const auto& [key, values] : params) {
    for (const std::string& value : values) {
      if (!out.empty()) out += '&';
      out += query_escape(key);
      out += '=';
      out += query_escape(value);
    }
  }
  return out;
}

std::optional<ScrapeTarget> populate_target(std::string_view address, std::span<const Label> group_labels,
                                            const JobSettings& job, std::span<const RelabelRule> rules) {
  RelabelLabels lb;
  for (const Label& l : group_labels) lb.set(l.name, l.value);
  lb.set("__address__", address);
  // The job's settings, unless the group set them.
  const std::pair<std::string_view, std::string_view> defaults[] = {
      {"job", job.job},
      {"__scrape_interval__", job.scrape_interval},
      {"__scrape_timeout__", job.scrape_timeout},
      {"__metrics_path__", job.metrics_path},
      {"__scheme__", job.scheme},
  };
  for (const auto& [name, value] : defaults) {
    if (lb.get(name).empty()) lb.set(name, value);
  }
  for (const auto& [key, values] : job.params) {
    if (!values.empty()) lb.set("__param_" + key, values.front());
  }
  if (!relabel(rules, lb)) return std::nullopt;

  std::string addr(lb.get("__address__"));
  if (addr.empty())
    throw std::invalid_argument("target " + std::string(address) + ": no __address__ after relabelling");
  // Prometheus 2.42 adds the scheme's default port to an address without one.
  const std::string scheme(lb.get("__scheme__"));
  if (scheme != "http" && scheme != "https") {
    throw std::invalid_argument("target " + addr + ": __scheme__ \"" + scheme + "\" is not http or https");
  }
  if (!has_port(addr)) {
    addr += scheme == "https" ? ":443" : ":80";
    lb.set("__address__", addr);
  }
  if (addr.find_first_of("/?#@ ") != std::string::npos) {
    throw std::invalid_argument("target \"" + addr + "\": __address__ is not host:port");
  }
  for (const Label& l : lb.items()) {
    if (!is_valid_utf8(l.value))
      throw std::invalid_argument("target " + addr + ": label " + l.name + " is not valid UTF-8");
    if (!is_valid_label_name(l.name)) {
      throw std::invalid_argument("target " + addr + ": invalid label name \"" + l.name +
                                  "\" after relabelling");
    }
  }

  ScrapeTarget target;
  target.discovered = lb.items();
  std::vector<Label> pub;
  for (const Label& l : lb.items()) {
    if (!l.name.starts_with("__")) pub.push_back(l);
  }
  if (std::none_of(pub.begin(), pub.end(), [](const Label& l) { return l.name == "instance"; })) {
    pub.push_back({"instance", addr});
    std::sort(pub.begin(), pub.end());
  }
  target.labels = Labels::from_sorted(std::move(pub));

  // Target.URL(): the job's params, overridden (first value) or extended by __param_ labels.
  auto params = job.params;
  for (const Label& l : lb.items()) {
    if (!l.name.starts_with("__param_")) continue;
    auto& values = params[l.name.substr(8)];
    if (values.empty()) {
      values.push_back(l.value);
    } else {
      values.front() = l.value;
    }
  }
  std::string path(lb.get("__metrics_path__"));
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  target.url = scheme + "://" + addr + path;
  if (const std::string query = encode_query(params); !query.empty()) target.url += "?" + query;
  return target;
}

std::vector<TargetGroup> parse_target_file(const std::string& text, const std::string& path) {
  // Through the shared parser: one document, bounded nesting, positioned errors.
  yaml::Diagnostics diagnostics;
  YAML::Node root = yaml::parse_yaml_string(text, path, diagnostics);
  if (!diagnostics.empty()) throw std::runtime_error(diagnostics.items().front().to_string());
  std::vector<TargetGroup> out;
  if (!root || root.IsNull()) return out;
  if (!root.IsSequence()) file_error(path, root.Mark(), "expected a list of target groups");
  for (const YAML::Node& entry : root) {
    if (!entry.IsMap())
      file_error(path, entry.Mark(), "expected a target group {targets: [...], labels: {...}}");
    TargetGroup group;
    for (const auto& kv : entry) {
      const std::string key = kv.first.Scalar();
      if (key == "targets") {
        if (!kv.second.IsSequence())
          file_error(path, kv.second.Mark(), "targets: expected a list of host:port");
        for (const YAML::Node& t : kv.second) {
          if (!t.IsScalar() || t.Scalar().empty()) file_error(path, t.Mark(), "targets: expected host:port");
          const std::string& s = t.Scalar();
          if (s.find("://") != std::string::npos || s.find('/') != std::string::npos) {
            file_error(path, t.Mark(), "target \"" + s + "\" is not host:port");
          }
          group.targets.push_back(s);
        }
      } else if (key == "labels") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) file_error(path, kv.second.Mark(), "labels: expected a mapping");
        for (const auto& l : kv.second) {
          const std::string name = l.first.Scalar();
          if (!is_valid_label_name(name))
            file_error(path, l.first.Mark(), "invalid label name \"" + name + "\"");
          if (!l.second.IsScalar())
            file_error(path, l.second.Mark(), "label " + name + ": expected a string");
          if (!is_valid_utf8(l.second.Scalar()))
            file_error(path, l.second.Mark(), "label " + name + " is not UTF-8");
          group.labels.push_back({name, l.second.Scalar()});
        }
      } else {
        file_error(path, kv.first.Mark(), "unknown key \"" + key + "\" (a group has targets and labels)");
      }
    }
    group.labels.push_back({"__meta_filepath", path});
    std::sort(group.labels.begin(), group.labels.end());
    out.push_back(std::move(group));
  }
  return out;
}

}  // namespace tocsin::collectors::scrape
