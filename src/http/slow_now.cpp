#include "tocsin/http/slow_now.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "tocsin/http/humanize.hpp"
#include "tocsin/promql/parser.hpp"

namespace tocsin::http {

namespace {

// An instant query's vector, or the error in `error`.
promql::Vector instant_vector(const store::Querier& querier, const promql::EngineOptions& options,
                              const std::string& query, Timestamp now, std::string& error) {
  try {
    promql::ExprPtr expr = promql::parse(query);
    promql::Value v = promql::Engine(options).instant(querier, *expr, now);
    if (auto* vec = std::get_if<promql::Vector>(&v)) return std::move(*vec);
  } catch (const std::exception& e) {
    error = e.what();
  }
  return {};
}

std::string where_label(const Labels& labels) {
  for (const char* key : {"instance", "target", "host"}) {
    if (auto v = labels.get(key); !v.empty()) return std::string(v);
  }
  return "";
}

std::string failed(const std::string& error) {
  return "<div class=\"empty down\">cannot read: " + html_escape(error) + "</div>\n";
}

void by_value_descending(promql::Vector& v) {
  std::stable_sort(v.begin(), v.end(),
                   [](const promql::Sample& a, const promql::Sample& b) { return a.v > b.v; });
}

}  // namespace

std::string render_slow_now(const store::Querier& querier, const promql::EngineOptions& engine, Timestamp now,
                            const SlowNowOptions& options) {
  const std::string window = format_duration(options.window);
  const std::string n = std::to_string(options.rows);
  std::string html = "<section id=\"slow-now\"><h2>What is slow now <span class=\"muted\">(last " +
                     html_escape(window) + ")</span></h2>\n";

  // Postgres: time spent per statement in the window, with calls and the text where the collector
  // exports it (pg_stat_statements_query_id{queryid,query}, statements.query_text).
  {
    std::string error;
    promql::Vector top = instant_vector(
        querier, engine, "topk(" + n + ", increase(pg_stat_statements_seconds_total[" + window + "]) > 0)",
        now, error);
    html += "<h3>Postgres statements by time</h3>\n";
    if (!error.empty()) {
      html += failed(error);
    } else if (top.empty()) {
      html += "<div class=\"empty muted\">No statement took time in the last " + html_escape(window) +
              " (or no postgres collector reads pg_stat_statements).</div>\n";
    } else {
      std::string ignored;
      std::map<std::string, std::string> texts;
      for (const auto& s : instant_vector(querier, engine, "pg_stat_statements_query_id", now, ignored))
        texts.emplace(std::string(s.labels.get("queryid")), std::string(s.labels.get("query")));
      std::map<std::string, double> calls;
      for (const auto& s : instant_vector(
               querier, engine, "increase(pg_stat_statements_calls_total[" + window + "])", now, ignored))
        calls[std::string(s.labels.get("instance")) + "\n" + std::string(s.labels.get("datname")) + "\n" +
              std::string(s.labels.get("user")) + "\n" + std::string(s.labels.get("queryid"))] = s.v;
      by_value_descending(top);
      html +=
          "<table><thead><tr><th>Time</th><th>Calls</th><th>Per call</th><th>Statement</th><th>Database</th>"
          "<th>Where</th></tr></thead><tbody>\n";
      for (const auto& s : top) {
        const std::string queryid(s.labels.get("queryid"));
        const std::string key = std::string(s.labels.get("instance")) + "\n" +
                                std::string(s.labels.get("datname")) + "\n" +
                                std::string(s.labels.get("user")) + "\n" + queryid;
        auto c = calls.find(key);
        auto t = texts.find(queryid);
        const std::string text = t == texts.end() || t->second.empty()
                                     ? "<span class=\"muted\">queryid " + html_escape(queryid) +
                                           " (text off: statements.query_text)</span>"
                                     : "<code>" + html_escape(t->second) + "</code>";
        html += "<tr><td class=\"nowrap\">" + html_escape(humanize_seconds(s.v)) + "</td><td>" +
                (c == calls.end() ? std::string("&mdash;") : html_escape(humanize(std::round(c->second)))) +
                "</td><td>" +
                (c == calls.end() || c->second <= 0 ? std::string("&mdash;")
                                                    : html_escape(humanize_seconds(s.v / c->second))) +
                "</td><td>" + text + "</td><td>" + html_escape(s.labels.get("datname")) +
                (s.labels.has("user")
                     ? " <span class=\"muted\">as " + html_escape(s.labels.get("user")) + "</span>"
                     : std::string()) +
                "</td><td>" + html_escape(where_label(s.labels)) + "</td></tr>\n";
      }
      html += "</tbody></table>\n";
    }
  }

  // Redis: the slow log's new entries by command. The collector counts them by command name and
  // never stores their arguments, so none can show here.
  {
    std::string error;
    promql::Vector top = instant_vector(
        querier, engine, "topk(" + n + ", increase(redis_slowlog_entries_total[" + window + "]) > 0)", now,
        error);
    std::string ignored;
    promql::Vector last_id = instant_vector(querier, engine, "redis_slowlog_last_id", now, ignored);
    html += "<h3>Redis slow log</h3>\n";
    if (!error.empty()) {
      html += failed(error);
    } else if (top.empty()) {
      html += "<div class=\"empty muted\">No new slow-log entries in the last " + html_escape(window) +
              (last_id.empty() ? " (no redis collector reads the slow log)." : ".") + "</div>\n";
    } else {
      by_value_descending(top);
      html += "<table><thead><tr><th>New entries</th><th>Command</th><th>Where</th></tr></thead><tbody>\n";
      for (const auto& s : top) {
        // increase() extrapolates to the window's edges; entries are whole.
        html += "<tr><td>" + html_escape(humanize(std::round(s.v))) + "</td><td><code>" +
                html_escape(s.labels.get("cmd")) +
                "</code> <span class=\"muted\">(arguments redacted)</span></td><td>" +
                html_escape(where_label(s.labels)) + "</td></tr>\n";
      }
      html += "</tbody></table>\n";
    }
  }

  // Queues: the oldest waiting job's age per queue, and a stream group's oldest pending entry.
  {
    std::string error;
    promql::Vector top;
    for (const char* family : {"tocsin_queue_latency_seconds", "sidekiq_queue_latency_seconds",
                               "tocsin_queue_group_oldest_pending_idle_seconds"}) {
      for (auto& s : instant_vector(querier, engine, "topk(" + n + ", " + family + ")", now, error))
        top.push_back(std::move(s));
    }
    std::string ignored;
    std::map<std::string, double> lengths;
    for (const auto& s : instant_vector(querier, engine, "tocsin_queue_length", now, ignored))
      lengths[std::string(s.labels.get("instance")) + "\n" + std::string(s.labels.get("name"))] = s.v;
    html += "<h3>Oldest queue jobs</h3>\n";
    if (!error.empty()) {
      html += failed(error);
    } else if (top.empty()) {
      html +=
          "<div class=\"empty muted\">No queue latency recorded (no queues collector, or empty "
          "queues).</div>\n";
    } else {
      by_value_descending(top);
      if (top.size() > options.rows) top.resize(options.rows);
      html +=
          "<table><thead><tr><th>Oldest waiting</th><th>Queue</th><th>Waiting jobs</th><th>System</th>"
          "<th>Where</th></tr></thead><tbody>\n";
      for (const auto& s : top) {
        std::string queue(s.labels.get("name"));
        if (auto group = s.labels.get("group"); !group.empty())
          queue += " (group " + std::string(group) + ")";
        auto len =
            lengths.find(std::string(s.labels.get("instance")) + "\n" + std::string(s.labels.get("name")));
        html += "<tr><td class=\"nowrap\">" + html_escape(humanize_seconds(s.v)) + "</td><td>" +
                html_escape(queue) + "</td><td>" +
                (len == lengths.end() ? std::string("&mdash;") : html_escape(humanize(len->second))) +
                "</td><td>" + html_escape(s.labels.get("system")) + "</td><td>" +
                html_escape(where_label(s.labels)) + "</td></tr>\n";
      }
      html += "</tbody></table>\n";
    }
  }
  html += "</section>\n";
  return html;
}

}  // namespace tocsin::http
