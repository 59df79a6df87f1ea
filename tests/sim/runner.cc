#include "tests/sim/runner.h"

#include <utility>

namespace lading::sim {

absl::Status ValidateRunOptions(const RunOptions& options) {
  if (!options.seed.has_value() && options.seeds == 0) {
    return absl::InvalidArgumentError("--seeds must be at least 1");
  }
  if (!options.seed.has_value() && options.first_seed > UINT64_MAX - options.seeds) {
    return absl::InvalidArgumentError("--first-seed " + std::to_string(options.first_seed) +
                                      " + --seeds " + std::to_string(options.seeds) +
                                      " overflows 64 bits");
  }
  return ValidateClusterConfig(ConfigFor(options, options.seed.value_or(options.first_seed)));
}

ClusterConfig ConfigFor(const RunOptions& options, uint64_t seed) {
  ClusterConfig config;
  config.seed = seed;
  config.validators = options.validators;
  config.byzantine = options.byzantine;
  config.faults = options.faults;
  config.break_mode = options.break_mode;
  config.heights = options.heights;
  config.core_factory = options.core_factory;
  config.sign_log = !options.sign_state_only;
  return config;
}

std::string FormatSeconds(uint64_t ms) {
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

std::string ReplayCommand(const RunOptions& options, uint64_t seed) {
  std::string command = "lading-sim --validators " + std::to_string(options.validators) +
                        " --byzantine " + std::to_string(options.byzantine) + " --faults " +
                        options.faults.ToString() + " --heights " + std::to_string(options.heights);
  if (options.break_mode != BreakMode::kNone) {
    command += " --break " + std::string(BreakModeName(options.break_mode));
  }
  if (options.sign_state_only) command += " --sign-state-only";
  return command + " --seed " + std::to_string(seed) + " --trace";
}

std::string SummaryLine(const RunOptions& options, const RunSummary& summary) {
  const uint64_t first = options.seed.value_or(options.first_seed);
  std::string line = "seeds " + std::to_string(summary.seeds) + " (first " + std::to_string(first) +
                     ") validators " + std::to_string(options.validators) + " byzantine " +
                     std::to_string(options.byzantine) + " faults " + options.faults.ToString();
  if (options.break_mode != BreakMode::kNone) {
    line += " break " + std::string(BreakModeName(options.break_mode));
  }
  if (options.sign_state_only) line += " sign-state-only";
  line += ": heights decided " + std::to_string(summary.heights_decided) + ", virtual time " +
          FormatSeconds(summary.virtual_time_ms) + ", violations " +
          std::to_string(summary.violations);
  if (!summary.failing_seeds.empty()) {
    line += " (failing seeds";
    for (size_t i = 0; i < summary.failing_seeds.size() && i < 20; ++i) {
      line += " " + std::to_string(summary.failing_seeds[i]);
    }
    if (summary.failing_seeds.size() > 20) line += " ...";
    line += ")";
  }
  return line;
}

SeedOutcome RunSeed(const RunOptions& options, uint64_t seed, std::ostream& out) {
  ClusterConfig config = ConfigFor(options, seed);
  if (options.trace) {
    config.trace_stream = &out;
    out << "seed " << seed << " trace:\n";
  }
  Cluster cluster(std::move(config));
  if (options.trace || options.verbose) {
    out << "seed " << seed << " scenario: " << cluster.DescribeScenario() << "\n";
  }
  cluster.Run();
  SeedOutcome outcome;
  outcome.seed = seed;
  outcome.heights_decided = cluster.MinCorrectHeight();
  outcome.virtual_time_ms = cluster.now_ms();
  outcome.violations = cluster.violations();
  outcome.trace_digest = cluster.trace().digest();
  if (options.verbose) {
    const Network::Stats& net = cluster.network_stats();
    out << "seed " << seed << ": heights " << outcome.heights_decided << ", virtual time "
        << FormatSeconds(outcome.virtual_time_ms) << ", messages " << net.sent << " (lost "
        << net.dropped_loss + net.dropped_partition << ", duplicated " << net.duplicated
        << "), rejected " << cluster.driver_stats().rejected_messages << ", synced "
        << cluster.driver_stats().synced_blocks << ", restarts " << cluster.driver_stats().restarts
        << ", Ed25519 verifications " << cluster.keys().verifications() << ", events "
        << cluster.trace().recorded() << ", violations " << outcome.violations.size() << "\n";
  }
  if (!outcome.violations.empty()) {
    out << "seed " << seed << " FAILED with " << outcome.violations.size() << " violation(s)\n";
    if (!options.trace && !options.verbose) {
      out << "  scenario: " << cluster.DescribeScenario() << "\n";
    }
    for (const Violation& v : outcome.violations) {
      out << "  [t=" << v.time_ms << "ms] " << v.kind << ": " << v.description << "\n";
    }
    out << "  replay: " << ReplayCommand(options, seed) << "\n";
    if (!options.trace) {
      out << "  trace (last " << cluster.trace().size() << " of " << cluster.trace().recorded()
          << " events):\n";
      cluster.trace().Print(out);
    }
  }
  return outcome;
}

RunSummary RunSeeds(const RunOptions& options, std::ostream& out) {
  RunSummary summary;
  const uint64_t first = options.seed.value_or(options.first_seed);
  const uint64_t count = options.seed.has_value() ? 1 : options.seeds;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    const SeedOutcome outcome = RunSeed(options, seed, out);
    ++summary.seeds;
    summary.heights_decided += outcome.heights_decided;
    summary.virtual_time_ms += outcome.virtual_time_ms;
    summary.violations += outcome.violations.size();
    if (!outcome.violations.empty()) summary.failing_seeds.push_back(seed);
  }
  out << SummaryLine(options, summary) << "\n";
  return summary;
}

}  // namespace lading::sim
