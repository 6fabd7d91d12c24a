#pragma once
// Go's fmt and strconv for template values: what fmt.Sprint, Sprintln and Sprintf print, %v of every
// value kind (maps sorted by key, floats in strconv's shortest form), strconv.Quote, and time.Time's
// String().

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/template/value.hpp"

namespace tocsin::rules::tmpl {

// fmt.Sprint(v): %v. A pointer at the top prints as &{...} (printf) unless `deref` (text/template's
// printValue dereferences a pointer before printing it).
std::string sprint_value(const Value& v, bool deref = false);
std::string sprint(const std::vector<Value>& args);
std::string sprintln(const std::vector<Value>& args);
// Go's fmt.Sprintf: flags, width, precision (also `*`), argument indexes `%[n]v`, the verbs of each
// kind, and Go's error forms (%!d(string=x), %!v(MISSING), %!(EXTRA ...), %!(NOVERB)).
std::string sprintf(std::string_view format, const std::vector<Value>& args);

// utf8.EncodeRune: the UTF-8 bytes of a rune, U+FFFD for one out of range or a surrogate.
std::string encode_rune(std::int32_t r);
// strconv.Quote.
std::string quote(std::string_view s);
// strconv.FormatFloat(v, 'g', -1, 64) as fmt prints it for %v ("+Inf", "NaN").
std::string format_float_shortest(double v);
// time.Time.String() of a UTC time given in Unix nanoseconds: "2006-01-02 15:04:05.999999999 +0000 UTC".
std::string format_time(std::int64_t unix_nanos);

}  // namespace tocsin::rules::tmpl
