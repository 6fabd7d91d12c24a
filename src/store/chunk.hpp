#pragma once
// Compressed chunks of points: the Gorilla scheme as Prometheus's XOR chunk has it (tsdb/chunkenc):
// the first timestamp as a varint and the first value's 64 bits, the second timestamp's delta as a
// varint, then timestamps as delta-of-deltas and values XORed with the previous one, writing only
// the meaningful bits (a 5-bit leading-zero count and 6-bit length when the window changes).
// One difference: the delta-of-delta buckets are 0, 7, 14, 20 and 64 bits (prefixes 0, 10, 110,
// 1110, 1111) where Prometheus has 0, 14, 17, 20 and 64. A fixed-rate scheduler's timestamps taken
// from the wall clock are off by a millisecond or a few now and then; the Gorilla paper's 7-bit
// bucket stores that jitter in 9 bits instead of 16.
// Every value, NaN payloads (the staleness marker) included, comes back bit for bit; timestamps are
// exact over the whole int64 range (the arithmetic wraps).
//
// Sealed chunks have a second encoding, chosen when the head seals if it takes fewer bytes: decimal
// (as VictoriaMetrics's), for values that are decimal fractions in doubles (CPU seconds counted in
// centiseconds, two-decimal readings), which cost 6-7 bytes a point under XOR. The chunk gets one
// exponent e (0..15); each value v is the mantissa m = decimal_mantissa(v, e) and a correction c,
// the difference of v's bits and those of double(m) / 10^e as 64-bit integers (mod 2^64), so every
// value round-trips by construction: 0 when v is the double nearest m / 10^e, a few ulps for a sum
// of such doubles, anything for NaNs, infinities and -0 (whose large corrections make XOR the cheaper
// choice). The deltas of m and of c from point to point are stored with a frame of reference: the
// chunk's smallest delta, then each delta minus it in a fixed width (wm and wc bits). Layout (a bit
// stream, most significant bit first):
//   e, wm, wc (a byte each); zigzag varints of the smallest m delta and c delta; the first value's 64
//   bits; then count - 1 entries of wm + wc bits (m's delta, c's delta); then the timestamps as the
//   XOR stream has them (the first as a zigzag varint, the second's delta as a varint, then
//   delta-of-deltas).
// The values being fixed-width, a checkpoint holds what an XOR one does (the value's bits: m and c
// are recomputed from them, the timestamps' state and bit); the entry of point k + 1 begins at bit
// value_bit + k * (wm + wc).
//
// A series has one open HeadChunk, appended in place under the store's exclusive lock, and closed
// Chunks: immutable once sealed, reference-counted, so a reader holds a ChunkRef and decodes it
// after the store's lock is released, with no copy of its bytes.
//
// Checkpoints: every kCheckpointEvery points a chunk keeps the decoder's state (the bit position and
// the point's t, delta and value, the XOR window), so a selection starting inside a chunk decodes
// from the nearest checkpoint before its start, not from the chunk's first point: a 5-minute window
// at 15 s reads 20 points of a 120-point chunk and decodes at most kCheckpointEvery - 1 more.

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "tocsin/core/sample.hpp"

namespace tocsin::store::detail {

class ChunkRef;

// The most points a chunk holds (Prometheus cuts its head chunks at 120 samples too). The store cuts
// smaller ones for a short window (StoreOptions::retention over the writer's interval), since
// retention drops whole chunks.
inline constexpr std::uint16_t kMaxChunkPoints = 120;
static_assert(kMaxChunkPoints <= 255);  // Chunk keeps its count in a byte

// A checkpoint every this many points: point k * kCheckpointEvery (k >= 1) of a chunk. 40 keeps two
// in a full chunk (20 bytes each, 0.33 bytes a point) for decoding at most 39 points before a range.
inline constexpr std::uint16_t kCheckpointEvery = 40;
inline constexpr std::uint16_t kMaxCheckpoints = (kMaxChunkPoints - 1) / kCheckpointEvery;
constexpr std::uint16_t checkpoint_count(std::uint16_t points) {
  return points == 0 ? 0 : static_cast<std::uint16_t>((points - 1) / kCheckpointEvery);
}

// The decoder's state right after point (k + 1) * kCheckpointEvery of a chunk. Offsets are 32-bit:
// a chunk spanning 2^32 ms (49 days) or a delta that long has its checkpoint marked absent (bit ==
// kNoCheckpoint) and decodes from an earlier one.
struct Checkpoint {
  static constexpr std::uint16_t kNone = 0xffff;
  std::uint32_t v_low = 0;  // the value's bits
  std::uint32_t v_high = 0;
  std::uint32_t t_offset = 0;  // t - the chunk's first t
  std::uint32_t t_delta = 0;   // t - the previous point's t
  std::uint16_t bit = kNone;   // where the next point's bits begin
  std::uint8_t leading = 0;    // the XOR window (leading 0xff: none yet)
  std::uint8_t trailing = 0;

