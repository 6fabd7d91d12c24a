// Redis SLOWLOG GET (and LATENCY LATEST, CONFIG GET, which share the reply shapes): RESP2 bytes read
// with hiredis's reader into replies, each given to the parsers. Malformed shapes are ReplyError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/redis/parsers.hpp"
#include "collectors/redis/reply.hpp"

namespace redis = tocsin::collectors::redis;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    for (const redis::Reply& reply : redis::parse_resp(bytes)) {
      (void)redis::describe(reply);
      try {
        for (const auto& entry : redis::parse_slowlog_get(reply)) (void)entry.command();
      } catch (const redis::ReplyError&) {
      }
      try {
        (void)redis::parse_latency_latest(reply);
      } catch (const redis::ReplyError&) {
      }
      try {
        (void)redis::parse_config_get(reply);
      } catch (const redis::ReplyError&) {
      }
    }
  } catch (const redis::ReplyError&) {
  }
  return 0;
}
