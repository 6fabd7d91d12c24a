#pragma once
// HTTP basic authentication against exporter-toolkit's basic_auth_users (bcrypt hashes), as
// exporter-toolkit checks it: a user that does not exist costs a bcrypt run too (no timing hint), the
// comparison is in constant time, and a successful verification is remembered for a minute, since
// bcrypt is slow on purpose (~70 ms at cost 10) and a scraper sends the same credentials every time.
// Private to http/.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tocsin/yaml/secret.hpp"

namespace tocsin::http {

class BasicAuth {
 public:
  enum class Result { kAllowed, kDenied, kBusy };

  // `max_concurrent`: bcrypt runs at once (beyond: kBusy, so failed guesses cannot take every worker).
  explicit BasicAuth(int max_concurrent = 2, std::chrono::seconds cache_for = std::chrono::seconds(60),
                     std::size_t cache_entries = 100)
      : max_concurrent_(max_concurrent), cache_for_(cache_for), cache_entries_(cache_entries) {}

  // Checks an Authorization header's value ("Basic base64(user:password)"). Thread-safe; may block
  // for one bcrypt run.
  Result check(const std::map<std::string, yaml::Secret>& users, std::string_view authorization);

 private:
  int max_concurrent_;
  std::chrono::seconds cache_for_;
  std::size_t cache_entries_;
  std::atomic<int> running_{0};
  std::mutex mutex_;                                                    // guards cache_
  std::map<std::string, std::chrono::steady_clock::time_point> cache_;  // SHA-256(user, hash, password)
};

// Decodes standard base64 (with padding); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view in);
// Compares without leaking where the first difference is through timing.
bool constant_time_equal(std::string_view a, std::string_view b);
// crypt(3) with libxcrypt (bcrypt $2a$/$2b$/$2y$); empty when the setting is refused.
std::string crypt_hash(const std::string& password, const std::string& setting);

}  // namespace tocsin::http
