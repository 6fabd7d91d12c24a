#include "faults/harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tocsin::testing::faults {
namespace {

std::mutex rows_mutex;
std::vector<Row>& rows() {
  static std::vector<Row> r;
  return r;
}

std::string table() {
  std::ostringstream out;
  out << "| fault | survived | notifications lost | duplicated | secrets leaked | note |\n"
      << "|---|---|---|---|---|---|\n";
  std::lock_guard lock(rows_mutex);
  for (const Row& r : rows()) {
    out << "| " << r.fault << " | " << (r.survived ? "yes" : "NO") << " | " << r.lost << " | " << r.duplicated
        << " | " << (r.secrets_leaked ? "YES" : "no") << " | " << r.note << " |\n";
  }
  return out.str();
}

// Prints the table once every case has run (the suite is one process: one ctest entry).
class TableEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    const std::string t = table();
    std::cout << "\nFault-injection summary:\n" << t << std::flush;
    if (const char* path = std::getenv("TOCSIN_FAULTS_TABLE")) std::ofstream(path) << t;
  }
};

}  // namespace

void record(Row row) {
  std::lock_guard lock(rows_mutex);
  rows().push_back(std::move(row));
}

std::optional<double> metric(const std::string& exposition, const std::string& name,
                             const std::map<std::string, std::string>& labels) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name) || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != '{' && next != ' ') continue;
    const auto value_at = line.rfind(' ');
    const std::string series = line.substr(0, value_at);
    bool all = true;
    for (const auto& [k, v] : labels) {
      const std::string pair = k + "=\"" + v + "\"";
      if (series.find("{" + pair) == std::string::npos && series.find("," + pair) == std::string::npos) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    return std::strtod(line.c_str() + value_at + 1, nullptr);
  }
  return std::nullopt;
}

std::vector<std::string> accepted_events(const HttpReceiver& receiver, std::chrono::milliseconds timeout) {
  std::vector<std::string> out;
  for (const auto& req : receiver.requests()) {
    if (req.status < 200 || req.status > 299 || req.delay >= timeout) continue;
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      out.push_back("unparseable");
      continue;
    }
    for (const auto& a : body["alerts"]) {
      const auto& l = a["labels"];
      out.push_back(a["event"].get<std::string>() + " " + l.value("alertname", "") + " " +
                    l.value("target", "-") + " " + std::to_string(a["escalation"].value("step", 0)));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

}  // namespace tocsin::testing::faults

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tocsin::testing::faults::TableEnvironment);
  return RUN_ALL_TESTS();
}
