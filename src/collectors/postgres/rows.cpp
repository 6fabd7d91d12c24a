#include "collectors/postgres/rows.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace tocsin::collectors::postgres {

std::optional<double> to_number(const Field& field) {
  if (!field) return std::nullopt;
  std::string_view text = *field;
  if (text == "t" || text == "true") return 1.0;
  if (text == "f" || text == "false") return 0.0;
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) return std::nullopt;
  if (ec != std::errc() || p != end || begin == end) return std::nullopt;
  return value;
}

namespace {

int require_column(const Table& table, std::string_view name) {
  int index = table.column(name);
  if (index < 0) throw ParseError("the result has no column \"" + std::string(name) + "\"");
  return index;
}

std::optional<double> number_at(const std::vector<Field>& row, int index, std::string_view column) {
  if (index < 0 || static_cast<std::size_t>(index) >= row.size()) return std::nullopt;
  const Field& field = row[static_cast<std::size_t>(index)];
  if (!field) return std::nullopt;
  auto value = to_number(field);
  if (!value) {
    std::string shown = field->size() > 40 ? field->substr(0, 40) + "..." : *field;
    throw ParseError("column \"" + std::string(column) + "\": \"" + shown + "\" is not a number");
  }
  return value;
}

std::string text_at(const std::vector<Field>& row, int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= row.size() || !row[static_cast<std::size_t>(index)])
    return {};
  return *row[static_cast<std::size_t>(index)];
}

void sort_labels(std::vector<Label>& labels) {
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  std::erase_if(labels, [](const Label& l) { return l.value.empty(); });
}

}  // namespace

std::vector<Row> parse_rows(const Table& table, std::span<const LabelColumn> labels,
                            std::span<const MetricColumn> metrics) {
  std::vector<int> label_index;
  for (const LabelColumn& l : labels) label_index.push_back(require_column(table, l.column));
  std::vector<int> metric_index;
  for (const MetricColumn& m : metrics) metric_index.push_back(table.column(m.column));
  std::vector<Row> out;
  out.reserve(table.rows.size());
  for (const auto& fields : table.rows) {
    Row row;
    row.labels.reserve(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      row.labels.push_back({std::string(labels[i].label), text_at(fields, label_index[i])});
    }
    sort_labels(row.labels);
    row.values.reserve(metrics.size());
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      auto value = number_at(fields, metric_index[i], metrics[i].column);
      if (value) *value *= metrics[i].scale;
      row.values.push_back(value);
    }
    out.push_back(std::move(row));
  }
  return out;
}

ServerSummary parse_server(const Table& table) {
  if (table.rows.size() != 1) throw ParseError("expected one row, got " + std::to_string(table.rows.size()));
  const auto& row = table.rows.front();
  auto number = [&](std::string_view column, double fallback = 0) {
    return number_at(row, require_column(table, column), column).value_or(fallback);
  };
  ServerSummary s;
  s.in_recovery = number("in_recovery") != 0;
  s.start_time_seconds = number("start_time_seconds");
  s.version = text_at(row, require_column(table, "version"));
  s.max_connections = number("max_connections");
  s.superuser_reserved_connections = number("superuser_reserved_connections");
  s.reserved_connections = number("reserved_connections");
  s.replication_lag_seconds =
      number_at(row, require_column(table, "replication_lag_seconds"), "replication_lag_seconds");
  s.client_connections = number("client_connections");
  s.oldest_query_seconds = std::max(0.0, number("oldest_query_seconds"));
  s.oldest_idle_in_transaction_seconds = std::max(0.0, number("oldest_idle_in_transaction_seconds"));
  s.waiting_on_locks = number("waiting_on_locks");
  s.blocking_sessions = number("blocking_sessions");
  return s;
}

