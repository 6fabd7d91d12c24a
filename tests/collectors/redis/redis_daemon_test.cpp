// The real tocsin binary collecting a Redis on a unix socket that restarts underneath it: writing to the
// socket the old server closed raises SIGPIPE, which once killed the daemon (exit 141).
#include <gtest/gtest.h>

#include <string>

#include "fixtures/redis_server.hpp"
#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

TEST(RedisDaemon, UnixSocketRedisRestartsWhileTheDaemonCollects) {
  TempDir dir("tocsin-redis-daemon");
  const std::string socket = (dir / "redis.sock").string();
  RedisServer redis(RedisOptions{{"--unixsocket", socket}, ""});
  Daemon d(
      "collectors:\n"
      "  redis:\n"
      "    - name: sock\n"
      "      address: unix://" +
      socket +
      "\n"
      "      interval: 200ms\n"
      "      max_reconnect_backoff: 200ms\n");
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const std::string up = "redis_up{target=\"sock\"} 1";
  const std::string down = "redis_up{target=\"sock\"} 0";
  auto metrics = [&] { return d.get("/metrics").body; };
  ASSERT_TRUE(wait_until([&] { return metrics().find(up) != std::string::npos; }, 10s))
      << metrics() << d.log();

  for (int restart = 0; restart < 2; ++restart) {
    redis.stop();
    ASSERT_TRUE(
        wait_until([&] { return !d.process().running() || metrics().find(down) != std::string::npos; }, 10s))
        << d.log();
    ASSERT_TRUE(d.process().running()) << "exit status " << d.process().wait(0ms).value_or(-1) << "\n"
                                       << d.log();
    redis.start();
    ASSERT_TRUE(
        wait_until([&] { return !d.process().running() || metrics().find(up) != std::string::npos; }, 10s))
        << d.log();
    ASSERT_TRUE(d.process().running()) << "exit status " << d.process().wait(0ms).value_or(-1) << "\n"
                                       << d.log();
  }
}

}  // namespace
}  // namespace tocsin::testing
