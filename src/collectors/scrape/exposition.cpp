#include "collectors/scrape/exposition.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "tocsin/core/labels.hpp"

namespace tocsin::collectors::scrape {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_label_char(char c) { return is_name_start(c) || is_digit(c); }
bool is_metric_start(char c) { return is_name_start(c) || c == ':'; }
bool is_metric_char(char c) { return is_label_char(c) || c == ':'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

// The text of `s` for a message: at most 40 bytes, control bytes shown as '?'.
std::string excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 40) out += "...";
  return out;
}

std::optional<store::MetricType> text_type(std::string_view word) {
  if (word == "counter") return store::MetricType::counter;
  if (word == "gauge") return store::MetricType::gauge;
  if (word == "histogram") return store::MetricType::histogram;
  if (word == "summary") return store::MetricType::summary;
  if (word == "untyped") return store::MetricType::untyped;
  return std::nullopt;
}

// OpenMetrics' types, mapped onto the store's five as Prometheus's metadata maps them for PromQL:
// a gauge histogram is a histogram of gauges, info and stateset series are gauges.
std::optional<store::MetricType> openmetrics_type(std::string_view word) {
  if (word == "counter") return store::MetricType::counter;
  if (word == "gauge" || word == "info" || word == "stateset") return store::MetricType::gauge;
  if (word == "histogram" || word == "gaugehistogram") return store::MetricType::histogram;
  if (word == "summary") return store::MetricType::summary;
  if (word == "unknown") return store::MetricType::untyped;
  return std::nullopt;
}

}  // namespace

Format format_of(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && is_blank(media.back())) media.remove_suffix(1);
  while (!media.empty() && is_blank(media.front())) media.remove_prefix(1);
  return iequals(media, "application/openmetrics-text") ? Format::openmetrics : Format::text;
}

ExpositionError::ExpositionError(std::size_t line, std::size_t column, const std::string& message)
    : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                         message),
      line_(line),
      column_(column),
      message_(message) {}

