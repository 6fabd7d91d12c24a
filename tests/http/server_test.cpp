#include "tocsin/http/server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <thread>

#include "fixtures/http_client.hpp"

namespace tocsin::http {
namespace {

using testing::http_get;
using testing::http_request;
using testing::raw_exchange;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add("GET", "/hello", [](const Request&) { return Response::text(200, "hi\n"); });
    router.add("GET", "/echo", [](const Request& r) {
      std::string out;
      for (const auto& [k, v] : r.params) out += k + "=" + v + ";";
      return Response::text(200, out);
    });
    router.add("POST", "/echo", [](const Request& r) {
      std::string out;
      for (const auto& [k, v] : r.params) out += k + "=" + v + ";";
      return Response::text(200, out);
    });
    router.add("POST", "/api/v1/alerts/{id}/ack", [](const Request& r) {
      return Response::json(200, "{\"id\":\"" + r.path_params.at("id") + "\"}");
    });
    router.add("GET", "/boom", [](const Request&) -> Response { throw std::runtime_error("kaput"); });
    ServerOptions options;
    options.max_header_bytes = 2048;
    options.max_body_bytes = 1024;
    options.header_timeout = std::chrono::milliseconds(2000);
    server = std::make_unique<Server>(
        io, pool, router, options,
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()));
    server->listen("127.0.0.1", 0);
    port = server->port();
    io_thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    server->stop();
    io.stop();
    io_thread.join();
    pool.join();
  }

  boost::asio::io_context io;
  boost::asio::thread_pool pool{2};
  Router router;
  std::unique_ptr<Server> server;
  int port = 0;
  std::thread io_thread;
};

TEST_F(ServerTest, RoutesAndStatusCodes) {
  auto ok = http_get(port, "/hello");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "hi\n");
  EXPECT_EQ(http_get(port, "/nope").status, 404);
  auto wrong_method = http_request(port, "DELETE", "/hello");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "GET");
  EXPECT_EQ(http_request(port, "HEAD", "/hello").status, 200);
}

TEST_F(ServerTest, PathParametersQueryStringAndFormBody) {
  EXPECT_EQ(http_request(port, "POST", "/api/v1/alerts/abc123/ack").body, "{\"id\":\"abc123\"}");
  EXPECT_EQ(http_get(port, "/echo?query=up%7Bjob%3D%22a%22%7D&time=1+2").body,
            "query=up{job=\"a\"};time=1 2;");
  auto form = http_request(port, "POST", "/echo?a=1", "query=sum(x)&step=15",
                           {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.body, "a=1;query=sum(x);step=15;");
}

TEST_F(ServerTest, MalformedRequestsGet400) {
  EXPECT_EQ(raw_exchange(port, "GARBAGE\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(raw_exchange(port, "GET /x HTTP/9.9\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(http_get(port, "/echo?a=%ZZ").status, 400);
  EXPECT_EQ(raw_exchange(port, "GET /hello HTTP/1.1\r\nContent-Length: abc\r\n\r\n").substr(0, 12),
            "HTTP/1.1 400");
}

TEST_F(ServerTest, OversizedRequestsGet4xx) {
  std::string big_header = "GET /hello HTTP/1.1\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n";
  EXPECT_EQ(raw_exchange(port, big_header).substr(0, 12), "HTTP/1.1 431");
  auto big_body = http_request(port, "POST", "/echo", std::string(4096, 'b'));
  EXPECT_EQ(big_body.status, 413);
}

// The socketless path the fuzzer drives (fuzz/http_request_fuzz.cpp) answers as a connection does.
TEST(HandleRawRequest, ParsesDecodesAndRoutesLikeAConnection) {
  Router router;
  router.add("POST", "/api/v1/alerts/{id}/ack", [](const Request& r) {
    std::string out = r.path_params.at("id") + ";";
    for (const auto& [k, v] : r.params) out += k + "=" + v + ";";
    return Response::text(200, out);
  });
  ServerOptions options;
  options.max_header_bytes = 256;
  options.max_body_bytes = 16;
  auto ok = handle_raw_request(
      "POST /api/v1/alerts/a%21b/ack?x=1 HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: 7\r\n\r\nby=a+b&",
      router, options);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "a!b;by=a b;x=1;");
  EXPECT_EQ(handle_raw_request("GET /nope HTTP/1.1\r\n\r\n", router, options)->status, 404);
  EXPECT_EQ(handle_raw_request("GARBAGE\r\n\r\n", router, options)->status, 400);
  EXPECT_EQ(handle_raw_request("GET /a?b=%ZZ HTTP/1.1\r\n\r\n", router, options)->status, 400);
  EXPECT_EQ(handle_raw_request("GET x HTTP/1.1\r\n\r\n", router, options)->status, 400);
  EXPECT_EQ(handle_raw_request("GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n", router, options)
                ->status,
            431);
  EXPECT_EQ(handle_raw_request("POST /a HTTP/1.1\r\nContent-Length: 17\r\n\r\n" + std::string(17, 'b'),
                               router, options)
                ->status,
            413);
  // The bytes end inside the request: a connection would wait for the rest.
  EXPECT_FALSE(handle_raw_request("GET / HTTP/1.1\r\nHost: x\r\n", router, options).has_value());
  EXPECT_FALSE(
      handle_raw_request("POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", router, options).has_value());
  EXPECT_FALSE(handle_raw_request("", router, options).has_value());
}

TEST_F(ServerTest, HandlerExceptionsBecome500) {
  auto r = http_get(port, "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("kaput"), std::string::npos);
  EXPECT_EQ(http_get(port, "/hello").status, 200);  // and the server goes on
}

TEST_F(ServerTest, ASlowClientDoesNotStallOthers) {
  // Opens a connection and sends half a request, then stays silent.
  std::thread slow(
      [this] { raw_exchange(port, "GET /hello HTTP/1.1\r\nHost: x\r\n", std::chrono::seconds(3)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(http_get(port, "/hello").status, 200);
  slow.join();
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string two =
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string out = raw_exchange(port, two);
  std::size_t first = out.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(out.find("HTTP/1.1 200", first + 1), std::string::npos);
}

TEST(UrlDecode, Cases) {
  EXPECT_EQ(url_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(url_decode("a+b", false), "a+b");
  EXPECT_FALSE(url_decode("%2", false).has_value());
  EXPECT_FALSE(url_decode("%g0", false).has_value());
}

// An endpoint object as the APIs register theirs: the router's handlers keep it alive, and a
// `{name}` segment reaches the member function.
class GreetingApi {
 public:
  explicit GreetingApi(std::string greeting) : greeting_(std::move(greeting)) {}
  Response greet(const Request& req) const {
    return Response::text(200, greeting_ + " " + req.path_params.at("who"));
  }

 private:
  std::string greeting_;
};

TEST(Router, EndpointHandlerCallsTheMemberFunctionOfTheApiItKeeps) {
  Router router;
  {
    auto api = std::make_shared<const GreetingApi>("hello");
    router.add("GET", "/greet/{who}", endpoint_handler(api, &GreetingApi::greet));
  }
  Request req;
  req.method = "GET";
  req.path = "/greet/world";
  Response r = router.handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
}

}  // namespace
}  // namespace tocsin::http
