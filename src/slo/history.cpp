// The budget buckets: pro-rata attribution of an evaluation's span, window sums, and the snapshot format.

#include "tocsin/slo/history.hpp"

#include <algorithm>
#include <cstring>

namespace tocsin::slo {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The snapshot: "TSLO", version, then little-endian fields; an FNV-1a checksum of all before it ends it.
constexpr char kMagic[4] = {'T', 'S', 'L', 'O'};
constexpr std::uint32_t kVersion = 1;

template <typename T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

class Reader {
 public:
  explicit Reader(const std::string& bytes, std::size_t end) : bytes_(bytes), end_(end) {}
  template <typename T>
  bool get(T& v) {
    if (end_ - at_ < sizeof(T)) return false;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  std::size_t left() const { return end_ - at_; }

 private:
  const std::string& bytes_;
  std::size_t end_;
  std::size_t at_ = 0;
};

std::uint64_t fnv1a(const char* data, std::size_t n) {
  std::uint64_t h = 1469598103934665603ULL;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

void put_ring(std::string& out, const BucketRing& ring) {
  put<std::int64_t>(out, ring.width().count());
  put<std::int64_t>(out, ring.newest());
  const auto buckets = ring.ordered();
  put<std::uint64_t>(out, buckets.size());
  for (const auto& b : buckets) {
    put(out, b.bad);
    put(out, b.total);
    put(out, b.missing_seconds);
    put(out, b.excluded_seconds);
  }
}

struct SavedRing {
  std::int64_t width = 0;
  std::int64_t newest = 0;
  std::vector<BucketRing::Bucket> buckets;  // empty: the ring was
};

bool get_ring(Reader& in, SavedRing& ring) {
  std::uint64_t n = 0;
  if (!in.get(ring.width) || !in.get(ring.newest) || !in.get(n)) return false;
  constexpr std::size_t kBucketBytes = 2 * sizeof(double) + 2 * sizeof(float);
  if (n > in.left() / kBucketBytes) return false;
  ring.buckets.resize(n);
  for (auto& b : ring.buckets) {
    if (!in.get(b.bad) || !in.get(b.total) || !in.get(b.missing_seconds) || !in.get(b.excluded_seconds))
      return false;
  }
  return true;
}

}  // namespace

BucketRing::BucketRing(Duration width, std::size_t count)
    : width_(width), buckets_(std::max<std::size_t>(count, 1)) {}

void BucketRing::advance_to(std::int64_t index) {
  if (!empty_ && index <= newest_) return;
  const auto n = static_cast<std::int64_t>(buckets_.size());
  const std::int64_t first_cleared = empty_ ? index - n + 1 : std::max(newest_ + 1, index - n + 1);
  for (std::int64_t k = first_cleared; k <= index; ++k) at(k) = Bucket{};
  newest_ = index;
  empty_ = false;
}

void BucketRing::add(Timestamp from, Timestamp to, const Totals& d) {
  const std::int64_t w = width_.count();
  const auto n = static_cast<std::int64_t>(buckets_.size());
  if (to <= from) from = to - 1;  // a point: all of it in the bucket holding `to`
  const std::int64_t first = floor_div(from, w);
  const std::int64_t last = floor_div(to - 1, w);
  advance_to(last);
  const double span = static_cast<double>(to - from);
  for (std::int64_t k = std::max(first, newest_ - n + 1); k <= last; ++k) {
    const std::int64_t overlap = std::min(to, (k + 1) * w) - std::max(from, k * w);
    if (overlap <= 0) continue;
    const double share = static_cast<double>(overlap) / span;
    Bucket& b = at(k);
    b.bad += d.bad * share;
    b.total += d.total * share;
    b.missing_seconds += static_cast<float>(d.missing_seconds * share);
    b.excluded_seconds += static_cast<float>(d.excluded_seconds * share);
  }
}

Totals BucketRing::sum(Timestamp now, Duration span) const {
  Totals out;
  if (empty_ || span <= Duration(0)) return out;
  const std::int64_t w = width_.count();
  const auto n = static_cast<std::int64_t>(buckets_.size());
  const Timestamp start = now - span.count();
  const std::int64_t first = std::max(floor_div(start, w), newest_ - n + 1);
  const std::int64_t last = std::min(floor_div(now, w), newest_);
  for (std::int64_t k = first; k <= last; ++k) {
    const Timestamp b_start = k * w;
    const Timestamp b_end = std::min<Timestamp>((k + 1) * w, now);
    const std::int64_t len = b_end - b_start;
    double share = 1;
    if (len > 0) {
      share = static_cast<double>(std::max<std::int64_t>(0, b_end - std::max(b_start, start))) /
              static_cast<double>(len);
    }
    if (share <= 0) continue;
    const Bucket& b = at(k);
    out.bad += b.bad * share;
    out.total += b.total * share;
    out.missing_seconds += b.missing_seconds * share;
    out.excluded_seconds += b.excluded_seconds * share;
  }
  return out;
}

std::vector<BucketRing::Bucket> BucketRing::ordered() const {
  std::vector<Bucket> out;
  if (empty_) return out;
  const auto n = static_cast<std::int64_t>(buckets_.size());
  for (std::int64_t k = newest_ - n + 1; k <= newest_; ++k) out.push_back(at(k));
  return out;
}

void BucketRing::restore(std::int64_t newest, const std::vector<Bucket>& ordered) {
  if (ordered.empty()) return;
  advance_to(newest);
  const auto n = static_cast<std::int64_t>(buckets_.size());
  const auto saved = static_cast<std::int64_t>(ordered.size());
  for (std::int64_t i = 0; i < saved; ++i) {
    const std::int64_t k = newest - saved + 1 + i;
    if (k <= newest_ - n) continue;  // older than this ring reaches
    at(k) = ordered[static_cast<std::size_t>(i)];
  }
}

History::History(Duration window, Duration bucket)
    : window_(window),
      coarse_(bucket, static_cast<std::size_t>(window / bucket) + 1),
      fine_(kFineWidth, static_cast<std::size_t>(kFineReach / kFineWidth) + 1) {}

void History::record(Timestamp from, Timestamp to, const Totals& d) {
  coarse_.add(from, to, d);
  fine_.add(from, to, d);
  last_time_ = last_time_ ? std::max(*last_time_, to) : to;
  first_time_ = first_time_ ? std::min(*first_time_, from) : from;
}

Duration History::covered(Timestamp now, Duration span) const {
  if (!first_time_) return Duration(0);
  return std::clamp(Duration(now - *first_time_), Duration(0), span);
}

Totals History::sum(Timestamp now, Duration span) const {
  if (span <= kFineReach) return fine_.sum(now, span);
  return coarse_.sum(now, std::min(span, window_));
}

std::size_t History::memory_bytes() const {
  return sizeof(*this) + (coarse_.size() + fine_.size()) * sizeof(BucketRing::Bucket);
}

std::string History::serialize() const {
  std::string out(kMagic, sizeof kMagic);
  put(out, kVersion);
  put<std::int64_t>(out, window_.count());
  put<std::uint8_t>(out, last_time_ ? 1 : 0);
  put<std::int64_t>(out, last_time_.value_or(0));
  put<std::int64_t>(out, first_time_.value_or(0));
  put_ring(out, coarse_);
  put_ring(out, fine_);
  put(out, fnv1a(out.data(), out.size()));
  return out;
}

std::string History::restore(const std::string& bytes) {
  if (bytes.size() < sizeof kMagic + sizeof(std::uint64_t) ||
      std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return "not an SLO history snapshot";
  const std::size_t body = bytes.size() - sizeof(std::uint64_t);
  std::uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + body, sizeof sum);
  if (sum != fnv1a(bytes.data(), body)) return "checksum mismatch (a torn or damaged file)";
  Reader in(bytes, body);
  char magic[4];
  std::uint32_t version = 0;
  std::int64_t window = 0, last = 0, first = 0;
  std::uint8_t has_last = 0;
  for (char& c : magic) in.get(c);
  if (!in.get(version) || version != kVersion) return "unknown snapshot version " + std::to_string(version);
  SavedRing coarse, fine;
  if (!in.get(window) || !in.get(has_last) || !in.get(last) || !in.get(first) || !get_ring(in, coarse) ||
      !get_ring(in, fine))
    return "truncated snapshot";
  if (coarse.width == coarse_.width().count()) coarse_.restore(coarse.newest, coarse.buckets);
  if (fine.width == fine_.width().count()) fine_.restore(fine.newest, fine.buckets);
  if (has_last) {
    last_time_ = last_time_ ? std::max(*last_time_, last) : last;
    first_time_ = first_time_ ? std::min(*first_time_, first) : first;
  }
  return "";
}

}  // namespace tocsin::slo
