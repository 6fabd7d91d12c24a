// Go 1.19's math functions for linux/amd64 in C++ (see go_math.hpp). Each function follows the Go source
// (or, for Exp and Log, the amd64 assembly) operation by operation: the same constants, the same order of
// float64 operations, the same special cases. This file must be compiled without FP contraction
// (-ffp-contract=off, set in CMakeLists.txt): a fused a*b+c rounds once where Go rounds twice.

#include "promql/go_math.hpp"

#include <emmintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace tocsin::promql::go_math {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Go's untyped constants rounded to float64 (exactly, as Go's compiler does; hex to leave no doubt).
constexpr double kPi = 0x1.921fb54442d18p+1;
constexpr double kPi2 = 0x1.921fb54442d18p+0;      // Pi/2
constexpr double kPi4 = 0x1.921fb54442d18p-1;      // Pi/4
constexpr double k3Pi4 = 0x1.2d97c7f3321d2p+1;     // 3*Pi/4
constexpr double k4OverPi = 0x1.45f306dc9c883p+0;  // 4/Pi
constexpr double kInvLn2 = 0x1.71547652b82fep+0;   // 1/Ln2
constexpr double kInvLn10 = 0x1.bcb7b1526e50ep-2;  // 1/Ln10

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }
double from_bits(std::uint64_t b) { return std::bit_cast<double>(b); }

// Go's shifts of a uint64 by 64 or more give 0 (C++'s are undefined).
std::uint64_t shl(std::uint64_t v, unsigned n) { return n >= 64 ? 0 : v << n; }
std::uint64_t shr(std::uint64_t v, unsigned n) { return n >= 64 ? 0 : v >> n; }

// Go's Frexp (exact, as std::frexp), by bits for normal numbers: the C library's is a call.
double frexp(double x, int* e) {
  const std::uint64_t b = bits(x);
  const int biased = static_cast<int>((b >> 52) & 0x7ff);
  if (biased == 0 || biased == 0x7ff) {  // ±0, subnormal, ±Inf, NaN
    *e = 0;
    return std::isfinite(x) ? std::frexp(x, e) : x;
  }
  *e = biased - 1022;
  return from_bits((b & ~(std::uint64_t{0x7ff} << 52)) | (std::uint64_t{0x3fe} << 52));
}

// Go's Ldexp (rounds once, as std::ldexp): one exact multiplication when x and the result are normal.
double ldexp(double x, long e) {
  const int biased = static_cast<int>((bits(x) >> 52) & 0x7ff);
  if (biased != 0 && biased != 0x7ff && e >= -1022 && e <= 1023 && biased + e >= 1 && biased + e <= 0x7fe)
    return x * from_bits(static_cast<std::uint64_t>(e + 1023) << 52);
  // Out of int's range the result is 0 or Inf all the same.
  return std::ldexp(x, static_cast<int>(std::clamp(e, -100000L, 100000L)));
}

// ---- trigonometric (sin.go, tan.go, trig_reduce.go) ----

// Pi/4 in three parts, for the extended precision reduction of arguments below 2**29.
constexpr double kPI4A = 7.85398125648498535156e-1;   // 0x3fe921fb40000000
constexpr double kPI4B = 3.77489470793079817668e-8;   // 0x3e64442d00000000
constexpr double kPI4C = 2.69515142907905952645e-15;  // 0x3ce8469898cc5170
constexpr double kReduceThreshold = 1 << 29;

// The binary digits of 4/pi, 4/pi = Sum mPi4[i]*2^(-64*i).
constexpr std::uint64_t kMPi4[] = {
    0x0000000000000001, 0x45f306dc9c882a53, 0xf84eafa3ea69bb81, 0xb6c52b3278872083, 0xfca2c757bd778ac3,
    0x6e48dc74849ba5c0, 0x0c925dd413a32439, 0xfc3bd63962534e7d, 0xd1046bea5d768909, 0xd338e04d68befc82,
    0x7323ac7306a673e9, 0x3908bf177bf25076, 0x3ff12fffbc0b301f, 0xde5e2316b414da3e, 0xda6cfd9e4f96136e,
    0x9e8c7ecd3cbfd45a, 0xea4f758fd7cbe2f6, 0x7a0e73ef14a525d4, 0xd7f6bf623f1aba10, 0xac06608df8f6d757,
};

