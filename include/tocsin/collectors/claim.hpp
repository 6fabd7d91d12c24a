#pragma once
// The claim on a shared target (docs/fleet.md, "Shared targets"): what the scheduler does with a cycle
// given what the target's own lock answered. Pure state: no clock, no I/O; the collector asks the
// target (Collector::claim) and the scheduler runs this on the instance's worker, one cycle at a time.
//
// - held: this daemon is the holder and collects.
// - taken: another daemon holds it; this one stands by and collects nothing, so the series it had
//   committed as the holder get staleness markers and the alerts over them resolve here.
// - unreachable: nobody can tell. The holder stays the holder and reports the target down
//   (describe_down: pg_up 0), since it is the one daemon that pages for it; a standby stays silent.
//   A holder that lost only its own path to the target learns that another took over when it can ask
//   again (its lease ran out meanwhile), and stands by from then on.

#include <cstdint>
#include <string>
#include <string_view>

#include "tocsin/collectors/collector.hpp"

namespace tocsin::collectors {

enum class ClaimRole { standby, holder };

struct ClaimStep {
  enum class Action {
    collect,      // the holder's cycle: collect() and commit
    report_down,  // the holder could not reach its target: describe_down() and commit
    stand_by,     // commit an empty batch: nothing collected here
  };
  Action action = Action::stand_by;
  ClaimRole role = ClaimRole::standby;
  bool changed = false;  // the role differs from the previous cycle's (or this is the first)
};

class ClaimState {
 public:
  ClaimStep step(ClaimAnswer answer);
  ClaimRole role() const { return role_; }

 private:
  ClaimRole role_ = ClaimRole::standby;
  bool first_ = true;
};

// Who this daemon is to the targets' locks: "<host name>:<pid>:<random hex>", the same for every
// collector of the process (so that a reloaded collector renews the lease its predecessor took) and
// different for every process. At most 40 characters.
const std::string& claim_owner();

// The Postgres advisory lock key of a shared target named `name`: FNV-1a 64 of
// "tocsin/postgres/<name>", as a signed bigint (what pg_try_advisory_lock(bigint) takes).
std::int64_t advisory_lock_key(std::string_view name);

}  // namespace tocsin::collectors
