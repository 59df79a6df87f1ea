// Runs the simulator over a range of seeds and reports, as `lading-sim` and the simulation tests
// do: one summary line at the end; for each failing seed its violations, the exact command that
// replays it, and its message trace. Output is a pure function of the options (no wall-clock
// time), so two runs print byte-identical text.
//
// Stateless functions; each seed builds its own Cluster. Thread-compatible.
#ifndef LADING_TESTS_SIM_RUNNER_H_
#define LADING_TESTS_SIM_RUNNER_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/sim/checker.h"
#include "tests/sim/cluster.h"
#include "tests/sim/core.h"
#include "tests/sim/faults.h"

namespace lading::sim {

struct RunOptions {
  size_t validators = 4;
  size_t byzantine = 0;
  FaultSet faults = FaultSet::All();
  uint64_t seeds = 100;  // how many seeds, from first_seed
  uint64_t first_seed = 1;
  std::optional<uint64_t> seed;  // one seed only (replay); overrides seeds/first_seed
  consensus::Height heights = 20;
  BreakMode break_mode = BreakMode::kNone;
  bool sign_state_only = false;  // restart without the sign log (shows the liveness loss)
  bool trace = false;            // stream every event of every seed
  bool verbose = false;          // one line per seed
  CoreFactory core_factory;      // tests only; empty: the real state machine
};

struct SeedOutcome {
  uint64_t seed = 0;
  consensus::Height heights_decided = 0;  // lowest decided height over the correct nodes
  uint64_t virtual_time_ms = 0;
  std::vector<Violation> violations;
  uint64_t trace_digest = 0;  // digest of every event of the run
};

struct RunSummary {
  uint64_t seeds = 0;
  uint64_t heights_decided = 0;
  uint64_t virtual_time_ms = 0;
  uint64_t violations = 0;
  std::vector<uint64_t> failing_seeds;
};

// Checks the options (and the cluster configuration they make) before any run.
absl::Status ValidateRunOptions(const RunOptions& options);
// The cluster configuration of one seed.
ClusterConfig ConfigFor(const RunOptions& options, uint64_t seed);

// Runs one seed. Writes to `out` only what the options ask for: the per-seed line (verbose), the
// full event stream (trace) and, when the seed fails, its violations, replay command and trace.
SeedOutcome RunSeed(const RunOptions& options, uint64_t seed, std::ostream& out);
// Runs every seed the options name, then writes the summary line.
// REQUIRES: ValidateRunOptions(options).ok().
RunSummary RunSeeds(const RunOptions& options, std::ostream& out);

// "lading-sim --validators 4 --byzantine 1 --faults all --heights 8 --seed 17 --trace".
std::string ReplayCommand(const RunOptions& options, uint64_t seed);
// "seeds 1000 (first 1) validators 4 byzantine 1 faults all: heights decided 23140, virtual time
// 8123.4 s, violations 0" (with " break <mode>" before the colon in a broken mode).
std::string SummaryLine(const RunOptions& options, const RunSummary& summary);
// Milliseconds as seconds with one decimal, by integer arithmetic ("8123.4 s").
std::string FormatSeconds(uint64_t ms);

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_RUNNER_H_
