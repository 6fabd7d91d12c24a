#include "store/chunk.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

namespace tocsin::store::detail {

ChunkRef Chunk::make(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp min_t,
                     Timestamp max_t) {
  void* memory = ::operator new(sizeof(Chunk) + bytes.size());
  auto* chunk = new (memory) Chunk();
  chunk->size_ = static_cast<std::uint16_t>(bytes.size());
  chunk->count_ = count;
  chunk->min_t_ = min_t;
  chunk->max_t_ = max_t;
  if (!bytes.empty()) std::memcpy(static_cast<void*>(chunk + 1), bytes.data(), bytes.size());
  return ChunkRef(chunk);
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

void HeadChunk::reserve(std::uint32_t more_bytes) {
  const std::uint32_t used = (bits_ + 7) / 8;
  if (used + more_bytes <= capacity_) return;
  // Grows by half (not doubling): a head chunk lives long, so its slack is memory held per series.
  std::uint32_t next = std::max<std::uint32_t>({32, used + more_bytes, capacity_ + capacity_ / 2});
  next = (next + 15) & ~15U;
  auto bigger = std::make_unique<std::uint8_t[]>(next);
  if (used > 0) std::memcpy(bigger.get(), buf_.get(), used);
  buf_ = std::move(bigger);
  capacity_ = next;
}

// Most significant bit first, as Prometheus's bstream.
void HeadChunk::put_bits(std::uint64_t v, unsigned n) {
  while (n > 0) {
    const std::uint32_t byte = bits_ >> 3;
    const unsigned free = 8 - (bits_ & 7);
    if (free == 8) buf_[byte] = 0;
    const unsigned take = std::min(free, n);
    const auto part = static_cast<unsigned>((v >> (n - take)) & ((1U << take) - 1));
    buf_[byte] = static_cast<std::uint8_t>(buf_[byte] | (part << (free - take)));
    bits_ += take;
    n -= take;
  }
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
  reserve(24);  // the most one point takes: a 10-byte varint and 64 bits, or 4 + 64 + 77 bits
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
      auto fits = [dod](int n) { return dod >= -((std::int64_t{1} << (n - 1)) - 1) && dod <= std::int64_t{1} << (n - 1); };
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
}

ChunkRef HeadChunk::seal() {
  ChunkRef sealed = Chunk::make(bytes(), count_, first_t_, last_t_);
  // The buffer goes too: kept, it would hold a whole chunk's bytes of slack per series until the
  // next chunk fills it.
  buf_.reset();
  capacity_ = 0;
  bits_ = 0;
  count_ = 0;
  t_delta_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
  return sealed;
}

void HeadChunk::reset() {
  buf_.reset();
  capacity_ = 0;
  bits_ = 0;
  count_ = 0;
  first_t_ = last_t_ = 0;
  last_v_ = 0;
  t_delta_ = 0;
  leading_ = 0xff;
  trailing_ = 0;
}

// --- decoding ---------------------------------------------------------------------------------

namespace {

class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> bytes) : data_(bytes.data()), size_(bytes.size()) {}

  // The next n bits (1 <= n <= 64), most significant first; zeros past the end.
  std::uint64_t read(unsigned n) {
    const std::size_t byte = pos_ >> 3;
    const unsigned offset = pos_ & 7;
    std::uint64_t r = (word(byte) << offset) >> (64 - n);
    if (offset + n > 64) {
      const unsigned rest = offset + n - 64;  // 1..7 bits from the ninth byte
      r |= static_cast<std::uint64_t>(at(byte + 8)) >> (8 - rest);
    }
    pos_ += n;
    return r;
  }
  bool bit() {
    const std::size_t byte = pos_ >> 3;
    const unsigned offset = pos_ & 7;
    ++pos_;
    return ((at(byte) >> (7 - offset)) & 1) != 0;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      const std::uint64_t b = read(8);
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    return v;
  }

 private:
  std::uint8_t at(std::size_t i) const { return i < size_ ? data_[i] : 0; }
  std::uint64_t word(std::size_t byte) const {
    if (byte + 8 <= size_) {
      std::uint64_t w;
      std::memcpy(&w, data_ + byte, 8);
      if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
      return w;
    }
    std::uint64_t w = 0;
    for (std::size_t i = 0; i < 8; ++i) w = (w << 8) | at(byte + i);
    return w;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

std::int64_t sign_extend(std::uint64_t bits, unsigned n) {
  // Encoded range is [-(2^(n-1) - 1), 2^(n-1)], as Prometheus's bitRange.
  if (bits > (std::uint64_t{1} << (n - 1))) return static_cast<std::int64_t>(bits - (std::uint64_t{1} << n));
  return static_cast<std::int64_t>(bits);
}

}  // namespace

void decode_chunk(std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint, Timestamp maxt,
                  std::vector<Point>& out) {
  if (count == 0) return;
  BitReader in(bytes);
  const std::uint64_t zigzag = in.varint();
  std::uint64_t t = (zigzag >> 1) ^ (~(zigzag & 1) + 1);
  std::uint64_t v = in.read(64);
  std::uint64_t t_delta = 0;
  unsigned leading = 0;
  unsigned trailing = 0;
  auto emit = [&] {
    const auto ts = static_cast<Timestamp>(t);
    if (ts >= mint) out.push_back({ts, std::bit_cast<double>(v)});
  };
  emit();
  for (std::uint16_t i = 1; i < count; ++i) {
    if (static_cast<Timestamp>(t) >= maxt) return;  // later points are after maxt
    if (i == 1) {
      t_delta = in.varint();
    } else if (in.bit()) {
      unsigned n = 64;
      if (!in.bit()) {
        n = 7;
      } else if (!in.bit()) {
        n = 14;
      } else if (!in.bit()) {
        n = 20;
      }
      const std::uint64_t raw = in.read(n);
      t_delta += n == 64 ? raw : static_cast<std::uint64_t>(sign_extend(raw, n));
    }
    t += t_delta;
    if (in.bit()) {
      if (in.bit()) {
        leading = static_cast<unsigned>(in.read(5));
        unsigned significant = static_cast<unsigned>(in.read(6));
        if (significant == 0) significant = 64;
        trailing = 64 - std::min(64U, leading + significant);  // never negative, even for bad bytes
      }
      const unsigned significant = 64 - leading - trailing;
      v ^= in.read(significant) << trailing;
    }
    if (static_cast<Timestamp>(t) > maxt) return;
    emit();
  }
}

}  // namespace tocsin::store::detail
