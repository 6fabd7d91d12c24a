#include "collectors/redis/reply.hpp"

#include <hiredis/hiredis.h>

#include <memory>

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

std::vector<Reply> parse_resp(std::string_view bytes) {
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
