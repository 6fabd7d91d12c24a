// remote_write's parts with real libraries: the body decoded back with libsnappy and libprotobuf, the
// relabelling, the retry rules, the disk queue, the store's hand-off, and the sender against a
// recording HTTP receiver (down, 5xx, 4xx, 429).
#include "tocsin/remote_write/remote_write.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <snappy.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <bit>
#include <cmath>
#include <fstream>
#include <map>

#include "fixtures/http_receiver.hpp"
#include "fixtures/process.hpp"
#include "remote_write/disk_queue.hpp"
#include "remote_write/encoder.hpp"
#include "remote_write/relabel_rules.hpp"
#include "remote_write/remote.pb.h"
#include "remote_write/retry.hpp"
#include "tocsin/net/retry_after.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::remote_write {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<spdlog::logger> quiet_log() {
  return std::make_shared<spdlog::logger>("rw", std::make_shared<spdlog::sinks::null_sink_mt>());
}

wire::WriteRequest decode_body(const std::string& body) {
  std::string raw;
  EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw)) << "not a snappy block";
  wire::WriteRequest request;
  EXPECT_TRUE(request.ParseFromString(raw)) << "not a WriteRequest";
  return request;
}

std::string labels_text(const wire::TimeSeries& ts) {
  std::string out;
  for (const auto& l : ts.labels()) out += l.name() + "=" + l.value() + ",";
  return out;
}

TEST(RemoteWriteWire, BodyDecodesBackWithSnappyAndProtobuf) {
  const auto a = std::make_shared<const SendSeries>(Labels{{"__name__", "up"}, {"job", "x"}});
  const auto b =
      std::make_shared<const SendSeries>(Labels{{"__name__", "temp"}, {"room", "1"}, {"b_label", "v"}});
  std::vector<WireSample> samples = {{a, 1000, 1}, {b, 1000, 21.5}, {a, 2000, 0}, {b, 2000, stale_nan()}};
  Encoder encoder;
  std::size_t raw = 0;
  const wire::WriteRequest request = decode_body(encoder.encode(samples, &raw));
  EXPECT_GT(raw, 0u);
  ASSERT_EQ(request.timeseries_size(), 2);
  EXPECT_EQ(labels_text(request.timeseries(0)), "__name__=up,job=x,");
  EXPECT_EQ(labels_text(request.timeseries(1)), "__name__=temp,b_label=v,room=1,");  // sorted by name
  ASSERT_EQ(request.timeseries(0).samples_size(), 2);
  EXPECT_EQ(request.timeseries(0).samples(0).timestamp(), 1000);
  EXPECT_EQ(request.timeseries(0).samples(0).value(), 1);
  EXPECT_EQ(request.timeseries(0).samples(1).timestamp(), 2000);
  ASSERT_EQ(request.timeseries(1).samples_size(), 2);
  EXPECT_EQ(request.timeseries(1).samples(0).value(), 21.5);
  // Prometheus's staleness marker, bit for bit.
  EXPECT_EQ(std::bit_cast<std::uint64_t>(request.timeseries(1).samples(1).value()), 0x7ff0000000000002ULL);
  // The same bytes as libprotobuf's own serializer for these messages (zero values left out, -0.0 kept).
  std::vector<WireSample> edge = {{a, 0, 0}, {a, -5, -0.0}, {b, 1LL << 40, 1e300}};
  for (const auto& batch : {samples, edge}) {
    wire::WriteRequest expected;
    std::map<const SendSeries*, wire::TimeSeries*> series;
    for (const WireSample& s : batch) {
      auto& ts = series[s.series.get()];
      if (ts == nullptr) {
        ts = expected.add_timeseries();
        for (const Label& l : s.series->labels) {
          auto* label = ts->add_labels();
          label->set_name(l.name);
          label->set_value(l.value);
        }
      }
      auto* sample = ts->add_samples();
      sample->set_value(s.value);
      sample->set_timestamp(s.t);
    }
    std::string body = encoder.encode(batch);
    std::string raw_bytes;
    ASSERT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw_bytes));
    EXPECT_EQ(raw_bytes, expected.SerializeAsString());
  }
}

