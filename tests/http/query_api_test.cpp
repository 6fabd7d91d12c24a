// The query API's JSON, as Prometheus (and Grafana's Prometheus data source) expect it.
#include "tocsin/http/query_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tocsin/promql/series_notation.hpp"

namespace tocsin::http {
namespace {

class QueryApiTest : public ::testing::Test {
 protected:
  QueryApiTest() {
    data_.add_series(promql::parse_series_labels("up{job=\"api\",instance=\"a\"}"),
                     promql::expand_series_values("1x20"), 0, std::chrono::seconds(15));
    data_.add_series(promql::parse_series_labels("up{job=\"db\",instance=\"b\"}"),
                     promql::expand_series_values("0x20"), 0, std::chrono::seconds(15));
    add_query_routes(router_, data_, clock_, [] { return promql::EngineOptions{}; });
  }
  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& path,
                                      std::multimap<std::string, std::string> params) {
    Request req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.params = std::move(params);
    Response r = router_.handle(req);
    EXPECT_EQ(r.content_type.rfind("application/json", 0), 0u) << r.content_type;
    return {r.status, nlohmann::json::parse(r.body)};
  }

  promql::MemoryQuerier data_;
  ManualClock clock_{120'000};
  Router router_;
};

TEST_F(QueryApiTest, InstantVectorScalarAndString) {
  auto [status, j] = call("GET", "/api/v1/query", {{"query", "up == 1"}});
  EXPECT_EQ(status, 200);
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["data"]["resultType"], "vector");
  ASSERT_EQ(j["data"]["result"].size(), 1u);
  EXPECT_EQ(j["data"]["result"][0]["metric"],
            (nlohmann::json{{"__name__", "up"}, {"instance", "a"}, {"job", "api"}}));
  EXPECT_EQ(j["data"]["result"][0]["value"], (nlohmann::json::array({120.0, "1"})));  // now, from the clock

