#include "tocsin/http/runbooks.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "http/markdown.hpp"
#include "tocsin/core/file_read.hpp"
#include "tocsin/http/humanize.hpp"

namespace tocsin::http {

namespace runbooks_impl {
namespace {

constexpr std::size_t kMaxRunbookNameLength = 128;

const char* kRunbookStyle = R"(
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:10px 20px}header a{color:#c4cad2;margin-right:14px}
main{padding:8px 20px 40px;max-width:960px}h1{font-size:22px}h2{font-size:18px;margin-top:28px}
h3{font-size:15px}pre{background:#eef0f3;padding:8px;overflow-x:auto;font-size:13px;white-space:pre-wrap;
word-break:break-word}code{font-size:13px;background:#eef0f3;padding:0 3px;border-radius:3px}
pre code{padding:0;background:none}a{color:#1565c0}li{margin:2px 0}
)";

std::string page_html(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
         html_escape(title) + "</title><style>" + kRunbookStyle +
         "</style></head><body>\n<header><a href=\"/\">status page</a><a href=\"/runbooks\">runbooks</a>"
         "</header><main>\n" +
         body + "</main></body></html>\n";
}

Response off() {
  return Response::text(404,
                        "runbooks are off: set web.runbooks_dir in the config to the directory of the "
                        "runbook pages (docs/configuration.md)\n");
}

// The page names in `dir`, sorted: its regular *.md files whose names are runbook names.
std::vector<std::string> page_names(const std::string& dir, std::string& error) {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) {
    error = ec.message();
    return names;
  }
  for (; it != end && names.size() < kMaxRunbookPagesListed; it.increment(ec)) {
    if (ec) break;
    const std::string file = it->path().filename().string();
    std::string name;
    if (file.size() <= 3 || !file.ends_with(".md") || !runbook_name(file, &name)) continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) continue;
    names.push_back(name);
  }
  if (ec) error = ec.message();
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace
}  // namespace runbooks_impl

bool runbook_name(const std::string& name, std::string* page) {
  std::string_view n = name;
  if (n.size() > 3 && n.ends_with(".md")) n.remove_suffix(3);
  if (n.empty() || n.size() > runbooks_impl::kMaxRunbookNameLength) return false;
  for (char c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  if (page) *page = std::string(n);
  return true;
}

// GET /runbooks: the directory's README.md, if any, then every page by name.
Response RunbookPages::index(const Request&) const {
  const std::string dir = directory();
  if (dir.empty()) return runbooks_impl::off();
  std::string error;
  const std::vector<std::string> names = runbooks_impl::page_names(dir, error);
  if (!error.empty()) return Response::text(500, "cannot list the runbooks directory: " + error + "\n");
  std::string body;
  std::string read_error;
  if (auto readme = read_regular_file(dir + "/README.md", kMaxRunbookFileBytes, read_error)) {
    body += render_markdown(*readme);
  } else {
    body += "<h1 id=\"runbooks\">Runbooks</h1>\n";
  }
  body += "<h2 id=\"all-pages\">All pages</h2>\n<ul>\n";
  for (const auto& name : names) {
    if (name == "README") continue;
    body += "<li><a href=\"/runbooks/" + html_escape(name) + "\">" + html_escape(name) + "</a></li>\n";
  }
  body += "</ul>\n";
  if (names.size() >= kMaxRunbookPagesListed)
    body += "<p>(only the first " + std::to_string(kMaxRunbookPagesListed) + " pages are listed)</p>\n";
  Response r = Response::html(200, runbooks_impl::page_html("tocsin runbooks", body));
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

// GET /runbooks/{name}: <dir>/<name>.md as HTML.
Response RunbookPages::page(const Request& request) const {
  const std::string dir = directory();
  if (dir.empty()) return runbooks_impl::off();
  const std::string& requested = request.path_params.at("name");
  std::string name;
  if (!runbook_name(requested, &name)) {
    return Response::text(404, "no runbook named \"" +
                                   requested.substr(0, runbooks_impl::kMaxRunbookNameLength) +
                                   "\": a name is letters, digits, '-' and '_'\n");
  }
  std::string error;
  auto text = read_regular_file(dir + "/" + name + ".md", kMaxRunbookFileBytes, error);
  if (!text) {
    if (errno == ENOENT || errno == ENOTDIR)
      return Response::text(404, "no runbook named \"" + name + "\"; GET /runbooks lists them\n");
    return Response::text(500, "runbook \"" + name + "\" cannot be read: " + error + "\n");
  }
  Response r =
      Response::html(200, runbooks_impl::page_html(name + " · tocsin runbook", render_markdown(*text)));
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

std::shared_ptr<RunbookPages> add_runbook_routes(Router& router) {
  auto pages = std::make_shared<RunbookPages>();
  std::shared_ptr<const RunbookPages> api = pages;
  router.add("GET", "/runbooks", endpoint_handler(api, &RunbookPages::index));
  router.add("GET", "/runbooks/{name}", endpoint_handler(api, &RunbookPages::page));
  return pages;
}

}  // namespace tocsin::http