std::optional<double> parse_go_float(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  std::string_view rest = text;
  if (rest.front() == '+' || rest.front() == '-') {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
  }
  if (iequals(rest, "inf") || iequals(rest, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (iequals(rest, "nan")) {
    if (rest.size() != text.size()) return std::nullopt;  // Go takes no sign on NaN
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (!is_digit(rest.front()) && rest.front() != '.') return std::nullopt;
  double value = 0;
  std::from_chars_result r{};
  if (rest.size() > 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')) {
    r = std::from_chars(rest.data() + 2, rest.data() + rest.size(), value, std::chars_format::hex);
  } else {
    r = std::from_chars(rest.data(), rest.data() + rest.size(), value, std::chars_format::general);
  }
  if (r.ec != std::errc() || r.ptr != rest.data() + rest.size()) return std::nullopt;
  return negative ? -value : value;
}

ExpositionParser::ExpositionParser(std::string_view body, Format format) : body_(body), format_(format) {
  labels_.reserve(16);
}

void ExpositionParser::fail(std::size_t pos, const std::string& message) const {
  throw ExpositionError(line_no_, pos - line_start_ + 1, message);
}

void ExpositionParser::skip_blanks() {
  while (pos_ < line_end_ && is_blank(body_[pos_])) ++pos_;
}

bool ExpositionParser::next(Entry& out) {
  while (true) {
    if (next_line_ >= body_.size()) {
      if (format_ == Format::openmetrics && !eof_seen_) {
        if (line_no_ == 0) throw ExpositionError(1, 1, "empty OpenMetrics body (it must end with # EOF)");
        // After the last line: the body was cut short, or the exporter never wrote # EOF.
        throw ExpositionError(line_no_, line_end_ - line_start_ + 1,
                              "the body does not end with # EOF (truncated?)");
      }
      return false;
    }
    line_start_ = pos_ = next_line_;
    const auto nl = body_.find('\n', line_start_);
    line_end_ = nl == std::string_view::npos ? body_.size() : nl;
    next_line_ = nl == std::string_view::npos ? body_.size() : nl + 1;
    ++line_no_;
    scratch_.clear();
    if (scratch_.capacity() < line_end_ - line_start_) scratch_.reserve(line_end_ - line_start_);
    out.line = line_no_;
    if (format_ == Format::text) skip_blanks();
    if (at_line_end()) {
      if (format_ == Format::openmetrics) fail(pos_, "empty line (not allowed in OpenMetrics)");
      continue;
    }
    if (body_[pos_] == '#') {
      if (parse_comment(out)) return true;
      if (eof_seen_) {
        if (next_line_ < body_.size()) {
          line_start_ = pos_ = next_line_;
          ++line_no_;
          fail(pos_, "unexpected data after # EOF");
        }
        return false;
      }
      continue;
    }
    parse_sample(out);
    return true;
  }
}

std::string_view ExpositionParser::parse_metric_name() {
  const std::size_t start = pos_;
  if (pos_ >= line_end_ || !is_metric_start(body_[pos_])) {
    fail(pos_, "expected a metric name, got \"" + excerpt(body_.substr(pos_, line_end_ - pos_)) + "\"");
  }
  while (pos_ < line_end_ && is_metric_char(body_[pos_])) ++pos_;
  return body_.substr(start, pos_ - start);
}

bool ExpositionParser::parse_comment(Entry& out) {
  const std::size_t hash = pos_;
  ++pos_;  // '#'
  if (format_ == Format::openmetrics) {
    if (pos_ >= line_end_ || body_[pos_] != ' ') {
      fail(hash,
           "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\" (OpenMetrics has no other comments)");
    }
    ++pos_;
  } else {
    skip_blanks();
  }
  std::size_t word_start = pos_;
  while (pos_ < line_end_ && !is_blank(body_[pos_])) ++pos_;
  const std::string_view word = body_.substr(word_start, pos_ - word_start);

  if (format_ == Format::openmetrics && word == "EOF") {
    if (!at_line_end()) fail(pos_, "unexpected text after # EOF");
    eof_seen_ = true;
    return false;
  }
  EntryKind kind{};
  if (word == "HELP") {
    kind = EntryKind::help;
  } else if (word == "TYPE") {
    kind = EntryKind::type;
  } else if (word == "UNIT" && format_ == Format::openmetrics) {
    kind = EntryKind::unit;
  } else if (format_ == Format::openmetrics) {
    fail(word_start,
         "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\" (OpenMetrics has no other comments)");
  } else {
    return false;  // any other comment of the text format
  }
  if (at_line_end() || !is_blank(body_[pos_])) {
    if (format_ == Format::text) return false;  // "# HELP" alone is a plain comment to Prometheus
    fail(pos_, "expected a metric name after # " + std::string(word));
  }
  if (format_ == Format::openmetrics) {
    ++pos_;
  } else {
    skip_blanks();
  }
  out.kind = kind;
  out.name = parse_metric_name();
  out.labels = {};
  out.timestamp.reset();
  out.text = {};
  if (kind == EntryKind::type) {
    if (at_line_end() || !is_blank(body_[pos_])) fail(pos_, "expected a type after the metric name");
    skip_blanks();
    word_start = pos_;
    while (pos_ < line_end_ && !is_blank(body_[pos_])) ++pos_;
    const std::string_view type = body_.substr(word_start, pos_ - word_start);
    auto parsed = format_ == Format::openmetrics ? openmetrics_type(type) : text_type(type);
    if (!parsed) fail(word_start, "invalid metric type \"" + excerpt(type) + "\"");
    skip_blanks();
    if (!at_line_end()) fail(pos_, "unexpected text after the metric type");
    out.type = *parsed;
    return true;
  }
  if (at_line_end()) return true;  // an empty help or unit
  if (!is_blank(body_[pos_])) fail(pos_, "expected a space after the metric name");
  if (format_ == Format::openmetrics) {
    ++pos_;
  } else {
    skip_blanks();
  }
  const std::string_view raw = body_.substr(pos_, line_end_ - pos_);
  if (kind == EntryKind::unit || raw.find('\\') == std::string_view::npos) {
    out.text = raw;
  } else {
    // HELP escapes: \\ and \n (and \" in OpenMetrics); any other backslash stays as written.
    const std::size_t start = scratch_.size();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        const char e = raw[i + 1];
        if (e == '\\' || e == 'n' || (e == '"' && format_ == Format::openmetrics)) {
          scratch_ += e == 'n' ? '\n' : e;
          ++i;
          continue;
        }
      }
      scratch_ += raw[i];
    }
    out.text = std::string_view(scratch_).substr(start);
  }
  if (!is_valid_utf8(out.text)) fail(pos_, "invalid UTF-8 in the help text");
  return true;
}

std::string_view ExpositionParser::parse_label_value() {
  const std::size_t open = pos_;
  ++pos_;  // '"'
  const std::size_t start = pos_;
  bool escaped = false;
  while (pos_ < line_end_ && body_[pos_] != '"') {
    if (body_[pos_] == '\\') {
      escaped = true;
      ++pos_;
    }
    ++pos_;
  }
  if (pos_ >= line_end_) fail(open, "unterminated label value");
  std::string_view raw = body_.substr(start, pos_ - start);
  ++pos_;  // '"'
  std::string_view value = raw;
  if (escaped) {
    const std::size_t from = scratch_.size();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        const char e = raw[i + 1];
        if (e == '\\' || e == '"' || e == 'n') {
          scratch_ += e == 'n' ? '\n' : e;
          ++i;
          continue;
        }
        if (format_ == Format::openmetrics)
          fail(start + i, "invalid escape \"\\" + std::string(1, e) + "\" in a label value");
      }
      scratch_ += raw[i];
    }
    value = std::string_view(scratch_).substr(from);
  }
  if (!is_valid_utf8(value)) fail(start, "invalid UTF-8 in a label value");
  return value;
}

