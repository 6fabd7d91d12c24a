// The parser: precedence and associativity as in Prometheus, and every error with its position.
#include "tocsin/promql/parser.hpp"

#include <gtest/gtest.h>

namespace tocsin::promql {
namespace {

std::string error_of(const std::string& query) {
  try {
    parse(query);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Parser, PrecedenceAndAssociativity) {
  EXPECT_EQ(to_string(*parse("1 + 2 * 3")), "1 + 2 * 3");
  // ^ is right-associative and binds tighter than unary minus.
  const ExprPtr pow = parse("2 ^ 3 ^ 2");
  const auto& outer = std::get<Binary>(pow->node);
  EXPECT_EQ(outer.op, BinaryOp::pow);
  EXPECT_TRUE(std::holds_alternative<NumberLiteral>(outer.lhs->node));
  EXPECT_TRUE(std::holds_alternative<Binary>(outer.rhs->node));
  const ExprPtr neg = parse("-a ^ 2");
  ASSERT_TRUE(std::holds_alternative<Unary>(neg->node));
  const ExprPtr sub = parse("a - b - c");
  const auto& left = std::get<Binary>(sub->node);
  EXPECT_TRUE(std::holds_alternative<Binary>(left.lhs->node));  // (a - b) - c
  const ExprPtr mixed = parse("a or b and c");
  EXPECT_EQ(std::get<Binary>(mixed->node).op, BinaryOp::lor);  // and binds tighter than or
  EXPECT_EQ(std::get<Binary>(parse("a > b + 1")->node).op, BinaryOp::gtr);
}

TEST(Parser, SelectorsModifiersAndAggregations) {
  EXPECT_EQ(to_string(*parse("http_requests_total{job=\"api\",code=~\"5..\"}[5m] offset 1h")),
            "http_requests_total{job=\"api\", code=~\"5..\"}[5m] offset 1h");
  EXPECT_EQ(to_string(*parse("sum by (job) (rate(x[5m]))")), "sum by (job) (rate(x[5m]))");
  EXPECT_EQ(to_string(*parse("sum(rate(x[5m])) without (instance)")), "sum without (instance) (rate(x[5m]))");
  EXPECT_EQ(to_string(*parse("topk(3, x)")), "topk(3, x)");
  EXPECT_EQ(to_string(*parse("a / on(job) group_left(team) b")), "a / on(job) group_left(team) b");
  EXPECT_EQ(to_string(*parse("a > bool 3")), "a > bool 3");
  EXPECT_EQ(to_string(*parse("max_over_time(rate(x[1m])[30m:1m])")), "max_over_time(rate(x[1m])[30m:1m])");
  EXPECT_EQ(to_string(*parse("x @ 100")), "x @ 100.000");
  EXPECT_EQ(to_string(*parse("x @ end() offset -5m")), "x @ end() offset -5m");
  EXPECT_EQ(to_string(*parse("{__name__=~\"a|b\"}")), "{__name__=~\"a|b\"}");
  EXPECT_EQ(to_string(*parse("# comment\n  SUM(x) # more\n")), "sum(x)");
  EXPECT_EQ(to_string(*parse("sum")), "sum");  // a metric named like an aggregator
  EXPECT_EQ(to_string(*parse("-1")), "-1");
  EXPECT_EQ(to_string(*parse("0x1F + 1e3 + Inf")), "31 + 1000 + +Inf");
  EXPECT_EQ(to_string(*parse("label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")")),
            "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")");
  EXPECT_EQ(to_string(*parse("'single' ")), "\"single\"");
  EXPECT_EQ(to_string(*parse("`raw\\n`")), "\"raw\\\\n\"");
}

TEST(Parser, InfAndNanAreLabelNamesInsideBraces) {
  EXPECT_EQ(to_string(*parse("a{nan=\"x\"}")), "a{nan=\"x\"}");
  EXPECT_EQ(to_string(*parse("{Inf!=\"1\", NaN=~\"y\", INF=\"z\"}")), "{Inf!=\"1\", NaN=~\"y\", INF=\"z\"}");
  EXPECT_EQ(to_string(*parse("sum(a{inf=\"1\"}) + Inf")),
            "sum(a{inf=\"1\"}) + +Inf");  // a number outside braces
  EXPECT_EQ(error_of("a{1=\"x\"}"), "1:3: unexpected number \"1\" in label matching, expected label name");
}

TEST(Parser, ModifierSubqueryEscapeAndMatchingErrors) {
  EXPECT_EQ(error_of("x @ start() @ end()"), "1:13: @ <timestamp> may not be set multiple times");
  EXPECT_EQ(error_of("x @ bar"), "1:5: unexpected identifier \"bar\" in @ modifier, expected timestamp");
  EXPECT_EQ(error_of("sum(x) @ 10"),
            "1:8: @ modifier must be preceded by an instant vector selector or range vector selector or a "
            "subquery");
  EXPECT_EQ(error_of("x @ Inf"), "1:5: timestamp out of bounds for @ modifier: +Inf");
  EXPECT_EQ(error_of("x @ -Inf"), "1:6: timestamp out of bounds for @ modifier: -Inf");
  EXPECT_EQ(error_of("x @ 1e19"), "1:5: timestamp out of bounds for @ modifier: 10000000000000000000.000000");
  EXPECT_EQ(error_of("x[5m:1x]"), "1:6: bad number or duration syntax: \"1x\"");
  EXPECT_EQ(error_of("x[5m:-1m]"), "1:6: unexpected \"-\" in subquery, expected \"]\"");
  EXPECT_EQ(error_of("x[5m:1m:1m]"), "1:8: unexpected \":\" in subquery, expected \"]\"");
  EXPECT_EQ(error_of("x[5m][1m:]"), "1:6: subquery is only allowed on instant vector, got range vector");
  // Escapes as Prometheus's lexer checks them (Go's %#U), at the string's start.
  EXPECT_EQ(error_of("\"\\q\""), "1:1: unknown escape sequence U+0071 'q'");
  EXPECT_EQ(error_of("x{a=\"\\xZZ\"}"), "1:5: illegal character U+005A 'Z' in escape sequence");
  EXPECT_EQ(error_of("\"\\x4\""), "1:1: illegal character U+0022 '\"' in escape sequence");
  EXPECT_EQ(error_of("\"\\'\""), "1:1: unknown escape sequence U+0027 '''");
  EXPECT_EQ(error_of("'\\\"'"), "1:1: unknown escape sequence U+0022 '\"'");
  EXPECT_EQ(error_of("\"\\400\""), "1:1: escape sequence is an invalid Unicode code point");
  EXPECT_EQ(error_of("\"\\uD800\""), "1:1: escape sequence is an invalid Unicode code point");
  EXPECT_EQ(std::get<StringLiteral>(parse("\"\\u00e9\\101\\x41\\t\\\"\"")->node).value,
            "\xc3\xa9"
            "AA\t\"");
  EXPECT_EQ(error_of("sum()"), "1:5: no arguments for aggregate expression provided");
  EXPECT_EQ(error_of("1 + on(a) x"), "1:3: vector matching only allowed between instant vectors");
  EXPECT_EQ(error_of("x + ignoring(a) 1"), "1:3: vector matching only allowed between instant vectors");
}

TEST(Parser, ErrorsNamePositionAndExpectation) {
  EXPECT_EQ(error_of("sum by (job,,) (x)"), "1:13: unexpected \",\" in aggregation, expected label name");
  EXPECT_EQ(error_of("sum(rate(x[5m])) by (instance,)"), "no error");
  EXPECT_EQ(error_of("sum(rate(x[5m]) by ()"),
            "1:17: unexpected identifier \"by\" in aggregation, expected \",\" or \")\"");
  EXPECT_EQ(error_of("rate(x)"),
            "1:6: expected type range vector in call to function \"rate\", got instant vector");
  EXPECT_EQ(error_of("rate(x[5m], 1)"), "1:1: expected 1 argument(s) in call to \"rate\", got 2");
  EXPECT_EQ(error_of("round()"), "1:1: expected at least 1 argument(s) in call to \"round\", got 0");
  EXPECT_EQ(error_of("nope(x)"), "1:1: unknown function with name \"nope\"");
  EXPECT_EQ(error_of("x{a=\"b\""), "1:8: unexpected end of input in label matching, expected \",\" or \"}\"");
  EXPECT_EQ(error_of("x{a~\"b\"}"), "1:4: unexpected character \"~\"");
  EXPECT_EQ(error_of("x{a=b}"), "1:5: unexpected identifier \"b\" in label matching, expected string");
  EXPECT_EQ(error_of("{a=\"\"}"), "1:1: vector selector must contain at least one non-empty matcher");
  EXPECT_EQ(error_of("x{__name__=\"y\"}"), "1:1: metric name must not be set twice: \"x\"");
  EXPECT_EQ(error_of("x[5x]"), "1:3: bad number or duration syntax: \"5x\"");
  EXPECT_EQ(error_of("x[5m"), "1:5: unexpected end of input in range, expected \"]\" or \":\"");
  EXPECT_EQ(error_of("(x + 1)[5m]"), "1:8: ranges only allowed for vector selectors");
  EXPECT_EQ(error_of("rate(x[5m])[5m]"), "1:12: ranges only allowed for vector selectors");
  EXPECT_EQ(error_of("x[5m] + 1"),
            "1:7: binary expression must contain only scalar and instant vector types");
  EXPECT_EQ(error_of("1 > 2"), "1:3: comparisons between scalars must use BOOL modifier");
  EXPECT_EQ(error_of("x + bool 1"), "1:3: bool modifier can only be used on comparison operators");
  EXPECT_EQ(error_of("x and 1"), "1:3: set operator \"and\" not allowed in binary scalar expression");
  EXPECT_EQ(error_of("x and on(a) group_left y"), "1:3: no grouping allowed for \"and\" operation");
  EXPECT_EQ(error_of("x + on(a) group_left(a) y"),
            "1:3: label \"a\" must not occur in ON and GROUP clause at once");
  EXPECT_EQ(error_of("sum(x[5m])"),
            "1:5: expected type instant vector in aggregation expression, got range vector");
  EXPECT_EQ(error_of("topk(x)"),
            "1:1: wrong number of arguments for aggregate expression provided, expected 2, got 1");
  EXPECT_EQ(error_of("-x[5m]"),
            "1:1: unary expression only allowed on expressions of type scalar or instant vector, got \"range "
            "vector\"");
  EXPECT_EQ(error_of("x offset"), "1:9: unexpected end of input in offset, expected duration");
  EXPECT_EQ(error_of("(x) offset 5m"),
            "1:5: offset modifier must be preceded by an instant vector selector or range vector selector or "
            "a subquery");
  EXPECT_EQ(error_of(""), "1:1: no expression found in input");
  EXPECT_EQ(error_of("x )"), "1:3: unexpected \")\"");
  EXPECT_EQ(error_of("x{a=~\"(\"}"),
            "1:6: error parsing regexp \"(\": invalid regular expression \"(\": missing ): ^(?:()$");
  EXPECT_EQ(error_of("\"abc"), "1:1: unterminated quoted string");
  EXPECT_EQ(error_of("sum(\nx\n,)"), "3:2: unexpected \")\", expected expression");
  EXPECT_EQ(error_of("label_replace(x, \"1a\", \"\", \"b\", \"\")"),
            "1:18: invalid destination label name in label_replace(): 1a");
  EXPECT_EQ(error_of(std::string(100000, '(') + "1" + std::string(100000, ')')),
            "1:501: expression nested too deeply (more than 500 levels)");
  EXPECT_EQ(error_of(std::string(400, '-') + "1"), "no error");
  // Issue 21: 30,000 unary minus signs, and a subquery of nested calls, are positioned errors too.
  EXPECT_EQ(error_of(std::string(30000, '-') + "1"),
            "1:501: expression nested too deeply (more than 500 levels)");
  std::string calls;
  for (int i = 0; i < 30000; ++i) calls += "abs(";
  EXPECT_EQ(error_of(calls + "x" + std::string(30000, ')')).substr(0, 6), "1:2001");
}

}  // namespace
}  // namespace tocsin::promql
