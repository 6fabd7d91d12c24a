// `tocsin rules export --tests`: `tocsin test` files as promtool test files over the exported rules
// (export.hpp). Each case is checked against the exported rules with tocsin's own runner first, which
// evaluates plain rules as promtool does, so what is exported is what promtool agrees with.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "rules/export_yaml.hpp"
#include "tocsin/rules/export.hpp"
#include "tocsin/rules/unit_test.hpp"
#include "tocsin/yaml/decoder.hpp"

namespace tocsin::rules {

namespace {

namespace fs = std::filesystem;
using namespace export_detail;

// A plain scalar that reads back as the same plain scalar (a number stays a number for Go's YAML).
bool plain_safe(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string_view("?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) return false;
  if (s.front() == '-' && (s.size() == 1 || s[1] == ' ')) return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return false;
  return !has_control(s) && s.find('\n') == std::string::npos;
}

std::string scalar_text(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() != "!" && plain_safe(s)) return s;
  return quoted(s);
}

// Block YAML for `n`: the text after "key:" (" value", or a line break and the nested lines).
std::string emit_value(const YAML::Node& n, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  if (!n || n.IsNull()) return " null";
  if (n.IsScalar()) return " " + scalar_text(n);
  std::string out;
  if (n.IsMap()) {
    if (n.size() == 0) return " {}";
    for (const auto& kv : n) {
      out += "\n" + pad + (kv.first.IsScalar() ? scalar_text(kv.first) : "?") + ":" +
             emit_value(kv.second, indent + 2);
    }
    return out;
  }
  if (n.size() == 0) return " []";
  for (const auto& item : n) {
    if (item.IsMap() && item.size() > 0) {
      std::string nested = emit_value(item, indent + 2);  // "\n" + pad + "  " + first key ...
      out += "\n" + pad + "- " + nested.substr(1 + static_cast<std::size_t>(indent) + 2);
    } else {
      out += "\n" + pad + "-" + emit_value(item, indent + 2);
    }
  }
  return out;
}

std::string emit_document(const YAML::Node& root) {
  std::string body = emit_value(root, 0);
  return (body.starts_with("\n") ? body.substr(1) : body) + "\n";
}

std::string case_title(const YAML::Node& c, const char* kind) {
  std::string t = std::string(kind) + " at " + (c["eval_time"] ? c["eval_time"].Scalar() : "0");
  if (c["alertname"]) t += " for " + c["alertname"].Scalar();
  if (c["expr"]) t += " of " + c["expr"].Scalar();
  return t;
}

// A scratch directory for the single-case files, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<unsigned> counter{0};
    std::error_code ec;
    path_ = fs::temp_directory_path(ec) /
            ("tocsin-export-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    ok_ = !ec && fs::create_directories(path_, ec) && !ec;
  }
  bool ok() const { return ok_; }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool ok_ = false;
};

}  // namespace

