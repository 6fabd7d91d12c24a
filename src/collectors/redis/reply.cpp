#include "collectors/redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <memory>
#include <system_error>

namespace tocsin::collectors::redis {

std::string describe(const Reply& reply) {
  switch (reply.type) {
    case Reply::Type::string: return "a bulk string";
    case Reply::Type::array: return "an array of " + std::to_string(reply.elements.size());
    case Reply::Type::integer: return "an integer";
    case Reply::Type::nil: return "nil";
    case Reply::Type::status: return "a status reply";
    case Reply::Type::error: {
      // Error texts come from the server and name no data; cut them to keep messages short.
      std::string text = reply.str.size() > 200 ? reply.str.substr(0, 200) + "..." : reply.str;
      return "an error (" + text + ")";
    }
  }
  return "an unknown reply";
}

Reply from_hiredis(const ::redisReply& reply) {
  Reply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i)
        out.elements.push_back(from_hiredis(*reply.element[i]));
      break;
    default: out.type = Reply::Type::nil; break;
  }
  return out;
}

namespace {

// hiredis 0.14 allocates an array's table of elements from its declared count before it reads any of
// them, so `*700000000` alone costs 5.6 GB (found by fuzz/redis_slowlog_fuzz.cpp). Every element takes
// at least 3 bytes ("+\r\n"), so a count the bytes left cannot hold means the bytes end inside the reply:
// refused here, before hiredis sees it. Walks the headers only (bulk payloads are skipped); what is
// malformed otherwise is left to hiredis to report.
void check_array_counts(std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t header = pos;
    const std::size_t end = bytes.find("\r\n", pos);
    if (end == std::string_view::npos) return;
    const char type = bytes[pos];
    const std::string_view number = bytes.substr(pos + 1, end - pos - 1);
    pos = end + 2;
    long long n = 0;
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if ((type != '$' && type != '*') || n <= 0) continue;
    if (ec != std::errc() || ptr != number.data() + number.size()) return;
    const std::size_t left = bytes.size() - pos;
    if (type == '$') {
      if (static_cast<unsigned long long>(n) > left) return;
      pos += static_cast<std::size_t>(n) + 2;
    } else if (static_cast<unsigned long long>(n) > left / 3) {
      throw ReplyError("RESP: the bytes end inside a reply (an array of " + std::to_string(n) +
                       " elements at byte " + std::to_string(header) + ", " + std::to_string(left) +
                       " bytes left)");
    }
  }
}

}  // namespace

std::vector<Reply> parse_resp(std::string_view bytes) {
  check_array_counts(bytes);
  std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(), &redisReaderFree);
  if (!reader) throw ReplyError("out of memory creating a RESP reader");
  if (redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    throw ReplyError(std::string("RESP: ") + reader->errstr);
  }
  std::vector<Reply> out;
  auto next = [&]() -> std::unique_ptr<redisReply, decltype(&freeReplyObject)> {
    void* raw = nullptr;
    if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
      throw ReplyError(std::string("RESP protocol error: ") + reader->errstr);
    }
    return {static_cast<redisReply*>(raw), &freeReplyObject};
  };
  for (auto reply = next(); reply; reply = next()) out.push_back(from_hiredis(*reply));
  // A sentinel tells complete input from input that ends inside a reply: only after complete
  // replies does it come back as a reply of its own.
  static constexpr std::string_view sentinel = "+tocsin-end-of-input\r\n";
  redisReaderFeed(reader.get(), sentinel.data(), sentinel.size());
  void* raw = nullptr;
  const bool ok = redisReaderGetReply(reader.get(), &raw) == REDIS_OK && raw != nullptr;
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> end(static_cast<redisReply*>(raw),
                                                              &freeReplyObject);
  if (!ok || end->type != REDIS_REPLY_STATUS ||
      std::string_view(end->str, end->len) != "tocsin-end-of-input") {
    throw ReplyError("RESP: the bytes end inside a reply");
  }
  return out;
}

std::string encode_command(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const std::string& arg : argv) {
    out += "$" + std::to_string(arg.size()) + "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

}  // namespace tocsin::collectors::redis
