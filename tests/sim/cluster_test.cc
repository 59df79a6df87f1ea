#include "tests/sim/cluster.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <variant>

#include "tests/sim/runner.h"

namespace lading::sim {
namespace {

ClusterConfig Calm(size_t validators, uint64_t seed = 1) {
  ClusterConfig config;
  config.seed = seed;
  config.validators = validators;
  config.heights = 10;
  return config;
}

std::string Violations(const Cluster& cluster) {
  std::string out;
  for (const Violation& v : cluster.violations()) out += v.kind + ": " + v.description + "\n";
  return out;
}

bool HasKind(const Cluster& cluster, const std::string& kind) {
  for (const Violation& v : cluster.violations()) {
    if (v.kind == kind) return true;
  }
  return false;
}

TEST_CASE("four correct validators on a calm network decide the same blocks", "[unit][sim]") {
  Cluster cluster(Calm(4));
  cluster.Run();
  INFO(Violations(cluster));
  REQUIRE(cluster.violations().empty());
  REQUIRE(cluster.finished());
  REQUIRE(cluster.MinCorrectHeight() >= 10);
  REQUIRE(cluster.keys().verifications() > 0);
}

TEST_CASE("a single validator decides alone, and with the committee handed to a spare",
          "[unit][sim]") {
  Cluster cluster(Calm(1));
  cluster.Run();
  INFO(Violations(cluster));
  REQUIRE(cluster.violations().empty());
  REQUIRE(cluster.MinCorrectHeight() >= 10);
  REQUIRE(cluster.nodes().size() == 2);  // the validator and the spare that may replace it
}

TEST_CASE("configurations that break n >= 3f + 1 or lack what they need are refused",
          "[unit][sim]") {
  ClusterConfig config = Calm(4);
  config.byzantine = 2;
  config.faults = FaultSet::All();
  REQUIRE(ValidateClusterConfig(config).code() == absl::StatusCode::kInvalidArgument);
  config.byzantine = 1;
  REQUIRE(ValidateClusterConfig(config).ok());
  config.faults = FaultSet::None().Add(Fault::kDrop);
  REQUIRE_FALSE(ValidateClusterConfig(config).ok());  // Byzantine, but no behaviour to show
  config.byzantine = 0;
  config.break_mode = BreakMode::kSignState;
  REQUIRE_FALSE(ValidateClusterConfig(config).ok());  // needs crashes
  config.faults.Add(Fault::kCrash);
  REQUIRE(ValidateClusterConfig(config).ok());
}

TEST_CASE(
    "a crash keeps the disk and loses the process; a restart resumes after the last "
    "decided height",
    "[unit][sim]") {
  ClusterConfig config = Calm(4, 3);
  config.heights = 30;
  Cluster cluster(std::move(config));
  cluster.RunUntil(400);
  const Cluster::NodeView before = cluster.nodes()[2];
  REQUIRE(before.up);
  REQUIRE(before.decided_height >= 1);
  REQUIRE(before.durable_sign_state.height >= before.decided_height);

  cluster.Crash(2);
  Cluster::NodeView down = cluster.nodes()[2];
  REQUIRE_FALSE(down.up);
  REQUIRE(down.decided_height == before.decided_height);
  REQUIRE(down.durable_sign_state == before.durable_sign_state);
  REQUIRE(down.incarnation == 0);

  cluster.RunUntil(1400);  // the others go on without it
  REQUIRE(cluster.nodes()[0].decided_height > before.decided_height);
  REQUIRE(cluster.nodes()[2].decided_height == before.decided_height);

  cluster.Restart(2);
  const Cluster::NodeView up = cluster.nodes()[2];
  REQUIRE(up.up);
  REQUIRE(up.incarnation == 1);
  REQUIRE(up.decided_height == before.decided_height);
  cluster.Run();
  INFO(Violations(cluster));
  REQUIRE(cluster.violations().empty());
  REQUIRE(cluster.nodes()[2].decided_height >= 30);  // caught up by block sync
  REQUIRE(cluster.driver_stats().synced_blocks > 0);
  REQUIRE(cluster.driver_stats().restarts == 1);
}

TEST_CASE("bad signatures are dropped by the driver before any core sees them", "[unit][sim]") {
  ClusterConfig config = Calm(4, 5);
  config.byzantine = 1;
  config.faults = FaultSet::None().Add(Fault::kBadSignature);
  Cluster cluster(std::move(config));
  cluster.Run();
  INFO(Violations(cluster));
  REQUIRE(cluster.violations().empty());
  REQUIRE(cluster.driver_stats().rejected_messages > 0);
  REQUIRE(cluster.MinCorrectHeight() >= 10);
}

// Wraps the real state machine and, on purpose, signs a second prevote (nil) after every prevote
// for a block: a correct node must never do this, and the double-sign checker must say so.
class DoubleSigningCore : public Core {
 public:
  explicit DoubleSigningCore(CoreParams params)
      : signer_(params.signer), inner_(MakeStateMachineCore(std::move(params))) {}
  void Start(std::vector<consensus::Output>* outputs) override { inner_->Start(outputs); }
  void Handle(const consensus::Input& input, std::vector<consensus::Output>* outputs) override {
    const size_t first = outputs->size();
    inner_->Handle(input, outputs);
    for (size_t i = first; i < outputs->size(); ++i) {
      const auto* broadcast = std::get_if<consensus::Broadcast>(&(*outputs)[i]);
      if (broadcast == nullptr) continue;
      const auto* vote = std::get_if<consensus::Vote>(&broadcast->message);
      if (vote == nullptr || vote->type != consensus::VoteType::kPrevote || !vote->block_hash)
        continue;
      consensus::Vote nil = *vote;
      nil.block_hash.reset();
      nil.signature = signer_->Sign(consensus::VoteSignBytes(kSimChainId, nil));
      outputs->insert(outputs->begin() + static_cast<std::ptrdiff_t>(i) + 1,
                      consensus::Broadcast{nil});
      ++i;
    }
  }
  void SetCommittee(consensus::Height h, consensus::ValidatorSet set) override {
    inner_->SetCommittee(h, std::move(set));
  }
  consensus::Height height() const override { return inner_->height(); }