  bool valid() const { return bit != kNone; }
  std::uint64_t v() const { return (std::uint64_t{v_high} << 32) | v_low; }
};
static_assert(sizeof(Checkpoint) == 20);

// Where decoding starts: the stream's first point (index 0), or right after a checkpoint's point
// (`index` = that point, emitted first), `bit` counted from the start of the bytes given.
struct DecodeStart {
  std::uint16_t index = 0;
  std::uint32_t bit = 0;
  Checkpoint state;
};

// The last checkpoint at or before `mint` among `checkpoints` of a chunk whose first point is at
// `min_t`; the chunk's start when none is.
inline DecodeStart start_before(std::span<const Checkpoint> checkpoints, Timestamp min_t, Timestamp mint) {
  if (mint <= min_t) return {};
  const auto offset = static_cast<std::uint64_t>(mint) - static_cast<std::uint64_t>(min_t);
  for (std::size_t k = checkpoints.size(); k-- > 0;) {
    const Checkpoint& c = checkpoints[k];
    if (c.valid() && c.t_offset <= offset)
      return {static_cast<std::uint16_t>((k + 1) * kCheckpointEvery), c.bit, c};
  }
  return {};
}

// How a sealed chunk's bytes encode its points (the head chunk's are always the XOR stream).
enum class Encoding : std::uint8_t { xor_stream = 0, decimal = 1 };
inline constexpr std::uint8_t kLastEncoding = 1;

// An immutable, sealed chunk: one allocation holding its header and its bytes. Thread-safe.
class Chunk {
 public:
  std::uint16_t count() const { return count_; }
  Encoding encoding() const { return encoding_; }
  Timestamp min_t() const { return min_t_; }
  Timestamp max_t() const { return max_t_; }
  std::span<const std::uint8_t> bytes() const { return {data(), size_}; }
  std::span<const Checkpoint> checkpoints() const {
    return {reinterpret_cast<const Checkpoint*>(this + 1), checkpoint_count(count_)};
  }
  // The allocation's size: header, checkpoints and bytes.
  std::size_t allocated_bytes() const {
    return sizeof(Chunk) + checkpoint_count(count_) * sizeof(Checkpoint) + size_;
  }

  // `checkpoints` holds checkpoint_count(count) entries, or none: then they are found by decoding.
  static ChunkRef make(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp min_t,
                       Timestamp max_t, std::span<const Checkpoint> checkpoints = {},
                       Encoding encoding = Encoding::xor_stream);

 private:
  friend class ChunkRef;
  Chunk() = default;
  const std::uint8_t* data() const {
    return reinterpret_cast<const std::uint8_t*>(this + 1) + checkpoint_count(count_) * sizeof(Checkpoint);
  }

