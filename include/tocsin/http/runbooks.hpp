#pragma once
// GET /runbooks and GET /runbooks/{name}: the runbook pages (docs/runbooks/*.md, one per bundled
// alert) rendered from Markdown to HTML, so that an alert's `runbook_url` annotation
// ({{ $externalURL }}/runbooks/<alertname>) opens on the daemon that sent it. The directory is the
// config's `web.runbooks_dir`; empty, both routes answer 404 saying so.
//
// A name is [A-Za-z0-9_-]+ (at most 128 characters, optionally followed by ".md"): never a path, so
// nothing outside the directory is read. A page is read afresh on every request (bounded by
// kMaxRunbookFileBytes, only regular files) and rendered by markdown.hpp's renderer; the server adds
// the HTML responses' Content-Security-Policy and security headers.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "tocsin/http/router.hpp"

namespace tocsin::http {

inline constexpr std::size_t kMaxRunbookFileBytes = std::size_t(1) << 20;
inline constexpr std::size_t kMaxRunbookPagesListed = 1000;

// The directory the routes read, changed by a reload. Thread-safe.
class RunbookPages {
 public:
  void set_directory(std::string dir) {
    std::lock_guard lock(mutex_);
    dir_ = std::move(dir);
  }
  std::string directory() const {
    std::lock_guard lock(mutex_);
    return dir_;
  }
  bool enabled() const { return !directory().empty(); }

  Response index(const Request& request) const;
  Response page(const Request& request) const;

 private:
  mutable std::mutex mutex_;
  std::string dir_;
};

// Whether `name` is a runbook page's name (see above); `page` gets it without ".md".
bool runbook_name(const std::string& name, std::string* page);

// Registers both routes; the returned object sets the directory (at start and on every reload).
std::shared_ptr<RunbookPages> add_runbook_routes(Router& router);

}  // namespace tocsin::http
