#include "store/chunk.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <new>

namespace tocsin::store::detail {

namespace {

constexpr std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::uint64_t unzigzag(std::uint64_t z) { return (z >> 1) ^ (~(z & 1) + 1); }

template <typename PutBits>
void put_varint_bits(std::uint64_t v, PutBits&& put_bits) {
  while (v >= 0x80) {
    put_bits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  put_bits(v, 8);
}

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

// A timestamp's delta-of-delta in the buckets of 0, 7, 14, 20 and 64 bits (prefixes 0, 10, 110,
// 1110, 1111); the head chunk and the decimal encoding write the same.
template <typename PutBits>
void put_dod(std::int64_t dod, PutBits&& put_bits) {
  auto fits = [dod](int n) {
    return dod >= -((std::int64_t{1} << (n - 1)) - 1) && dod <= std::int64_t{1} << (n - 1);
  };
  const auto udod = static_cast<std::uint64_t>(dod);
  if (dod == 0) {
    put_bits(0, 1);
  } else if (fits(7)) {
    put_bits(0b10, 2);
    put_bits(udod & ((1U << 7) - 1), 7);
  } else if (fits(14)) {
    put_bits(0b110, 3);
    put_bits(udod & ((1U << 14) - 1), 14);
  } else if (fits(20)) {
    put_bits(0b1110, 4);
    put_bits(udod & ((1U << 20) - 1), 20);
  } else {
    put_bits(0b1111, 4);
    put_bits(udod, 64);
  }
}

// Appends bits to a byte vector, most significant first.
class BitWriter {
 public:
  explicit BitWriter(std::vector<std::uint8_t>& out) : out_(out) { out_.clear(); }
  void put(std::uint64_t v, unsigned n) {  // n <= 64
    if (n == 0) return;
    if (n > 32) {
      put(v >> 32, n - 32);
      put(v & 0xffffffffULL, 32);
      return;
    }
    v &= (std::uint64_t{1} << n) - 1;
    acc_ = (acc_ << n) | v;  // acc_ held fewer than 8 bits: at most 39 now
    pending_ += n;
    bits_ += n;
    while (pending_ >= 8) {
      pending_ -= 8;
      out_.push_back(static_cast<std::uint8_t>(acc_ >> pending_));
    }
    acc_ &= (std::uint64_t{1} << pending_) - 1;
  }
  void varint(std::uint64_t v) {
    put_varint_bits(v, [this](std::uint64_t b, unsigned n) { put(b, n); });
  }
  // Another writer's bits after these.
  void append(const std::vector<std::uint8_t>& bytes, std::size_t bits) {
    for (std::size_t i = 0; i < bits / 8; ++i) put(bytes[i], 8);
    if (const auto rest = static_cast<unsigned>(bits % 8); rest != 0)
      put(bytes[bits / 8] >> (8 - rest), rest);
  }
  std::size_t bits() const { return bits_; }
  void finish() {
    if (pending_ != 0) out_.push_back(static_cast<std::uint8_t>(acc_ << (8 - pending_)));
    pending_ = 0;
    acc_ = 0;
  }

 private:
  std::vector<std::uint8_t>& out_;
  std::uint64_t acc_ = 0;
  unsigned pending_ = 0;
  std::size_t bits_ = 0;
};

// Whether v is m / 10^e but for a correction of at most 256 ulps (bits apart as integers).
bool nearly_decimal(double v, unsigned e) {
  const std::uint64_t c = std::bit_cast<std::uint64_t>(v) - decimal_bits(decimal_mantissa(v, e), e);
  return c + 256 <= 512;
}

}  // namespace

ChunkRef Chunk::make(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp min_t,
                     Timestamp max_t, std::span<const Checkpoint> checkpoints, Encoding encoding) {
  const std::size_t n = checkpoint_count(count);
  std::vector<Checkpoint> found;
  if (checkpoints.size() != n) {
    found = find_checkpoints(bytes, count, encoding);
    checkpoints = found;
  }
  void* memory = ::operator new(sizeof(Chunk) + n * sizeof(Checkpoint) + bytes.size());
  auto* chunk = new (memory) Chunk();
  chunk->size_ = static_cast<std::uint16_t>(bytes.size());
  chunk->count_ = static_cast<std::uint8_t>(count);
  chunk->encoding_ = encoding;
  chunk->min_t_ = min_t;
  chunk->max_t_ = max_t;
  auto* cps = reinterpret_cast<Checkpoint*>(chunk + 1);
  for (std::size_t k = 0; k < n; ++k) new (cps + k) Checkpoint(checkpoints[k]);
  if (!bytes.empty()) std::memcpy(static_cast<void*>(cps + n), bytes.data(), bytes.size());
  return ChunkRef(chunk);
}

std::vector<Checkpoint> find_checkpoints(std::span<const std::uint8_t> bytes, std::uint16_t count,
                                         Encoding encoding) {
  std::vector<Checkpoint> out;
  if (encoding == Encoding::decimal) {
    // Decoding the points and encoding them again with the chunk's exponent gives the same bytes
    // (the encoding is a function of the points and the exponent) and the checkpoints on the way.
    out.resize(checkpoint_count(count));
    const DecimalHeader h = parse_decimal_header(bytes, count);
    if (!h.valid || count > kMaxChunkPoints) return out;
    std::array<Timestamp, kMaxChunkPoints> t{};
    std::array<double, kMaxChunkPoints> v{};
    std::size_t n = 0;
    bool increasing = true;
    decode_decimal_from(bytes, count, 0, DecodeStart{}, std::numeric_limits<Timestamp>::min(),
                        std::numeric_limits<Timestamp>::max(), [&](Point p) {
                          if (n > 0 && p.t <= t[n - 1]) increasing = false;
                          if (n < t.size()) {
                            t[n] = p.t;
                            v[n] = p.v;
                          }
                          ++n;
                        });
    std::vector<std::uint8_t> again;
    std::vector<Checkpoint> checkpoints;
    if (n == count && increasing &&
        encode_decimal(t.data(), v.data(), count, h.e, bytes.size(), again, checkpoints) &&
        again.size() == bytes.size() && std::equal(again.begin(), again.end(), bytes.begin())) {
      return checkpoints;
    }
    return out;
  }
  // Appending the decoded points to a head chunk gives the same bytes (the encoding is a function of
  // the points) and records the checkpoints on the way.
  HeadChunk head;
  decode_chunk(bytes, count, std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max(),
               [&head](Point p) {
                 if (head.empty() || p.t > head.last().t) head.append(p.t, p.v);
               });
  const auto found = head.checkpoints();
  out.assign(found.begin(), found.end());
  // Bytes that are not the encoding of `count` increasing points (never the store's) get none.
  out.resize(checkpoint_count(count));
  const auto again = head.bytes();
  if (head.count() != count || again.size() != bytes.size() ||
      (!bytes.empty() && std::memcmp(again.data(), bytes.data(), bytes.size()) != 0)) {
    std::fill(out.begin(), out.end(), Checkpoint{});
  }
  return out;
}

// --- the decimal encoding ---------------------------------------------------------------------

DecimalHeader parse_decimal_header(std::span<const std::uint8_t> bytes, std::uint16_t count) {
  DecimalHeader h;
  std::size_t at = 3;
  if (bytes.size() < at) return h;
  h.e = bytes[0];
  h.wm = bytes[1];
  h.wc = bytes[2];
  if (h.e > kMaxDecimalExponent || h.wm > 64 || h.wc > 64) return h;
  auto varint = [&](std::uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (at >= bytes.size()) return false;
      const std::uint8_t b = bytes[at++];
      v |= std::uint64_t{b & 0x7fU} << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  std::uint64_t z = 0;
  if (!varint(z)) return h;
  h.min_dm = unzigzag(z);
  if (!varint(z)) return h;
  h.min_dc = unzigzag(z);
  if (bytes.size() - at < 8) return h;
  for (int i = 0; i < 8; ++i) h.v0 = (h.v0 << 8) | bytes[at++];
  h.value_bit = static_cast<std::uint32_t>(at * 8);
  h.time_bit = h.value_bit + (count == 0 ? 0U : (count - 1U) * (h.wm + h.wc));
  h.valid = true;
  return h;
}

namespace {

// The bits a decimal chunk's values take at exponent e: the deltas' frames of reference and the
// fixed-width entries.
std::size_t decimal_value_bits(const double* v, std::uint16_t count, unsigned e) {
  std::uint64_t m_prev = static_cast<std::uint64_t>(decimal_mantissa(v[0], e));
  std::uint64_t c_prev = std::bit_cast<std::uint64_t>(v[0]) - decimal_bits(decimal_mantissa(v[0], e), e);
  std::int64_t min_dm = 0;
  std::int64_t max_dm = 0;
  std::int64_t min_dc = 0;
  std::int64_t max_dc = 0;
  for (std::uint16_t i = 1; i < count; ++i) {
    const std::int64_t mantissa = decimal_mantissa(v[i], e);
    const auto m = static_cast<std::uint64_t>(mantissa);
    const std::uint64_t c = std::bit_cast<std::uint64_t>(v[i]) - decimal_bits(mantissa, e);
    const auto dm = static_cast<std::int64_t>(m - m_prev);
    const auto dc = static_cast<std::int64_t>(c - c_prev);
    min_dm = i == 1 ? dm : std::min(min_dm, dm);
    max_dm = i == 1 ? dm : std::max(max_dm, dm);
    min_dc = i == 1 ? dc : std::min(min_dc, dc);
    max_dc = i == 1 ? dc : std::max(max_dc, dc);
    m_prev = m;
    c_prev = c;
  }
  const auto wm = std::bit_width(static_cast<std::uint64_t>(max_dm) - static_cast<std::uint64_t>(min_dm));
  const auto wc = std::bit_width(static_cast<std::uint64_t>(max_dc) - static_cast<std::uint64_t>(min_dc));
  return 8 * (varint_size(zigzag(min_dm)) + varint_size(zigzag(min_dc))) +
         std::size_t{count - 1U} * (wm + wc);
}

}  // namespace

int choose_decimal_exponent(const double* v, std::uint16_t count) {
  if (count == 0) return -1;
  // The exponents at which values are m / 10^e but for a small correction (none for the double
  // nearest m / 10^e, a few ulps for a sum of such doubles), each value's smallest found: a value
  // near one exponent is near the larger ones too (while its mantissa stays below 2^53), so each is
  // tried at those found so far first, and the search is over after a few values that need one.
  std::uint32_t found = 0;  // bit e: some value's smallest exponent found
  unsigned searched = 0;
  for (std::uint16_t i = 0; i < count; ++i) {
    bool near = false;
    for (std::uint32_t rest = found; rest != 0 && !near; rest &= rest - 1)
      near = nearly_decimal(v[i], static_cast<unsigned>(std::countr_zero(rest)));
    if (near || searched >= 8) continue;
    ++searched;
    for (unsigned e = 0; e <= kMaxDecimalExponent; ++e) {
      if ((found >> e & 1) == 0 && nearly_decimal(v[i], e)) {
        found |= 1U << e;
        break;
      }
    }
  }
  // The cheapest of them: a larger exponent makes every mantissa delta wider, a smaller one needs
  // corrections for the values it does not cover.
  int best = -1;
  std::size_t best_bits = 0;
  for (std::uint32_t rest = found; rest != 0; rest &= rest - 1) {
    const auto e = static_cast<unsigned>(std::countr_zero(rest));
    const std::size_t bits = decimal_value_bits(v, count, e);
    if (best < 0 || bits < best_bits) {
      best = static_cast<int>(e);
      best_bits = bits;
    }
  }
  return best;
}

bool encode_decimal(const Timestamp* t, const double* v, std::uint16_t count, unsigned e,
                    std::size_t max_bytes, std::vector<std::uint8_t>& out,
                    std::vector<Checkpoint>& checkpoints) {
  out.clear();
  checkpoints.assign(checkpoint_count(count), Checkpoint{});
  if (count == 0 || count > kMaxChunkPoints || e > kMaxDecimalExponent) return false;
  std::array<std::uint64_t, kMaxChunkPoints> m{};
  std::array<std::uint64_t, kMaxChunkPoints> c{};
  for (std::uint16_t i = 0; i < count; ++i) {
    const std::int64_t mantissa = decimal_mantissa(v[i], e);
    m[i] = static_cast<std::uint64_t>(mantissa);
    c[i] = std::bit_cast<std::uint64_t>(v[i]) - decimal_bits(mantissa, e);
  }
  // The deltas' frames of reference, the deltas taken mod 2^64 and compared as signed.
  std::int64_t min_dm = 0;
  std::int64_t max_dm = 0;
  std::int64_t min_dc = 0;
  std::int64_t max_dc = 0;
  for (std::uint16_t i = 1; i < count; ++i) {
    const auto dm = static_cast<std::int64_t>(m[i] - m[i - 1]);
    const auto dc = static_cast<std::int64_t>(c[i] - c[i - 1]);
    if (i == 1 || dm < min_dm) min_dm = dm;
    if (i == 1 || dm > max_dm) max_dm = dm;
    if (i == 1 || dc < min_dc) min_dc = dc;
    if (i == 1 || dc > max_dc) max_dc = dc;
  }
  const auto wm = static_cast<unsigned>(
      std::bit_width(static_cast<std::uint64_t>(max_dm) - static_cast<std::uint64_t>(min_dm)));
  const auto wc = static_cast<unsigned>(
      std::bit_width(static_cast<std::uint64_t>(max_dc) - static_cast<std::uint64_t>(min_dc)));
  const std::size_t header = 3 + varint_size(zigzag(min_dm)) + varint_size(zigzag(min_dc)) + 8;
  const std::size_t value_bits = std::size_t{count - 1U} * (wm + wc);
  if (header + value_bits / 8 > max_bytes) return false;

  // The timestamps first, apart, for their length and the checkpoints' positions in them.
  std::vector<std::uint8_t> time_bytes;
  BitWriter times(time_bytes);
  const std::size_t time_bit = header * 8 + value_bits;
  times.varint(zigzag(t[0]));
  std::uint64_t t_delta = 0;
  for (std::uint16_t i = 1; i < count; ++i) {
    const std::uint64_t delta = static_cast<std::uint64_t>(t[i]) - static_cast<std::uint64_t>(t[i - 1]);
    if (i == 1) {
      times.varint(delta);
    } else {
      put_dod(static_cast<std::int64_t>(delta - t_delta),
              [&times](std::uint64_t b, unsigned n) { times.put(b, n); });
    }
    t_delta = delta;
    if (i % kCheckpointEvery == 0 && i / kCheckpointEvery - 1U < checkpoints.size()) {
      const std::uint64_t offset = static_cast<std::uint64_t>(t[i]) - static_cast<std::uint64_t>(t[0]);
      const std::size_t bit = time_bit + times.bits();
      Checkpoint& cp = checkpoints[i / kCheckpointEvery - 1U];
      if (offset <= 0xffffffffU && t_delta <= 0xffffffffU && bit < Checkpoint::kNone) {
        const auto vb = std::bit_cast<std::uint64_t>(v[i]);
        cp.v_low = static_cast<std::uint32_t>(vb);
        cp.v_high = static_cast<std::uint32_t>(vb >> 32);
        cp.t_offset = static_cast<std::uint32_t>(offset);
        cp.t_delta = static_cast<std::uint32_t>(t_delta);
        cp.bit = static_cast<std::uint16_t>(bit);
      }
    }
  }
  if ((time_bit + times.bits() + 7) / 8 > max_bytes) return false;
  const std::size_t time_bits = times.bits();
  times.finish();

  BitWriter w(out);
  w.put(e, 8);
  w.put(wm, 8);
  w.put(wc, 8);
  w.varint(zigzag(min_dm));
  w.varint(zigzag(min_dc));
  w.put(std::bit_cast<std::uint64_t>(v[0]), 64);
  for (std::uint16_t i = 1; i < count; ++i) {
    w.put(m[i] - m[i - 1] - static_cast<std::uint64_t>(min_dm), wm);
    w.put(c[i] - c[i - 1] - static_cast<std::uint64_t>(min_dc), wc);
  }
  w.append(time_bytes, time_bits);
  w.finish();
  return true;
}

void ChunkRef::release() noexcept {
  if (chunk_ == nullptr) return;
  if (chunk_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    chunk_->~Chunk();
    ::operator delete(static_cast<void*>(chunk_));
  }
  chunk_ = nullptr;
}

// --- HeadChunk --------------------------------------------------------------------------------

void HeadChunk::reserve(unsigned more_bytes) {
  const unsigned used = (bits_ + 7U) / 8;
  if (used + more_bytes <= capacity_) return;
  // Grows by half (not doubling): a head chunk lives long, so its slack is memory held per series.
  unsigned next = std::max({32U, used + more_bytes, capacity_ + capacity_ / 2U});
  next = (next + 15) & ~15U;
  auto bigger = std::make_unique<std::uint8_t[]>(next);
  if (used > 0) std::memcpy(bigger.get(), buf_.get(), used);
  buf_ = std::move(bigger);
  capacity_ = static_cast<std::uint16_t>(next);
}

// Most significant bit first, as Prometheus's bstream. The buffer past bits_ is zero (a new buffer
// is value-initialised, and bytes are only ever added to), so writing is OR-ing the bits into the
// eight bytes from the current one; reserve() keeps eight bytes of room past the point's bits.
void HeadChunk::put_bits(std::uint64_t v, unsigned n) {
  const unsigned offset = bits_ & 7;
  if (offset + n > 64) {
    put_bits(v >> 32, n - 32);
    put_bits(v & 0xffffffffULL, 32);
    return;
  }
  std::uint8_t* at = buf_.get() + (bits_ >> 3);
  std::uint64_t word;
  std::memcpy(&word, at, 8);
  if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
  word |= (n == 64 ? v : v & ((std::uint64_t{1} << n) - 1)) << (64 - offset - n);
  if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
  std::memcpy(at, &word, 8);
  bits_ = static_cast<std::uint16_t>(bits_ + n);
}

void HeadChunk::put_varint(std::uint64_t v) {
  put_varint_bits(v, [this](std::uint64_t b, unsigned n) { put_bits(b, n); });
}

void HeadChunk::put_value(std::uint64_t bits) {
  const std::uint64_t delta = bits ^ last_v_;
  if (delta == 0) {
    put_bit(false);
    return;
  }
  put_bit(true);
  auto leading = static_cast<std::uint8_t>(std::countl_zero(delta));
  const auto trailing = static_cast<std::uint8_t>(std::countr_zero(delta));
  leading = std::min<std::uint8_t>(leading, 31);  // 5 bits hold it
  if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
    put_bit(false);
    put_bits(delta >> trailing_, 64U - leading_ - trailing_);
    return;
  }
  leading_ = leading;
  trailing_ = trailing;
  put_bit(true);
  put_bits(leading, 5);
  const unsigned significant = 64U - leading - trailing;
  put_bits(significant & 63U, 6);  // 64 is written as 0
  put_bits(delta >> trailing, significant);
}

void HeadChunk::append(Timestamp t, double v) {
  // The most one point takes: a 10-byte varint and 64 bits, or 4 + 64 + 77 bits; and put_bits'
  // eight-byte window past them.
  reserve(32);
  const auto value_bits = std::bit_cast<std::uint64_t>(v);
  const auto ut = static_cast<std::uint64_t>(t);
  if (count_ == 0) {
    put_varint((ut << 1) ^ static_cast<std::uint64_t>(t >> 63));  // zigzag, as Go's PutVarint
    put_bits(value_bits, 64);
    first_t_ = t;
    leading_ = 0xff;
    trailing_ = 0;
  } else {
    const std::uint64_t delta = ut - static_cast<std::uint64_t>(last_t_);
    if (count_ == 1) {
      put_varint(delta);
    } else {
      put_dod(static_cast<std::int64_t>(delta - t_delta_),
              [this](std::uint64_t b, unsigned n) { put_bits(b, n); });
    }
    t_delta_ = delta;
    put_value(value_bits);
  }
  last_t_ = t;
  last_v_ = value_bits;
  ++count_;
  if (count_ > kCheckpointEvery && (count_ - 1) % kCheckpointEvery == 0) add_checkpoint();
}

void HeadChunk::add_checkpoint() {
  const std::size_t k = (count_ - 1) / kCheckpointEvery - 1;
  if (k >= kMaxCheckpoints) return;
  if (!checkpoints_) checkpoints_ = std::make_unique<Checkpoint[]>(kMaxCheckpoints);
  Checkpoint c;
  const std::uint64_t offset = static_cast<std::uint64_t>(last_t_) - static_cast<std::uint64_t>(first_t_);
  if (offset <= 0xffffffffU && t_delta_ <= 0xffffffffU && bits_ < Checkpoint::kNone) {
    c.v_low = static_cast<std::uint32_t>(last_v_);
    c.v_high = static_cast<std::uint32_t>(last_v_ >> 32);
    c.t_offset = static_cast<std::uint32_t>(offset);
    c.t_delta = static_cast<std::uint32_t>(t_delta_);
    c.bit = bits_;
    c.leading = leading_;
    c.trailing = trailing_;
  }
  checkpoints_[k] = c;
}

ChunkRef HeadChunk::seal() {
  ChunkRef sealed;
  if (count_ >= 2) {
    // The decimal encoding, when its bytes are fewer: the points decoded once, encoded again.
    std::array<Timestamp, kMaxChunkPoints> t;
    std::array<double, kMaxChunkPoints> v;
    std::size_t n = 0;
    decode_chunk(bytes(), count_, std::numeric_limits<Timestamp>::min(),
                 std::numeric_limits<Timestamp>::max(), [&](Point p) {
                   if (n < t.size()) {
                     t[n] = p.t;
                     v[n] = p.v;
                   }
                   ++n;
                 });
    const int e = n == count_ ? choose_decimal_exponent(v.data(), count_) : -1;
    std::vector<std::uint8_t> decimal;
    std::vector<Checkpoint> decimal_checkpoints;
    if (e >= 0 && encode_decimal(t.data(), v.data(), count_, static_cast<unsigned>(e), bytes().size() - 1,
                                 decimal, decimal_checkpoints)) {
      sealed = Chunk::make(decimal, count_, first_t_, last_t_, decimal_checkpoints, Encoding::decimal);
    }
  }
  if (!sealed) sealed = Chunk::make(bytes(), count_, first_t_, last_t_, checkpoints());
  // The buffer goes too: kept, it would hold a whole chunk's bytes of slack per series until the
  // next chunk fills it.
  buf_.reset();
  checkpoints_.reset();
  capacity_ = 0;
  bits_ = 0;
  count_ = 0;
  t_delta_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
  return sealed;
}

void HeadChunk::restore(const State& state) {
  reset();
  if (state.count > 0) {
    reserve(static_cast<unsigned>(state.bytes.size()) + 32);
    if (!state.bytes.empty()) std::memcpy(buf_.get(), state.bytes.data(), state.bytes.size());
    // A snapshot's last byte may carry bits past `bits`: clear them, appends OR into zeros.
    if ((state.bits & 7) != 0)
      buf_[state.bits >> 3] &= static_cast<std::uint8_t>(0xff00U >> (state.bits & 7));
  }
  bits_ = state.bits;
  count_ = state.count;
  first_t_ = state.first_t;
  last_t_ = state.last_t;
  last_v_ = state.last_v;
  t_delta_ = state.t_delta;
  leading_ = state.leading;
  trailing_ = state.trailing;
  const std::size_t n = checkpoint_count(count_);
  if (n > 0) {
    checkpoints_ = std::make_unique<Checkpoint[]>(kMaxCheckpoints);
    if (state.checkpoints.size() == n) {
      std::copy(state.checkpoints.begin(), state.checkpoints.end(), checkpoints_.get());
    } else {
      const auto found = find_checkpoints(bytes(), count_);
      std::copy(found.begin(), found.end(), checkpoints_.get());
    }
  }
}

void HeadChunk::reset() {
  buf_.reset();
  checkpoints_.reset();
  capacity_ = 0;
  bits_ = 0;
  count_ = 0;
  first_t_ = last_t_ = 0;
  last_v_ = 0;
  t_delta_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
}

}  // namespace tocsin::store::detail