void ExpositionParser::parse_labels(bool exemplar) {
  ++pos_;  // '{'
  while (true) {
    skip_blanks();
    if (pos_ < line_end_ && body_[pos_] == '}') {
      ++pos_;
      return;
    }
    const std::size_t name_start = pos_;
    if (pos_ >= line_end_ || !is_name_start(body_[pos_])) {
      fail(pos_, pos_ >= line_end_ ? std::string("unterminated label set (expected '}')")
                                   : "expected a label name, got \"" +
                                         excerpt(body_.substr(pos_, line_end_ - pos_)) + "\"");
    }
    while (pos_ < line_end_ && is_label_char(body_[pos_])) ++pos_;
    const std::string_view name = body_.substr(name_start, pos_ - name_start);
    skip_blanks();
    if (pos_ >= line_end_ || body_[pos_] != '=') fail(pos_, "expected '=' after the label name");
    ++pos_;
    skip_blanks();
    if (pos_ >= line_end_ || body_[pos_] != '"') fail(pos_, "expected a quoted label value");
    const std::string_view value = parse_label_value();
    if (!exemplar) {
      if (name == kMetricNameLabel) fail(name_start, "label name \"__name__\" in a label set");
      for (const ExpositionLabel& l : labels_) {
        if (l.name == name) fail(name_start, "duplicate label name \"" + std::string(name) + "\"");
      }
      labels_.push_back({name, value});
    }
    skip_blanks();
    if (pos_ < line_end_ && body_[pos_] == ',') {
      ++pos_;
      continue;
    }
    if (pos_ < line_end_ && body_[pos_] == '}') {
      ++pos_;
      return;
    }
    fail(pos_, "expected ',' or '}' after a label");
  }
}

double ExpositionParser::parse_value(const char* what) {
  const std::size_t start = pos_;
  while (pos_ < line_end_ && !is_blank(body_[pos_])) ++pos_;
  const std::string_view token = body_.substr(start, pos_ - start);
  if (token.empty()) fail(start, std::string("expected ") + what);
  auto value = parse_go_float(token);
  if (!value) fail(start, std::string("invalid ") + what + " \"" + excerpt(token) + "\"");
  return *value;
}

void ExpositionParser::parse_sample(Entry& out) {
  out.kind = EntryKind::sample;
  out.text = {};
  out.timestamp.reset();
  labels_.clear();
  const std::size_t series_start = pos_;
  out.name = parse_metric_name();
  const std::size_t after_name = pos_;
  if (format_ == Format::text) skip_blanks();  // `name {a="b"}` is fine in the text format
  if (pos_ < line_end_ && body_[pos_] == '{') {
    parse_labels(false);
  } else {
    pos_ = after_name;
  }
  out.labels = labels_;
  out.series = body_.substr(series_start, pos_ - series_start);
  if (at_line_end() || !is_blank(body_[pos_])) {
    fail(pos_, at_line_end() ? std::string("expected a value after the metric")
                             : "unexpected \"" + excerpt(body_.substr(pos_, line_end_ - pos_)) +
                                   "\" after the metric name");
  }
  skip_blanks();
  out.value = parse_value("value");
  skip_blanks();
  if (at_line_end()) return;
  auto exemplar = [&] {
    // `# {labels} value [timestamp]`: checked for form, then ignored (tocsin stores no exemplars).
    ++pos_;
    skip_blanks();
    if (pos_ >= line_end_ || body_[pos_] != '{') fail(pos_, "expected an exemplar's label set after '#'");
    parse_labels(true);
    skip_blanks();
    parse_value("exemplar value");
    skip_blanks();
    if (!at_line_end()) parse_value("exemplar timestamp");
    skip_blanks();
    if (!at_line_end()) fail(pos_, "unexpected text after the exemplar");
  };
  if (format_ == Format::openmetrics && body_[pos_] == '#') {
    exemplar();
    return;
  }
  const std::size_t ts_start = pos_;
  while (pos_ < line_end_ && !is_blank(body_[pos_])) ++pos_;
  const std::string_view token = body_.substr(ts_start, pos_ - ts_start);
  if (format_ == Format::text) {
    std::int64_t ms = 0;
    const char* first = token.data();
    if (!token.empty() && token.front() == '+') ++first;
    auto r = std::from_chars(first, token.data() + token.size(), ms);
    if (r.ec != std::errc() || r.ptr != token.data() + token.size()) {
      fail(ts_start, "invalid timestamp \"" + excerpt(token) + "\" (milliseconds expected)");
    }
    out.timestamp = ms;
  } else {
    auto seconds = parse_go_float(token);
    if (!seconds || !std::isfinite(*seconds)) fail(ts_start, "invalid timestamp \"" + excerpt(token) + "\"");
    out.timestamp = static_cast<Timestamp>(*seconds * 1000);
  }
  skip_blanks();
  if (at_line_end()) return;
  if (format_ == Format::openmetrics && body_[pos_] == '#') {
    exemplar();
    return;
  }
  fail(pos_, "unexpected text after the timestamp");
}

}  // namespace tocsin::collectors::scrape
