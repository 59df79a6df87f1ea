#include "tests/sim/checker.h"

#include <catch2/catch.hpp>

#include "tests/sim/app.h"
#include "tests/sim/cluster.h"

namespace lading::sim {
namespace {

// Four equal validators with real keys, and helpers to sign what a test fabricates.
struct Fixture {
  KeyRing keys{11, 4};
  CommitteePlan plan{&keys, CommitteePlanConfig{.genesis = {0, 1, 2, 3}}};
  consensus::ValidatorSet committee = plan.Genesis();
  Checker checker{kSimChainId, &keys};

  consensus::Vote Vote(consensus::VoteType type, KeyId key, consensus::Height h, consensus::Round r,
                       std::optional<consensus::BlockHash> block) {
    consensus::ConsensusMessage message = consensus::Vote{
        .type = type, .height = h, .round = r, .block_hash = block, .validator = key};
    keys.SignMessage(kSimChainId, key, &message);
    return std::get<consensus::Vote>(message);
  }
  consensus::Commit CommitFor(consensus::Height h, consensus::Round r,
                              const consensus::BlockHash& block, std::vector<KeyId> signers) {
    consensus::Commit commit{.height = h, .round = r, .block_hash = block};
    for (KeyId k : signers) {
      commit.signatures.push_back(
          {k, Vote(consensus::VoteType::kPrecommit, k, h, r, block).signature});
    }
    return commit;
  }
  consensus::Decide Decided(const consensus::Value& value, consensus::Height h,
                            std::vector<KeyId> signers = {0, 1, 2}) {
    return consensus::Decide{h, value, CommitFor(h, 0, value.hash, std::move(signers))};
  }
  void Propose(const consensus::Value& value) {
    checker.OnProposal(consensus::Proposal{.height = 1, .value = value});
  }
};

bool HasKind(const Checker& checker, const std::string& kind) {
  for (const Violation& v : checker.violations()) {
    if (v.kind == kind) return true;
  }
  return false;
}

TEST_CASE("two correct nodes deciding the same block at a height agree", "[unit][sim]") {
  Fixture f;
  const consensus::Value v = MakeValue({.height = 1, .proposer = 0, .nonce = 1});
  f.Propose(v);
  f.checker.OnCorrectDecide(10, "v0", f.Decided(v, 1), f.committee);
  f.checker.OnCorrectDecide(11, "v1", f.Decided(v, 1, {1, 2, 3}), f.committee);
  INFO((f.checker.ok() ? "" : f.checker.violations()[0].description));
  REQUIRE(f.checker.ok());
  REQUIRE(f.checker.DecidedAt(1) == v.hash);
}

TEST_CASE("two correct nodes deciding different blocks at one height break agreement",
          "[unit][sim]") {
  Fixture f;
  const consensus::Value a = MakeValue({.height = 1, .proposer = 0, .nonce = 1});
  const consensus::Value b = MakeValue({.height = 1, .proposer = 0, .nonce = 2});
  f.Propose(a);
  f.Propose(b);
  f.checker.OnCorrectDecide(10, "v0", f.Decided(a, 1), f.committee);
  f.checker.OnCorrectDecide(20, "v3", f.Decided(b, 1), f.committee);
  REQUIRE(f.checker.violations().size() == 1);
  const Violation& v = f.checker.violations()[0];
  REQUIRE(v.kind == "agreement");
  REQUIRE(v.time_ms == 20);
  REQUIRE(v.description.find("v0 decided " + ShortBlock(a.hash)) != std::string::npos);
  REQUIRE(v.description.find("v3 decided " + ShortBlock(b.hash)) != std::string::npos);
}

TEST_CASE("a decided value nobody proposed, or an invalid one, breaks validity", "[unit][sim]") {
  Fixture f;
  const consensus::Value unproposed = MakeValue({.height = 1, .proposer = 0, .nonce = 5});
  f.checker.OnCorrectDecide(1, "v0", f.Decided(unproposed, 1), f.committee);
  REQUIRE(HasKind(f.checker, "validity"));

  Fixture g;
  consensus::Value wrong_height = MakeValue({.height = 2, .proposer = 0, .nonce = 5});
  g.Propose(wrong_height);
  g.checker.OnCorrectDecide(1, "v0", g.Decided(wrong_height, 1), g.committee);
  REQUIRE(HasKind(g.checker, "validity"));
  REQUIRE_FALSE(HasKind(g.checker, "agreement"));
}

TEST_CASE("a correct validator signing two different prevotes for one round is caught",
          "[unit][sim]") {
  Fixture f;
  const auto block = MakeValue({.height = 3, .proposer = 1, .nonce = 1}).hash;
  const consensus::Vote yes = f.Vote(consensus::VoteType::kPrevote, 2, 3, 1, block);
  const consensus::Vote nil = f.Vote(consensus::VoteType::kPrevote, 2, 3, 1, std::nullopt);
  f.checker.OnCorrectSigned(5, 2, "v2", yes);
  f.checker.OnCorrectSigned(6, 2, "v2", yes);  // sending the same vote again is fine
  f.checker.OnCorrectSigned(7, 2, "v2", f.Vote(consensus::VoteType::kPrecommit, 2, 3, 1, block));
  f.checker.OnCorrectSigned(8, 2, "v2",
                            f.Vote(consensus::VoteType::kPrevote, 2, 3, 2, std::nullopt));
  REQUIRE(f.checker.ok());
  f.checker.OnCorrectSigned(9, 2, "v2 (restarted)", nil);
  REQUIRE(f.checker.violations().size() == 1);
  REQUIRE(f.checker.violations()[0].kind == "double-sign");
  REQUIRE(f.checker.violations()[0].description.find("two different prevotes for h=3 r=1") !=
          std::string::npos);
}

TEST_CASE("two proposals for one round from a correct proposer are caught", "[unit][sim]") {
  Fixture f;
  const consensus::Proposal first{
      .height = 1, .round = 0, .value = MakeValue({.height = 1, .proposer = 0, .nonce = 1})};
  consensus::Proposal second = first;
  second.value = MakeValue({.height = 1, .proposer = 0, .nonce = 2});
  f.checker.OnCorrectSigned(1, 0, "v0", first);
  f.checker.OnCorrectSigned(2, 0, "v0", second);
  REQUIRE(HasKind(f.checker, "double-sign"));
}

TEST_CASE("commits without a valid two-thirds quorum are caught", "[unit][sim]") {
  const consensus::Value v = MakeValue({.height = 1, .proposer = 0, .nonce = 1});
  SECTION("two of four signers") {
    Fixture f;
    f.Propose(v);
    f.checker.OnCorrectDecide(1, "v0", f.Decided(v, 1, {0, 1}), f.committee);
    REQUIRE(HasKind(f.checker, "commit"));
  }
  SECTION("one signature flipped") {
    Fixture f;
    f.Propose(v);
    consensus::Decide d = f.Decided(v, 1);
    d.commit.signatures[1].signature[5] ^= 1;
    f.checker.OnCorrectDecide(1, "v0", d, f.committee);
    REQUIRE(HasKind(f.checker, "commit"));
  }
  SECTION("one signer listed twice") {
    Fixture f;
    f.Propose(v);
    consensus::Decide d = f.Decided(v, 1, {0, 1});
    d.commit.signatures.push_back(d.commit.signatures[1]);
    f.checker.OnCorrectDecide(1, "v0", d, f.committee);
    REQUIRE(HasKind(f.checker, "commit"));
  }
  SECTION("a commit for another block") {
    Fixture f;
    f.Propose(v);
    consensus::Decide d = f.Decided(v, 1);
    d.commit = f.CommitFor(1, 0, MakeValue({.height = 1, .nonce = 9}).hash, {0, 1, 2});
    f.checker.OnCorrectDecide(1, "v0", d, f.committee);
    REQUIRE(HasKind(f.checker, "commit"));
  }
}

TEST_CASE("evidence must pair two validly signed conflicting votes", "[unit][sim]") {
  Fixture f;
  const auto block = MakeValue({.height = 2, .proposer = 0, .nonce = 1}).hash;
  const consensus::Evidence real{f.Vote(consensus::VoteType::kPrevote, 3, 2, 0, block),
                                 f.Vote(consensus::VoteType::kPrevote, 3, 2, 0, std::nullopt)};
  f.checker.OnEvidence(1, "v0", real, f.committee);
  REQUIRE(f.checker.ok());
  consensus::Evidence forged = real;
  forged.second.signature[0] ^= 1;
  f.checker.OnEvidence(2, "v0", forged, f.committee);
  REQUIRE(HasKind(f.checker, "evidence"));
  Fixture g;
  g.checker.OnEvidence(1, "v0", consensus::Evidence{real.first, real.first}, g.committee);
  REQUIRE(HasKind(g.checker, "evidence"));
}

}  // namespace
}  // namespace lading::sim