  auto [s2, scalar] = call("POST", "/api/v1/query", {{"query", "1/3"}, {"time", "60.5"}});
  EXPECT_EQ(scalar["data"]["resultType"], "scalar");
  EXPECT_EQ(scalar["data"]["result"], (nlohmann::json::array({60.5, "0.3333333333333333"})));
  auto [s3, str] = call("GET", "/api/v1/query", {{"query", "\"hello\""}, {"time", "1970-01-01T00:01:00Z"}});
  EXPECT_EQ(str["data"]["result"], (nlohmann::json::array({60.0, "hello"})));
  auto [s4, matrix] = call("GET", "/api/v1/query", {{"query", "up{job=\"api\"}[30s]"}, {"time", "60"}});
  EXPECT_EQ(matrix["data"]["resultType"], "matrix");
  EXPECT_EQ(matrix["data"]["result"][0]["values"].size(), 2u);  // (30, 60]
  auto [s5, inf] = call("GET", "/api/v1/query", {{"query", "1/0"}});
  EXPECT_EQ(inf["data"]["result"][1], "+Inf");
}

// Prometheus's jsonutil.MarshalValue: exponent form below 1e-6 and from 1e21 on; count_values labels
// keep FormatFloat's fixed form.
TEST_F(QueryApiTest, ValuesAreFormattedAsPrometheusWritesThem) {
  auto value = [&](const std::string& query) {
    auto [status, j] = call("GET", "/api/v1/query", {{"query", query}, {"time", "60"}});
    EXPECT_EQ(status, 200) << j.dump();
    return j["data"]["result"][1].get<std::string>();
  };
  EXPECT_EQ(value("1e-7"), "1e-07");
  EXPECT_EQ(value("-1.5e-7"), "-1.5e-07");
  EXPECT_EQ(value("0.000001"), "0.000001");
  EXPECT_EQ(value("1e21"), "1e+21");
  EXPECT_EQ(value("999999999999999900000"), "999999999999999900000");
  EXPECT_EQ(value("1e-300"), "1e-300");
  EXPECT_EQ(value("0"), "0");
  EXPECT_EQ(value("-1/0"), "-Inf");
  EXPECT_EQ(value("0/0"), "NaN");
  auto [status, j] = call("GET", "/api/v1/query_range",
                          {{"query", "vector(1e-7)"}, {"start", "0"}, {"end", "0"}, {"step", "1"}});
  EXPECT_EQ(j["data"]["result"][0]["values"][0][1], "1e-07");
  auto [s2, counts] =
      call("GET", "/api/v1/query", {{"query", "count_values(\"v\", vector(1e-7))"}, {"time", "60"}});
  EXPECT_EQ(counts["data"]["result"][0]["metric"], (nlohmann::json{{"v", "0.0000001"}}));
}

TEST_F(QueryApiTest, RangeQueries) {
  auto [status, j] = call("GET", "/api/v1/query_range",
                          {{"query", "sum(up)"}, {"start", "0"}, {"end", "60"}, {"step", "30s"}});
  EXPECT_EQ(status, 200);
  EXPECT_EQ(j["data"]["resultType"], "matrix");
  ASSERT_EQ(j["data"]["result"].size(), 1u);
  EXPECT_EQ(j["data"]["result"][0]["metric"], nlohmann::json::object());
  EXPECT_EQ(j["data"]["result"][0]["values"],
            (nlohmann::json::parse(R"([[0.0,"1"],[30.0,"1"],[60.0,"1"]])")));
  auto [s2, by_seconds] =
      call("GET", "/api/v1/query_range", {{"query", "up"}, {"start", "0"}, {"end", "60"}, {"step", "15"}});
  EXPECT_EQ(by_seconds["data"]["result"].size(), 2u);
}

TEST_F(QueryApiTest, ErrorsInPrometheusShape) {
  auto expect_error = [&](std::multimap<std::string, std::string> params, const std::string& path, int status,
                          const std::string& type, const std::string& message) {
    auto [s, j] = call("GET", path, std::move(params));
    EXPECT_EQ(s, status) << j.dump();
    EXPECT_EQ(j["status"], "error");
    EXPECT_EQ(j["errorType"], type);
    EXPECT_EQ(j["error"], message);
  };
  expect_error({{"query", "sum(up"}}, "/api/v1/query", 400, "bad_data",
               "1:7: unexpected end of input in aggregation, expected \",\" or \")\"");
  expect_error({}, "/api/v1/query", 400, "bad_data", "invalid parameter \"query\": query must not be empty");
  expect_error({{"query", "up"}, {"time", "yesterday"}}, "/api/v1/query", 400, "bad_data",
               "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp");
  expect_error(
      {{"query", "up + on() up"}}, "/api/v1/query", 422, "execution",
      "found duplicate series for the match group {} on the right hand-side of the operation: "
      "[up{instance=\"b\", job=\"db\"}, up{instance=\"a\", job=\"api\"}];many-to-many matching not allowed: "
      "matching labels must be unique on one side");
  expect_error({{"query", "up"}, {"start", "0"}, {"end", "10"}, {"step", "0"}}, "/api/v1/query_range", 400,
               "bad_data",
               "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. "
               "Try a positive integer");
  expect_error({{"query", "up"}, {"start", "0"}, {"end", "100000"}, {"step", "1"}}, "/api/v1/query_range",
               400, "bad_data",
               "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
               "resolution (?step=XX)");
  expect_error({{"query", "up[5m]"}, {"start", "0"}, {"end", "10"}, {"step", "1"}}, "/api/v1/query_range",
               400, "bad_data",
               "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
  expect_error({{"query", "up"}, {"timeout", "soon"}}, "/api/v1/query", 400, "bad_data",
               "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration");
}

// What Grafana's data source calls besides queries: exemplars (none kept, an empty list after the
// query's checks) and the formatter.
TEST_F(QueryApiTest, ExemplarsAndFormatQuery) {
  auto [s1, exemplars] =
      call("GET", "/api/v1/query_exemplars", {{"query", "up"}, {"start", "0"}, {"end", "10"}});
  EXPECT_EQ(s1, 200);
  EXPECT_EQ(exemplars["data"], nlohmann::json::array());
  auto [s2, bad] = call("POST", "/api/v1/query_exemplars", {{"query", "sum(up"}});
  EXPECT_EQ(s2, 400);
  EXPECT_EQ(bad["error"], "1:7: unexpected end of input in aggregation, expected \",\" or \")\"");
  auto [s3, bad_time] = call("GET", "/api/v1/query_exemplars", {{"query", "up"}, {"start", "soon"}});
  EXPECT_EQ(s3, 400);
  EXPECT_EQ(bad_time["error"], "invalid parameter \"start\": cannot parse \"soon\" to a valid timestamp");
  auto [s4, formatted] =
      call("GET", "/api/v1/format_query", {{"query", "sum  by(job)(rate( up{job = 'api'} [5m] ))"}});
  EXPECT_EQ(s4, 200);
  EXPECT_EQ(formatted["data"], "sum by (job) (rate(up{job=\"api\"}[5m]))");
  auto [s5, unformatted] = call("POST", "/api/v1/format_query", {{"query", "up +"}});
  EXPECT_EQ(s5, 400);
  EXPECT_EQ(unformatted["errorType"], "bad_data");
  EXPECT_TRUE(unformatted["error"].get<std::string>().starts_with("invalid parameter \"query\": 1:5:"))
      << unformatted;
}

TEST_F(QueryApiTest, RangeQueryOutputCountsAgainstTheSampleLimit) {
  Router bounded;
  add_query_routes(bounded, data_, clock_, [] { return promql::EngineOptions{.max_samples = 100}; });
  Request req;
  req.method = "GET";
  req.path = req.target = "/api/v1/query_range";
  req.params = {{"query", "up"}, {"start", "0"}, {"end", "300"}, {"step", "1"}};  // 21 loaded, 602 output
  Response r = bounded.handle(req);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json::parse(
                R"({"status":"error","errorType":"execution","error":)"
                R"("query processing would load too many samples into memory in query execution"})"));
  // The reply is written as text, in Prometheus's form (milliseconds as three digits).
  req.params = {{"query", "up{job=\"api\"}"}, {"start", "0.5"}, {"end", "1.5"}, {"step", "1"}};
  r = bounded.handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(
      r.body,
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"up","instance":"a","job":"api"},"values":[[0.500,"1"],[1.500,"1"]]}]}})");
}