collectors::scrape::RelabelRule rule(collectors::scrape::RelabelAction action,
                                     std::vector<std::string> sources, std::string regex,
                                     std::string target = "", std::string replacement = "$1") {
  collectors::scrape::RelabelRule r;
  r.action = action;
  r.source_labels = std::move(sources);
  r.regex = std::move(regex);
  r.target_label = std::move(target);
  r.replacement = std::move(replacement);
  EXPECT_EQ(r.compile(), std::nullopt);
  return r;
}

TEST(RemoteWriteSeries, ExternalLabelsThenWriteRelabelConfigs) {
  using collectors::scrape::RelabelAction;
  auto rules = std::make_shared<RelabelRules>();
  rules->rules.push_back(rule(RelabelAction::drop, {"__name__"}, "go_.*"));
  rules->rules.push_back(rule(RelabelAction::replace, {"dc"}, "(.*)", "region", "eu-$1"));
  rules->rules.push_back(rule(RelabelAction::labeldrop, {}, "secret"));
  SeriesResolver resolver(Labels{{"dc", "1"}, {"host", "h1"}}, rules);
  EXPECT_EQ(resolver.resolve(Labels{{"__name__", "go_goroutines"}}), nullptr);
  // A series' own label wins over an external label of the same name, as in Prometheus.
  const Labels up{{"__name__", "up"}, {"host", "own"}, {"secret", "s"}};
  const SeriesRef& first = resolver.resolve(7, 0, up);
  EXPECT_EQ(first->labels.to_string(), "up{dc=\"1\", host=\"own\", region=\"eu-1\"}");
  EXPECT_EQ(resolver.cached(), 2u);
  // Found again by position (the same set object), by hash (an equal set elsewhere).
  EXPECT_EQ(resolver.resolve(7, 0, up).get(), first.get());
  EXPECT_EQ(resolver.resolve(8, 3, Labels{{"__name__", "up"}, {"host", "own"}, {"secret", "s"}}).get(),
            first.get());
  EXPECT_EQ(resolver.cached(), 2u);

  auto keep = std::make_shared<RelabelRules>();
  keep->rules.push_back(rule(RelabelAction::keep, {"__name__"}, "up|node_.*"));
  keep->rules.push_back(rule(RelabelAction::labelkeep, {}, "__name__|job"));
  SeriesResolver only(Labels{{"host", "h1"}}, keep);
  EXPECT_EQ(only.resolve(Labels{{"__name__", "other"}}), nullptr);
  EXPECT_EQ(only.resolve(Labels{{"__name__", "node_load1"}, {"job", "j"}, {"x", "y"}})->labels.to_string(),
            "node_load1{job=\"j\"}");
}

TEST(RemoteWriteRetry, WhatIsRetriedAndHowLongToWait) {
  EXPECT_EQ(classify(200, false), SendOutcome::sent);
  EXPECT_EQ(classify(204, false), SendOutcome::sent);
  EXPECT_EQ(classify(0, false), SendOutcome::retry);  // no response: connection refused, timeout
  EXPECT_EQ(classify(500, false), SendOutcome::retry);
  EXPECT_EQ(classify(503, false), SendOutcome::retry);
  EXPECT_EQ(classify(400, true), SendOutcome::failed);
  EXPECT_EQ(classify(404, true), SendOutcome::failed);
  EXPECT_EQ(classify(429, false), SendOutcome::failed);
  EXPECT_EQ(classify(429, true), SendOutcome::retry);

  Backoff backoff(30ms, 100ms);
  EXPECT_EQ(backoff.next(), Duration(30ms));
  EXPECT_EQ(backoff.next(), Duration(60ms));
  EXPECT_EQ(backoff.next(), Duration(100ms));
  EXPECT_EQ(backoff.next(), Duration(100ms));

  EXPECT_EQ(net::parse_retry_after("120", 0), Duration(120s));
  EXPECT_EQ(net::parse_retry_after(" 3 ", 0), Duration(3s));
  // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
  EXPECT_EQ(net::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 90), Duration(90s));
  EXPECT_EQ(net::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 90), Duration(0s));
  EXPECT_EQ(net::parse_retry_after("", 0), std::nullopt);
  EXPECT_EQ(net::parse_retry_after("soon", 0), std::nullopt);
  EXPECT_EQ(net::parse_retry_after("-5", 0), std::nullopt);
}