  mutable std::atomic<std::uint32_t> refs_{1};
  std::uint16_t size_ = 0;  // at most kMaxChunkPoints points of at most 18 bytes each
  std::uint8_t count_ = 0;
  Encoding encoding_ = Encoding::xor_stream;
  Timestamp min_t_ = 0;
  Timestamp max_t_ = 0;
};
static_assert(sizeof(Chunk) % alignof(Checkpoint) == 0);

// An owning reference to a Chunk (an intrusive shared_ptr<const Chunk>: one pointer wide).
class ChunkRef {
 public:
  ChunkRef() = default;
  ChunkRef(const ChunkRef& other) noexcept : chunk_(other.chunk_) {
    if (chunk_ != nullptr) chunk_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  ChunkRef(ChunkRef&& other) noexcept : chunk_(other.chunk_) { other.chunk_ = nullptr; }
  ChunkRef& operator=(ChunkRef other) noexcept {
    std::swap(chunk_, other.chunk_);
    return *this;
  }
  ~ChunkRef() { release(); }

  const Chunk* get() const { return chunk_; }
  const Chunk* operator->() const { return chunk_; }
  const Chunk& operator*() const { return *chunk_; }
  explicit operator bool() const { return chunk_ != nullptr; }
  std::uint32_t use_count() const { return chunk_ ? chunk_->refs_.load(std::memory_order_relaxed) : 0; }

 private:
  friend class Chunk;
  explicit ChunkRef(Chunk* chunk) : chunk_(chunk) {}
  void release() noexcept;

  Chunk* chunk_ = nullptr;
};

// The open chunk of a series. Not thread-safe: the store appends under its exclusive lock and
// readers copy its bytes under the shared lock.
class HeadChunk {
 public:
  // Appends a point; `t` must be later than the last point appended (the store refuses the rest).
  void append(Timestamp t, double v);
  std::uint16_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  Timestamp min_t() const { return first_t_; }
  // The newest point appended since the last reset, kept after seal(): the exposition reads it
  // without decoding.
  Point last() const { return {last_t_, std::bit_cast<double>(last_v_)}; }
  std::span<const std::uint8_t> bytes() const { return {buf_.get(), (std::size_t{bits_} + 7) / 8}; }
  std::span<const Checkpoint> checkpoints() const { return {checkpoints_.get(), checkpoint_count(count_)}; }
  // The buffer's and the checkpoints' allocations.
  std::size_t capacity_bytes() const {
    return capacity_ + (checkpoints_ ? kMaxCheckpoints * sizeof(Checkpoint) : 0);
  }

  // Closes the chunk: returns its points as an immutable Chunk (exactly sized), in the decimal
  // encoding when that takes fewer bytes than the XOR stream, and starts an empty one, keeping last().
  ChunkRef seal();
  // Empties the chunk and frees its buffer.
  void reset();

  // The encoder's whole state, for a snapshot of the store, and a head chunk made from one.
  struct State {
    std::span<const std::uint8_t> bytes;
    std::uint16_t count = 0;
    std::uint16_t bits = 0;
    Timestamp first_t = 0;
    Timestamp last_t = 0;
    std::uint64_t last_v = 0;
    std::uint64_t t_delta = 0;
    std::uint8_t leading = 0xff;
    std::uint8_t trailing = 0;
    std::span<const Checkpoint> checkpoints;  // checkpoint_count(count) of them
  };
  State state() const {
    return {bytes(), count_, bits_, first_t_, last_t_, last_v_, t_delta_, leading_, trailing_, checkpoints()};
  }
  // `state.bytes` must hold (bits + 7) / 8 bytes; checkpoints are found by decoding when
  // `state.checkpoints` is empty.
  void restore(const State& state);

 private:
  void reserve(unsigned more_bytes);
  void put_bits(std::uint64_t v, unsigned n);
  void put_bit(bool b) { put_bits(b ? 1 : 0, 1); }
  void put_varint(std::uint64_t v);
  void put_value(std::uint64_t bits);
  void add_checkpoint();

