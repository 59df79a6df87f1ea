// lading-sim: runs the consensus core on simulated faulty networks, one deterministic run per
// seed, and checks agreement, validity, no double signing, commits and liveness.
//
//   lading-sim --validators 4 --byzantine 1 --faults all --seeds 1000
//   lading-sim --validators 4 --byzantine 1 --faults all --heights 8 --seed 17 --trace
//
// Prints one summary line; a failing seed also prints its violations, the command that replays
// it and its message trace. Exit status 1 on any violation, 2 on bad arguments, 0 otherwise.
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "tests/sim/runner.h"

namespace {

int Main(int argc, char** argv) {
  lading::sim::RunOptions options;
  std::string faults = "all";
  std::string break_mode;
  uint64_t seed = 0;
  uint64_t heights = options.heights;

  CLI::App app{"Deterministic faulty-network simulator for the Lading consensus core"};
  app.add_option("--validators", options.validators, "committee size n")->capture_default_str();
  app.add_option("--byzantine", options.byzantine, "Byzantine validators f (n >= 3f + 1)")
      ->capture_default_str();
  app.add_option("--faults", faults,
                 "comma list: none, drop, duplicate, delay, partition, crash, skew, equivocate, "
                 "double-vote, silent, unknown-block, out-of-range, bad-signature, twins; or all")
      ->capture_default_str();
  app.add_option("--seeds", options.seeds, "number of seeds to run")->capture_default_str();
  app.add_option("--first-seed", options.first_seed, "first seed of the range")
      ->capture_default_str();
  CLI::Option* seed_option = app.add_option("--seed", seed, "run this one seed (replay)");
  app.add_option(
         "--heights", heights,
         "faults stop once a correct node has decided this many heights; every correct node "
         "must reach it")
      ->capture_default_str();
  app.add_option("--break", break_mode, "deliberately unsafe mode: locking or sign-state");
  app.add_flag("--sign-state-only", options.sign_state_only,
               "restart crashed nodes from the sign state alone, without re-sending their signed "
               "messages (shows the liveness loss)");
  app.add_flag("--trace", options.trace, "print every event of every seed");
  app.add_flag("--verbose", options.verbose, "print one line per seed");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  absl::StatusOr<lading::sim::FaultSet> parsed = lading::sim::ParseFaults(faults);
  if (!parsed.ok()) {
    std::cerr << "lading-sim: " << parsed.status().message() << "\n";
    return 2;
  }
  options.faults = *parsed;
  if (!break_mode.empty()) {
    absl::StatusOr<lading::sim::BreakMode> mode = lading::sim::ParseBreakMode(break_mode);
    if (!mode.ok()) {
      std::cerr << "lading-sim: " << mode.status().message() << "\n";
      return 2;
    }
    options.break_mode = *mode;
  }
  if (seed_option->count() > 0) options.seed = seed;
  options.heights = heights;
  if (absl::Status status = lading::sim::ValidateRunOptions(options); !status.ok()) {
    std::cerr << "lading-sim: " << status.message() << "\n";
    return 2;
  }
  const lading::sim::RunSummary summary = lading::sim::RunSeeds(options, std::cout);
  std::cout.flush();
  return summary.violations == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