void add_missing_activity_states(std::vector<Row>& rows, const std::vector<std::string>& activity_labels,
                                 const std::vector<std::string>& databases, std::size_t value_count) {
  bool by_database = false;
  bool by_state = false;
  for (const std::string& label : activity_labels) {
    if (label == "datname") {
      by_database = true;
    } else if (label == "state") {
      by_state = true;
    } else {
      return;
    }
  }
  if (!by_state) return;
  std::set<std::pair<std::string, std::string>> seen;
  for (const Row& row : rows) {
    std::string datname;
    std::string state;
    for (const Label& l : row.labels) {
      if (l.name == "datname") datname = l.value;
      if (l.name == "state") state = l.value;
    }
    seen.insert({datname, state});
  }
  const std::vector<std::string> all = by_database ? databases : std::vector<std::string>{""};
  for (const std::string& datname : all) {
    for (std::string_view state : kActivityStates) {
      if (seen.contains({datname, std::string(state)})) continue;
      Row row;
      if (by_database) row.labels.push_back({"datname", datname});
      row.labels.push_back({"state", std::string(state)});
      sort_labels(row.labels);
      row.values.assign(value_count, 0.0);
      rows.push_back(std::move(row));
    }
  }
}

std::optional<SettingValue> normalize_setting(std::string_view name, std::string_view setting,
                                              std::string_view unit, std::string_view vartype) {
  SettingValue out;
  out.metric = "pg_settings_";
  for (char c : name) out.metric += c == '.' ? '_' : c;
  if (vartype == "bool") {
    out.value = setting == "on" ? 1 : 0;
    return out;
  }
  if (vartype != "integer" && vartype != "real") return std::nullopt;
  auto value = to_number(std::string(setting));
  if (!value) return std::nullopt;
  struct Unit {
    std::string_view name;
    std::string_view suffix;
    double factor;
  };
  static constexpr Unit kUnits[] = {
      {"ms", "_seconds", 1e-3},          {"s", "_seconds", 1},           {"min", "_seconds", 60},
      {"h", "_seconds", 3600},           {"d", "_seconds", 86400},       {"B", "_bytes", 1},
      {"kB", "_bytes", 1024.0},          {"MB", "_bytes", 1048576.0},    {"GB", "_bytes", 1073741824.0},
      {"TB", "_bytes", 1099511627776.0}, {"1kB", "_bytes", 1024.0},      {"2kB", "_bytes", 2048.0},
      {"4kB", "_bytes", 4096.0},         {"8kB", "_bytes", 8192.0},      {"16kB", "_bytes", 16384.0},
      {"32kB", "_bytes", 32768.0},       {"64kB", "_bytes", 65536.0},    {"16MB", "_bytes", 16777216.0},
      {"32MB", "_bytes", 33554432.0},    {"64MB", "_bytes", 67108864.0},
  };
  if (!unit.empty()) {
    const Unit* found = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit) found = &u;
    }
    if (found == nullptr) return std::nullopt;  // a unit this table does not know: left out, not guessed
    out.metric += found->suffix;
    if (*value != -1) *value *= found->factor;
  }
  out.value = *value;
  return out;
}

std::vector<SettingValue> parse_settings(const Table& table) {
  const int name = require_column(table, "name");
  const int setting = require_column(table, "setting");
  const int unit = require_column(table, "unit");
  const int vartype = require_column(table, "vartype");
  std::vector<SettingValue> out;
  for (const auto& row : table.rows) {
    if (auto v = normalize_setting(text_at(row, name), text_at(row, setting), text_at(row, unit),
                                   text_at(row, vartype))) {
      out.push_back(std::move(*v));
    }
  }
  return out;
}

StatementsSnapshot parse_statements(const Table& table) {
  const int queryid = require_column(table, "queryid");
  const int rolname = require_column(table, "rolname");
  const int datname = require_column(table, "datname");
  const int calls = require_column(table, "calls");
  const int total = require_column(table, "total_ms");
  const int rows = require_column(table, "rows");
  const int read = require_column(table, "read_ms");
  const int write = require_column(table, "write_ms");
  const int max = require_column(table, "max_ms");
  const int tracked = require_column(table, "tracked");
  const int min = table.column("min_ms");  // compat columns: present together or not at all
  const int stddev = min >= 0 ? require_column(table, "stddev_ms") : -1;
  std::vector<int> blocks;
  if (min >= 0) {
    for (std::string_view c : kCompatBlockColumns) blocks.push_back(require_column(table, c));
  }
  StatementsSnapshot out;
  out.ranked.reserve(table.rows.size());
  for (const auto& row : table.rows) {
    Statement s;
    s.queryid = text_at(row, queryid);
    s.user = text_at(row, rolname);
    s.datname = text_at(row, datname);
    s.calls = number_at(row, calls, "calls").value_or(0);
    s.total_seconds = number_at(row, total, "total_ms").value_or(0) / 1000;
    s.rows = number_at(row, rows, "rows").value_or(0);
    s.read_seconds = number_at(row, read, "read_ms").value_or(0) / 1000;
    s.write_seconds = number_at(row, write, "write_ms").value_or(0) / 1000;
    s.max_seconds = number_at(row, max, "max_ms").value_or(0) / 1000;
    out.tracked = number_at(row, tracked, "tracked").value_or(0);
    if (min >= 0) {
      s.min_seconds = number_at(row, min, "min_ms").value_or(0) / 1000;
      s.stddev_seconds = number_at(row, stddev, "stddev_ms").value_or(0) / 1000;
      for (std::size_t i = 0; i < blocks.size(); ++i)
        s.blocks.push_back(number_at(row, blocks[i], kCompatBlockColumns[i]).value_or(0));
    }
    out.ranked.push_back(std::move(s));
  }
  return out;
}

