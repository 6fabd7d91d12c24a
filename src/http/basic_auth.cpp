#include "http/basic_auth.hpp"

#include <crypt.h>
#include <openssl/sha.h>

#include <memory>
#include <optional>

namespace tocsin::http {

namespace {

// Verified against when the user does not exist, so the answer takes as long as for a wrong password.
constexpr const char* kDummyHash = "$2y$10$vsMxgYnlAfptjhlUwwi03u0CYLTEmGOEhx3RNiR3w7k1OeEx3l72C";

struct RunningSlot {
  std::atomic<int>& running;
  bool held;
  RunningSlot(std::atomic<int>& r, int max) : running(r), held(++r <= max) {}
  ~RunningSlot() { --running; }
};

}  // namespace

std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if (pad > 0 || (v[j] = value(c)) < 0) {
        return std::nullopt;
      }
    }
    const unsigned n =
        (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string crypt_hash(const std::string& password, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on the stack
  const char* out = crypt_rn(password.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  if (!out || out[0] == '*') return "";
  return out;
}

BasicAuth::Result BasicAuth::check(const std::map<std::string, yaml::Secret>& users,
                                   std::string_view authorization) {
  if (!authorization.starts_with("Basic ")) return Result::kDenied;
  auto decoded = base64_decode(authorization.substr(6));
  if (!decoded) return Result::kDenied;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return Result::kDenied;
  const std::string user = decoded->substr(0, colon);
  const std::string password = decoded->substr(colon + 1);
  auto it = users.find(user);
  const std::string& hash = it == users.end() ? std::string(kDummyHash) : it->second.reveal();

  std::string key(SHA256_DIGEST_LENGTH, '\0');
  const std::string material = user + '\0' + hash + '\0' + password;
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(),
         reinterpret_cast<unsigned char*>(key.data()));
  const auto now = std::chrono::steady_clock::now();
  if (it != users.end()) {
    std::lock_guard lock(mutex_);
    auto cached = cache_.find(key);
    if (cached != cache_.end()) {
      if (cached->second > now) return Result::kAllowed;
      cache_.erase(cached);
    }
  }
  RunningSlot slot(running_, max_concurrent_);
  if (!slot.held) return Result::kBusy;
  const std::string computed = crypt_hash(password, hash);
  const bool ok = !computed.empty() && constant_time_equal(computed, hash) && it != users.end();
  if (!ok) return Result::kDenied;
  std::lock_guard lock(mutex_);
  if (cache_.size() >= cache_entries_) {
    for (auto e = cache_.begin(); e != cache_.end();) e = e->second <= now ? cache_.erase(e) : std::next(e);
    if (cache_.size() >= cache_entries_) cache_.erase(cache_.begin());
  }
  cache_[key] = now + cache_for_;
  return Result::kAllowed;
}

}  // namespace tocsin::http
