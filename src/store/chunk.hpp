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

#include <atomic>
#include <cstddef>
#include <cstdint>
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
  std::span<const std::uint8_t> bytes() const { return {buf_.get(), (bits_ + 7) / 8}; }
  std::size_t capacity_bytes() const { return capacity_; }

  // Closes the chunk: returns its points as an immutable Chunk (exactly sized) and starts an empty
  // one, keeping last().
  ChunkRef seal();
  // Empties the chunk and frees its buffer.
  void reset();

 private:
  void reserve(std::uint32_t more_bytes);
  void put_bits(std::uint64_t v, unsigned n);
  void put_bit(bool b) { put_bits(b ? 1 : 0, 1); }
  void put_varint(std::uint64_t v);
  void put_value(std::uint64_t bits);

  std::unique_ptr<std::uint8_t[]> buf_;
  std::uint32_t bits_ = 0;
  std::uint32_t capacity_ = 0;
  Timestamp first_t_ = 0;
  Timestamp last_t_ = 0;
  std::uint64_t last_v_ = 0;
  std::uint64_t t_delta_ = 0;
  std::uint16_t count_ = 0;
  std::uint8_t leading_ = 0xff;  // 0xff: no meaningful-bits window yet
  std::uint8_t trailing_ = 0;
};

// Decodes the `count` points of a chunk's bytes and appends those with mint <= t <= maxt to `out`.
// Stops at the first point after maxt. Bytes that end early (never produced by HeadChunk) decode as
// zero bits, not as a read past the end.
void decode_chunk(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint, Timestamp maxt,
                  std::vector<Point>& out);

}  // namespace tocsin::store::detail
