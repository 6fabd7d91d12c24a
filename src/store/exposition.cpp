#include "tocsin/store/exposition.hpp"

#include <charconv>
#include <cmath>

namespace tocsin::store {

namespace {

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
}

void render_exposition(const Store& store, std::string& out) {
  const FamilyMetadata* current = nullptr;
  store.for_each_latest([&](const LatestSample& s) {
    if (s.family != current) {
      current = s.family;
      // An undescribed series gets an untyped family named after itself.
      std::string_view family = s.family->name.empty() ? s.metric_name : std::string_view(s.family->name);
      if (!s.family->help.empty()) {
        out += "# HELP ";
        out += family;
        out += ' ';
        append_help(out, s.family->help);
        out += '\n';
      }
      out += "# TYPE ";
      out += family;
      out += ' ';
      out += to_string(s.family->type);
      out += '\n';
    }
    out += s.metric_name;
    if (!s.labels.empty()) {
      out += '{';
      bool first = true;
      for (const LabelView& l : s.labels) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        append_escaped_label_value(out, l.value);
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    append_value(out, s.value);
    out += '\n';
  });
}

}  // namespace tocsin::store