 private:
  const consensus::Signer* signer_;
  std::unique_ptr<Core> inner_;
};

TEST_CASE("a core that signs two prevotes in one round is caught as a double signer",
          "[unit][sim]") {
  ClusterConfig config = Calm(4);
  config.core_factory = [](CoreParams params) {
    return std::make_unique<DoubleSigningCore>(std::move(params));
  };
  Cluster cluster(std::move(config));
  cluster.Run();
  REQUIRE(HasKind(cluster, "double-sign"));
  REQUIRE(cluster.finished());  // a run stops at its first violation
}

// Wraps the real state machine and trims every commit it decides with to one signature.
class ThinCommitCore : public Core {
 public:
  explicit ThinCommitCore(CoreParams params) : inner_(MakeStateMachineCore(std::move(params))) {}
  void Start(std::vector<consensus::Output>* outputs) override { inner_->Start(outputs); }
  void Handle(const consensus::Input& input, std::vector<consensus::Output>* outputs) override {
    const size_t first = outputs->size();
    inner_->Handle(input, outputs);
    for (size_t i = first; i < outputs->size(); ++i) {
      if (auto* decide = std::get_if<consensus::Decide>(&(*outputs)[i])) {
        decide->commit.signatures.resize(1);
      }
    }
  }
  void SetCommittee(consensus::Height h, consensus::ValidatorSet set) override {
    inner_->SetCommittee(h, std::move(set));
  }
  consensus::Height height() const override { return inner_->height(); }