// bits.Mul64's 128-bit product (__extension__: -Wpedantic otherwise warns of the GNU type).
__extension__ typedef unsigned __int128 Uint128;

struct Reduced {
  std::uint64_t j;  // octant
  double z;         // the remainder, in radians
};

// Payne-Hanek reduction of x >= 2**29 by Pi/4 (Go's trigReduce).
Reduced trig_reduce(double x) {
  if (x < kPi4) return {0, x};
  std::uint64_t ix = bits(x);
  const int exp = static_cast<int>((ix >> 52) & 0x7ff) - 1023 - 52;
  ix &= ~(std::uint64_t{0x7ff} << 52);
  ix |= std::uint64_t{1} << 52;
  const unsigned digit = static_cast<unsigned>(exp + 61) / 64,
                 bitshift = static_cast<unsigned>(exp + 61) % 64;
  const std::uint64_t z0 = shl(kMPi4[digit], bitshift) | shr(kMPi4[digit + 1], 64 - bitshift);
  const std::uint64_t z1 = shl(kMPi4[digit + 1], bitshift) | shr(kMPi4[digit + 2], 64 - bitshift);
  const std::uint64_t z2 = shl(kMPi4[digit + 2], bitshift) | shr(kMPi4[digit + 3], 64 - bitshift);
  const auto z2ix = static_cast<Uint128>(z2) * ix;
  const auto z1ix = static_cast<Uint128>(z1) * ix;
  const auto z2hi = static_cast<std::uint64_t>(z2ix >> 64);
  const auto z1hi = static_cast<std::uint64_t>(z1ix >> 64), z1lo = static_cast<std::uint64_t>(z1ix);
  const std::uint64_t z0lo = z0 * ix;
  const std::uint64_t lo = z1lo + z2hi;
  const std::uint64_t carry = lo < z1lo ? 1 : 0;
  std::uint64_t hi = z0lo + z1hi + carry;
  std::uint64_t j = hi >> 61;
  hi = hi << 3 | lo >> 61;
  const auto lz = static_cast<unsigned>(std::countl_zero(hi));
  const std::uint64_t e = 1023 - (lz + 1);
  hi = shl(hi, lz + 1) | shr(lo, 64 - (lz + 1));
  hi >>= 64 - 52;
  hi |= e << 52;
  double z = from_bits(hi);
  if ((j & 1) == 1) {
    j++;
    j &= 7;
    z--;
  }
  return {j, z * kPi4};
}

// x >= 0 reduced to its octant and remainder, as sin, cos and tan do.
Reduced reduce(double x) {
  if (x >= kReduceThreshold) return trig_reduce(x);
  std::uint64_t j = static_cast<std::uint64_t>(x * k4OverPi);
  double y = static_cast<double>(j);
  if ((j & 1) == 1) {  // map zeros to origin
    j++;
    y++;
  }
  return {j, ((x - y * kPI4A) - y * kPI4B) - y * kPI4C};
}

constexpr double kSin[] = {
    1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
    -1.98412698295895385996e-4, 8.33333333332211858878e-3,  -1.66666666666666307295e-1,
};
constexpr double kCos[] = {
    -1.13585365213876817300e-11, 2.08757008419747316778e-9,  -2.75573141792967388112e-7,
    2.48015872888517045348e-5,   -1.38888888888730564116e-3, 4.16666666666665929218e-2,
};

double sin_poly(double z, double zz) {
  return z +
         z * zz *
             ((((((kSin[0] * zz) + kSin[1]) * zz + kSin[2]) * zz + kSin[3]) * zz + kSin[4]) * zz + kSin[5]);
}
double cos_poly(double zz) {
  return 1.0 - 0.5 * zz +
         zz * zz *
             ((((((kCos[0] * zz) + kCos[1]) * zz + kCos[2]) * zz + kCos[3]) * zz + kCos[4]) * zz + kCos[5]);
}