Request request_of(std::uint64_t seq, std::size_t bytes, std::uint32_t samples) {
  Request r;
  r.seq = seq;
  r.body = std::string(bytes, static_cast<char>('a' + seq % 26));
  r.samples = samples;
  r.highest = static_cast<Timestamp>(seq * 1000);
  return r;
}

TEST(RemoteWriteDiskQueue, KeepsOrderAcrossReopenAndDropsOldestAtItsBound) {
  testing::TempDir dir("tocsin-rw-disk");
  {
    DiskQueue q(dir / "q", 1000, quiet_log());
    EXPECT_EQ(q.open(), 1u);
    EXPECT_EQ(q.push(request_of(1, 200, 10)), 0u);
    EXPECT_EQ(q.push(request_of(2, 200, 20)), 0u);
    EXPECT_EQ(q.push(request_of(3, 200, 30)), 0u);
    EXPECT_EQ(q.files(), 3u);
    EXPECT_EQ(q.samples(), 60u);
  }
  DiskQueue q(dir / "q", 1000, quiet_log());
  EXPECT_EQ(q.open(), 4u);  // the next sequence number continues after the files
  EXPECT_EQ(q.samples(), 60u);
  auto first = q.read_front();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->seq, 1u);
  EXPECT_EQ(first->body, std::string(200, 'b'));
  EXPECT_EQ(first->samples, 10u);
  EXPECT_EQ(first->highest, 1000);
  // Full (4 x 240 bytes): the oldest that is not being sent (2) goes to make room for 5.
  EXPECT_EQ(q.push(request_of(4, 200, 40)), 0u);
  EXPECT_EQ(q.push(request_of(5, 200, 50)), 20u);
  EXPECT_EQ(q.dropped_samples(), 20u);
  q.remove(1);
  std::vector<std::uint64_t> order;
  while (auto r = q.read_front()) {
    order.push_back(r->seq);
    q.remove(r->seq);
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{3, 4, 5}));
  // A request bigger than the whole bound is dropped, not written.
  EXPECT_EQ(q.push(request_of(6, 2000, 7)), 7u);
  EXPECT_TRUE(q.empty());
}

