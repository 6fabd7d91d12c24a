#pragma once
// A Redis reply as a plain value (RESP2: what hiredis 0.14 reads), so that parsers are pure functions
// testable without a connection, and hiredis's own types stay inside the connection adapter.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;  // hiredis

namespace tocsin::collectors::redis {

struct Reply {
  enum class Type { string, array, integer, nil, status, error };

  Type type = Type::nil;
  long long integer = 0;        // Type::integer
  std::string str;              // Type::string, status and error
  std::vector<Reply> elements;  // Type::array

  static Reply make_string(std::string s) { return {Type::string, 0, std::move(s), {}}; }
  static Reply make_status(std::string s) { return {Type::status, 0, std::move(s), {}}; }
  static Reply make_error(std::string s) { return {Type::error, 0, std::move(s), {}}; }
  static Reply make_integer(long long v) { return {Type::integer, v, {}, {}}; }
  static Reply make_array(std::vector<Reply> e) { return {Type::array, 0, {}, std::move(e)}; }

  bool is_error() const { return type == Type::error; }
};

// "a bulk string", "an array of 3", "an error (ERR ...)": for messages about unexpected replies. The
// text of strings is never included (it may hold data).
std::string describe(const Reply& reply);

// A reply that does not have the shape its command promises. The message names the command and what
// was expected, e.g. `SLOWLOG GET: entry 2: expected an integer id, got a bulk string`.
class ReplyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Copies a hiredis reply tree.
Reply from_hiredis(const ::redisReply& reply);

// Parses RESP2 bytes (as captured from a server) into replies, with hiredis's own reader; throws
// ReplyError on a protocol error or when the bytes end inside a reply. For tests and tools.
std::vector<Reply> parse_resp(std::string_view bytes);

// Encodes a command as RESP2 (an array of bulk strings), as clients send it.
std::string encode_command(const std::vector<std::string>& argv);

}  // namespace tocsin::collectors::redis
