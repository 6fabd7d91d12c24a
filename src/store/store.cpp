#include "tocsin/store/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <system_error>
#include <type_traits>
#include <unordered_map>

#include "store/checksum.hpp"
#include "store/chunk.hpp"
#include "store/symbols.hpp"
#include "tocsin/core/file_read.hpp"

namespace tocsin::store {

namespace {

using detail::Checksum;
using detail::Chunk;
using detail::ChunkRef;
using detail::HeadChunk;
using detail::SymbolTable;
using SymbolId = SymbolTable::Id;
using SeriesId = std::uint32_t;

constexpr WriterId kNoWriter = ~WriterId{0};

struct Series {
  // The fields the exposition reads come first: a walk over all series touches one or two cache
  // lines of each.
  std::unique_ptr<SymbolId[]> syms;  // name, value, name, value, ... sorted by name
  std::uint32_t label_count = 0;
  std::uint32_t family = 0;  // index into Impl::families_
  bool alive = false;
  bool own_time = false;            // its last sample came with its own timestamp: no staleness marker
  std::uint32_t closed_points = 0;  // points in `closed`
  HeadChunk head;                   // the open chunk, after `closed`; keeps the newest point
  std::uint32_t max_points = 0;
  std::uint32_t commit_seq = 0;  // the writer's commit that last carried this series
  std::uint32_t generation = 0;  // tells a series apart from a later one given the same id
  WriterId writer = kNoWriter;
  std::uint64_t hash = 0;
  std::vector<ChunkRef> closed;  // sealed chunks, oldest first

  SymbolId name_sym(std::uint32_t i) const { return syms[std::size_t{2} * i]; }
  SymbolId value_sym(std::uint32_t i) const { return syms[std::size_t{2} * i + 1]; }
  bool has_points() const { return closed_points > 0 || !head.empty(); }
  std::size_t point_count() const { return closed_points + head.count(); }
  Point last() const { return head.last(); }  // only with has_points()
  bool stale() const { return has_points() && is_stale_nan(head.last().v); }

  // Points per chunk: half the series' bound (retention / interval + 2), at most kMaxChunkPoints, so
  // dropping whole chunks keeps a series within 1.5 times its window.
  std::uint16_t chunk_points() const {
    return static_cast<std::uint16_t>(std::clamp<std::uint32_t>(max_points / 2, 4, detail::kMaxChunkPoints));
  }