TEST(RemoteWriteDiskQueue, ACorruptFileIsMovedAsideAndTheRestSent) {
  testing::TempDir dir("tocsin-rw-corrupt");
  {
    DiskQueue q(dir / "q", 1 << 20, quiet_log());
    q.open();
    q.push(request_of(1, 100, 1));
    q.push(request_of(2, 100, 2));
    q.push(request_of(3, 100, 3));
  }
  // One flipped byte in the body of 2, and 3 cut short.
  const auto path2 = dir / "q" / "00000000000000000002.req";
  {
    std::fstream f(path2, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    f.put('Z');
  }
  std::filesystem::resize_file(dir / "q" / "00000000000000000003.req", 50);
  DiskQueue q(dir / "q", 1 << 20, quiet_log());
  q.open();
  EXPECT_EQ(q.corrupt_files(), 1u);  // 3: its size does not match its header
  std::vector<std::uint64_t> order;
  while (auto r = q.read_front()) {
    order.push_back(r->seq);
    q.remove(r->seq);
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(q.corrupt_files(), 2u);  // 2: its checksum
  EXPECT_TRUE(std::filesystem::exists(dir / "q" / "00000000000000000002.req.corrupt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "q" / "00000000000000000003.req.corrupt"));
}

TEST(RemoteWriteStore, TheAppendListenerSeesEverySampleAndStalenessMarker) {
  SystemClock clock;
  store::Store s(store::StoreOptions{}, clock);
  std::vector<store::AppendedPoint> seen;
  s.set_append_listener([&](store::WriterId, std::vector<store::AppendedPoint>&& points) {
    for (auto& p : points) seen.push_back(std::move(p));
  });
  const auto w = s.register_writer("w", 1s);
  store::Batch one;
  one.add(Labels{{"__name__", "a"}}, 1);
  one.add(Labels{{"__name__", "b"}}, 2);
  s.commit(w, one, 1000);
  store::Batch two;
  two.add(Labels{{"__name__", "a"}}, 3);
  two.add(Labels{{"__name__", "a"}}, 4);  // a duplicate, refused: not appended, not seen
  s.commit(w, two, 2000);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].labels.to_string(), "a{}");
  EXPECT_EQ(seen[1].labels.to_string(), "b{}");
  EXPECT_EQ(seen[2].labels.to_string(), "a{}");
  EXPECT_EQ(seen[2].value, 3);
  EXPECT_EQ(seen[3].labels.to_string(), "b{}");  // gone: its staleness marker
  EXPECT_EQ(seen[3].t, 2000);
  EXPECT_TRUE(is_stale_nan(seen[3].value));
}

// --- the sender against a recording receiver -----------------------------------------------------

double metric(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      if (family.type == prometheus::MetricType::Counter) return m.counter.value;
      return m.gauge.value;
    }
  }
  return -1;
}

EndpointConfig endpoint_to(const std::string& url) {
  EndpointConfig e;
  e.url = url;
  e.name = "test";
  e.remote_timeout = 5s;
  e.write_relabel_configs = std::make_shared<RelabelRules>();
  e.queue_config.batch_send_deadline = 20ms;
  e.queue_config.min_backoff = 10ms;
  e.queue_config.max_backoff = 50ms;
  return e;
}

std::vector<store::AppendedPoint> points(const std::string& name, Timestamp t, double v) {
  return {{Labels{{"__name__", name}, {"job", "j"}}, t, v}};
}

// The samples of every request, in the order received: "name@t=v".
std::vector<std::string> received_samples(const testing::HttpReceiver& receiver) {
  std::vector<std::string> out;
  for (const auto& r : receiver.requests()) {
    const auto request = decode_body(r.body);
    for (const auto& ts : request.timeseries()) {
      std::string name;
      for (const auto& l : ts.labels())
        if (l.name() == "__name__") name = l.value();
      for (const auto& s : ts.samples()) {
        char v[32];
        std::snprintf(v, sizeof v, "%g", s.value());
        out.push_back(name + "@" + std::to_string(s.timestamp()) + "=" + v);
      }
    }
  }
  return out;
}

