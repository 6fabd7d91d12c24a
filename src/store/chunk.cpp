#include "store/chunk.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <new>

namespace tocsin::store::detail {

ChunkRef Chunk::make(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp min_t,
                     Timestamp max_t, std::span<const Checkpoint> checkpoints) {
  const std::size_t n = checkpoint_count(count);
  std::vector<Checkpoint> found;
  if (checkpoints.size() != n) {
    found = find_checkpoints(bytes, count);
    checkpoints = found;
  }
  void* memory = ::operator new(sizeof(Chunk) + n * sizeof(Checkpoint) + bytes.size());
  auto* chunk = new (memory) Chunk();
  chunk->size_ = static_cast<std::uint16_t>(bytes.size());
  chunk->count_ = count;
  chunk->min_t_ = min_t;
  chunk->max_t_ = max_t;
  auto* cps = reinterpret_cast<Checkpoint*>(chunk + 1);
  for (std::size_t k = 0; k < n; ++k) new (cps + k) Checkpoint(checkpoints[k]);
  if (!bytes.empty()) std::memcpy(static_cast<void*>(cps + n), bytes.data(), bytes.size());
  return ChunkRef(chunk);
}

std::vector<Checkpoint> find_checkpoints(std::span<const std::uint8_t> bytes, std::uint16_t count) {
  // Appending the decoded points to a head chunk gives the same bytes (the encoding is a function of
  // the points) and records the checkpoints on the way.
  HeadChunk head;
  decode_chunk(bytes, count, std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max(),
               [&head](Point p) {
                 if (head.empty() || p.t > head.last().t) head.append(p.t, p.v);
               });
  const auto found = head.checkpoints();
  std::vector<Checkpoint> out(found.begin(), found.end());
  // Bytes that are not the encoding of `count` increasing points (never the store's) get none.
  out.resize(checkpoint_count(count));
  const auto again = head.bytes();
  if (head.count() != count || again.size() != bytes.size() ||
      (!bytes.empty() && std::memcmp(again.data(), bytes.data(), bytes.size()) != 0)) {
    std::fill(out.begin(), out.end(), Checkpoint{});
  }
  return out;
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
  while (v >= 0x80) {
    put_bits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  put_bits(v, 8);
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
      const auto dod = static_cast<std::int64_t>(delta - t_delta_);
      auto fits = [dod](int n) {
        return dod >= -((std::int64_t{1} << (n - 1)) - 1) && dod <= std::int64_t{1} << (n - 1);
      };
      const auto udod = static_cast<std::uint64_t>(dod);
      if (dod == 0) {
        put_bit(false);
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
  ChunkRef sealed = Chunk::make(bytes(), count_, first_t_, last_t_, checkpoints());
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