  // What the exposition and the commit's order check read first, together.
  Timestamp last_t_ = 0;
  std::uint64_t last_v_ = 0;
  std::uint16_t count_ = 0;
  std::uint8_t leading_ = 0xff;  // 0xff: no meaningful-bits window yet
  std::uint8_t trailing_ = 0;
  std::uint16_t bits_ = 0;  // a chunk of kMaxChunkPoints points takes at most 2,200 bytes
  std::uint16_t capacity_ = 0;
  std::unique_ptr<std::uint8_t[]> buf_;
  Timestamp first_t_ = 0;
  std::uint64_t t_delta_ = 0;
  std::unique_ptr<Checkpoint[]> checkpoints_;  // kMaxCheckpoints, from the first checkpoint on
};

// The checkpoints of a chunk's stream, found by decoding it (for chunks made without them).
std::vector<Checkpoint> find_checkpoints(std::span<const std::uint8_t> bytes, std::uint16_t count,
                                         Encoding encoding = Encoding::xor_stream);

// --- the decimal encoding ------------------------------------------------------------------------

inline constexpr unsigned kMaxDecimalExponent = 15;
inline constexpr std::array<double, kMaxDecimalExponent + 1> kPowersOfTen = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

// The mantissa the encoder and the decoder (at a checkpoint) derive from a value: v * 10^e rounded
// (half away from zero, in plain double arithmetic: any function of v would do, as long as both sides
// compute the same), 0 for NaNs, infinities and magnitudes past 2^62.
inline std::int64_t decimal_mantissa(double v, unsigned e) {
  const double x = v * kPowersOfTen[e];
  if (!(x > -0x1p62 && x < 0x1p62)) return 0;
  return static_cast<std::int64_t>(x < 0 ? x - 0.5 : x + 0.5);
}
// The bits of double(m) / 10^e: a division by an exact power of ten, correctly rounded.
inline std::uint64_t decimal_bits(std::int64_t m, unsigned e) {
  return std::bit_cast<std::uint64_t>(static_cast<double>(m) / kPowersOfTen[e]);
}

// A decimal chunk's fixed header. `valid` is false for bytes that are too short or out of range.
struct DecimalHeader {
  unsigned e = 0;
  unsigned wm = 0;
  unsigned wc = 0;
  std::uint64_t min_dm = 0;
  std::uint64_t min_dc = 0;
  std::uint64_t v0 = 0;
  std::uint32_t value_bit = 0;  // the first entry (point 1)
  std::uint32_t time_bit = 0;   // the timestamps
  bool valid = false;
};
DecimalHeader parse_decimal_header(std::span<const std::uint8_t> bytes, std::uint16_t count);

// Encodes `count` points in the decimal encoding with exponent `e`, into `out` (cleared) with the
// chunk's checkpoints; false when it would take more than `max_bytes`.
bool encode_decimal(const Timestamp* t, const double* v, std::uint16_t count, unsigned e,
                    std::size_t max_bytes, std::vector<std::uint8_t>& out,
                    std::vector<Checkpoint>& checkpoints);
// The exponent to try for these values: the largest of the smallest exponents at which each value
// is exactly m / 10^e; -1 when no value is.
int choose_decimal_exponent(const double* v, std::uint16_t count);

// Reads a chunk's bits most significant first through a 64-bit window; zeros past the end, so
// bytes that end early (never produced by HeadChunk) decode as zero bits, not as a read past the end.
class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  // From bit `bit` on (past the end: zeros).
  BitReader(std::span<const std::uint8_t> bytes, std::uint32_t bit)
      : p_(bytes.data() + std::min<std::size_t>(bit / 8, bytes.size())), end_(bytes.data() + bytes.size()) {
    refill();
    if (bit / 8 < bytes.size()) skip(bit % 8);
  }