TEST(RemoteWriteSender, SendsTheSpecsHeadersAuthAndExternalLabels) {
  testing::HttpReceiver receiver;
  prometheus::Registry registry;
  Options options;
  auto e = endpoint_to(receiver.url("/api/v1/write"));
  e.headers = {{"X-Scope-OrgID", "tenant-1"}};
  e.basic_auth = true;
  e.basic_auth_username = "user";
  e.basic_auth_password = yaml::Secret("pass");
  options.endpoints = {e};
  options.external_labels = {{"host", "h1"}};
  options.user_agent = "tocsin/test";
  RemoteWrite rw(options, registry, quiet_log());
  ASSERT_EQ(rw.start(), "");
  rw.append(0, points("up", 1000, 1));
  ASSERT_TRUE(receiver.wait_for(1));
  const auto r = receiver.requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/v1/write");
  EXPECT_EQ(r.headers.at("content-encoding"), "snappy");
  EXPECT_EQ(r.headers.at("content-type"), "application/x-protobuf");
  EXPECT_EQ(r.headers.at("x-prometheus-remote-write-version"), "0.1.0");
  EXPECT_EQ(r.headers.at("user-agent"), "tocsin/test");
  EXPECT_EQ(r.headers.at("authorization"), "Basic dXNlcjpwYXNz");
  EXPECT_EQ(r.headers.at("x-scope-orgid"), "tenant-1");
  const auto request = decode_body(r.body);
  ASSERT_EQ(request.timeseries_size(), 1);
  EXPECT_EQ(labels_text(request.timeseries(0)), "__name__=up,host=h1,job=j,");
  ASSERT_TRUE(testing::wait_until(
      [&] { return metric(registry, "prometheus_remote_storage_samples_total") == 1; }, 5s));
  EXPECT_EQ(metric(registry, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds"), 1.0);
  EXPECT_EQ(metric(registry, "prometheus_remote_storage_highest_timestamp_in_seconds"), 1.0);
  EXPECT_EQ(metric(registry, "prometheus_remote_storage_bytes_total"), static_cast<double>(r.body.size()));
  rw.stop();
}

TEST(RemoteWriteSender, AClientErrorIsCountedFailedAndNotRetried) {
  testing::HttpReceiver receiver;
  receiver.respond(400, "out of bounds");
  prometheus::Registry registry;
  Options options;
  options.endpoints = {endpoint_to(receiver.url("/w"))};
  RemoteWrite rw(options, registry, quiet_log());
  ASSERT_EQ(rw.start(), "");
  rw.append(0, points("a", 1000, 1));
  ASSERT_TRUE(receiver.wait_for(1));
  ASSERT_TRUE(testing::wait_until(
      [&] { return metric(registry, "prometheus_remote_storage_samples_failed_total") == 1; }, 5s));
  receiver.respond(200);
  rw.append(0, points("b", 2000, 2));
  ASSERT_TRUE(receiver.wait_for(2));
  // Requests go one at a time in order: a retry of the first would have come before the second.
  EXPECT_EQ(received_samples(receiver), (std::vector<std::string>{"a@1000=1", "b@2000=2"}));
  EXPECT_EQ(metric(registry, "prometheus_remote_storage_samples_retried_total"), 0);
  rw.stop();
}

TEST(RemoteWriteSender, AServerErrorIsRetriedWithTheSameRequestUntilAccepted) {
  testing::HttpReceiver receiver;
  receiver.respond(503, "overloaded");
  prometheus::Registry registry;
  Options options;
  options.endpoints = {endpoint_to(receiver.url("/w"))};
  RemoteWrite rw(options, registry, quiet_log());
  ASSERT_EQ(rw.start(), "");
  rw.append(0, points("a", 1000, 1));
  ASSERT_TRUE(receiver.wait_for(3));
  receiver.respond(200);
  ASSERT_TRUE(testing::wait_until(
      [&] { return metric(registry, "prometheus_remote_storage_samples_total") == 1; }, 5s));
  const auto requests = receiver.requests();
  for (const auto& r : requests) EXPECT_EQ(r.body, requests.front().body);
  EXPECT_GE(metric(registry, "prometheus_remote_storage_samples_retried_total"), 3);
  EXPECT_EQ(metric(registry, "prometheus_remote_storage_samples_failed_total"), 0);
  rw.stop();
}

TEST(RemoteWriteSender, Http429IsRetriedOnlyWithRetryOnHttp429) {
  for (bool retry : {false, true}) {
    SCOPED_TRACE(retry);
    testing::HttpReceiver receiver;
    receiver.respond(429, "slow down");
    prometheus::Registry registry;
    Options options;
    auto e = endpoint_to(receiver.url("/w"));
    e.queue_config.retry_on_http_429 = retry;
    options.endpoints = {e};
    RemoteWrite rw(options, registry, quiet_log());
    ASSERT_EQ(rw.start(), "");
    rw.append(0, points("a", 1000, 1));
    ASSERT_TRUE(receiver.wait_for(1));
    if (retry) {
      ASSERT_TRUE(receiver.wait_for(2));
      receiver.respond(200);
      ASSERT_TRUE(testing::wait_until(
          [&] { return metric(registry, "prometheus_remote_storage_samples_total") == 1; }, 5s));
    } else {
      ASSERT_TRUE(testing::wait_until(
          [&] { return metric(registry, "prometheus_remote_storage_samples_failed_total") == 1; }, 5s));
    }
    rw.stop();
  }
}

TEST(RemoteWriteSender, AnOutageIsQueuedOnDiskAndSentInOrderAfterARestart) {
  testing::TempDir state("tocsin-rw-outage");
  testing::HttpReceiver receiver;
  receiver.stop();  // down from the start
  Options options;
  auto e = endpoint_to(receiver.url("/w"));
  e.queue_config.max_samples_per_send = 2;
  options.endpoints = {e};
  options.state_dir = state.path();
  std::vector<std::string> expected;
  {
    prometheus::Registry registry;
    RemoteWrite rw(options, registry, quiet_log());
    ASSERT_EQ(rw.start(), "");
    for (int i = 1; i <= 9; ++i) {
      rw.append(0, points("s", i * 1000, i));
      expected.push_back("s@" + std::to_string(i * 1000) + "=" + std::to_string(i));
    }
    ASSERT_TRUE(testing::wait_until(
        [&] { return metric(registry, "prometheus_remote_storage_samples_retried_total") > 0; }, 5s));
    rw.stop();  // what is unsent is written to the queue's files
    EXPECT_EQ(metric(registry, "prometheus_remote_storage_samples_pending"), 9);
    EXPECT_EQ(metric(registry, "prometheus_remote_storage_samples_total"), 0);
  }
  EXPECT_GE(std::distance(std::filesystem::directory_iterator(state / "remote_write/test"),
                          std::filesystem::directory_iterator()),
            5);
  receiver.start();
  prometheus::Registry registry;
  RemoteWrite rw(options, registry, quiet_log());
  ASSERT_EQ(rw.start(), "");
  rw.append(0, points("s", 10'000, 10));
  expected.push_back("s@10000=10");
  ASSERT_TRUE(testing::wait_until(
      [&] { return metric(registry, "prometheus_remote_storage_samples_total") == 10; }, 10s));
  EXPECT_EQ(received_samples(receiver), expected);
  EXPECT_EQ(metric(registry, "prometheus_remote_storage_samples_dropped_total"), 0);
  EXPECT_EQ(metric(registry, "tocsin_remote_storage_disk_queue_bytes"), 0);
  rw.stop();
}

TEST(RemoteWriteSender, WhatTheDiskBoundDropsIsCounted) {
  testing::TempDir state("tocsin-rw-bound");
  testing::HttpReceiver receiver;
  receiver.stop();
  Options options;
  auto e = endpoint_to(receiver.url("/w"));
  e.queue_config.max_samples_per_send = 1;
  e.max_disk_bytes = 400;  // room for a few one-sample requests (each ~80 bytes with its header)
  options.endpoints = {e};
  options.state_dir = state.path();
  prometheus::Registry registry;
  RemoteWrite rw(options, registry, quiet_log());
  ASSERT_EQ(rw.start(), "");
  for (int i = 1; i <= 40; ++i) rw.append(0, points("s", i * 1000, i));
  ASSERT_TRUE(testing::wait_until(
      [&] { return metric(registry, "tocsin_remote_storage_queue_dropped_samples_total") > 0; }, 5s));
  rw.stop();
  const double dropped = metric(registry, "prometheus_remote_storage_samples_dropped_total");
  EXPECT_EQ(dropped, metric(registry, "tocsin_remote_storage_queue_dropped_samples_total"));
  // Everything is either still queued or counted dropped.
  EXPECT_EQ(metric(registry, "prometheus_remote_storage_samples_pending") + dropped, 40);
  EXPECT_LE(metric(registry, "tocsin_remote_storage_disk_queue_bytes"), 400);
}

}  // namespace
}  // namespace tocsin::remote_write