 private:
  std::unique_ptr<Core> inner_;
};

TEST_CASE("a decision whose commit lacks a quorum of signatures is caught", "[unit][sim]") {
  ClusterConfig config = Calm(4);
  config.core_factory = [](CoreParams params) {
    return std::make_unique<ThinCommitCore>(std::move(params));
  };
  Cluster cluster(std::move(config));
  cluster.Run();
  REQUIRE(HasKind(cluster, "commit"));
}

TEST_CASE("a liveness window too short to decide five heights is reported", "[unit][sim]") {
  ClusterConfig config = Calm(4);
  config.heights = 1;
  config.liveness_window_ms = 1;
  Cluster cluster(std::move(config));
  cluster.Run();
  REQUIRE(HasKind(cluster, "liveness"));
  ClusterConfig enough = Calm(4);
  enough.heights = 1;
  Cluster fine(std::move(enough));
  fine.Run();
  REQUIRE_FALSE(HasKind(fine, "liveness"));
}

TEST_CASE("one seed gives one run: same trace digest, same decisions, same output", "[unit][sim]") {
  RunOptions options;
  options.validators = 4;
  options.byzantine = 1;
  options.faults = FaultSet::All();
  options.verbose = true;
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    std::ostringstream first, second;
    const SeedOutcome a = RunSeed(options, seed, first);
    const SeedOutcome b = RunSeed(options, seed, second);
    REQUIRE(a.trace_digest == b.trace_digest);
    REQUIRE(a.heights_decided == b.heights_decided);
    REQUIRE(a.virtual_time_ms == b.virtual_time_ms);
    REQUIRE(first.str() == second.str());
  }
  std::ostringstream out;
  REQUIRE(RunSeed(options, 1, out).trace_digest != RunSeed(options, 2, out).trace_digest);
}

TEST_CASE("the full trace of a replayed seed is byte-identical", "[unit][sim]") {
  RunOptions options;
  options.validators = 4;
  options.byzantine = 1;
  options.faults = FaultSet::All();
  options.trace = true;
  options.seed = 7;
  std::ostringstream first, second;
  RunSeeds(options, first);
  RunSeeds(options, second);
  REQUIRE(first.str().size() > 10000);
  REQUIRE(first.str() == second.str());
}

TEST_CASE("fault lists parse by name and print back", "[unit][sim]") {
  REQUIRE(ParseFaults("all").value() == FaultSet::All());
  REQUIRE(ParseFaults("none").value().empty());
  const FaultSet some = ParseFaults("drop, twins,crash").value();
  REQUIRE(some.Has(Fault::kDrop));
  REQUIRE(some.Has(Fault::kTwins));
  REQUIRE_FALSE(some.Has(Fault::kSkew));
  REQUIRE(some.ToString() == "drop,crash,twins");
  REQUIRE(ParseFaults(some.ToString()).value() == some);
  const absl::StatusOr<FaultSet> bad = ParseFaults("drop,teleport");
  REQUIRE_FALSE(bad.ok());
  REQUIRE(std::string(bad.status().message()).find("teleport") != std::string::npos);
  REQUIRE_FALSE(ParseFaults("drop,").ok());
  REQUIRE(ParseBreakMode("sign-state").value() == BreakMode::kSignState);
  REQUIRE_FALSE(ParseBreakMode("everything").ok());
}

TEST_CASE("the summary line and replay command name every option that shapes a run",
          "[unit][sim]") {
  RunOptions options;
  options.validators = 7;
  options.byzantine = 2;
  options.faults = ParseFaults("drop,twins").value();
  options.heights = 12;
  options.break_mode = BreakMode::kSignState;
  REQUIRE(ReplayCommand(options, 99) ==
          "lading-sim --validators 7 --byzantine 2 --faults drop,twins --heights 12 --break "
          "sign-state --seed 99 --trace");
  RunSummary summary{.seeds = 3, .heights_decided = 60, .virtual_time_ms = 81234, .violations = 0};
  REQUIRE(SummaryLine(options, summary) ==
          "seeds 3 (first 1) validators 7 byzantine 2 faults drop,twins break sign-state: heights "
          "decided 60, virtual time 81.2 s, violations 0");
  REQUIRE(FormatSeconds(999) == "0.9 s");
}

}  // namespace
}  // namespace lading::sim
