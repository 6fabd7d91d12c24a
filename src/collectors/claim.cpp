#include "tocsin/collectors/claim.hpp"

#include <unistd.h>

#include <cstdio>
#include <random>

namespace tocsin::collectors {

ClaimStep ClaimState::step(ClaimAnswer answer) {
  ClaimStep out;
  switch (answer) {
    case ClaimAnswer::held:
      out.role = ClaimRole::holder;
      out.action = ClaimStep::Action::collect;
      break;
    case ClaimAnswer::taken:
      out.role = ClaimRole::standby;
      out.action = ClaimStep::Action::stand_by;
      break;
    case ClaimAnswer::unreachable:
      out.role = role_;
      out.action = role_ == ClaimRole::holder ? ClaimStep::Action::report_down : ClaimStep::Action::stand_by;
      break;
  }
  out.changed = first_ || out.role != role_;
  first_ = false;
  role_ = out.role;
  return out;
}

const std::string& claim_owner() {
  static const std::string owner = [] {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
      std::snprintf(host, sizeof host, "host");
    std::string name(host);
    if (name.size() > 20) name.resize(20);
    std::random_device device;
    char tail[32];
    std::snprintf(tail, sizeof tail, ":%d:%08x", static_cast<int>(::getpid()),
                  static_cast<unsigned>(device()));
    return name + tail;
  }();
  return owner;
}

std::int64_t advisory_lock_key(std::string_view name) {
  std::uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](std::string_view text) {
    for (char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ULL;
    }
  };
  mix("tocsin/postgres/");
  mix(name);
  return static_cast<std::int64_t>(hash);
}

}  // namespace tocsin::collectors