TestExportResult export_unit_tests(const std::vector<std::string>& test_files, const std::string& out_dir,
                                   yaml::Diagnostics& diagnostics, const TestExportOptions& options) {
  TestExportResult result;
  const fs::path out(out_dir);
  std::map<std::string, std::string> exported;  // base name -> the rule file written under it
  ScratchDir scratch;
  if (!scratch.ok()) {
    diagnostics.error({scratch.path().string(), 0, 0}, "",
                      "cannot create a scratch directory for the checks");
    return result;
  }
  unsigned scratch_files = 0;
  UnitTestOptions run_options;
  run_options.compat = options.compat;

  // Whether the tocsin test file `root` (rule_files already pointing at exported rules) passes.
  auto passes = [&](const YAML::Node& root, std::string& output) {
    const fs::path file = scratch.path() / ("case" + std::to_string(scratch_files++) + "_test.yaml");
    std::ofstream(file, std::ios::binary) << emit_document(root);
    std::ostringstream text;
    const bool ok = run_unit_tests({file.string()}, text, run_options) == 0;
    output = text.str();
    return ok;
  };

  for (const std::string& path : test_files) {
    yaml::Diagnostics mine;
    YAML::Node root = yaml::parse_yaml_file(path, mine);
    if (mine.empty() && (!root || !root.IsMap()))
      mine.error({path, 1, 1}, "", "expected a test file (a mapping)");
    std::vector<std::string> rule_files;
    if (mine.empty()) {
      std::vector<std::string> patterns;
      if (const YAML::Node list = root["rule_files"]; list && list.IsSequence()) {
        for (const auto& item : list) {
          if (item.IsScalar()) patterns.push_back(item.Scalar());
        }
      } else if (list && !list.IsNull()) {
        mine.error({path, list.Mark().line + 1, list.Mark().column + 1}, "rule_files",
                   "expected a list of files");
      }
      if (mine.empty()) {
        rule_files = expand_rule_globs(patterns, fs::path(path).parent_path().string(), path, mine);
      }
    }
    std::vector<GroupDefinition> groups;
    if (mine.empty()) groups = load_rule_files(rule_files, mine);
    std::vector<std::pair<std::string, std::string>> to_write;  // path, text
    YAML::Node names(YAML::NodeType::Sequence);
    YAML::Node absolute(YAML::NodeType::Sequence);
    for (const std::string& rf : rule_files) {
      if (!mine.empty()) break;
      const std::string base = fs::path(rf).filename().string();
      std::error_code ec;
      std::string canonical = fs::weakly_canonical(rf, ec).string();
      if (ec) canonical = rf;
      auto [it, fresh] = exported.emplace(base, canonical);
      if (!fresh && it->second != canonical) {
        mine.error({path, 0, 0}, "rule_files",
                   rf + " and " + it->second + " would both be exported as " + (out / base).string());
        break;
      }
      names.push_back(base);
      absolute.push_back((out / base).string());
      if (!fresh) continue;
      std::vector<GroupDefinition> of_file;
      for (const auto& g : groups) {
        if (g.file == rf) of_file.push_back(g);
      }
      to_write.emplace_back((out / base).string(), export_rule_file(of_file, rf));
    }
    if (!mine.empty()) {
      diagnostics.append(mine);
      continue;
    }
    for (const auto& [file, text] : to_write) {
      std::ofstream stream(file, std::ios::binary | std::ios::trunc);
      stream << text;
      stream.close();
      if (!stream) {
        diagnostics.error({file, 0, 0}, "", "cannot write the exported rule file");
        continue;
      }
      result.written.push_back(file);
    }

    // The test file over the exported rules, without what promtool 2.42 does not read.
    std::vector<std::string> notes;
    YAML::Node exported_root(YAML::NodeType::Map);
    for (const auto& kv : root) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (key == "fuzzy_compare") {
        notes.push_back("dropped: fuzzy_compare (promtool 3.x only; promtool 2.42 compares exactly)");
        continue;
      }
      exported_root[key] = key == "rule_files" ? names : YAML::Clone(kv.second);
    }
    if (!root["rule_files"]) exported_root["rule_files"] = names;
    // promtool 2.42 evaluates groups in Go map order (random) unless told; tocsin in file order.
    if (!root["group_eval_order"]) {
      YAML::Node order(YAML::NodeType::Sequence);
      std::set<std::string> seen;
      bool unique = true;
      std::vector<std::string> written;
      for (const auto& file : absolute) written.push_back(file.Scalar());
      yaml::Diagnostics ignored;
      for (const auto& g : load_rule_files(written, ignored)) {
        unique = unique && seen.insert(g.name).second;
        order.push_back(g.name);
      }
      if (unique && order.size() > 1) {
        exported_root["group_eval_order"] = order;
      } else if (!unique) {
        notes.push_back(
            "no group_eval_order: two groups share a name, so promtool may evaluate them in any order");
      }
    }
    YAML::Node check_root = YAML::Clone(exported_root);
    check_root["rule_files"] = absolute;

    YAML::Node tests = exported_root["tests"];
    if (tests && tests.IsSequence()) {
      YAML::Node kept_tests(YAML::NodeType::Sequence);
      std::size_t index = 0;
      for (YAML::Node test : tests) {
        const std::string title = "tests[" + std::to_string(index++) + "]" +
                                  (test["name"] ? " (" + test["name"].Scalar() + ")" : "");
        if (!test.IsMap()) {
          kept_tests.push_back(test);
          continue;
        }
        // All of a test's cases at once first; case by case only when that fails.
        YAML::Node whole = YAML::Clone(check_root);
        YAML::Node just(YAML::NodeType::Sequence);
        just.push_back(YAML::Clone(test));
        whole["tests"] = just;
        std::string output;
        std::size_t cases = 0;
        for (const char* kind : {"alert_rule_test", "promql_expr_test"}) {
          if (test[kind] && test[kind].IsSequence()) cases += test[kind].size();
        }
        if (passes(whole, output)) {
          result.kept += cases;
          kept_tests.push_back(test);
          continue;
        }
        YAML::Node trimmed = YAML::Clone(test);
        for (const char* kind : {"alert_rule_test", "promql_expr_test"}) {
          if (!test[kind] || !test[kind].IsSequence()) continue;
          YAML::Node kept(YAML::NodeType::Sequence);
          for (const YAML::Node& c : test[kind]) {
            YAML::Node one = YAML::Clone(test);
            for (const char* other : {"alert_rule_test", "promql_expr_test"}) {
              if (one[other]) one[other] = YAML::Node(YAML::NodeType::Sequence);
            }
            YAML::Node only(YAML::NodeType::Sequence);
            only.push_back(YAML::Clone(c));
            one[kind] = only;
            YAML::Node single = YAML::Clone(check_root);
            YAML::Node list(YAML::NodeType::Sequence);
            list.push_back(one);
            single["tests"] = list;
            if (passes(single, output)) {
              kept.push_back(c);
              ++result.kept;
              continue;
            }
            ++result.left_out;
            notes.push_back("left out of " + title + ": " + case_title(c, kind) +
                            "; the exported rules give what tocsin's do not:");
            std::istringstream lines(output);
            std::string line;
            while (std::getline(lines, line)) {
              if (line.empty() || line.starts_with("Unit Testing:") || line == "  FAILED:") continue;
              if (line.starts_with("    name: ")) continue;
              notes.push_back("  " + line);
            }
          }
          trimmed[kind] = kept;
        }
        kept_tests.push_back(trimmed);
      }
      exported_root["tests"] = kept_tests;
    }

    std::string text = "# Exported by `tocsin rules export --tests` from " + path +
                       "\n# for promtool test rules, over the exported rules beside it.\n";
    for (const std::string& note : notes) text += "# " + note + "\n";
    text += emit_document(exported_root);
    const fs::path target = out / fs::path(path).filename();
    std::ofstream stream(target, std::ios::binary | std::ios::trunc);
    stream << text;
    stream.close();
    if (!stream) {
      diagnostics.error({target.string(), 0, 0}, "", "cannot write the exported test file");
      continue;
    }
    result.written.push_back(target.string());
  }
  return result;
}

}  // namespace tocsin::rules
