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
// A series has one open HeadChunk, appended in place under the store's exclusive lock, and closed
// Chunks: immutable once sealed, reference-counted, so a reader holds a ChunkRef and decodes it
// after the store's lock is released, with no copy of its bytes.

#include <algorithm>
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

// An immutable, sealed chunk: one allocation holding its header and its bytes. Thread-safe.
class Chunk {
 public:
  std::uint16_t count() const { return count_; }
  Timestamp min_t() const { return min_t_; }
  Timestamp max_t() const { return max_t_; }
  std::span<const std::uint8_t> bytes() const { return {data(), size_}; }
  // The allocation's size: header and bytes.
  std::size_t allocated_bytes() const { return sizeof(Chunk) + size_; }

  static ChunkRef make(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp min_t,
                       Timestamp max_t);

 private:
  friend class ChunkRef;
  Chunk() = default;
  const std::uint8_t* data() const { return reinterpret_cast<const std::uint8_t*>(this + 1); }

  mutable std::atomic<std::uint32_t> refs_{1};
  std::uint16_t size_ = 0;  // at most kMaxChunkPoints points of at most 18 bytes each
  std::uint16_t count_ = 0;
  Timestamp min_t_ = 0;
  Timestamp max_t_ = 0;
};

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
  std::size_t capacity_bytes() const { return capacity_; }

  // Closes the chunk: returns its points as an immutable Chunk (exactly sized) and starts an empty
  // one, keeping last().
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
  };
  State state() const {
    return {bytes(), count_, bits_, first_t_, last_t_, last_v_, t_delta_, leading_, trailing_};
  }
  // `state.bytes` must hold (bits + 7) / 8 bytes.
  void restore(const State& state);

 private:
  void reserve(unsigned more_bytes);
  void put_bits(std::uint64_t v, unsigned n);
  void put_bit(bool b) { put_bits(b ? 1 : 0, 1); }
  void put_varint(std::uint64_t v);
  void put_value(std::uint64_t bits);

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
};

// Reads a chunk's bits most significant first through a 64-bit window; zeros past the end, so
// bytes that end early (never produced by HeadChunk) decode as zero bits, not as a read past the end.
class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

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

// Decodes the `count` points of a chunk's bytes and passes those with mint <= t <= maxt to
// `sink(Point)`, in order. Stops at the first point after maxt.
template <typename Sink>
void decode_chunk(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint, Timestamp maxt,
                  Sink&& sink) {
  if (count == 0) return;
  BitReader in(bytes);
  const std::uint64_t zigzag = in.varint();
  std::uint64_t t = (zigzag >> 1) ^ (~(zigzag & 1) + 1);
  std::uint64_t v = in.read_long(64);
  std::uint64_t t_delta = 0;
  unsigned leading = 0;
  unsigned trailing = 0;
  if (static_cast<Timestamp>(t) >= mint) sink(Point{static_cast<Timestamp>(t), std::bit_cast<double>(v)});
  for (std::uint16_t i = 1; i < count; ++i) {
    if (static_cast<Timestamp>(t) >= maxt) return;  // later points are after maxt
    if (i == 1) [[unlikely]] {
      t_delta = in.varint();
    } else {
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
        t_delta += raw > (range >> 1) ? raw - range : raw;
      } else {
        in.skip(4);
        t_delta += in.read_long(64);
      }
    }
    t += t_delta;
    // At least 25 bits are left of the refill above (the 64-bit path refills itself): enough for
    // the value's 13 control bits.
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

// The same, appending to a vector.
inline void decode_chunk(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint,
                         Timestamp maxt, std::vector<Point>& out) {
  decode_chunk(bytes, count, mint, maxt, [&out](Point p) { out.push_back(p); });
}

}  // namespace tocsin::store::detail
