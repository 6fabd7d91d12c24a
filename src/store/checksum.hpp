#pragma once
// The store snapshot's checksum: 64 bits over a stream of bytes, eight at a time. It finds
// corruption (a torn write, a flipped bit), not tampering.

#include <cstddef>
#include <cstdint>

namespace tocsin::store::detail {

class Checksum {
 public:
  void add(const char* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      word_ |= static_cast<std::uint64_t>(static_cast<unsigned char>(data[i])) << (8 * filled_);
      if (++filled_ == 8) mix();
    }
  }
  std::uint64_t finish() {
    if (filled_ > 0) mix();
    std::uint64_t h = state_ ^ length_;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
  }

 private:
  void mix() {
    state_ = (state_ ^ (word_ * 0x9e3779b97f4a7c15ULL)) * 0xc2b2ae3d27d4eb4fULL;
    state_ ^= state_ >> 29;
    length_ += filled_;
    word_ = 0;
    filled_ = 0;
  }
  std::uint64_t state_ = 0x243f6a8885a308d3ULL;
  std::uint64_t word_ = 0;
  std::uint64_t length_ = 0;
  unsigned filled_ = 0;
};

}  // namespace tocsin::store::detail