std::vector<std::size_t> TopStatements::select(const std::vector<Statement>& ranked) {
  entered_.clear();
  const std::size_t window = std::min(ranked.size(), fetch_limit());
  std::map<std::string, std::size_t, std::less<>> rank;  // key -> index in ranked
  for (std::size_t i = 0; i < window; ++i) rank.emplace(ranked[i].key(), i);

  // Kept statements still within the window stay; the others leave.
  std::vector<std::size_t> chosen;
  std::set<std::size_t> chosen_set;
  for (const std::string& key : kept_) {
    if (auto it = rank.find(key); it != rank.end() && chosen_set.insert(it->second).second)
      chosen.push_back(it->second);
  }
  const std::size_t top = std::min(window, limit_);
  for (std::size_t i = 0; i < top; ++i) {
    if (chosen_set.contains(i)) continue;
    if (chosen.size() < limit_) {
      chosen.push_back(i);
      chosen_set.insert(i);
      entered_.push_back(ranked[i].key());
      continue;
    }
    // Full: displace the lowest-ranked reported statement outside the top, if this one is clearly
    // ahead of it.
    auto worst = std::max_element(chosen.begin(), chosen.end());
    if (*worst < top) break;  // every reported statement is in the top: nothing to displace
    if (ranked[i].total_seconds < kDisplaceFactor * ranked[*worst].total_seconds) continue;
    chosen_set.erase(*worst);
    *worst = i;
    chosen_set.insert(i);
    entered_.push_back(ranked[i].key());
  }
  std::sort(chosen.begin(), chosen.end());
  kept_.clear();
  for (std::size_t i : chosen) kept_.push_back(ranked[i].key());
  return chosen;
}

std::string clean_query_text(std::string_view text, std::size_t length) {
  std::string out;
  out.reserve(std::min(text.size(), length * 4));
  std::size_t characters = 0;
  bool space = false;
  for (std::size_t i = 0; i < text.size() && characters < length;) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = true;
      ++i;
      continue;
    }
    if (space && !out.empty()) {
      out += ' ';
      ++characters;
      if (characters == length) break;
    }
    space = false;
    std::size_t width = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    width = std::min(width, text.size() - i);
    out.append(text.substr(i, width));
    i += width;
    ++characters;
  }
  return out;
}

std::vector<Row> parse_custom(const Table& table, const config::PostgresCustomQuery& query) {
  std::vector<LabelColumn> labels;
  std::vector<MetricColumn> metrics;
  for (const auto& column : query.columns) {
    if (column.usage == config::PostgresColumnUsage::label) {
      labels.push_back({column.name, column.name});
    } else {
      metrics.push_back({column.name, column.name,
                         column.usage == config::PostgresColumnUsage::counter ? store::MetricType::counter
                                                                              : store::MetricType::gauge,
                         column.help});
    }
  }
  for (const MetricColumn& m : metrics) require_column(table, m.column);
  std::vector<Row> rows = parse_rows(table, labels, metrics);
  std::set<std::vector<Label>> seen;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!seen.insert(rows[i].labels).second) {
      std::string shown;
      for (const Label& l : rows[i].labels)
        shown += (shown.empty() ? "" : ", ") + l.name + "=\"" + l.value + "\"";
      throw ParseError("row " + std::to_string(i + 1) + " repeats the labels {" + shown +
                       "} of an earlier row (add a label column that tells them apart)");
    }
  }
  return rows;
}

}  // namespace tocsin::collectors::postgres