  // Appends a point later than last(); seals the head chunk when full and then drops the oldest
  // chunks the bound no longer needs (a series keeps at least max_points points).
  void append(Point p) {
    head.append(p.t, p.v);
    if (head.count() >= chunk_points()) {
      closed.push_back(head.seal());
      closed_points += closed.back()->count();
    }
    std::size_t drop = 0;
    std::size_t left = point_count();
    while (drop < closed.size() && left - closed[drop]->count() >= max_points)
      left -= closed[drop++]->count();
    drop_oldest(drop);
  }
  void drop_oldest(std::size_t chunks) {
    if (chunks == 0) return;
    for (std::size_t i = 0; i < chunks; ++i) closed_points -= closed[i]->count();
    closed.erase(closed.begin(), closed.begin() + static_cast<std::ptrdiff_t>(chunks));
  }
};

struct Writer {
  std::string name;
  std::uint32_t max_points = 0;
  std::uint32_t commit_seq = 0;
  bool active = true;
  std::vector<SeriesId> series;  // the series its last commit carried
  // For a batch whose label sets are cached by its collector: its samples' label sets, in batch
  // order, with the series each resolved to (empty labels where a sample was refused).
  struct Known {
    Labels labels;
    SeriesId id = 0;
    std::uint32_t generation = 0;
  };
  std::vector<Known> known;
};

// Sorted posting lists: label name -> value -> series ids.
using Postings = std::vector<SeriesId>;

void insert_sorted(Postings& list, SeriesId id) {
  if (list.empty() || list.back() < id) {
    list.push_back(id);
  } else {
    list.insert(std::lower_bound(list.begin(), list.end(), id), id);
  }
}

Postings intersect(const Postings& a, const Postings& b) {
  Postings out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// --- snapshot encoding -------------------------------------------------------------------------
// File: the 8-byte magic, u32 version, u32 reserved, u64 payload length, u64 payload checksum, then
// the payload. Integers little-endian, strings as u32 length and bytes.

constexpr char kSnapshotMagic[8] = {'T', 'O', 'C', 'S', 'I', 'N', 'S', 'N'};
// Version 2: chunks carry their checkpoints. Version 3: a closed chunk's encoding (XOR or decimal)
// after its byte count.
constexpr std::uint32_t kSnapshotVersion = 3;
constexpr std::size_t kSnapshotHeader = 32;

template <typename T>
void put(std::string& out, T v) {
  static_assert(std::is_integral_v<T>);
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}
void put_string(std::string& out, std::string_view s) {
  put(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
void put_checkpoints(std::string& out, std::span<const detail::Checkpoint> checkpoints) {
  for (const detail::Checkpoint& c : checkpoints) {
    put(out, c.v_low);
    put(out, c.v_high);
    put(out, c.t_offset);
    put(out, c.t_delta);
    put(out, c.bit);
    put(out, c.leading);
    put(out, c.trailing);
  }
}

// Reads the payload with every length checked; errors name the byte offset.
class SnapshotReader {
 public:
  SnapshotReader(const std::string& data, std::size_t begin) : data_(data), pos_(begin) {}
  template <typename T>
  T get() {
    need(sizeof(T), "a number");
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(data_[pos_ + i])) << (8 * i);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  std::string_view bytes(std::size_t n, const char* what) {
    need(n, what);
    std::string_view out(data_.data() + pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view str(const char* what) { return bytes(get<std::uint32_t>(), what); }
  // `n` checkpoints of a stream of `size` bytes; a position past its end is refused.
  std::vector<detail::Checkpoint> checkpoints(std::size_t n, std::size_t size) {
    std::vector<detail::Checkpoint> out(n);
    for (detail::Checkpoint& c : out) {
      c.v_low = get<std::uint32_t>();
      c.v_high = get<std::uint32_t>();
      c.t_offset = get<std::uint32_t>();
      c.t_delta = get<std::uint32_t>();
      c.bit = get<std::uint16_t>();
      c.leading = get<std::uint8_t>();
      c.trailing = get<std::uint8_t>();
      if (c.valid() && (c.bit > size * 8 || (c.leading > 31 && c.leading != 0xff) || c.trailing > 63))
        fail("an inconsistent checkpoint");
    }
    return out;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw SnapshotError("at byte " + std::to_string(pos_) + ": " + what);
  }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  void need(std::size_t n, const char* what) const {
    if (data_.size() - pos_ < n) fail(std::string("truncated, reading ") + what);
  }
  const std::string& data_;
  std::size_t pos_;
};

}  // namespace

class Store::Impl {
 public:
  Impl(StoreOptions options, const Clock& clock) : options_(options), clock_(clock) {}

  WriterId register_writer(std::string_view name, Duration interval) {
    std::unique_lock lock(mutex_);
    auto points = static_cast<std::uint32_t>(std::max<std::int64_t>(
        4, options_.retention.count() / std::max<std::int64_t>(1, interval.count()) + 2));
    if (auto it = writer_ids_.find(std::string(name)); it != writer_ids_.end()) {
      Writer& w = writers_[it->second];
      w.max_points = points;
      w.active = true;
      // A new interval (a reloaded group or collector) resizes the rings of the series it already has.
      for (SeriesId id : w.series) {
        if (series_[id].writer == it->second) series_[id].max_points = points;
      }
      return it->second;
    }
    auto id = static_cast<WriterId>(writers_.size());
    writers_.push_back(Writer{std::string(name), points, 0, true, {}, {}});
    writer_ids_.emplace(std::string(name), id);
    return id;
  }

  CommitResult commit(WriterId writer_id, const Batch& batch, Timestamp t, std::size_t sample_limit) {
    CommitResult result;
    bool first_refusal = false;
    {
      std::unique_lock lock(mutex_);
      result = commit_locked(writer_id, batch, t, sample_limit);
      if (result.over_series_limit > 0 && !series_limit_reported_)
        first_refusal = series_limit_reported_ = true;
    }
    if (first_refusal && options_.on_series_limit) options_.on_series_limit(options_.max_series);
    return result;
  }

  std::size_t live_series() const { return series_.size() - free_ids_.size(); }

  std::size_t retire_unregistered_writers(Timestamp t) {
    std::unique_lock lock(mutex_);
    std::size_t retired = 0;
    for (WriterId id = 0; id < writers_.size(); ++id) {
      Writer& w = writers_[id];
      if (w.active || w.series.empty()) continue;
      commit_locked(id, Batch(), t);
      w.series.clear();
      w.known = {};
      ++retired;
    }
    return retired;
  }

  void set_append_listener(AppendListener listener) {
    std::unique_lock lock(mutex_);
    listener_ = std::move(listener);
  }

  CommitResult commit_locked(WriterId writer_id, const Batch& batch, Timestamp t,
                             std::size_t sample_limit = 0) {
    CommitResult result;
    std::vector<AppendedPoint> appended;
    if (listener_) appended.reserve(batch.size());
    Writer& writer = writers_.at(writer_id);
    for (const FamilyMetadata& f : batch.families()) describe(f);
    const std::uint32_t seq = ++writer.commit_seq;
    std::vector<SeriesId> carried;
    carried.reserve(batch.size());
    std::vector<Writer::Known> known;
    if (batch.labels_cached()) known.resize(batch.size());

    const auto& samples = batch.samples();
    auto resolve = [&](std::size_t k) {
      const Sample& sample = samples[k];
      if (k < writer.known.size()) {
        // The same label set as at this place in the last commit, and that series still exists.
        const Writer::Known& last = writer.known[k];
        if (last.labels.shares_with(sample.labels) && series_[last.id].alive &&
            series_[last.id].generation == last.generation) {
          return last.id;
        }
      }
      return find_series(sample.labels, sample.labels.hash());
    };
    // The series the last commit carried: their commit_seq is the one before this.
    auto carried_last = [&](const Series& s) { return s.writer == writer_id && s.commit_seq + 1 == seq; };
    // Over the writer's limit: the series it had keep their place, new ones get what is left.
    const bool limited = sample_limit > 0 && samples.size() > sample_limit;
    std::size_t old_admitted = 0, new_admitted = 0, new_budget = 0;
    if (limited) {
      std::size_t old_present = 0;
      for (std::size_t k = 0; k < samples.size(); ++k) {
        const SeriesId id = resolve(k);
        if (id != kNone && carried_last(series_[id])) ++old_present;
      }
      new_budget = sample_limit - std::min(old_present, sample_limit);
    }
    for (std::size_t k = 0; k < samples.size(); ++k) {
      const Sample& sample = samples[k];
      const bool own_time = sample.timestamp != kCommitTime;
      const Timestamp at = own_time ? sample.timestamp : t;
      SeriesId id = resolve(k);
      if (id == kNone) {
        const std::uint64_t hash = sample.labels.hash();
        if (!valid_names(sample.labels)) {
          ++result.invalid;
          continue;
        }
        if (limited && new_admitted >= new_budget) {
          ++result.over_sample_limit;
          continue;
        }
        if (options_.max_series > 0 && live_series() >= options_.max_series) {
          ++result.over_series_limit;
          ++series_refused_;
          continue;
        }
        if (limited) ++new_admitted;
        id = create_series(sample.labels, hash, writer_id, writer.max_points);
        ++result.created;
      } else {
        Series& s = series_[id];
        if (limited && s.commit_seq != seq) {  // a duplicate is counted as one below
          const bool old = carried_last(s);
          if (old ? old_admitted >= sample_limit : new_admitted >= new_budget) {
            ++result.over_sample_limit;
            continue;
          }
          ++(old ? old_admitted : new_admitted);
        }
        if (s.writer != writer_id) {
          // A series belongs to one writer at a time; another may take it over once it has ended.
          if (s.writer != kNoWriter && writers_[s.writer].active && !s.stale()) {
            ++result.conflicts;
            continue;
          }
          s.writer = writer_id;
          s.max_points = writer.max_points;
        }
        if (s.commit_seq == seq) {
          ++result.duplicates;
          continue;
        }
        if (s.has_points() && s.last().t >= at) {
          if (own_time && s.last().t == at &&
              std::bit_cast<std::uint64_t>(s.last().v) == std::bit_cast<std::uint64_t>(sample.value)) {
            // The same sample again (a cached result, an exposition that did not change): the series
            // is still reported, so neither stale nor collected.
            s.commit_seq = seq;
            carried.push_back(id);
            if (!known.empty()) known[k] = {sample.labels, id, s.generation};
            ++result.unchanged;
            continue;
          }
          ++result.out_of_order;
          continue;
        }
      }
      Series& s = series_[id];
      s.commit_seq = seq;
      s.own_time = own_time;
      s.append({at, sample.value});
      if (listener_) appended.push_back({sample.labels, at, sample.value});
      carried.push_back(id);
      if (!known.empty()) known[k] = {sample.labels, id, s.generation};
      ++result.appended;
    }

    for (SeriesId id : writer.series) {
      Series& s = series_[id];
      if (!s.alive || s.writer != writer_id || s.commit_seq == seq || s.own_time) continue;
      if (!s.stale() && (!s.has_points() || s.last().t < t)) {
        s.append({t, stale_nan()});
        if (listener_) appended.push_back({materialize(s), t, stale_nan()});
        ++result.marked_stale;
      }
    }
    writer.series = std::move(carried);
    writer.known = std::move(known);
    if (result.created > 0) order_dirty_ = true;
    if (listener_ && !appended.empty()) listener_(writer_id, std::move(appended));
    return result;
  }

  void retire_writer(WriterId writer_id, Timestamp t) {
    {
      Batch empty;
      commit(writer_id, empty, t, 0);
    }
    std::unique_lock lock(mutex_);
    Writer& w = writers_.at(writer_id);
    w.active = false;
    w.series.clear();
    w.known = {};
  }

  std::size_t collect_garbage() {
    std::unique_lock lock(mutex_);
    const Timestamp cutoff = clock_.now_ms() - options_.retention.count();
    std::vector<bool> dropped(series_.size(), false);
    std::size_t dropped_count = 0;
    for (SeriesId id = 0; id < series_.size(); ++id) {
      Series& s = series_[id];
      if (!s.alive) continue;
      // A series its writer still reports keeps its newest point whatever its age.
      const bool current = s.writer != kNoWriter && writers_[s.writer].active &&
                           s.commit_seq == writers_[s.writer].commit_seq && !s.stale();
      // Whole chunks go, once all their points are older than the cutoff; a current series keeps the
      // chunk holding its newest point.
      std::size_t drop = 0;
      while (drop < s.closed.size() && s.closed[drop]->max_t() < cutoff &&
             !(current && s.head.empty() && drop + 1 == s.closed.size())) {
        ++drop;
      }
      s.drop_oldest(drop);
      if (s.closed.empty() && !s.head.empty() && s.last().t < cutoff && !current) s.head.reset();
      if (!s.has_points()) {
        drop_series(id);
        dropped[id] = true;
        ++dropped_count;
      }
    }
    if (dropped_count > 0) {
      for (auto name_it = postings_.begin(); name_it != postings_.end();) {
        auto& values = name_it->second;
        for (auto value_it = values.begin(); value_it != values.end();) {
          std::erase_if(value_it->second, [&](SeriesId id) { return dropped[id]; });
          value_it = value_it->second.empty() ? values.erase(value_it) : std::next(value_it);
        }
        name_it = values.empty() ? postings_.erase(name_it) : std::next(name_it);
      }
      std::erase_if(all_, [&](SeriesId id) { return dropped[id]; });
      order_dirty_ = true;
    }
    return dropped_count;
  }

  SeriesSet select(std::span<const Matcher> matchers, Timestamp mint, Timestamp maxt) const {
    SeriesSet out;
    if (matchers.empty()) return out;
    // Under the shared lock: the label sets, references to the closed chunks overlapping the range
    // and a copy of the overlapping head chunks' bytes. The decoding runs after the lock is released,
    // so a large selection does not hold up commits; a closed chunk is immutable, and a reference
    // keeps it alive if garbage collection drops it meanwhile.
    struct Pending {
      Labels labels;
      std::uint32_t refs_end;
      std::uint32_t head_begin;
      std::uint32_t head_size;
      std::uint16_t head_count;
      Timestamp head_min_t;
      detail::DecodeStart head_start;  // its bit counted from head_begin
    };
    std::vector<Pending> pending;
    std::vector<ChunkRef> refs;
    std::vector<std::uint8_t> heads;
    std::size_t points_estimate = 0;
    {
      std::shared_lock lock(mutex_);
      for (SeriesId id : candidates(matchers)) {
        const Series& s = series_[id];
        if (!s.alive || !s.has_points() || s.last().t < mint || !matches_all(s, matchers)) continue;
        const std::size_t refs_begin = refs.size();
        for (const ChunkRef& c : s.closed) {
          if (c->min_t() > maxt) break;
          if (c->max_t() < mint) continue;
          refs.push_back(c);
          points_estimate += c->count();
        }
        const bool head = !s.head.empty() && s.head.min_t() <= maxt;
        if (refs.size() == refs_begin && !head) continue;
        Pending p{materialize(s),
                  static_cast<std::uint32_t>(refs.size()),
                  static_cast<std::uint32_t>(heads.size()),
                  0,
                  0,
                  0,
                  {}};
        if (head) {
          // Only the bytes from the last checkpoint before mint on.
          p.head_start = detail::start_before(s.head.checkpoints(), s.head.min_t(), mint);
          const std::span<const std::uint8_t> bytes = s.head.bytes().subspan(p.head_start.bit / 8);
          p.head_start.bit %= 8;
          heads.insert(heads.end(), bytes.begin(), bytes.end());
          p.head_size = static_cast<std::uint32_t>(bytes.size());
          p.head_count = s.head.count();
          p.head_min_t = s.head.min_t();
          points_estimate += p.head_count - p.head_start.index;
        }
        pending.push_back(std::move(p));
      }
    }
    out.reserve(pending.size(), points_estimate);
    std::size_t ref = 0;
    auto add = [&out](Point point) { out.add_point(point); };
    for (Pending& p : pending) {
      out.begin_series(std::move(p.labels));
      for (; ref < p.refs_end; ++ref) detail::decode(*refs[ref], mint, maxt, add);
      if (p.head_count > 0) {
        detail::decode_from({heads.data() + p.head_begin, p.head_size}, p.head_count, p.head_min_t,
                            p.head_start, mint, maxt, add);
      }
      out.drop_last_if_empty();  // the chunks overlapped the range, but no point fell in it
    }
    return out;
  }

  void for_each_latest(const std::function<void(const LatestSample&)>& fn) const {
    std::shared_lock lock(mutex_);
    std::lock_guard order_lock(order_mutex_);
    if (order_dirty_) rebuild_order();
    std::vector<LabelView> views;
    // The walk is in label order, so each series and its label ids are a cache miss away: fetch them
    // a few series ahead, so the misses overlap instead of following one another.
    constexpr std::size_t kAhead = 8;
    for (std::size_t k = 0; k < order_.size(); ++k) {
      if (k + kAhead < order_.size()) __builtin_prefetch(&series_[order_[k + kAhead]]);
      if (k + kAhead / 2 < order_.size()) __builtin_prefetch(series_[order_[k + kAhead / 2]].syms.get());
      const Series& s = series_[order_[k]];
      if (!s.alive || !s.has_points() || s.stale()) continue;
      views.clear();
      std::string_view metric;
      for (std::uint32_t i = 0; i < s.label_count; ++i) {
        std::string_view name = symbols_.str(s.name_sym(i));
        std::string_view value = symbols_.str(s.value_sym(i));
        if (name == kMetricNameLabel) {
          metric = value;
        } else {
          views.push_back({name, value});
        }
      }
      const Point p = s.last();
      fn(LatestSample{&families_[s.family], metric, views, p.v, p.t});
    }
  }

  StoreStats stats() const {
    std::shared_lock lock(mutex_);
    StoreStats st;
    st.symbols = symbols_.size();
    st.max_series = options_.max_series;
    st.series_refused = series_refused_;
    std::size_t bytes = series_.size() * sizeof(Series) + free_ids_.capacity() * sizeof(SeriesId);
    for (const Series& s : series_) {
      if (!s.alive) continue;
      ++st.series;
      st.points += s.point_count();
      std::size_t chunk_bytes = s.head.capacity_bytes();
      for (const ChunkRef& c : s.closed) chunk_bytes += c->allocated_bytes();
      st.chunks += s.closed.size() + (s.head.empty() ? 0 : 1);
      st.chunk_bytes += chunk_bytes;
      bytes += std::size_t{s.label_count} * 2 * sizeof(SymbolId) + s.closed.capacity() * sizeof(ChunkRef) +
               chunk_bytes;
    }
    // Hash index: one node (next, key, value, cached hash) per series plus buckets.
    bytes += by_hash_.size() * (sizeof(void*) + 8 + sizeof(SeriesId) + 8) +
             by_hash_.bucket_count() * sizeof(void*);
    for (const auto& [name, values] : postings_) {
      bytes += values.bucket_count() * sizeof(void*) + 64;
      for (const auto& [value, list] : values) bytes += list.capacity() * sizeof(SeriesId) + 48;
    }
    bytes += order_.capacity() * sizeof(SeriesId) + all_.capacity() * sizeof(SeriesId);
    for (const Writer& w : writers_) {
      bytes += w.series.capacity() * sizeof(SeriesId) + w.known.capacity() * sizeof(Writer::Known) +
               sizeof(Writer);
    }
    bytes += symbols_.bytes();
    st.bytes = bytes;
    return st;
  }

  Duration retention() const { return options_.retention; }

  SnapshotInfo write_snapshot(const std::filesystem::path& path) const {
    // Under the shared lock: everything but the closed chunks' bytes, into `meta`, with the places
    // where each closed chunk's bytes go; the chunks themselves are referenced, not copied.
    std::string meta;
    std::vector<std::pair<std::size_t, ChunkRef>> chunks;  // offset in meta, chunk
    SnapshotInfo info;
    {
      std::shared_lock lock(mutex_);
      put(meta, clock_.now_ms());
      put(meta, static_cast<std::uint32_t>(families_.size()));
      for (const FamilyMetadata& f : families_) {
        put_string(meta, f.name);
        put(meta, static_cast<std::uint8_t>(f.type));
        put_string(meta, f.help);
      }
      put(meta, static_cast<std::uint32_t>(writers_.size()));
      std::vector<std::uint8_t> carried(series_.size(), 0);
      for (const Writer& w : writers_) {
        put_string(meta, w.name);
        put(meta, w.max_points);
        for (SeriesId id : w.series) carried[id] = 1;
      }
      std::uint32_t count = 0;
      for (const Series& s : series_) count += s.alive && s.has_points() ? 1 : 0;
      put(meta, count);
      for (SeriesId id = 0; id < series_.size(); ++id) {
        const Series& s = series_[id];
        if (!s.alive || !s.has_points()) continue;
        ++info.series;
        info.points += s.point_count();
        put(meta, s.label_count);
        for (std::uint32_t i = 0; i < s.label_count; ++i) {
          put_string(meta, symbols_.str(s.name_sym(i)));
          put_string(meta, symbols_.str(s.value_sym(i)));
        }
        const bool current =
            s.writer != kNoWriter && s.commit_seq == writers_[s.writer].commit_seq && carried[id];
        put(meta, s.writer);
        put(meta, static_cast<std::uint8_t>((s.own_time ? 1 : 0) | (current ? 2 : 0)));
        put(meta, s.max_points);
        put(meta, static_cast<std::uint32_t>(s.closed.size()));
        for (const ChunkRef& c : s.closed) {
          put(meta, c->count());
          put(meta, c->min_t());
          put(meta, c->max_t());
          put(meta, static_cast<std::uint32_t>(c->bytes().size()));
          put(meta, static_cast<std::uint8_t>(c->encoding()));
          put_checkpoints(meta, c->checkpoints());
          chunks.emplace_back(meta.size(), c);
        }
        const HeadChunk::State h = s.head.state();
        put(meta, h.count);
        put(meta, h.bits);
        put(meta, h.first_t);
        put(meta, h.last_t);
        put(meta, h.last_v);
        put(meta, h.t_delta);
        put(meta, h.leading);
        put(meta, h.trailing);
        put_checkpoints(meta, h.checkpoints);
        meta.append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
      }
    }

    const std::filesystem::path tmp = path.string() + ".tmp";
    std::FILE* file = std::fopen(tmp.c_str(), "wb");
    if (file == nullptr)
      throw std::system_error(errno, std::generic_category(), "cannot create " + tmp.string());
    bool ok = true;
    auto write = [&](const char* data, std::size_t n) { ok = ok && std::fwrite(data, 1, n, file) == n; };
    Checksum sum;
    std::uint64_t length = 0;
    std::size_t done = 0;
    write(std::string(kSnapshotHeader, '\0').data(), kSnapshotHeader);  // rewritten below
    auto payload = [&](const char* data, std::size_t n) {
      sum.add(data, n);
      length += n;
      write(data, n);
    };
    for (const auto& [offset, chunk] : chunks) {
      payload(meta.data() + done, offset - done);
      done = offset;
      const auto bytes = chunk->bytes();
      payload(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    payload(meta.data() + done, meta.size() - done);
    std::string header(kSnapshotMagic, sizeof kSnapshotMagic);
    put(header, kSnapshotVersion);
    put(header, std::uint32_t{0});
    put(header, length);
    put(header, sum.finish());
    ok = ok && std::fseek(file, 0, SEEK_SET) == 0;
    write(header.data(), header.size());
    ok = ok && std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
    const int error = errno;
    ok = std::fclose(file) == 0 && ok;
    if (!ok) {
      std::filesystem::remove(tmp);
      throw std::system_error(error, std::generic_category(), "cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, path);  // throws filesystem_error, a system_error
    // The rename itself survives a power loss only once the directory is on disk too.
    const std::filesystem::path dir = path.parent_path();
    if (const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    info.bytes = kSnapshotHeader + length;
    return info;
  }

  SnapshotInfo read_snapshot(const std::filesystem::path& path) {
    std::unique_lock lock(mutex_);
    if (!writers_.empty() || !series_.empty()) throw std::logic_error("read_snapshot into a store in use");
    std::string why;
    auto content = read_regular_file(path.string(), kMaxSnapshotFileBytes, why);
    if (!content) throw SnapshotError("cannot read: " + why);
    std::string data = std::move(*content);
    try {
      return load(data);
    } catch (...) {
      clear();
      throw;
    }
  }

 private:
  SnapshotInfo load(const std::string& data) {
    SnapshotReader header(data, 0);
    if (data.size() < kSnapshotHeader)
      throw SnapshotError("truncated: " + std::to_string(data.size()) + " bytes, no header");
    if (std::string_view(data.data(), sizeof kSnapshotMagic) !=
        std::string_view(kSnapshotMagic, sizeof kSnapshotMagic)) {
      throw SnapshotError("not a tocsin store snapshot");
    }
    header.bytes(sizeof kSnapshotMagic, "the magic");
    const auto version = header.get<std::uint32_t>();
    if (version != kSnapshotVersion) {
      throw SnapshotError("version " + std::to_string(version) + ", this tocsin reads version " +
                          std::to_string(kSnapshotVersion));
    }
    header.get<std::uint32_t>();
    const auto length = header.get<std::uint64_t>();
    const auto checksum = header.get<std::uint64_t>();
    if (data.size() - kSnapshotHeader != length) {
      throw SnapshotError("truncated: payload of " + std::to_string(data.size() - kSnapshotHeader) +
                          " bytes, " + std::to_string(length) + " written");
    }
    Checksum sum;
    sum.add(data.data() + kSnapshotHeader, length);
    if (sum.finish() != checksum) throw SnapshotError("checksum mismatch: the file is corrupt");

    SnapshotReader in(data, kSnapshotHeader);
    SnapshotInfo info;
    info.bytes = data.size();
    in.get<std::int64_t>();  // written at
    const auto family_count = in.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < family_count; ++i) {
      FamilyMetadata f;
      f.name = std::string(in.str("a family name"));
      const auto type = in.get<std::uint8_t>();
      if (type > static_cast<std::uint8_t>(MetricType::untyped))
        in.fail("unknown metric type " + std::to_string(type));
      f.type = static_cast<MetricType>(type);
      f.help = std::string(in.str("a help text"));
      describe(f);
    }
    const auto writer_count = in.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < writer_count; ++i) {
      std::string name(in.str("a writer name"));
      const auto max_points = in.get<std::uint32_t>();
      if (writer_ids_.contains(name)) in.fail("writer " + name + " twice");
      // Inactive until it registers again: a writer gone from the configuration leaves its series to
      // the retention.
      writer_ids_.emplace(name, static_cast<WriterId>(writers_.size()));
      writers_.push_back(Writer{std::move(name), max_points, 1, false, {}, {}});
    }
    const auto series_count = in.get<std::uint32_t>();
    std::vector<Label> label_list;
    for (std::uint32_t k = 0; k < series_count; ++k) {
      const auto label_count = in.get<std::uint32_t>();
      if (label_count == 0 || label_count > data.size())
        in.fail("a series with " + std::to_string(label_count) + " labels");
      Labels::Writer lw(label_count);
      std::string_view previous;
      for (std::uint32_t i = 0; i < label_count; ++i) {
        const std::string_view name = in.str("a label name");
        const std::string_view value = in.str("a label value");
        if (i > 0 && name <= previous) in.fail("labels out of order");
        if (value.empty()) in.fail("an empty label value");
        previous = name;
        lw.add(name, value);
      }
      Labels labels = lw.finish();
      const auto writer = in.get<WriterId>();
      const auto flags = in.get<std::uint8_t>();
      const auto max_points = in.get<std::uint32_t>();
      if (writer != kNoWriter && writer >= writers_.size())
        in.fail("a series of writer " + std::to_string(writer) + " of " + std::to_string(writers_.size()));
      if (!valid_names(labels)) in.fail("invalid names in " + labels.to_string());
      const std::uint64_t hash = labels.hash();
      if (find_series(labels, hash) != kNone) in.fail("series " + labels.to_string() + " twice");
      const SeriesId id = create_series(labels, hash, writer, std::max<std::uint32_t>(max_points, 4));
      Series& s = series_[id];
      s.own_time = (flags & 1) != 0;
      const auto closed = in.get<std::uint32_t>();
      if (closed > data.size()) in.fail("a series with " + std::to_string(closed) + " chunks");
      Timestamp previous_max = std::numeric_limits<Timestamp>::min();
      for (std::uint32_t c = 0; c < closed; ++c) {
        const auto count = in.get<std::uint16_t>();
        const auto min_t = in.get<std::int64_t>();
        const auto max_t = in.get<std::int64_t>();
        const auto size = in.get<std::uint32_t>();
        const auto encoding = in.get<std::uint8_t>();
        if (count > detail::kMaxChunkPoints || encoding > detail::kLastEncoding)
          in.fail("an inconsistent chunk of " + labels.to_string());
        const auto checkpoints = in.checkpoints(detail::checkpoint_count(count), size);
        const auto bytes = in.bytes(size, "a chunk");
        if (count == 0 || count > detail::kMaxChunkPoints || size > 0xffff || min_t > max_t ||
            (c > 0 && min_t <= previous_max)) {
          in.fail("an inconsistent chunk of " + labels.to_string());
        }
        previous_max = max_t;
        s.closed.push_back(Chunk::make({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                       count, min_t, max_t, checkpoints,
                                       static_cast<detail::Encoding>(encoding)));
        s.closed_points += count;
      }
      HeadChunk::State h;
      h.count = in.get<std::uint16_t>();
      h.bits = in.get<std::uint16_t>();
      h.first_t = in.get<std::int64_t>();
      h.last_t = in.get<std::int64_t>();
      h.last_v = in.get<std::uint64_t>();
      h.t_delta = in.get<std::uint64_t>();
      h.leading = in.get<std::uint8_t>();
      h.trailing = in.get<std::uint8_t>();
      if (h.count > detail::kMaxChunkPoints) in.fail("an inconsistent head chunk of " + labels.to_string());
      const auto head_checkpoints =
          in.checkpoints(detail::checkpoint_count(h.count), (std::size_t{h.bits} + 7) / 8);
      h.checkpoints = head_checkpoints;
      const auto bytes = in.bytes((std::size_t{h.bits} + 7) / 8, "a head chunk");
      h.bytes = {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
      if (h.count > detail::kMaxChunkPoints || (h.count == 0 && h.bits != 0) ||
          (h.leading > 31 && h.leading != 0xff) || h.trailing > 63 ||
          (h.count > 0 && (h.first_t <= previous_max || h.last_t < h.first_t)) ||
          (h.count == 0 && h.last_t != previous_max)) {
        in.fail("an inconsistent head chunk of " + labels.to_string());
      }
      if (closed == 0 && h.count == 0) in.fail("a series without points: " + labels.to_string());
      s.head.restore(h);
      if ((flags & 2) != 0 && writer != kNoWriter) {
        s.commit_seq = writers_[writer].commit_seq;
        writers_[writer].series.push_back(id);
      }
      ++info.series;
      info.points += s.point_count();
    }
    if (!in.at_end()) in.fail("bytes after the last series");
    order_dirty_ = true;
    return info;
  }

  void clear() {
    symbols_ = SymbolTable();
    series_.clear();
    free_ids_.clear();
    by_hash_.clear();
    postings_.clear();
    all_.clear();
    families_.clear();
    family_ids_.clear();
    writers_.clear();
    writer_ids_.clear();
    order_.clear();
    order_dirty_ = true;
  }

  static constexpr SeriesId kNone = ~SeriesId{0};

  void describe(const FamilyMetadata& f) {
    auto it = family_ids_.find(f.name);
    if (it == family_ids_.end()) {
      family_ids_.emplace(f.name, static_cast<std::uint32_t>(families_.size()));
      families_.push_back(f);
    } else if (families_[it->second].type != f.type || families_[it->second].help != f.help) {
      families_[it->second].type = f.type;
      families_[it->second].help = f.help;
    }
  }

  // The family a new series belongs to: its own name, or for _bucket/_sum/_count the histogram or
  // summary it is part of; an undescribed name gets an untyped family of its own.
  std::uint32_t family_for(std::string_view metric) {
    if (auto it = family_ids_.find(std::string(metric)); it != family_ids_.end()) return it->second;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (metric.size() > suffix.size() && metric.ends_with(suffix)) {
        auto it = family_ids_.find(std::string(metric.substr(0, metric.size() - suffix.size())));
        if (it != family_ids_.end()) {
          MetricType type = families_[it->second].type;
          if (type == MetricType::histogram || (type == MetricType::summary && suffix != "_bucket")) {
            return it->second;
          }
        }
      }
    }
    describe({std::string(metric), MetricType::untyped, ""});
    return family_ids_.at(std::string(metric));
  }

  static bool valid_names(const Labels& labels) {
    if (!is_valid_metric_name(labels.metric_name())) return false;
    for (const Label& l : labels) {
      if (l.name != kMetricNameLabel && !is_valid_label_name(l.name)) return false;
    }
    return true;
  }

  bool same_labels(const Series& s, const Labels& labels) const {
    if (s.label_count != labels.size()) return false;
    for (std::uint32_t i = 0; i < s.label_count; ++i) {
      if (symbols_.str(s.name_sym(i)) != labels[i].name || symbols_.str(s.value_sym(i)) != labels[i].value) {
        return false;
      }
    }
    return true;
  }

  SeriesId find_series(const Labels& labels, std::uint64_t hash) const {
    auto [first, last] = by_hash_.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      if (same_labels(series_[it->second], labels)) return it->second;
    }
    return kNone;
  }

  SeriesId create_series(const Labels& labels, std::uint64_t hash, WriterId writer,
                         std::uint32_t max_points) {
    SeriesId id;
    if (!free_ids_.empty()) {
      id = free_ids_.back();
      free_ids_.pop_back();
    } else {
      id = static_cast<SeriesId>(series_.size());
      series_.emplace_back();
    }
    Series& s = series_[id];
    s.label_count = static_cast<std::uint32_t>(labels.size());
    s.syms = std::make_unique<SymbolId[]>(2 * labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      s.syms[2 * i] = symbols_.acquire(labels[i].name);
      s.syms[2 * i + 1] = symbols_.acquire(labels[i].value);
      insert_sorted(postings_[s.syms[2 * i]][s.syms[2 * i + 1]], id);
    }
    s.family = family_for(labels.metric_name());
    s.max_points = max_points;
    s.commit_seq = 0;
    s.writer = writer;
    s.alive = true;
    s.hash = hash;
    ++s.generation;
    by_hash_.emplace(hash, id);
    insert_sorted(all_, id);
    return id;
  }

  // Removes a series from everything but the posting lists, which the caller sweeps in one pass.
  void drop_series(SeriesId id) {
    Series& s = series_[id];
    auto [first, last] = by_hash_.equal_range(s.hash);
    for (auto it = first; it != last; ++it) {
      if (it->second == id) {
        by_hash_.erase(it);
        break;
      }
    }
    for (std::uint32_t i = 0; i < 2 * s.label_count; ++i) symbols_.release(s.syms[i]);
    s.syms.reset();
    s.label_count = 0;
    s.closed = {};
    s.closed_points = 0;
    s.head.reset();
    s.alive = false;
    s.writer = kNoWriter;
    free_ids_.push_back(id);
  }

  // The series ids worth checking: the intersection of the posting lists of the matchers that do
  // not match the empty string; all series when every matcher matches it.
  Postings candidates(std::span<const Matcher> matchers) const {
    std::vector<Postings> lists;
    for (const Matcher& m : matchers) {
      if (m.matches_empty()) continue;
      Postings list;
      auto name_sym = symbols_.find(m.name());
      if (name_sym) {
        auto values_it = postings_.find(*name_sym);
        if (values_it != postings_.end()) {
          if (m.type() == MatchType::equal) {
            auto value_sym = symbols_.find(m.value());
            if (value_sym) {
              auto it = values_it->second.find(*value_sym);
              if (it != values_it->second.end()) list = it->second;
            }
          } else {
            for (const auto& [value, ids] : values_it->second) {
              if (m.matches(symbols_.str(value))) list.insert(list.end(), ids.begin(), ids.end());
            }
            std::sort(list.begin(), list.end());
          }
        }
      }
      if (list.empty()) return {};
      lists.push_back(std::move(list));
    }
    if (lists.empty()) return all_;
    std::sort(lists.begin(), lists.end(),
              [](const Postings& a, const Postings& b) { return a.size() < b.size(); });
    Postings result = std::move(lists[0]);
    for (std::size_t i = 1; i < lists.size() && !result.empty(); ++i) result = intersect(result, lists[i]);
    return result;
  }

  std::string_view value_of(const Series& s, std::string_view name) const {
    auto name_sym = symbols_.find(name);
    if (!name_sym) return {};
    for (std::uint32_t i = 0; i < s.label_count; ++i) {
      if (s.name_sym(i) == *name_sym) return symbols_.str(s.value_sym(i));
    }
    return {};
  }

  bool matches_all(const Series& s, std::span<const Matcher> matchers) const {
    for (const Matcher& m : matchers) {
      if (!m.matches(value_of(s, m.name()))) return false;
    }
    return true;
  }

  Labels materialize(const Series& s) const {
    Labels::Writer labels(s.label_count);
    for (std::uint32_t i = 0; i < s.label_count; ++i)
      labels.add(symbols_.str(s.name_sym(i)), symbols_.str(s.value_sym(i)));
    return labels.finish();
  }

  // A histogram's `le` and a summary's `quantile` in numeric order ("2.5" before "10", "+Inf" last), as
  // the text format and OpenMetrics want the buckets; values that are not numbers after those that are.
  static bool bound_less(std::string_view x, std::string_view y) {
    auto number = [](std::string_view v) -> std::optional<double> {
      if (v == "+Inf" || v == "Inf") return std::numeric_limits<double>::infinity();
      if (v == "-Inf") return -std::numeric_limits<double>::infinity();
      double d = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
      return d;
    };
    const auto a = number(x);
    const auto b = number(y);
    if (a && b && *a != *b) return *a < *b;
    if (a.has_value() != b.has_value()) return a.has_value();
    return x < y;
  }

  // Exposition order: family name, then metric name, then the label pairs (bounds as numbers).
  void rebuild_order() const {
    order_.clear();
    for (SeriesId id = 0; id < series_.size(); ++id) {
      if (series_[id].alive) order_.push_back(id);
    }
    auto key_less = [this](SeriesId a, SeriesId b) {
      const Series& x = series_[a];
      const Series& y = series_[b];
      if (x.family != y.family) return families_[x.family].name < families_[y.family].name;
      std::string_view xm = value_of(x, kMetricNameLabel);
      std::string_view ym = value_of(y, kMetricNameLabel);
      if (xm != ym) return xm < ym;
      std::uint32_t n = std::min(x.label_count, y.label_count);
      for (std::uint32_t i = 0; i < n; ++i) {
        std::string_view xn = symbols_.str(x.name_sym(i));
        std::string_view yn = symbols_.str(y.name_sym(i));
        if (xn != yn) return xn < yn;
        std::string_view xv = symbols_.str(x.value_sym(i));
        std::string_view yv = symbols_.str(y.value_sym(i));
        if (xv != yv) return (xn == "le" || xn == "quantile") ? bound_less(xv, yv) : xv < yv;
      }
      return x.label_count < y.label_count;
    };
    std::sort(order_.begin(), order_.end(), key_less);
    order_dirty_ = false;
  }

  StoreOptions options_;
  const Clock& clock_;
  mutable std::shared_mutex mutex_;

  SymbolTable symbols_;
  std::deque<Series> series_;  // a deque: growing never moves a series
  std::vector<SeriesId> free_ids_;
  std::unordered_multimap<std::uint64_t, SeriesId> by_hash_;
  std::unordered_map<SymbolId, std::unordered_map<SymbolId, Postings>> postings_;
  Postings all_;                        // every live series id, sorted
  std::uint64_t series_refused_ = 0;    // StoreStats::series_refused
  bool series_limit_reported_ = false;  // on_series_limit was called

  std::deque<FamilyMetadata> families_;  // a deque: LatestSample points into it
  std::unordered_map<std::string, std::uint32_t> family_ids_;

  std::vector<Writer> writers_;
  std::unordered_map<std::string, WriterId> writer_ids_;
  AppendListener listener_;

  mutable std::mutex order_mutex_;  // guards order_ under the shared lock
  mutable std::vector<SeriesId> order_;
  mutable bool order_dirty_ = true;
};

Store::Store(StoreOptions options, const Clock& clock) : impl_(std::make_unique<Impl>(options, clock)) {}
Store::~Store() = default;

WriterId Store::register_writer(std::string_view name, Duration interval) {
  return impl_->register_writer(name, interval);
}
CommitResult Store::commit(WriterId writer, const Batch& batch, Timestamp t, std::size_t sample_limit) {
  return impl_->commit(writer, batch, t, sample_limit);
}
void Store::retire_writer(WriterId writer, Timestamp t) { impl_->retire_writer(writer, t); }
void Store::set_append_listener(AppendListener listener) { impl_->set_append_listener(std::move(listener)); }
std::size_t Store::collect_garbage() { return impl_->collect_garbage(); }
SeriesSet Store::select(std::span<const Matcher> matchers, Timestamp mint, Timestamp maxt) const {
  return impl_->select(matchers, mint, maxt);
}
void Store::for_each_latest(const std::function<void(const LatestSample&)>& fn) const {
  impl_->for_each_latest(fn);
}
StoreStats Store::stats() const { return impl_->stats(); }
std::size_t Store::retire_unregistered_writers(Timestamp t) { return impl_->retire_unregistered_writers(t); }
SnapshotInfo Store::write_snapshot(const std::filesystem::path& path) const {
  return impl_->write_snapshot(path);
}
SnapshotInfo Store::read_snapshot(const std::filesystem::path& path) { return impl_->read_snapshot(path); }
Duration Store::retention() const { return impl_->retention(); }

}  // namespace tocsin::store
