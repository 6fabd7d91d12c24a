// Go's math as Prometheus 2.42 runs it (src/promql/go_math.hpp): every result bit for bit, from a table
// of Go's results (taken from promtool 2.42, go1.19.8 linux/amd64, on a CPU with AVX2 and FMA, and again
// with GODEBUG=cpu.fma=off for Exp's plain path), the PromQL engine's use of them, and, where promtool is
// installed, a live comparison over a few hundred values per function.
#include "promql/go_math.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures/process.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/promql/parser.hpp"
#include "tocsin/promql/series_notation.hpp"

namespace tocsin::promql {
namespace {

namespace gm = go_math;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::uint64_t kAnyNaN = 0x7ff8000000000001;  // Go's NaN(); promtool prints only "NaN"

using GoFunction = std::function<double(double, double)>;

// The functions by the name PromQL gives them ("pow" is `^`, "atan2" the operator).
const std::map<std::string, GoFunction>& go_functions() {
  static const std::map<std::string, GoFunction> functions = {
      {"sin", [](double x, double) { return gm::sin(x); }},
      {"cos", [](double x, double) { return gm::cos(x); }},
      {"tan", [](double x, double) { return gm::tan(x); }},
      {"asin", [](double x, double) { return gm::asin(x); }},
      {"acos", [](double x, double) { return gm::acos(x); }},
      {"atan", [](double x, double) { return gm::atan(x); }},
      {"sinh", [](double x, double) { return gm::sinh(x); }},
      {"cosh", [](double x, double) { return gm::cosh(x); }},
      {"tanh", [](double x, double) { return gm::tanh(x); }},
      {"asinh", [](double x, double) { return gm::asinh(x); }},
      {"acosh", [](double x, double) { return gm::acosh(x); }},
      {"atanh", [](double x, double) { return gm::atanh(x); }},
      {"exp", [](double x, double) { return gm::exp(x); }},
      {"ln", [](double x, double) { return gm::log(x); }},
      {"log2", [](double x, double) { return gm::log2(x); }},
      {"log10", [](double x, double) { return gm::log10(x); }},
      {"pow", [](double x, double y) { return gm::pow(x, y); }},
      {"atan2", [](double x, double y) { return gm::atan2(x, y); }},
  };
  return functions;
}

std::uint64_t bits(double v) { return std::bit_cast<std::uint64_t>(v); }

std::string describe(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g (0x%016llx)", v, static_cast<unsigned long long>(bits(v)));
  return buf;
}

// Whether `got` is `want`'s float64 exactly (any NaN for a NaN).
::testing::AssertionResult same_bits(double got, std::uint64_t want) {
  if (want == kAnyNaN ? std::isnan(got) : bits(got) == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << describe(got) << ", Go gives " << describe(std::bit_cast<double>(want));
}

struct GoCase {
  const char* function;
  double x, y;          // y for pow and atan2 only
  std::uint64_t fma;    // Go's result when Exp takes its FMA path (AVX2 and FMA)
  std::uint64_t plain;  // Go's result with GODEBUG=cpu.fma=off (or without FMA)
};

// ±0, ±Inf, NaN, subnormals, huge arguments (Payne-Hanek reduction from 2**29), values next to pi/2 for
// tan, the thresholds where each algorithm changes method, negatives to the logarithms (log_amd64.s does
// not normalise subnormals: ln(5e-324) is -709.09), Pow's and Atan2's documented special cases; then
// values where the C library differs from Go, and one where Exp's two paths differ.
const GoCase kGoCases[] = {
    {"sin", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"sin", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"sin", kInf, 0.0, kAnyNaN, kAnyNaN},
    {"sin", -kInf, 0.0, kAnyNaN, kAnyNaN},
    {"sin", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"sin", 5e-324, 0.0, 0x0000000000000001, 0x0000000000000001},
    {"sin", 1e-300, 0.0, 0x01a56e1fc2f8f359, 0x01a56e1fc2f8f359},
    {"sin", 1.5707963267948966, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"sin", 3.141592653589793, 0.0, 0x3ca1a62633145c00, 0x3ca1a62633145c00},
    {"sin", 536870911.9999999, 0.0, 0x3fd4e67c8721976c, 0x3fd4e67c8721976c},
    {"sin", 536870912.0, 0.0, 0x3fd4e67c0e2622df, 0x3fd4e67c0e2622df},
    {"sin", 1e+22, 0.0, 0xbfeb453ab76bf398, 0xbfeb453ab76bf398},
    {"sin", 1e+300, 0.0, 0xbfea2c16b010e386, 0xbfea2c16b010e386},
    {"sin", -1e+300, 0.0, 0x3fea2c16b010e386, 0x3fea2c16b010e386},
    {"sin", 1.7976931348623157e+308, 0.0, 0x3f7452fc98b34eb0, 0x3f7452fc98b34eb0},
    {"sin", 43.364568366238586, 0.0, 0xbfe288af564dec01, 0xbfe288af564dec01},
    {"sin", -4.004660062726353, 0.0, 0x3fe8509c93ee7b9c, 0x3fe8509c93ee7b9c},
    {"sin", 954747.8181986033, 0.0, 0xbfeb93c3b0ed7816, 0xbfeb93c3b0ed7816},
    {"cos", 0.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"cos", -0.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"cos", kInf, 0.0, kAnyNaN, kAnyNaN},
    {"cos", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"cos", 5e-324, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"cos", 1.5707963267948966, 0.0, 0x3c91a62633145c00, 0x3c91a62633145c00},
    {"cos", 3.141592653589793, 0.0, 0xbff0000000000000, 0xbff0000000000000},
    {"cos", 536870912.0, 0.0, 0xbfee3edd2dfeef90, 0xbfee3edd2dfeef90},
    {"cos", 1e+22, 0.0, 0x3fe0be2cef01c8f3, 0x3fe0be2cef01c8f3},
    {"cos", 1e+300, 0.0, 0xbfe2699022adc4c1, 0xbfe2699022adc4c1},
    {"cos", -1.7976931348623157e+308, 0.0, 0xbfefffe62ecfab75, 0xbfefffe62ecfab75},
    {"cos", -9.068346387644874, 0.0, 0xbfedfd1da654ef07, 0xbfedfd1da654ef07},
    {"cos", 58.16001636624662, 0.0, 0xbfa4c1cfa26df1d4, 0xbfa4c1cfa26df1d4},
    {"cos", -2.552049145485375, 0.0, 0xbfea9925592232c2, 0xbfea9925592232c2},
    {"tan", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"tan", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"tan", kInf, 0.0, kAnyNaN, kAnyNaN},
    {"tan", -kInf, 0.0, kAnyNaN, kAnyNaN},
    {"tan", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"tan", 1e-300, 0.0, 0x01a56e1fc2f8f359, 0x01a56e1fc2f8f359},
    {"tan", 0.7853981633974483, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"tan", 1.5707963267948966, 0.0, 0x434d02967c31cdc0, 0x434d02967c31cdc0},
    {"tan", 1.5707963267948968, 0.0, 0xc33617a154947677, 0xc33617a154947677},
    {"tan", -1.5707963267948963, 0.0, 0xc329153d9443ed0d, 0xc329153d9443ed0d},
    {"tan", 536870912.0, 0.0, 0xbfd61cd8e0ffa035, 0xbfd61cd8e0ffa035},
    {"tan", 1e+22, 0.0, 0xbffa0f79c1b6b259, 0xbffa0f79c1b6b259},
    {"tan", 1e+300, 0.0, 0x3ff6be411f37ac76, 0x3ff6be411f37ac76},
    {"tan", 43.364568366238586, 0.0, 0xbfe6bc4ca941f360, 0xbfe6bc4ca941f360},
    {"tan", -553522.0707859709, 0.0, 0x401ab0ac14ff43d5, 0x401ab0ac14ff43d5},
    {"tan", -9.068346387644874, 0.0, 0x3fd7d4533f2d29c6, 0x3fd7d4533f2d29c6},
    {"asin", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"asin", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"asin", 1.0, 0.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"asin", -1.0, 0.0, 0xbff921fb54442d18, 0xbff921fb54442d18},
    {"asin", 1.0000000000000002, 0.0, kAnyNaN, kAnyNaN},
    {"asin", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"asin", kInf, 0.0, kAnyNaN, kAnyNaN},
    {"asin", 5e-324, 0.0, 0x0000000000000001, 0x0000000000000001},
    {"asin", 0.7, 0.0, 0x3fe8d00e692afd95, 0x3fe8d00e692afd95},
    {"asin", 0.7000000000000001, 0.0, 0x3fe8d00e692afd96, 0x3fe8d00e692afd96},
    {"asin", 0.04758869241228947, 0.0, 0x3fa85fe6dee8c911, 0x3fa85fe6dee8c911},
    {"asin", 0.006197060365574912, 0.0, 0x3f7962215f6b5512, 0x3f7962215f6b5512},
    {"asin", -0.4634092437158217, 0.0, 0xbfded671aa5dd9c9, 0xbfded671aa5dd9c9},
    {"acos", 0.0, 0.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"acos", -0.0, 0.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"acos", 1.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"acos", -1.0, 0.0, 0x400921fb54442d18, 0x400921fb54442d18},
    {"acos", -1.0000000000000002, 0.0, kAnyNaN, kAnyNaN},
    {"acos", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"acos", 5e-324, 0.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"acos", 0.7, 0.0, 0x3fe973e83f5d5c9b, 0x3fe973e83f5d5c9b},
    {"acos", 0.04758869241228947, 0.0, 0x3ff85efc1d4ce6cf, 0x3ff85efc1d4ce6cf},
    {"acos", 0.21577237170178892, 0.0, 0x3ff5a72c1ee4e17c, 0x3ff5a72c1ee4e17c},
    {"acos", 2.3664501377661224e-08, 0.0, 0x3ff921fb4de9f6c8, 0x3ff921fb4de9f6c8},
    {"atan", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"atan", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"atan", kInf, 0.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"atan", -kInf, 0.0, 0xbff921fb54442d18, 0xbff921fb54442d18},
    {"atan", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"atan", 5e-324, 0.0, 0x0000000000000001, 0x0000000000000001},
    {"atan", 0.66, 0.0, 0x3fe2aafdde4d0c9f, 0x3fe2aafdde4d0c9f},
    {"atan", 0.6600000000000001, 0.0, 0x3fe2aafdde4d0c9f, 0x3fe2aafdde4d0c9f},
    {"atan", 2.414213562373095, 0.0, 0x3ff2d97c7f3321d2, 0x3ff2d97c7f3321d2},
    {"atan", 2.4142135623730954, 0.0, 0x3ff2d97c7f3321d2, 0x3ff2d97c7f3321d2},
    {"atan", 1e+300, 0.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"atan", -8.185739733122698, 0.0, 0xbff7301108ce259f, 0xbff7301108ce259f},
    {"atan", 344383625.24917597, 0.0, 0x3ff921fb537ca1fc, 0x3ff921fb537ca1fc},
    {"atan", -553522.0707859709, 0.0, 0xbff921f96f4eb274, 0xbff921f96f4eb274},
    {"sinh", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"sinh", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"sinh", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"sinh", -kInf, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"sinh", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"sinh", 5e-324, 0.0, 0x0000000000000001, 0x0000000000000001},
    {"sinh", 0.5, 0.0, 0x3fe0acd00fe63b97, 0x3fe0acd00fe63b97},
    {"sinh", 0.5000000000000001, 0.0, 0x3fe0acd00fe63b98, 0x3fe0acd00fe63b98},
    {"sinh", 21.0, 0.0, 0x41c3a6e1fd9eecfd, 0x41c3a6e1fd9eecfd},
    {"sinh", 21.000000000000004, 0.0, 0x41c3a6e1fd9eed11, 0x41c3a6e1fd9eed11},
    {"sinh", 710.0, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"sinh", -710.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"sinh", 0.04758869241228947, 0.0, 0x3fa85fe652ed4586, 0x3fa85fe652ed4586},
    {"sinh", 39.66804746507802, 0.0, 0x4372c0414dc819f6, 0x4372c0414dc819f6},
    {"sinh", 0.006197060365574912, 0.0, 0x3f7962215f609cec, 0x3f7962215f609cec},
    {"sinh", 1.0793773816588041, 0.0, 0x3ff4d30677c96e40, 0x3ff4d30677c96e3f},
    {"cosh", 0.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"cosh", -0.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"cosh", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"cosh", -kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"cosh", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"cosh", 21.0, 0.0, 0x41c3a6e1fd9eecfd, 0x41c3a6e1fd9eecfd},
    {"cosh", 21.000000000000004, 0.0, 0x41c3a6e1fd9eed11, 0x41c3a6e1fd9eed11},
    {"cosh", 709.7, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"cosh", 710.0, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"cosh", -710.0, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"cosh", 39.66804746507802, 0.0, 0x4372c0414dc819f6, 0x4372c0414dc819f6},
    {"cosh", 28.79377648901865, 0.0, 0x4277461ba311ebe6, 0x4277461ba311ebe6},
    {"cosh", 46.16952862997658, 0.0, 0x44086547137f629a, 0x44086547137f629a},
    {"cosh", 1.0793773816588041, 0.0, 0x3ffa42dff6ce4902, 0x3ffa42dff6ce4901},
    {"tanh", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"tanh", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"tanh", kInf, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"tanh", -kInf, 0.0, 0xbff0000000000000, 0xbff0000000000000},
    {"tanh", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"tanh", 5e-324, 0.0, 0x0000000000000001, 0x0000000000000001},
    {"tanh", 0.625, 0.0, 0x3fe1bf47eabb8f96, 0x3fe1bf47eabb8f96},
    {"tanh", 0.6249999999999999, 0.0, 0x3fe1bf47eabb8f94, 0x3fe1bf47eabb8f94},
    {"tanh", 44.014845965556525, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"tanh", 44.01484596555653, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"tanh", -30.0, 0.0, 0xbff0000000000000, 0xbff0000000000000},
    {"tanh", 0.1871537100066579, 0.0, 0x3fc7ae0a45548e61, 0x3fc7ae0a45548e61},
    {"tanh", 0.21577237170178892, 0.0, 0x3fcb32b5029c2c43, 0x3fcb32b5029c2c43},
    {"tanh", 0.11288783515843548, 0.0, 0x3fbcc6f32265cd44, 0x3fbcc6f32265cd44},
    {"tanh", -1.588863080394285, 0.0, 0xbfed706f0ea29109, 0xbfed706f0ea2910a},
    {"asinh", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"asinh", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"asinh", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"asinh", -kInf, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"asinh", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"asinh", 5e-324, 0.0, 0x0000000000000001, 0x0000000000000001},
    {"asinh", 3.725290298461914e-09, 0.0, 0x3e30000000000000, 0x3e30000000000000},
    {"asinh", 2.0, 0.0, 0x3ff719218313d087, 0x3ff719218313d087},
    {"asinh", 2.0000000000000004, 0.0, 0x3ff719218313d088, 0x3ff719218313d088},
    {"asinh", 268435456.0, 0.0, 0x403419ecb712c481, 0x403419ecb712c481},
    {"asinh", 268435456.00000006, 0.0, 0x403419ecb712c480, 0x403419ecb712c480},
    {"asinh", 1e+300, 0.0, 0x40859bbfd8b83e43, 0x40859bbfd8b83e43},
    {"asinh", 2.865337231724836, 0.0, 0x3ffc66511ccab75e, 0x3ffc66511ccab75e},
    {"asinh", 2.400879971669945, 0.0, 0x3ff9c1a4cde42c1e, 0x3ff9c1a4cde42c1e},
    {"asinh", 3.1234435724983056, 0.0, 0x3ffdb55b25c791d8, 0x3ffdb55b25c791d8},
    {"acosh", 1.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"acosh", 0.9999999999999999, 0.0, kAnyNaN, kAnyNaN},
    {"acosh", 1.0000000000000002, 0.0, 0x3e56a09e667f3bcd, 0x3e56a09e667f3bcd},
    {"acosh", 2.0, 0.0, 0x3ff5124271980434, 0x3ff5124271980434},
    {"acosh", 2.0000000000000004, 0.0, 0x3ff5124271980436, 0x3ff5124271980436},
    {"acosh", 268435456.0, 0.0, 0x403419ecb712c480, 0x403419ecb712c480},
    {"acosh", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"acosh", -kInf, 0.0, kAnyNaN, kAnyNaN},
    {"acosh", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"acosh", 0.0, 0.0, kAnyNaN, kAnyNaN},
    {"acosh", 1e+300, 0.0, 0x40859bbfd8b83e43, 0x40859bbfd8b83e43},
    {"acosh", 2.3771006344083165, 0.0, 0x3ff82f3210e8e954, 0x3ff82f3210e8e954},
    {"acosh", 2.896026425081512, 0.0, 0x3ffb9a9fbe80007c, 0x3ffb9a9fbe80007c},
    {"acosh", 9.648810808295941, 0.0, 0x4007a88564a2a26a, 0x4007a88564a2a26a},
    {"atanh", 0.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"atanh", -0.0, 0.0, 0x8000000000000000, 0x8000000000000000},
    {"atanh", 1.0, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"atanh", -1.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"atanh", 1.0000000000000002, 0.0, kAnyNaN, kAnyNaN},
    {"atanh", 0.5, 0.0, 0x3fe193ea7aad030a, 0x3fe193ea7aad030a},
    {"atanh", 0.49999999999999994, 0.0, 0x3fe193ea7aad030a, 0x3fe193ea7aad030a},
    {"atanh", 3.725290298461914e-09, 0.0, 0x3e30000000000000, 0x3e30000000000000},
    {"atanh", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"atanh", kInf, 0.0, kAnyNaN, kAnyNaN},
    {"exp", 0.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"exp", -0.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"exp", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"exp", -kInf, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"exp", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"exp", 5e-324, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"exp", 1.0, 0.0, 0x4005bf0a8b145769, 0x4005bf0a8b145769},
    {"exp", 709.43, 0.0, 0x7fe67d2a40c95257, 0x7fe67d2a40c95256},
    {"exp", 709.44, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"exp", 709.782712893384, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"exp", 709.79, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"exp", -708.39, 0.0, 0x00101a5ff6ed496b, 0x00101a5ff6ed496b},
    {"exp", -740.0, 0.0, 0x0000000000000055, 0x0000000000000055},
    {"exp", -745.13, 0.0, 0x0000000000000001, 0x0000000000000001},
    {"exp", -745.2, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"exp", -1e+300, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"exp", 1e+300, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"exp", -8.185739733122698, 0.0, 0x3f32421a6d1d246b, 0x3f32421a6d1d246b},
    {"exp", 39.66804746507802, 0.0, 0x4382c0414dc819f6, 0x4382c0414dc819f6},
    {"exp", 28.79377648901865, 0.0, 0x4287461ba311ebe6, 0x4287461ba311ebe6},
    {"exp", 1.0793773816588041, 0.0, 0x40078af3374bdba1, 0x40078af3374bdba0},
    {"ln", 0.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"ln", -0.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"ln", -1.0, 0.0, kAnyNaN, kAnyNaN},
    {"ln", -kInf, 0.0, kAnyNaN, kAnyNaN},
    {"ln", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"ln", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"ln", 5e-324, 0.0, 0xc08628b76e3a7b61, 0xc08628b76e3a7b61},
    {"ln", 1e-310, 0.0, 0xc08628ae3f3c2ff6, 0xc08628ae3f3c2ff6},
    {"ln", 2.2250738585072014e-308, 0.0, 0xc086232bdd7abcd2, 0xc086232bdd7abcd2},
    {"ln", 0.7071067811865476, 0.0, 0xbfd62e42fefa39ee, 0xbfd62e42fefa39ee},
    {"ln", 1.4142135623730951, 0.0, 0x3fd62e42fefa39f0, 0x3fd62e42fefa39f0},
    {"ln", 1.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"ln", 1.7976931348623157e+308, 0.0, 0x40862e42fefa39ef, 0x40862e42fefa39ef},
    {"ln", 2.865337231724836, 0.0, 0x3ff0d7cd5407d202, 0x3ff0d7cd5407d202},
    {"ln", 28.79377648901865, 0.0, 0x400ae19b2ee44a34, 0x400ae19b2ee44a34},
    {"ln", 2.8459590086907998, 0.0, 0x3ff0bc01bd510ade, 0x3ff0bc01bd510ade},
    {"log2", 0.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"log2", -0.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"log2", -1.0, 0.0, kAnyNaN, kAnyNaN},
    {"log2", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"log2", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"log2", 0.5, 0.0, 0xbff0000000000000, 0xbff0000000000000},
    {"log2", 1.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"log2", 2.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"log2", 1024.0, 0.0, 0x4024000000000000, 0x4024000000000000},
    {"log2", 5e-324, 0.0, 0xc090c80000000000, 0xc090c80000000000},
    {"log2", 1e-310, 0.0, 0xc0901730dabca5f6, 0xc0901730dabca5f6},
    {"log2", 0.7071067811865476, 0.0, 0xbfdffffffffffffe, 0xbfdffffffffffffe},
    {"log2", 3.0, 0.0, 0x3ff95c01a39fbd69, 0x3ff95c01a39fbd69},
    {"log2", 2.865337231724836, 0.0, 0x3ff84c9d8e68bb08, 0x3ff84c9d8e68bb08},
    {"log2", 2.023208698368201, 0.0, 0x3ff0442db301c01a, 0x3ff0442db301c01a},
    {"log2", 1.0765814818201296, 0.0, 0x3fbb40ccb969fd08, 0x3fbb40ccb969fd08},
    {"log10", 0.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"log10", -0.0, 0.0, 0xfff0000000000000, 0xfff0000000000000},
    {"log10", -1.0, 0.0, kAnyNaN, kAnyNaN},
    {"log10", kInf, 0.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"log10", kNaN, 0.0, kAnyNaN, kAnyNaN},
    {"log10", 1.0, 0.0, 0x0000000000000000, 0x0000000000000000},
    {"log10", 10.0, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"log10", 100.0, 0.0, 0x4000000000000000, 0x4000000000000000},
    {"log10", 1000.0, 0.0, 0x4008000000000000, 0x4008000000000000},
    {"log10", 5e-324, 0.0, 0xc0733f424bcb5221, 0xc0733f424bcb5221},
    {"log10", 1e-310, 0.0, 0xc0733f3a51bf529c, 0xc0733f3a51bf529c},
    {"log10", 1e+22, 0.0, 0x4036000000000000, 0x4036000000000000},
    {"log10", 43.364568366238586, 0.0, 0x3ffa31b47fc3100f, 0x3ffa31b47fc3100f},
    {"log10", 2.865337231724836, 0.0, 0x3fdd425e0c25fabd, 0x3fdd425e0c25fabd},
    {"log10", 39.66804746507802, 0.0, 0x3ff99336af89d7c5, 0x3ff99336af89d7c5},
    {"pow", 0.0, -3.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", -0.0, -3.0, 0xfff0000000000000, 0xfff0000000000000},
    {"pow", 0.0, -2.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", -0.0, -2.5, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", -0.0, 3.0, 0x8000000000000000, 0x8000000000000000},
    {"pow", -0.0, 2.0, 0x0000000000000000, 0x0000000000000000},
    {"pow", 0.0, 3.0, 0x0000000000000000, 0x0000000000000000},
    {"pow", 0.0, -kInf, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", -0.0, -kInf, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", 0.0, kInf, 0x0000000000000000, 0x0000000000000000},
    {"pow", -1.0, kInf, 0x3ff0000000000000, 0x3ff0000000000000},
    {"pow", -1.0, -kInf, 0x3ff0000000000000, 0x3ff0000000000000},
    {"pow", 2.0, kInf, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", 0.5, kInf, 0x0000000000000000, 0x0000000000000000},
    {"pow", 2.0, -kInf, 0x0000000000000000, 0x0000000000000000},
    {"pow", 0.5, -kInf, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", kInf, 2.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", kInf, -2.0, 0x0000000000000000, 0x0000000000000000},
    {"pow", -kInf, 3.0, 0xfff0000000000000, 0xfff0000000000000},
    {"pow", -kInf, -3.0, 0x8000000000000000, 0x8000000000000000},
    {"pow", -kInf, 2.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", -kInf, 0.5, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", -8.0, 0.3333333333333333, kAnyNaN, kAnyNaN},
    {"pow", 2.0, 0.5, 0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcd},
    {"pow", 2.0, -0.5, 0x3fe6a09e667f3bcc, 0x3fe6a09e667f3bcc},
    {"pow", -4.0, 0.5, kAnyNaN, kAnyNaN},
    {"pow", kNaN, 0.0, 0x3ff0000000000000, 0x3ff0000000000000},
    {"pow", 1.0, kNaN, 0x3ff0000000000000, 0x3ff0000000000000},
    {"pow", kNaN, 1.0, kAnyNaN, kAnyNaN},
    {"pow", 3.0, 1.0, 0x4008000000000000, 0x4008000000000000},
    {"pow", 7.3, 2.7, 0x406ac8cdaeef99a6, 0x406ac8cdaeef99a6},
    {"pow", 2.0, 1024.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", 2.0, -1074.0, 0x0000000000000001, 0x0000000000000001},
    {"pow", 2.0, -1075.0, 0x0000000000000000, 0x0000000000000000},
    {"pow", 10.0, 308.5, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", 1.5, 127.0, 0x449390c266d79b9b, 0x449390c266d79b9b},
    {"pow", 1.5, -128.0, 0x3b417219a773288b, 0x3b417219a773288b},
    {"pow", 1.1, 1e+19, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", -1.0, 1e+19, 0x3ff0000000000000, 0x3ff0000000000000},
    {"pow", 0.99, -1e+19, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", 5e-324, 0.5, 0x1e60000000000000, 0x1e60000000000000},
    {"pow", 5e-324, -1.0, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", 1e+308, 1.5, 0x7ff0000000000000, 0x7ff0000000000000},
    {"pow", 57.442371025867104, 35.0, 0x4cb749be93ea3687, 0x4cb749be93ea3687},
    {"pow", 63.06259157317371, -109.0, 0x1733fa565c272c90, 0x1733fa565c272c90},
    {"pow", 12.284223076219492, 98.0, 0x5618dd4045fdf7d3, 0x5618dd4045fdf7d3},
    {"pow", -2.0, 3.0, 0xc020000000000000, 0xc020000000000000},
    {"pow", -2.0, -3.0, 0xbfc0000000000000, 0xbfc0000000000000},
    {"pow", -2.5, 3.5, kAnyNaN, kAnyNaN},
    {"pow", 45.23795535098186, 4.78179088643968, 0x4193a941aa76d44e, 0x4193a941aa76d44e},
    {"pow", 92.42105840237294, -2.7479943920181356, 0x3ed09fb6973f5a59, 0x3ed09fb6973f5a59},
    {"pow", 50.78412730622711, 6.990786307991755, 0x426873f016939a52, 0x426873f016939a52},
    {"pow", 84.65836218811786, -9.07891746352524, 0x3c4d16e039b80bd9, 0x3c4d16e039b80bd7},
    {"atan2", kNaN, 1.0, kAnyNaN, kAnyNaN},
    {"atan2", 1.0, kNaN, kAnyNaN, kAnyNaN},
    {"atan2", 0.0, 1.0, 0x0000000000000000, 0x0000000000000000},
    {"atan2", -0.0, 1.0, 0x8000000000000000, 0x8000000000000000},
    {"atan2", 0.0, -0.0, 0x400921fb54442d18, 0x400921fb54442d18},
    {"atan2", -0.0, -0.0, 0xc00921fb54442d18, 0xc00921fb54442d18},
    {"atan2", 0.0, -1.0, 0x400921fb54442d18, 0x400921fb54442d18},
    {"atan2", -0.0, -1.0, 0xc00921fb54442d18, 0xc00921fb54442d18},
    {"atan2", 1.0, 0.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"atan2", -1.0, -0.0, 0xbff921fb54442d18, 0xbff921fb54442d18},
    {"atan2", kInf, kInf, 0x3fe921fb54442d18, 0x3fe921fb54442d18},
    {"atan2", -kInf, kInf, 0xbfe921fb54442d18, 0xbfe921fb54442d18},
    {"atan2", kInf, -kInf, 0x4002d97c7f3321d2, 0x4002d97c7f3321d2},
    {"atan2", -kInf, -kInf, 0xc002d97c7f3321d2, 0xc002d97c7f3321d2},
    {"atan2", 1.0, kInf, 0x0000000000000000, 0x0000000000000000},
    {"atan2", -1.0, kInf, 0x8000000000000000, 0x8000000000000000},
    {"atan2", 1.0, -kInf, 0x400921fb54442d18, 0x400921fb54442d18},
    {"atan2", -1.0, -kInf, 0xc00921fb54442d18, 0xc00921fb54442d18},
    {"atan2", kInf, 1.0, 0x3ff921fb54442d18, 0x3ff921fb54442d18},
    {"atan2", -kInf, -5.0, 0xbff921fb54442d18, 0xbff921fb54442d18},
    {"atan2", 1e-300, 1e+300, 0x0000000000000000, 0x0000000000000000},
    {"atan2", 5e-324, -1.0, 0x400921fb54442d18, 0x400921fb54442d18},
    {"atan2", -35.63925006279503, -48.11533256157428, 0xc00408545dd9df4e, 0xc00408545dd9df4e},
    {"atan2", 73.84911598266388, 3.2250644730276434, 0x3ff86f380c5de30d, 0x3ff86f380c5de30d},
    {"atan2", 27.393310877196456, 98.62377288862649, 0x3fd156db53061e3a, 0x3fd156db53061e3a},
};

TEST(GoMathTest, GivesGosResultsBitForBit) {
  for (const GoCase& c : kGoCases) {
    const std::uint64_t want = gm::exp_uses_fma() ? c.fma : c.plain;
    EXPECT_TRUE(same_bits(go_functions().at(c.function)(c.x, c.y), want))
        << c.function << "(" << describe(c.x) << ", " << describe(c.y) << ")";
  }
}

TEST(GoMathTest, ExpGivesGosResultsOnBothPaths) {
  for (const GoCase& c : kGoCases) {
    if (std::string(c.function) != "exp") continue;
    EXPECT_TRUE(same_bits(gm::exp_on_path(c.x, false), c.plain))
        << "exp(" << describe(c.x) << ") without FMA";
    if (gm::exp_uses_fma()) {
      EXPECT_TRUE(same_bits(gm::exp_on_path(c.x, true), c.fma)) << "exp(" << describe(c.x) << ") with FMA";
    }
  }
}

// The engine's math functions and the `^` and `atan2` operators are these (each value below is one where
// the C library differs from Go in the last bit).
TEST(GoMathTest, PromqlUsesGoMath) {
  MemoryQuerier data;
  const auto eval = [&](const std::string& query) {
    Value v = Engine().instant(data, *parse(query), 0);
    const Vector& vector = std::get<Vector>(v);
    EXPECT_EQ(vector.size(), 1u) << query;
    return vector.empty() ? kNaN : vector[0].v;
  };
  const auto literal = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  for (const GoCase& c : kGoCases) {
    if (!std::isfinite(c.x) || !std::isfinite(c.y) || c.x == 0) continue;
    const std::string function = c.function, x = literal(c.x), y = literal(c.y);
    const std::string query = function == "pow"     ? "vector(" + x + ") ^ " + y
                              : function == "atan2" ? "vector(" + x + ") atan2 " + y
                                                    : function + "(vector(" + x + "))";
    EXPECT_TRUE(same_bits(eval(query), gm::exp_uses_fma() ? c.fma : c.plain)) << query;
  }
}

// ---- live: promtool's results beside ours ----

// 330 arguments: the special values, and seeded pseudo-random ones in [-1, 1], [-30, 30], [-750, 750] and
// magnitudes from 1e-300 to 1e300.
std::vector<double> live_arguments() {
  std::vector<double> xs = {0.0,
                            -0.0,
                            kInf,
                            -kInf,
                            kNaN,
                            5e-324,
                            -1e-310,
                            1.0,
                            -1.0,
                            0.5,
                            2.0,
                            1.5707963267948966,
                            3.141592653589793,
                            536870912.0,
                            1e22,
                            1e300,
                            709.78,
                            -745.2,
                            0.7071067811865476,
                            1.4142135623730951};
  std::mt19937_64 random(20230301);
  std::uniform_real_distribution<double> unit(-1, 1), exponent(-300, 300);
  for (int i = 0; i < 100; i++) xs.push_back(unit(random));
  for (int i = 0; i < 80; i++) xs.push_back(30 * unit(random));
  for (int i = 0; i < 60; i++) xs.push_back(750 * unit(random));
  for (int i = 0; i < 70; i++) xs.push_back((unit(random) < 0 ? -1 : 1) * std::pow(10.0, exponent(random)));
  return xs;
}

// Exponents for `^` and second arguments for atan2, one per argument: integers, small and large
// fractions, and the specials.
std::vector<double> live_second_arguments(std::size_t n) {
  std::vector<double> ys;
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> unit(-1, 1);
  const double specials[] = {0.0, -0.0, kInf, -kInf, kNaN, 0.5, -0.5, 1.0, 3.0, -3.0};
  for (std::size_t i = 0; i < n; i++) {
    if (i % 11 == 0)
      ys.push_back(specials[(i / 11) % std::size(specials)]);
    else if (i % 3 == 0)
      ys.push_back(std::round(40 * unit(random)));
    else
      ys.push_back(40 * unit(random));
  }
  return ys;
}

std::string series_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A promtool test file with series x{i="N"} and y{i="N"} and one failing expression test per query, so
// that promtool prints every value it got.
std::string promtool_tests(const std::vector<double>& xs, const std::vector<double>& ys,
                           const std::vector<std::string>& queries) {
  std::ostringstream out;
  out << "rule_files: []\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n";
  for (std::size_t i = 0; i < xs.size(); i++) {
    out << "  - series: 'x{i=\"" << i << "\"}'\n    values: '" << series_value(xs[i]) << "'\n";
    out << "  - series: 'y{i=\"" << i << "\"}'\n    values: '" << series_value(ys[i]) << "'\n";
  }
  out << "  promql_expr_test:\n";
  for (const auto& q : queries)
    out << "  - expr: '" << q << "'\n    eval_time: 0m\n    exp_samples:\n    - labels: '{i=\"none\"}'\n"
        << "      value: 0\n";
  return out.str();
}

// promtool's values per query, by the i label, parsed from its "got:" lines.
std::map<std::string, std::map<std::size_t, double>> promtool_values(const std::string& output) {
  std::map<std::string, std::map<std::size_t, double>> values;
  static const std::regex expr_line(R"re(expr: "([^"]*)")re");
  static const std::regex sample(R"re(\{[^}]*i="(\d+)"[^}]*\} ([^ ,]+))re");
  std::istringstream in(output);
  std::string line, query;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, expr_line)) query = m[1];
    const auto got = line.find("got:");
    if (got == std::string::npos || query.empty()) continue;
    const std::string samples = line.substr(got);
    for (std::sregex_iterator it(samples.begin(), samples.end(), sample), end; it != end; ++it)
      values[query][std::stoul((*it)[1])] = std::strtod((*it)[2].str().c_str(), nullptr);
  }
  return values;
}

std::string query_of(const std::string& function) {
  if (function == "pow") return "x ^ y";
  if (function == "atan2") return "x atan2 y";
  return function + "(x)";
}

TEST(GoMathLiveTest, AgreesWithPromtoolBitForBit) {
  const auto promtool = testing::find_executable("promtool");
  if (!promtool) GTEST_SKIP() << "promtool is not installed";
  const std::vector<double> xs = live_arguments();
  const std::vector<double> ys = live_second_arguments(xs.size());
  std::vector<std::string> queries;
  for (const auto& [function, fn] : go_functions()) queries.push_back(query_of(function));
  testing::TempDir dir("go-math");
  const auto file = dir.write("math_test.yaml", promtool_tests(xs, ys, queries));

  // Go picks Exp's path by the CPU, as we do; GODEBUG=cpu.fma=off gives its plain path for ours.
  for (const bool plain : {false, true}) {
    testing::ProcessOptions options;
    if (plain) options.env.push_back("GODEBUG=cpu.fma=off");
    const auto result = testing::run_command({*promtool, "test", "rules", file.string()}, options);
    const auto values = promtool_values(result.output);
    ASSERT_EQ(values.size(), queries.size()) << result.output.substr(0, 2000);
    for (const auto& [function, fn] : go_functions()) {
      if (plain && function != "exp") continue;
      const auto& got = values.at(query_of(function));
      ASSERT_EQ(got.size(), xs.size()) << function;
      int differ = 0;
      for (const auto& [i, want] : got) {
        const double ours = plain ? gm::exp_on_path(xs[i], false) : fn(xs[i], ys[i]);
        if (std::isnan(want) ? std::isnan(ours) : bits(ours) == bits(want)) continue;
        if (++differ <= 3)
          ADD_FAILURE() << function << "(" << describe(xs[i]) << ", " << describe(ys[i]) << "): ours "
                        << describe(ours) << ", promtool " << describe(want) << (plain ? " (no FMA)" : "");
      }
      EXPECT_EQ(differ, 0) << function << ": values that differ from promtool's, of " << got.size();
    }
  }
}

}  // namespace
}  // namespace tocsin::promql
