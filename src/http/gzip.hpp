#pragma once
// gzip for responses (zlib), when the client's Accept-Encoding allows it. Private to http/.

#include <optional>
#include <string>
#include <string_view>

namespace tocsin::http {

// Whether an Accept-Encoding value accepts gzip: "gzip" or "*" listed without q=0.
bool accepts_gzip(std::string_view accept_encoding);

// The gzip stream (RFC 1952) of `in` at zlib's `level` (1 fastest .. 9 smallest); nullopt if zlib fails.
std::optional<std::string> gzip_compress(std::string_view in, int level = 1);

}  // namespace tocsin::http
