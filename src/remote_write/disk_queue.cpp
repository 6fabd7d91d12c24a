#include "remote_write/disk_queue.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace tocsin::remote_write {

namespace {

// File: the 8-byte magic, u32 version, u32 samples, i64 highest timestamp, u32 CRC-32 of the body,
// u32 reserved, u64 body length (little-endian), then the body.
constexpr char kMagic[8] = {'T', 'O', 'C', 'S', 'I', 'N', 'R', 'W'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeader = 40;
constexpr const char* kSuffix = ".req";

template <typename T>
void put(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}
template <typename T>
T get(const char* p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

std::uint32_t crc(const std::string& body) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
}

struct Header {
  std::uint32_t samples;
  Timestamp highest;
  std::uint32_t crc;
  std::uint64_t length;
};

// The header's problem, or nullopt.
std::optional<std::string> parse_header(const char* p, std::size_t available, Header& out) {
  if (available < kHeader) return "truncated header";
  if (std::memcmp(p, kMagic, sizeof kMagic) != 0) return "not a tocsin remote-write queue file";
  if (get<std::uint32_t>(p + 8) != kVersion)
    return "unknown version " + std::to_string(get<std::uint32_t>(p + 8));
  out.samples = get<std::uint32_t>(p + 12);
  out.highest = get<std::int64_t>(p + 16);
  out.crc = get<std::uint32_t>(p + 24);
  out.length = get<std::uint64_t>(p + 32);
  return std::nullopt;
}

void write_atomically(const std::filesystem::path& path, const std::string& head, const std::string& body) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("cannot write " + path.string() + ": " + what + ": " + std::strerror(errno));
  };
  const std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("open " + tmp);
  for (const std::string* part : {&head, &body}) {
    std::size_t written = 0;
    while (written < part->size()) {
      ssize_t n = ::write(fd, part->data() + written, part->size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = saved;
        fail("write");
      }
      written += static_cast<std::size_t>(n);
    }
  }
  if (::fsync(fd) != 0) {
    int saved = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = saved;
    fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
  // The rename itself is durable only once the directory is synced.
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

DiskQueue::DiskQueue(std::filesystem::path dir, std::uint64_t max_bytes, std::shared_ptr<spdlog::logger> log)
    : dir_(std::move(dir)), max_bytes_(max_bytes), log_(std::move(log)) {}

std::filesystem::path DiskQueue::path_of(std::uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu", static_cast<unsigned long long>(seq));
  return dir_ / (std::string(name) + kSuffix);
}

std::uint64_t DiskQueue::open() {
  std::filesystem::create_directories(dir_);
  index_.clear();
  bytes_ = samples_ = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".tmp")) {  // a write that did not finish: its request was never queued
      std::error_code ec;
      std::filesystem::remove(e.path(), ec);
      continue;
    }
    if (!name.ends_with(kSuffix)) continue;
    std::uint64_t seq = 0;
    const std::string_view digits(name.data(), name.size() - std::strlen(kSuffix));
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    if (ec != std::errc() || end != digits.data() + digits.size()) continue;
    char head[kHeader];
    std::ifstream in(e.path(), std::ios::binary);
    in.read(head, kHeader);
    Header h{};
    std::error_code size_ec;
    const std::uint64_t size = std::filesystem::file_size(e.path(), size_ec);
    auto problem = parse_header(head, static_cast<std::size_t>(in.gcount()), h);
    if (!problem && (size_ec || size != kHeader + h.length)) problem = "truncated body";
    if (problem) {
      index_.emplace(seq, Entry{size_ec ? 0 : size, 0});
      bytes_ += size_ec ? 0 : size;
      move_aside(seq, *problem);
      continue;
    }
    index_.emplace(seq, Entry{size, h.samples});
    bytes_ += size;
    samples_ += h.samples;
  }
  return index_.empty() ? 1 : index_.rbegin()->first + 1;
}

std::uint64_t DiskQueue::push(const Request& request) {
  const std::uint64_t size = kHeader + request.body.size();
  if (size > max_bytes_) {
    dropped_ += request.samples;
    return request.samples;
  }
  std::uint64_t dropped = 0;
  while (bytes_ + size > max_bytes_ && !index_.empty()) {
    auto victim = index_.begin();
    if (pinned_ && victim->first == *pinned_) {
      if (index_.size() == 1) break;
      victim = std::next(victim);
    }
    dropped += victim->second.samples;
    std::error_code ec;
    std::filesystem::remove(path_of(victim->first), ec);
    forget(victim->first);
  }
  if (bytes_ + size > max_bytes_) {  // only the request being sent is left, and this does not fit beside it
    dropped += request.samples;
    dropped_ += dropped;
    return dropped;
  }
  std::string head(kMagic, sizeof kMagic);
  put(head, kVersion);
  put(head, request.samples);
  put(head, request.highest);
  put(head, crc(request.body));
  put(head, std::uint32_t{0});
  put(head, static_cast<std::uint64_t>(request.body.size()));
  write_atomically(path_of(request.seq), head, request.body);
  index_[request.seq] = Entry{size, request.samples};
  bytes_ += size;
  samples_ += request.samples;
  dropped_ += dropped;
  return dropped;
}

std::optional<Request> DiskQueue::read_front() {
  while (!index_.empty()) {
    const std::uint64_t seq = index_.begin()->first;
    std::ifstream in(path_of(seq), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Header h{};
    std::optional<std::string> problem;
    if (!in.good() && !in.eof()) problem = std::string("cannot read: ") + std::strerror(errno);
    if (!problem) problem = parse_header(data.data(), data.size(), h);
    if (!problem && data.size() != kHeader + h.length) problem = "truncated body";
    Request r;
    if (!problem) {
      r.body = data.substr(kHeader);
      if (crc(r.body) != h.crc) problem = "checksum mismatch";
    }
    if (problem) {
      move_aside(seq, *problem);
      continue;
    }
    r.seq = seq;
    r.samples = h.samples;
    r.highest = h.highest;
    r.on_disk = true;
    pinned_ = seq;
    return r;
  }
  return std::nullopt;
}

void DiskQueue::remove(std::uint64_t seq) {
  if (pinned_ == seq) pinned_.reset();
  if (!index_.contains(seq)) return;
  std::error_code ec;
  std::filesystem::remove(path_of(seq), ec);
  forget(seq);
}

void DiskQueue::forget(std::uint64_t seq) {
  auto it = index_.find(seq);
  if (it == index_.end()) return;
  bytes_ -= it->second.bytes;
  samples_ -= it->second.samples;
  index_.erase(it);
}

void DiskQueue::move_aside(std::uint64_t seq, const std::string& why) {
  const std::filesystem::path from = path_of(seq);
  std::filesystem::path to = from;
  to += ".corrupt";
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  log_->error("remote_write queue file {} cannot be read ({}); moved it to {} and going on without it",
              from.string(), why, to.string());
  ++corrupt_;
  forget(seq);
}

}  // namespace tocsin::remote_write