// ---- arctangent (atan.go) ----

// A series valid in [0, 0.66].
double xatan(double x) {
  constexpr double P0 = -8.750608600031904122785e-01, P1 = -1.615753718733365076637e+01,
                   P2 = -7.500855792314704667340e+01, P3 = -1.228866684490136173410e+02,
                   P4 = -6.485021904942025371773e+01, Q0 = +2.485846490142306297962e+01,
                   Q1 = +1.650270098316988542046e+02, Q2 = +4.328810604912902668951e+02,
                   Q3 = +4.853903996359136964868e+02, Q4 = +1.945506571482613964425e+02;
  double z = x * x;
  z = z * ((((P0 * z + P1) * z + P2) * z + P3) * z + P4) /
      (((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4);
  z = x * z + x;
  return z;
}

// atan of x > 0, reduced to [0, 0.66].
double satan(double x) {
  constexpr double kMorebits = 6.123233995736765886130e-17;  // pi/2 = PIO2 + Morebits
  constexpr double kTan3pio8 = 2.41421356237309504880;       // tan(3*pi/8)
  if (x <= 0.66) return xatan(x);
  if (x > kTan3pio8) return kPi2 - xatan(1 / x) + kMorebits;
  return kPi4 + xatan((x - 1) / (x + 1)) + 0.5 * kMorebits;
}

// ---- exp_amd64.s ----

constexpr double kExpLog2e = 1.4426950408889634073599246810018920;
constexpr double kExpLn2U = 0.69314718055966295651160180568695068359375;
constexpr double kExpLn2L = 0.28235290563031577122588448175013436025525412068e-12;
constexpr double kExpOverflow = 7.09782712893384e+02;
constexpr double kExpC2 = 1.6666666666666666667e-1, kExpC3 = 4.1666666666666666667e-2,
                 kExpC4 = 8.3333333333333333333e-3, kExpC5 = 1.3888888888888888889e-3,
                 kExpC6 = 1.9841269841269841270e-4, kExpC7 = 2.4801587301587301587e-5;

// The Taylor series and squarings of exp_amd64.s without FMA: fr with exp(x) = fr * 2**k.
double exp_kernel_plain(double x, double k) {
  x = x - k * kExpLn2U;
  x = x - k * kExpLn2L;
  x *= 0.0625;
  double p = kExpC7;
  p = p * x + kExpC6;
  p = p * x + kExpC5;
  p = p * x + kExpC4;
  p = p * x + kExpC3;
  p = p * x + kExpC2;
  p = p * x + 0.5;
  p = p * x + 1.0;
  x = x * p;
  for (int i = 0; i < 4; i++) x = x * (x + 2.0);
  return x + 1.0;
}

// The same with the assembly's VFMADD/VFNMADD instructions.
__attribute__((target("avx2,fma"))) double exp_kernel_fma(double x, double k) {
  x = __builtin_fma(-k, kExpLn2U, x);
  x = __builtin_fma(-k, kExpLn2L, x);
  x *= 0.0625;
  double p = kExpC7;
  p = __builtin_fma(p, x, kExpC6);
  p = __builtin_fma(p, x, kExpC5);
  p = __builtin_fma(p, x, kExpC4);
  p = __builtin_fma(p, x, kExpC3);
  p = __builtin_fma(p, x, kExpC2);
  p = __builtin_fma(p, x, 0.5);
  p = __builtin_fma(p, x, 1.0);
  x = x * p;
  for (int i = 0; i < 3; i++) x = x * (x + 2.0);
  return __builtin_fma(x, x + 2.0, 1.0);
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
const bool kUseFma = cpu_has_avx2_fma();

}  // namespace

bool exp_uses_fma() { return kUseFma; }

double exp_on_path(double x, bool fma) {
  const std::uint64_t bx = bits(x);
  if ((bx & ~(std::uint64_t{1} << 63)) >= 0x7ff0000000000000) {  // not finite
    if (bx == 0xfff0000000000000) return 0;                      // -Inf
    return x;                                                    // NaN or +Inf
  }
  if (x > kExpOverflow) return kInf;
  // CVTSD2SL: rounds to nearest (the default MXCSR), 0x80000000 when out of range.
  int k = _mm_cvtsd_si32(_mm_set_sd(kExpLog2e * x));
  const double kd = static_cast<double>(k);
  double fr = fma ? exp_kernel_fma(x, kd) : exp_kernel_plain(x, kd);
  // fr * 2**k, in the assembly's two steps when the result is subnormal.
  k += 0x3ff;
  if (k <= 0) {
    if (k < -52) return 0;
    k += 0x3fe;
    fr *= from_bits(static_cast<std::uint64_t>(k) << 52);
    k = 1;
  } else if (k >= 0x7ff) {
    return kInf;
  }
  return fr * from_bits(static_cast<std::uint64_t>(k) << 52);
}

double exp(double x) { return exp_on_path(x, kUseFma); }

double log(double x) {
  // log_amd64.s: the special cases by bits, then frexp by bit manipulation (subnormals not normalised).
  constexpr double kHSqrt2 = 7.07106781186547524401e-01;
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double L1 = 6.666666666666735130e-01, L2 = 3.999999999940941908e-01,
                   L3 = 2.857142874366239149e-01, L4 = 2.222219843214978396e-01,
                   L5 = 1.818357216161805012e-01, L6 = 1.531383769920937332e-01,
                   L7 = 1.479819860511658591e-01;
  const std::uint64_t bx = bits(x);
  if ((bx & ~(std::uint64_t{1} << 63)) == 0) return -kInf;
  if (static_cast<std::int64_t>(bx) < 0) return kNaN;
  if (bx >= 0x7ff0000000000000) return x;  // +Inf or NaN
  double f1 = from_bits((bx & 0x000fffffffffffff) | 0x3fe0000000000000);
  double k = static_cast<double>(static_cast<int>((bx >> 52) & 0x7ff) - 0x3fe);
  // CMPSD $5 (not less than): HSqrt2 >= f1 halves the fraction's range as log.go's f1 < Sqrt2/2.
  const double adjust = !(kHSqrt2 < f1) ? 1.0 : 0.0;
  k -= adjust;
  f1 *= adjust + 1.0;
  const double f = f1 - 1.0;
  const double s = f / (2.0 + f);
  const double s2 = s * s;
  const double s4 = s2 * s2;
  const double t1 = s2 * (((L7 * s4 + L5) * s4 + L3) * s4 + L1);
  const double t2 = s4 * ((L6 * s4 + L4) * s4 + L2);
  const double r = t1 + t2;
  const double hfsq = 0.5 * f * f;
  return k * kLn2Hi - ((hfsq - (s * (hfsq + r) + k * kLn2Lo)) - f);
}

double log10(double x) { return log(x) * kInvLn10; }

double log2(double x) {
  int e = 0;
  const double frac = frexp(x, &e);
  if (frac == 0.5) return static_cast<double>(e - 1);  // exact powers of two
  return log(frac) * kInvLn2 + static_cast<double>(e);
}

double log1p(double x) {
  constexpr double kSqrt2M1 = 4.142135623730950488017e-01, kSqrt2HalfM1 = -2.928932188134524755992e-01,
                   kSmall = 1.0 / (1 << 29), kTiny = 1.0 / (std::uint64_t{1} << 54),
                   kTwo53 = static_cast<double>(std::uint64_t{1} << 53), kLn2Hi = 6.93147180369123816490e-01,
                   kLn2Lo = 1.90821492927058770002e-10, Lp1 = 6.666666666666735130e-01,
                   Lp2 = 3.999999999940941908e-01, Lp3 = 2.857142874366239149e-01,
                   Lp4 = 2.222219843214978396e-01, Lp5 = 1.818357216161805012e-01,
                   Lp6 = 1.531383769920937332e-01, Lp7 = 1.479819860511658591e-01;
  if (x < -1 || std::isnan(x)) return kNaN;
  if (x == -1) return -kInf;
  if (x == kInf) return kInf;
  const double absx = std::fabs(x);
  double f = 0;
  std::uint64_t iu = 0;
  int k = 1;
  if (absx < kSqrt2M1) {
    if (absx < kSmall) {
      if (absx < kTiny) return x;
      return x - x * x * 0.5;
    }
    if (x > kSqrt2HalfM1) {
      k = 0;
      f = x;
      iu = 1;
    }
  }
  double c = 0;
  if (k != 0) {
    double u = 0;
    if (absx < kTwo53) {
      u = 1.0 + x;
      iu = bits(u);
      k = static_cast<int>((iu >> 52) - 1023);
      c = k > 0 ? 1.0 - (u - x) : x - (u - 1.0);  // correction term
      c /= u;
    } else {
      u = x;
      iu = bits(u);
      k = static_cast<int>((iu >> 52) - 1023);
      c = 0;
    }
    iu &= 0x000fffffffffffff;
    if (iu < 0x0006a09e667f3bcd) {  // mantissa of Sqrt(2)
      u = from_bits(iu | 0x3ff0000000000000);
    } else {
      k++;
      u = from_bits(iu | 0x3fe0000000000000);
      iu = (0x0010000000000000 - iu) >> 2;
    }
    f = u - 1.0;
  }
  const double hfsq = 0.5 * f * f;
  const double kd = static_cast<double>(k);
  if (iu == 0) {  // |f| < 2**-20
    if (f == 0) {
      if (k == 0) return 0;
      c += kd * kLn2Lo;
      return kd * kLn2Hi + c;
    }
    const double r = hfsq * (1.0 - 0.66666666666666666 * f);
    if (k == 0) return f - r;
    return kd * kLn2Hi - ((r - (kd * kLn2Lo + c)) - f);
  }
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double r = z * (Lp1 + z * (Lp2 + z * (Lp3 + z * (Lp4 + z * (Lp5 + z * (Lp6 + z * Lp7))))));
  if (k == 0) return f - (hfsq - s * (hfsq + r));
  return kd * kLn2Hi - ((hfsq - (s * (hfsq + r) + (kd * kLn2Lo + c))) - f);
}

double sin(double x) {
  if (x == 0 || std::isnan(x)) return x;
  if (std::isinf(x)) return kNaN;
  bool sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  auto [j, z] = reduce(x);
  j &= 7;
  if (j > 3) {  // reflect in x axis
    sign = !sign;
    j -= 4;
  }
  const double zz = z * z;
  double y = (j == 1 || j == 2) ? cos_poly(zz) : sin_poly(z, zz);
  return sign ? -y : y;
}

double cos(double x) {
  if (std::isnan(x) || std::isinf(x)) return kNaN;
  bool sign = false;
  x = std::fabs(x);
  auto [j, z] = reduce(x);
  j &= 7;
  if (j > 3) {
    j -= 4;
    sign = !sign;
  }
  if (j > 1) sign = !sign;
  const double zz = z * z;
  double y = (j == 1 || j == 2) ? sin_poly(z, zz) : cos_poly(zz);
  return sign ? -y : y;
}

double tan(double x) {
  constexpr double P0 = -1.30936939181383777646e4, P1 = 1.15351664838587416140e6,
                   P2 = -1.79565251976484877988e7;
  constexpr double Q1 = 1.36812963470692954678e4, Q2 = -1.32089234440210967447e6,
                   Q3 = 2.50083801823357915839e7, Q4 = -5.38695755929454629881e7;
  if (x == 0 || std::isnan(x)) return x;
  if (std::isinf(x)) return kNaN;
  bool sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  const auto [j, z] = reduce(x);  // tan needs only j's bit 1: no j &= 7
  const double zz = z * z;
  double y = z;
  if (zz > 1e-14)
    y = z + z * (zz * (((P0 * zz) + P1) * zz + P2) / ((((zz + Q1) * zz + Q2) * zz + Q3) * zz + Q4));
  if ((j & 2) == 2) y = -1 / y;
  return sign ? -y : y;
}

double asin(double x) {
  if (x == 0) return x;
  bool sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  if (x > 1) return kNaN;
  double temp = std::sqrt(1 - x * x);
  temp = x > 0.7 ? kPi2 - satan(temp / x) : satan(x / temp);
  return sign ? -temp : temp;
}

double acos(double x) { return kPi2 - asin(x); }

double atan(double x) {
  if (x == 0) return x;
  if (x > 0) return satan(x);
  return -satan(-x);
}

double atan2(double y, double x) {
  if (std::isnan(y) || std::isnan(x)) return kNaN;
  if (y == 0) return (x >= 0 && !std::signbit(x)) ? std::copysign(0.0, y) : std::copysign(kPi, y);
  if (x == 0) return std::copysign(kPi2, y);
  if (std::isinf(x)) {
    if (x > 0) return std::isinf(y) ? std::copysign(kPi4, y) : std::copysign(0.0, y);
    return std::isinf(y) ? std::copysign(k3Pi4, y) : std::copysign(kPi, y);
  }
  if (std::isinf(y)) return std::copysign(kPi2, y);
  const double q = atan(y / x);
  if (x < 0) return q <= 0 ? q + kPi : q - kPi;
  return q;
}

double sinh(double x) {
  // #2029 from Hart & Cheney (20.36D).
  constexpr double P0 = -0.6307673640497716991184787251e+6, P1 = -0.8991272022039509355398013511e+5,
                   P2 = -0.2894211355989563807284660366e+4, P3 = -0.2630563213397497062819489e+2,
                   Q0 = -0.6307673640497716991212077277e+6, Q1 = 0.1521517378790019070696485176e+5,
                   Q2 = -0.173678953558233699533450911e+3;
  bool sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  double temp = 0;
  if (x > 21) {
    temp = exp(x) * 0.5;
  } else if (x > 0.5) {
    const double ex = exp(x);
    temp = (ex - 1 / ex) * 0.5;
  } else {
    const double sq = x * x;
    temp = (((P3 * sq + P2) * sq + P1) * sq + P0) * x;
    temp = temp / (((sq + Q2) * sq + Q1) * sq + Q0);
  }
  return sign ? -temp : temp;
}

double cosh(double x) {
  x = std::fabs(x);
  if (x > 21) return exp(x) * 0.5;
  const double ex = exp(x);
  return (ex + 1 / ex) * 0.5;
}

double tanh(double x) {
  constexpr double kMaxLog = 8.8029691931113054295988e+01;  // log(2**127)
  constexpr double P0 = -9.64399179425052238628E-1, P1 = -9.92877231001918586564E1,
                   P2 = -1.61468768441708447952E3;
  constexpr double Q0 = 1.12811678491632931402E2, Q1 = 2.23548839060100448583E3,
                   Q2 = 4.84406305325125486048E3;
  double z = std::fabs(x);
  if (z > 0.5 * kMaxLog) return x < 0 ? -1 : 1;
  if (z >= 0.625) {
    const double s = exp(2 * z);
    z = 1 - 2 / (s + 1);
    return x < 0 ? -z : z;
  }
  if (x == 0) return x;
  const double s = x * x;
  return x + x * s * ((P0 * s + P1) * s + P2) / (((s + Q0) * s + Q1) * s + Q2);
}

double asinh(double x) {
  constexpr double kLn2 = 6.93147180559945286227e-01, kNearZero = 1.0 / (1 << 28), kLarge = 1 << 28;
  if (std::isnan(x) || std::isinf(x)) return x;
  bool sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  double temp = 0;
  if (x > kLarge) {
    temp = log(x) + kLn2;
  } else if (x > 2) {
    temp = log(2 * x + 1 / (std::sqrt(x * x + 1) + x));
  } else if (x < kNearZero) {
    temp = x;
  } else {
    temp = log1p(x + x * x / (1 + std::sqrt(1 + x * x)));
  }
  return sign ? -temp : temp;
}

double acosh(double x) {
  constexpr double kLn2 = 6.93147180559945286227e-01, kLarge = 1 << 28;
  if (x < 1 || std::isnan(x)) return kNaN;
  if (x == 1) return 0;
  if (x >= kLarge) return log(x) + kLn2;
  if (x > 2) return log(2 * x - 1 / (x + std::sqrt(x * x - 1)));
  const double t = x - 1;
  return log1p(t + std::sqrt(2 * t + t * t));
}

double atanh(double x) {
  constexpr double kNearZero = 1.0 / (1 << 28);
  if (x < -1 || x > 1 || std::isnan(x)) return kNaN;
  if (x == 1) return kInf;
  if (x == -1) return -kInf;
  bool sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  double temp = 0;
  if (x < kNearZero) {
    temp = x;
  } else if (x < 0.5) {
    temp = x + x;
    temp = 0.5 * log1p(temp + temp * x / (1 - x));
  } else {
    temp = 0.5 * log1p((x + x) / (1 - x));
  }
  return sign ? -temp : temp;
}

namespace {

// Go's Modf: integer and fraction, both with f's sign.
double modf(double f, double* frac) {
  const double i = std::trunc(f);
  *frac = std::copysign(f - i, f);
  return i;
}

bool is_odd_int(double x) {
  double xf = 0;
  const double xi = modf(x, &xf);
  // int64(xi) on amd64 gives 0x8000000000000000 (even) out of range.
  if (!(std::fabs(xi) < 0x1p63)) return false;
  return xf == 0 && (static_cast<std::int64_t>(xi) & 1) == 1;
}

}  // namespace

double pow(double x, double y) {
  if (y == 0 || x == 1) return 1;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  if (x == 0) {
    if (y < 0) return is_odd_int(y) ? std::copysign(kInf, x) : kInf;
    if (y > 0) return is_odd_int(y) ? x : 0;
  } else if (std::isinf(y)) {
    if (x == -1) return 1;
    if ((std::fabs(x) < 1) == (y > 0)) return 0;
    return kInf;
  } else if (std::isinf(x)) {
    if (x < 0) return pow(1 / x, -y);  // Pow(-0, -y)
    if (y < 0) return 0;
    if (y > 0) return kInf;
  } else if (y == 0.5) {
    return std::sqrt(x);
  } else if (y == -0.5) {
    return 1 / std::sqrt(x);
  }

  double yf = 0;
  double yi = modf(std::fabs(y), &yf);
  if (yf != 0 && x < 0) return kNaN;
  if (yi >= 0x1p63) {
    // A large even integer: overflow or underflow to 0 for all x but -1.
    if (x == -1) return 1;
    if ((std::fabs(x) < 1) == (y > 0)) return 0;
    return kInf;
  }
  double a1 = 1.0;  // ans = a1 * 2**ae
  long ae = 0;
  if (yf != 0) {  // ans *= x**yf
    if (yf > 0.5) {
      yf--;
      yi++;
    }
    a1 = exp(yf * log(x));
  }
  // ans *= x**yi by successive squarings of x, the powers of two accumulated in ae.
  int xe_int = 0;
  double x1 = frexp(x, &xe_int);
  long xe = xe_int;
  for (auto i = static_cast<std::int64_t>(yi); i != 0; i >>= 1) {
    if (xe < -(1L << 12) || (1L << 12) < xe) {
      // xe would overflow the shift below; ae += xe bounds ae, past float64's range, for Ldexp to give 0 or
      // Inf.
      ae += xe;
      break;
    }
    if ((i & 1) == 1) {
      a1 *= x1;
      ae += xe;
    }
    x1 *= x1;
    xe <<= 1;
    if (x1 < .5) {
      x1 += x1;
      xe--;
    }
  }
  if (y < 0) {
    a1 = 1 / a1;
    ae = -ae;
  }
  return ldexp(a1, ae);
}

}  // namespace tocsin::promql::go_math
