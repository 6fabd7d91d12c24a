#include "collectors/host/section.hpp"

#include <fcntl.h>
#include <re2/re2.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tocsin::collectors::host {

namespace {

// A procfs file is a few KiB (/proc/net/udp of a busy host some MiB); this only stops a proc_path that
// points at something endless.
constexpr std::size_t kMaxFileBytes = 64u << 20;

}  // namespace

FileReader::FileReader() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    budget_ = static_cast<std::size_t>(limit.rlim_cur / 4);
  } else {
    budget_ = 16384;
  }
}

bool FileReader::take_descriptor() {
  if (open_ >= budget_) return false;
  ++open_;
  return true;
}

ReadError FileReader::pread_kept(int fd, std::string_view shown, std::string_view& text) {
  if (small_.size() < 4096) small_.resize(4096);
  ssize_t n = 0;
  do {
    n = ::pread(fd, small_.data(), small_.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int code = errno;
    return {code, std::string(shown) + ": " + std::strerror(code)};
  }
  text = std::string_view(small_.data(), static_cast<std::size_t>(n));
  return {};
}

ReadError FileReader::read(const std::string& path, std::string_view& text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno;
    return {code, path + ": " + std::strerror(code)};
  }
  if (buffer_.size() < 4096) buffer_.resize(4096);
  std::size_t used = 0;
  ReadError error;
  for (;;) {
    if (used == buffer_.size()) {
      if (buffer_.size() >= kMaxFileBytes) {
        error = {EFBIG, path + ": larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB"};
        break;
      }
      buffer_.resize(buffer_.size() * 2);
    }
    const ssize_t n = ::read(fd, buffer_.data() + used, buffer_.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      error.code = errno;
      error.message = path + ": " + std::strerror(error.code);
      break;
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text = std::string_view(buffer_.data(), used);
  return error;
}

ReadError FileReader::read_at(int dir_fd, const char* name, std::string_view shown, std::string_view& text) {
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno;
    return {code, std::string(shown) + "/" + name + ": " + std::strerror(code)};
  }
  if (small_.size() < 4096) small_.resize(4096);
  ssize_t n = 0;
  do {
    n = ::read(fd, small_.data(), small_.size());
  } while (n < 0 && errno == EINTR);
  const int code = errno;
  ::close(fd);
  if (n < 0) return {code, std::string(shown) + "/" + name + ": " + std::strerror(code)};
  text = std::string_view(small_.data(), static_cast<std::size_t>(n));
  return {};
}

NameRegex::NameRegex(const std::string& pattern) {
  if (pattern.empty()) return;
  regex_ = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
  if (!regex_->ok()) regex_.reset();  // the config decoder has refused it already
}

NameRegex::~NameRegex() = default;
NameRegex::NameRegex(NameRegex&&) noexcept = default;

bool NameRegex::matches(std::string_view name) {
  if (!regex_) return false;
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  const bool result = re2::RE2::PartialMatch(name, *regex_);
  if (cache_.size() >= 8192) cache_.clear();  // names come from the kernel; bound them anyway
  cache_.emplace(std::string(name), result);
  return result;
}

bool SectionContext::read_or_report(const std::string& path, std::string_view& text, const std::string& key,
                                    std::string_view left_out) {
  if (auto e = files.read(path, text)) {
    problems.report(key, spdlog::level::warn, e.message + "; " + std::string(left_out) + " left out");
    return false;
  }
  return true;
}

std::string where(std::string_view path, const ParseError& e) {
  std::string out(path);
  if (e.line() > 0) out += ":" + std::to_string(e.line());
  return out + ": " + e.what();
}

// Built with emplace_back rather than an initializer list, whose elements are copied (each name over 15
// bytes would be allocated twice).
Labels series(std::string_view name) {
  std::vector<Label> labels;
  labels.reserve(1);
  labels.push_back({std::string(kMetricNameLabel), std::string(name)});
  return Labels::from_sorted(std::move(labels));
}

Labels series(std::string_view name, std::string_view label, std::string_view value) {
  if (value.empty()) return series(name);
  std::vector<Label> labels;
  labels.reserve(2);
  labels.push_back({std::string(kMetricNameLabel), std::string(name)});
  labels.push_back({std::string(label), std::string(value)});
  return Labels::from_sorted(std::move(labels));
}

DeviceLabels::DeviceLabels(std::string label, const std::vector<std::string>& families)
    : label_(std::move(label)), families_(families) {}

const Labels& DeviceLabels::Row::operator[](std::size_t i) {
  Labels& labels = labels_[i];
  if (labels.empty()) labels = series(owner_->families_[i], owner_->label_, device_);
  return labels;
}

DeviceLabels::Row& DeviceLabels::row(std::string_view device) {
  auto it = rows_.find(device);
  if (it == rows_.end()) {
    it = rows_.emplace(std::string(device), Row{}).first;
    it->second.owner_ = this;
    it->second.device_ = std::string(device);
    it->second.labels_.resize(families_.size());
  }
  it->second.cycle_ = cycle_;
  return it->second;
}

void DeviceLabels::end_cycle() {
  std::erase_if(rows_, [&](const auto& kv) { return kv.second.cycle_ != cycle_; });
  ++cycle_;
}

}  // namespace tocsin::collectors::host
