#pragma once
// The values a template works with, as Go's reflect sees the ones Prometheus hands to text/template:
// the root data struct, map[string]string (labels), a query result ([]*sample) and its samples,
// map[string]interface{} (args), *time.Time (toTime), template.HTML (safeHtml), and Go's basic kinds.
// Go's fmt for them is in format.hpp.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tocsin::rules::tmpl {

struct Value;
using StringMap = std::map<std::string, std::string>;  // map[string]string: fmt prints it sorted
using AnyMap = std::map<std::string, Value>;           // map[string]interface{}

struct SampleData {  // Prometheus's template.sample
  std::shared_ptr<const StringMap> labels;
  double value = 0;
};
using Samples = std::vector<std::shared_ptr<SampleData>>;  // template.queryResult

// Prometheus's AlertTemplateData struct.
struct RootData {
  std::shared_ptr<const StringMap> labels;
  std::shared_ptr<const StringMap> external_labels;
  std::string external_url;
  double value = 0;
};

enum class Kind {
  invalid,  // Go's invalid reflect.Value: a missing value, nil
  boolean,
  integer,  // int
  byte,     // uint8 (index of a string)
  floating,
  complex,
  string,
  html,  // template.HTML
  string_map,
  any_map,
  samples,
  sample,  // *sample, possibly nil
  time,    // *time.Time (never nil)
  root,
};

struct Value {
  Kind kind = Kind::invalid;
  bool b = false;
  std::int64_t i = 0;  // integer, byte, time (Unix nanoseconds)
  double f = 0;        // floating; complex: real part
  double imag = 0;
  std::string s;  // string, html
  std::shared_ptr<const StringMap> string_map;
  std::shared_ptr<const AnyMap> any_map;
  std::shared_ptr<Samples> samples;
  std::shared_ptr<SampleData> sample;
  std::shared_ptr<const RootData> root;

  bool valid() const { return kind != Kind::invalid; }

  static Value boolean(bool v) {
    Value out;
    out.kind = Kind::boolean;
    out.b = v;
    return out;
  }
  static Value integer(std::int64_t v) {
    Value out;
    out.kind = Kind::integer;
    out.i = v;
    return out;
  }
  static Value floating(double v) {
    Value out;
    out.kind = Kind::floating;
    out.f = v;
    return out;
  }
  static Value string(std::string v) {
    Value out;
    out.kind = Kind::string;
    out.s = std::move(v);
    return out;
  }
  static Value html(std::string v) {
    Value out;
    out.kind = Kind::html;
    out.s = std::move(v);
    return out;
  }
  static Value map(std::shared_ptr<const StringMap> m) {
    Value out;
    out.kind = Kind::string_map;
    out.string_map = std::move(m);
    return out;
  }
};

// Go's name of the value's type, as in error messages ("float64", "map[string]string", ...).
std::string type_name(const Value& v);
// Go's truth (text/template's isTrue): false, 0, nil and empty are false; a struct is true.
bool truth(const Value& v);
// Go's len for the kinds that have one; -1 for the others.
std::int64_t length(const Value& v);

}  // namespace tocsin::rules::tmpl
