// Hundreds of seeds over n in {1, 4, 7} and f in {0, 1, 2} with every fault, the broken modes,
// and replay through the lading-sim binary. Each TEST_CASE is its own ctest test, so ctest -j2
// runs them in parallel.
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include "tests/sim/runner.h"

namespace lading::sim {
namespace {

// Runs `seeds` seeds from `first` and returns the summary; the text of any failure is attached
// to the assertion (its violations, replay command and trace).
RunSummary RunBatch(const RunOptions& options, std::string* output) {
  std::ostringstream out;
  const RunSummary summary = RunSeeds(options, out);
  *output = out.str();
  return summary;
}

void RequireClean(size_t validators, size_t byzantine, uint64_t first, uint64_t seeds) {
  RunOptions options;
  options.validators = validators;
  options.byzantine = byzantine;
  options.faults = FaultSet::All();
  options.first_seed = first;
  options.seeds = seeds;
  REQUIRE(ValidateRunOptions(options).ok());
  std::string output;
  const RunSummary summary = RunBatch(options, &output);
  // The summary line comes last; failures, if any, come before it with their replay command.
  const std::string shown = output.size() > 60000 ? output.substr(0, 30000) + "\n...\n" +
                                                        output.substr(output.size() - 2000)
                                                  : output;
  INFO(shown);
  REQUIRE(summary.seeds == seeds);
  REQUIRE(summary.violations == 0);
  REQUIRE(summary.heights_decided >= seeds * options.heights);
}

TEST_CASE("one validator survives crashes, restarts and committee hand-overs on 60 seeds",
          "[sim][slow]") {
  RequireClean(1, 0, 1, 60);
}

TEST_CASE(
    "four correct validators stay safe and live under every network and crash fault "
    "on 80 seeds",
    "[sim][slow]") {
  RequireClean(4, 0, 1, 80);
}

TEST_CASE("four validators with one Byzantine stay safe and live under every fault on 100 seeds",
          "[sim][slow]") {
  RequireClean(4, 1, 1, 100);
}

TEST_CASE("seven correct validators stay safe and live under every fault on 60 seeds",
          "[sim][slow]") {
  RequireClean(7, 0, 1, 60);
}

TEST_CASE("seven validators with one Byzantine stay safe and live under every fault on 100 seeds",
          "[sim][slow]") {
  RequireClean(7, 1, 1, 100);
}

TEST_CASE("seven validators with two Byzantine stay safe and live under every fault on 120 seeds",
          "[sim][slow]") {
  RequireClean(7, 2, 1, 120);
}

// Runs a command and returns its exit status and standard output.
int RunCommand(const std::string& command, std::string* output) {
  std::array<char, 4096> buffer;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  output->clear();
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output->append(buffer.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ViaBinary(std::string command) {
  const std::string name = "lading-sim";
  REQUIRE(command.rfind(name, 0) == 0);
  return std::string(LADING_SIM_BINARY) + command.substr(name.size());
}

// Finds the first failing seed of a broken mode, then replays it: through RunSeed (the same
// violations) and through the printed command run by the lading-sim binary (same lines, exit 1).
void RequireBrokenModeCaughtAndReplayed(RunOptions options) {
  std::string output;
  const RunSummary summary = RunBatch(options, &output);
  INFO(output.substr(0, 20000));
  REQUIRE(summary.violations > 0);
  const uint64_t seed = summary.failing_seeds.front();
  CAPTURE(seed);

  std::ostringstream first_out, replay_out;
  RunOptions one = options;
  one.seed = seed;
  const SeedOutcome first = RunSeed(one, seed, first_out);
  const SeedOutcome again = RunSeed(one, seed, replay_out);
  REQUIRE_FALSE(first.violations.empty());
  REQUIRE(again.violations.size() == first.violations.size());
  for (size_t i = 0; i < first.violations.size(); ++i) {
    REQUIRE(again.violations[i].description == first.violations[i].description);
  }

  const std::string replay = ReplayCommand(options, seed);
  REQUIRE(output.find("replay: " + replay) != std::string::npos);
  std::string cli_output;
  REQUIRE(RunCommand(ViaBinary(replay) + " 2>&1", &cli_output) == 1);
  const Violation& v = first.violations.front();
  REQUIRE(cli_output.find(v.kind + ": " + v.description) != std::string::npos);
  REQUIRE(cli_output.find("violations " + std::to_string(first.violations.size())) !=
          std::string::npos);
}

TEST_CASE("sending before the sign state is durable is caught as double signing and replays",
          "[sim][slow]") {
  RunOptions options;
  options.validators = 4;
  options.byzantine = 0;
  options.faults = ParseFaults("drop,delay,crash").value();
  options.break_mode = BreakMode::kSignState;
  options.seeds = 20;
  RequireBrokenModeCaughtAndReplayed(options);
}

TEST_CASE("ignoring the lock rule is caught under all faults and replays", "[sim][slow]") {
  RunOptions options;
  options.validators = 4;
  options.byzantine = 1;
  options.faults = ParseFaults("all").value();
  options.break_mode = BreakMode::kLocking;
  options.seeds = 200;
  RequireBrokenModeCaughtAndReplayed(options);
}

TEST_CASE("lading-sim prints byte-identical output for the same arguments", "[sim][slow]") {
  const std::string command = std::string(LADING_SIM_BINARY) +
                              " --validators 4 --byzantine 1 --faults all --seeds 20 --verbose";
  std::string first, second;
  REQUIRE(RunCommand(command, &first) == RunCommand(command, &second));
  REQUIRE(first.find("seeds 20 (first 1) validators 4 byzantine 1 faults all: heights decided") !=
          std::string::npos);
  REQUIRE(first == second);
}

TEST_CASE("lading-sim refuses bad arguments with a one-line reason", "[sim][slow]") {
  std::string output;
  REQUIRE(RunCommand(std::string(LADING_SIM_BINARY) + " --validators 4 --byzantine 2 2>&1",
                     &output) == 2);
  REQUIRE(output.find("n >= 3f + 1") != std::string::npos);
  REQUIRE(RunCommand(std::string(LADING_SIM_BINARY) + " --faults drop,warp 2>&1", &output) == 2);
  REQUIRE(output.find("unknown fault \"warp\"") != std::string::npos);
}

}  // namespace
}  // namespace lading::sim
