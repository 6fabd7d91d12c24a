#pragma once
// Sends every point the store appends (samples, staleness markers; collectors' and rules' alike) to
// the `remote_write:` endpoints, as Prometheus's remote-write 1.0 sender does. The store's commit
// only hands its points over (one lock, one queue push per endpoint); relabelling, encoding and
// sending run on two threads of each endpoint's own. A receiver that is down or failing is retried
// with backoff while what comes meanwhile goes to a bounded on-disk queue in state_dir, sent in order
// when it is back. docs/remote_write.md.

#include <spdlog/fwd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tocsin/core/clock.hpp"
#include "tocsin/remote_write/config.hpp"
#include "tocsin/store/store.hpp"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace tocsin::remote_write {

struct Options {
  std::vector<EndpointConfig> endpoints;
  std::map<std::string, std::string> external_labels;  // the config's top-level `labels`
  std::filesystem::path
      state_dir;  // the queues go to state_dir/remote_write/<remote_name>; "" keeps them in memory
  std::string user_agent = "tocsin";
};

// Thread-safe. The daemon makes one, sets listener() on the store before commits start, start()s it,
// and stop()s it after the last commit.
class RemoteWrite {
 public:
  RemoteWrite(Options options, prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log);
  ~RemoteWrite();  // stops
  RemoteWrite(const RemoteWrite&) = delete;
  RemoteWrite& operator=(const RemoteWrite&) = delete;

  bool empty() const;  // no endpoint configured: the daemon sets no listener
  // What the store calls under its commit lock: hands the points to every endpoint.
  store::AppendListener listener();
  void append(store::WriterId writer, std::vector<store::AppendedPoint>&& points);

  // Opens each disk queue (what the last run left is sent first) and starts the threads. Returns an
  // error message (a state directory that cannot be made), empty on success.
  std::string start();
  // Sends what is batched, cancels a request in flight, and writes everything unsent to the disk
  // queue for the next start. Idempotent.
  void stop();

 private:
  class Endpoint;
  struct Families;
  std::unique_ptr<Families> families_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tocsin::remote_write
