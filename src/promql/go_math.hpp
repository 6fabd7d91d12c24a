#pragma once
// Go's math package, bit for bit, as Prometheus runs it: the algorithms of Go 1.19's src/math compiled for
// linux/amd64 (the Debian prometheus 2.42 build), not the C library's. PromQL's math functions and the `^`
// and `atan2` operators call these, so a query gives the very float64 Prometheus gives, down to the last
// bit (the C library is often one unit in the last place away).
//
// What "as compiled for amd64" means here:
//  - Exp and Log are Go's assembly (exp_amd64.s, log_amd64.s), not exp.go and log.go. Exp takes its FMA
//    path when the CPU has AVX2 and FMA (Go's useFMA), so tocsin checks the same CPU features once.
//    log_amd64.s does not normalise subnormal arguments: Log(5e-324) is -709.09, as Go gives, not -744.44.
//  - Everything else is the pure Go code, evaluated left to right in float64 without fused multiply-add
//    (go_math.cpp is compiled with -ffp-contract=off).
// All functions are thread safe and allocate nothing.

namespace tocsin::promql::go_math {

double sin(double x);
double cos(double x);
double tan(double x);
double asin(double x);
double acos(double x);
double atan(double x);
double atan2(double y, double x);
double sinh(double x);
double cosh(double x);
double tanh(double x);
double asinh(double x);
double acosh(double x);
double atanh(double x);
double exp(double x);
double log(double x);
double log10(double x);
double log2(double x);
double log1p(double x);
double pow(double x, double y);

// Whether exp() takes the fused multiply-add path (the CPU has AVX2 and FMA, as Go's useFMA checks).
bool exp_uses_fma();
// exp() on the path the caller names, for tests to check both against Go (Go's is chosen with
// GODEBUG=cpu.fma=off). fma=true needs exp_uses_fma().
double exp_on_path(double x, bool fma);

}  // namespace tocsin::promql::go_math