TEST_F(QueryApiTest, SeriesAndLabels) {
  auto [s1, series] =
      call("GET", "/api/v1/series", {{"match[]", "up{job=\"api\"}"}, {"start", "0"}, {"end", "300"}});
  EXPECT_EQ(series["data"], (nlohmann::json::parse(R"([{"__name__":"up","instance":"a","job":"api"}])")));
  auto [s2, labels] = call("GET", "/api/v1/labels", {{"start", "0"}, {"end", "300"}});
  EXPECT_EQ(labels["data"], (nlohmann::json::parse(R"(["__name__","instance","job"])")));
  auto [s3, values] = call("GET", "/api/v1/label/job/values", {{"start", "0"}, {"end", "300"}});
  EXPECT_EQ(values["data"], (nlohmann::json::parse(R"(["api","db"])")));
  EXPECT_EQ(parse_api_time("2024-02-29T13:45:00.5+01:00"), 1709210700500);
  EXPECT_EQ(parse_api_duration("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_api_duration("0.25"), std::chrono::milliseconds(250));
}

TEST(MetadataApi, FamiliesTheCollectorsDescribedAndBuildInfo) {
  ManualClock clock{120'000};
  store::Store store(store::StoreOptions{}, clock);
  store::Batch batch;
  batch.describe("requests_total", store::MetricType::counter, "Requests served.");
  batch.describe("latency_seconds", store::MetricType::histogram, "Request latency.");
  batch.describe("queue", store::MetricType::untyped, "Jobs waiting.");
  batch.add("requests_total", {{"code", "200"}}, 5);
  batch.add("requests_total", {{"code", "500"}}, 1);
  batch.add("latency_seconds_bucket", {{"le", "+Inf"}}, 3);
  batch.add("queue", {}, 2);
  batch.add("job:requests:rate5m", {}, 0.5);  // nobody described it: no metadata, as in Prometheus
  store.commit(store.register_writer("c", std::chrono::seconds(15)), batch, 120'000);
  Router router;
  BuildInfo info;
  info.version = "0.1.0";
  info.revision = "abc";
  info.go_version = "GNU 12";
  add_metadata_routes(router, store, info);
  auto get = [&](const std::string& path, std::multimap<std::string, std::string> params) {
    Request req;
    req.method = "GET";
    req.path = req.target = path;
    req.params = std::move(params);
    Response r = router.handle(req);
    EXPECT_EQ(r.content_type.rfind("application/json", 0), 0u);
    return std::pair{r.status, nlohmann::json::parse(r.body)};
  };
  auto [s1, all] = get("/api/v1/metadata", {});
  EXPECT_EQ(s1, 200);
  EXPECT_EQ(all, nlohmann::json::parse(R"({"status":"success","data":{
      "latency_seconds":[{"type":"histogram","help":"Request latency.","unit":""}],
      "queue":[{"type":"unknown","help":"Jobs waiting.","unit":""}],
      "requests_total":[{"type":"counter","help":"Requests served.","unit":""}]}})"));
  auto [s2, one] = get("/api/v1/metadata", {{"metric", "queue"}});
  EXPECT_EQ(one["data"].size(), 1u);
  EXPECT_TRUE(one["data"].contains("queue"));
  auto [s3, limited] = get("/api/v1/metadata", {{"limit", "2"}});
  EXPECT_EQ(limited["data"].size(), 2u);
  auto [s4, bad] = get("/api/v1/metadata", {{"limit", "x"}});
  EXPECT_EQ(s4, 400);
  EXPECT_EQ(bad["error"], "invalid parameter \"limit\": cannot parse \"x\" to a valid integer");
  auto [s5, build] = get("/api/v1/status/buildinfo", {});
  EXPECT_EQ(s5, 200);
  EXPECT_EQ(build["data"]["version"], "2.42.0");  // the Prometheus API it serves, which Grafana reads
  EXPECT_EQ(build["data"]["tocsinVersion"], "0.1.0");
  EXPECT_EQ(build["data"]["revision"], "abc");
  EXPECT_EQ(build["data"]["goVersion"], "GNU 12");
}

}  // namespace
}  // namespace tocsin::http