  // Makes at least 57 bits available.
  void refill() {
    if (avail_ > 56) return;
    if (end_ - p_ >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p_, 8);
      if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
      buf_ |= w >> avail_;  // the bits past the whole bytes counted are the stream's next ones too
      const unsigned bytes = (63 - avail_) >> 3;
      p_ += bytes;
      avail_ += bytes * 8;
    } else {
      while (avail_ <= 56) {
        const std::uint64_t b = p_ < end_ ? *p_++ : 0;
        buf_ |= b << (56 - avail_);
        avail_ += 8;
      }
    }
  }
  std::uint64_t top() const { return buf_; }
  void skip(unsigned n) {  // n <= 56, after refill()
    buf_ <<= n;
    avail_ -= n;
  }
  std::uint64_t read(unsigned n) {  // 1 <= n <= 56, after refill()
    const std::uint64_t r = buf_ >> (64 - n);
    skip(n);
    return r;
  }
  std::uint64_t read_long(unsigned n) {  // 1 <= n <= 64; refills
    refill();
    if (n <= 56) return read(n);
    const std::uint64_t high = read(n - 32) << 32;
    refill();
    return high | read(32);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      refill();
      const std::uint64_t b = read(8);
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    return v;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  std::uint64_t buf_ = 0;  // the next bits, left-aligned
  unsigned avail_ = 0;
};

// The delta from the previous timestamp to point i's (i >= 1), `t_delta` being the previous one's:
// the second point's as a varint, later ones as a delta-of-delta.
[[gnu::always_inline]] inline std::uint64_t next_t_delta(BitReader& in, std::uint16_t i,
                                                         std::uint64_t t_delta) {
  if (i == 1) [[unlikely]]
    return in.varint();
  in.refill();
  // The prefix: 0, 10, 110, 1110 or 1111, for 0, 7, 14, 20 or 64 bits of delta-of-delta; the
  // first four without a branch on which (a scheduler's jitter makes it unpredictable).
  const std::uint64_t top = in.top();
  const auto ones = static_cast<unsigned>(std::countl_one(top));
  if (ones < 4) [[likely]] {
    static constexpr std::uint8_t kBits[] = {0, 7, 14, 20};
    const unsigned n = kBits[ones];
    const unsigned prefix = ones + 1;
    const std::uint64_t raw = ((top << prefix) >> 1) >> (63 - n);  // 0 when n is 0
    in.skip(prefix + n);
    // The bucket holds [-(2^(n-1) - 1), 2^(n-1)], as Prometheus's bitRange.
    const std::uint64_t range = std::uint64_t{1} << n;
    return t_delta + (raw > (range >> 1) ? raw - range : raw);
  }
  in.skip(4);
  return t_delta + in.read_long(64);
}

// Decodes points index + 1 .. count - 1 of an XOR stream, `in` positioned after point `index` with
// the decoder's state (t, delta, value, window) after it, passing those with mint <= t <= maxt to
// `sink(Point)`. Stops at the first point after maxt.
template <typename Sink>
void decode_xor_rest(BitReader& in, std::uint16_t index, std::uint16_t count, std::uint64_t t,
                     std::uint64_t t_delta, std::uint64_t v, unsigned leading, unsigned trailing,
                     Timestamp mint, Timestamp maxt, Sink& sink) {
  for (std::uint16_t i = index + 1; i < count; ++i) {
    if (static_cast<Timestamp>(t) >= maxt) return;  // later points are after maxt
    t_delta = next_t_delta(in, i, t_delta);
    t += t_delta;
    // At least 25 bits are left of the refill in next_t_delta (the varint and the 64-bit path
    // refill themselves): enough for the value's 13 control bits.
    const std::uint64_t control = in.top() >> 62;
    if (control < 2) {
      in.skip(1);  // the same value
    } else {
      in.skip(2);
      if (control == 3) {
        leading = static_cast<unsigned>(in.read(5));
        unsigned significant = static_cast<unsigned>(in.read(6));
        if (significant == 0) significant = 64;
        trailing = 64 - std::min(64U, leading + significant);  // never negative, even for bad bytes
      }
      v ^= in.read_long(64 - leading - trailing) << trailing;
    }
    if (static_cast<Timestamp>(t) > maxt) return;
    if (static_cast<Timestamp>(t) >= mint) sink(Point{static_cast<Timestamp>(t), std::bit_cast<double>(v)});
  }
}

// Decodes a decimal chunk's points from `start` (the first point, or a checkpoint, its bit counted
// from the start of `bytes`), passing those with mint <= t <= maxt to `sink(Point)`.
template <typename Sink>
void decode_decimal_from(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp min_t,
                         const DecodeStart& start, Timestamp mint, Timestamp maxt, Sink&& sink) {
  if (count == 0 || start.index >= count) return;
  const DecimalHeader h = parse_decimal_header(bytes, count);
  if (!h.valid) return;
  const unsigned width = h.wm + h.wc;
  BitReader values(bytes, h.value_bit + std::uint32_t{start.index} * width);
  std::uint64_t t;
  std::uint64_t t_delta;
  std::uint64_t v;
  BitReader times(bytes, start.index == 0 ? h.time_bit : start.bit);
  if (start.index == 0) {
    const std::uint64_t zigzag = times.varint();
    t = (zigzag >> 1) ^ (~(zigzag & 1) + 1);
    t_delta = 0;
    v = h.v0;
  } else {
    t = static_cast<std::uint64_t>(min_t) + start.state.t_offset;
    t_delta = start.state.t_delta;
    v = start.state.v();
  }
  if (static_cast<Timestamp>(t) > maxt) return;
  if (static_cast<Timestamp>(t) >= mint) sink(Point{static_cast<Timestamp>(t), std::bit_cast<double>(v)});
  auto m = static_cast<std::uint64_t>(decimal_mantissa(std::bit_cast<double>(v), h.e));
  std::uint64_t c = v - decimal_bits(static_cast<std::int64_t>(m), h.e);
  const std::uint64_t c_mask = h.wc == 0 ? 0 : ~std::uint64_t{0} >> (64 - h.wc);
  const bool integers = h.e == 0;
  const double scale = kPowersOfTen[h.e];
  for (std::uint16_t i = start.index + 1; i < count; ++i) {
    if (static_cast<Timestamp>(t) >= maxt) return;  // later points are after maxt
    t_delta = next_t_delta(times, i, t_delta);
    t += t_delta;
    std::uint64_t dm;
    std::uint64_t dc;
    if (width <= 56) {
      values.refill();
      const std::uint64_t raw = width == 0 ? 0 : values.read(width);
      dm = raw >> h.wc;
      dc = raw & c_mask;
    } else {
      dm = h.wm == 0 ? 0 : values.read_long(h.wm);
      dc = h.wc == 0 ? 0 : values.read_long(h.wc);
    }
    m += h.min_dm + dm;
    c += h.min_dc + dc;
    if (static_cast<Timestamp>(t) > maxt) return;
    if (static_cast<Timestamp>(t) >= mint) {
      // Integers (e = 0) need no division: double(m) / 1 is double(m).
      const auto d = static_cast<double>(static_cast<std::int64_t>(m));
      v = std::bit_cast<std::uint64_t>(integers ? d : d / scale) + c;
      sink(Point{static_cast<Timestamp>(t), std::bit_cast<double>(v)});
    }
  }
}

// Decodes the `count` points of a chunk's bytes from `start` (the first point, or a checkpoint;
// its bit counted from the start of `bytes`) and passes those with mint <= t <= maxt to
// `sink(Point)`, in order. `min_t` is the chunk's first timestamp (for a checkpoint's offset).
template <typename Sink>
void decode_from(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp min_t,
                 const DecodeStart& start, Timestamp mint, Timestamp maxt, Sink&& sink) {
  if (count == 0 || start.index >= count) return;
  if (start.index == 0) {
    BitReader in(bytes);
    const std::uint64_t zigzag = in.varint();
    const std::uint64_t t = (zigzag >> 1) ^ (~(zigzag & 1) + 1);
    const std::uint64_t v = in.read_long(64);
    const auto first = static_cast<Timestamp>(t);
    if (first > maxt) return;
    if (first >= mint) sink(Point{first, std::bit_cast<double>(v)});
    decode_xor_rest(in, 0, count, t, 0, v, 0, 0, mint, maxt, sink);
    return;
  }
  const Checkpoint& c = start.state;
  BitReader in(bytes, start.bit);
  const std::uint64_t t = static_cast<std::uint64_t>(min_t) + c.t_offset;
  const std::uint64_t v = c.v();
  const auto at = static_cast<Timestamp>(t);
  if (at > maxt) return;
  if (at >= mint) sink(Point{at, std::bit_cast<double>(v)});
  const unsigned leading = c.leading == 0xff ? 0 : c.leading;
  decode_xor_rest(in, start.index, count, t, c.t_delta, v, leading, c.trailing, mint, maxt, sink);
}

// Decodes a whole stream from its first point (for tests and benchmarks).
template <typename Sink>
void decode_chunk(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint, Timestamp maxt,
                  Sink&& sink) {
  decode_from(bytes, count, 0, DecodeStart{}, mint, maxt, sink);
}

// The same, appending to a vector.
inline void decode_chunk(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint,
                         Timestamp maxt, std::vector<Point>& out) {
  decode_chunk(bytes, count, mint, maxt, [&out](Point p) { out.push_back(p); });
}

// Decodes a sealed chunk's points in [mint, maxt], from the last checkpoint at or before mint.
template <typename Sink>
void decode(const Chunk& chunk, Timestamp mint, Timestamp maxt, Sink&& sink) {
  const DecodeStart start = start_before(chunk.checkpoints(), chunk.min_t(), mint);
  if (chunk.encoding() == Encoding::decimal) {
    decode_decimal_from(chunk.bytes(), chunk.count(), chunk.min_t(), start, mint, maxt, sink);
  } else {
    decode_from(chunk.bytes(), chunk.count(), chunk.min_t(), start, mint, maxt, sink);
  }
}

// The same, appending to a vector.
inline void decode(const Chunk& chunk, Timestamp mint, Timestamp maxt, std::vector<Point>& out) {
  decode(chunk, mint, maxt, [&out](Point p) { out.push_back(p); });
}

}  // namespace tocsin::store::detail
