// Redis INFO: the reply's text parsed into fields and sections, then turned into samples as the
// collector does. A text without any INFO field is a ReplyError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/redis/info_metrics.hpp"
#include "collectors/redis/parsers.hpp"
#include "collectors/redis/reply.hpp"
#include "tocsin/store/batch.hpp"

namespace redis = tocsin::collectors::redis;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const redis::Info info = redis::parse_info(text);
    tocsin::store::Batch batch;
    redis::add_info_metrics(info, {}, batch);
    redis::InfoMetricsOptions options;
    options.databases = 3;
    options.config_maxclients = 100;
    tocsin::store::Batch other;
    redis::add_info_metrics(info, options, other);
  } catch (const redis::ReplyError&) {
  }
  return 0;
}
