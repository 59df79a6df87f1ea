#include "consensus/state_machine.h"

#include <catch2/catch.hpp>
#include <tuple>

#include "consensus/internal/test_harness.h"

namespace lading::consensus {
namespace {

using testing::Append;
using testing::BroadcastProposals;
using testing::BroadcastVotes;
using testing::Harness;
using testing::MakeValue;
using testing::OutputsOf;

const Value kV = MakeValue("block v");
const Value kW = MakeValue("block w");

bool HasPrevote(const std::vector<Output>& outputs, std::optional<BlockHash> block) {
  for (const Vote& vote : BroadcastVotes(outputs)) {
    if (vote.type == VoteType::kPrevote && vote.block_hash == block) return true;
  }
  return false;
}

bool HasPrecommit(const std::vector<Output>& outputs, std::optional<BlockHash> block) {
  for (const Vote& vote : BroadcastVotes(outputs)) {
    if (vote.type == VoteType::kPrecommit && vote.block_hash == block) return true;
  }
  return false;
}

std::vector<ScheduleTimeout> TimeoutsFor(const std::vector<Output>& outputs, Step step) {
  std::vector<ScheduleTimeout> found;
  for (const ScheduleTimeout& t : OutputsOf<ScheduleTimeout>(outputs)) {
    if (t.step == step) found.push_back(t);
  }
  return found;
}

// Validator 0 of four equal validators, locked on kV in round 0 of height 1 (the proposer of
// (1, 0) is validator 1).
void LockOnVInRoundZero(Harness* h) {
  h->Start();
  REQUIRE(HasPrevote(h->ProposeAndValidate(1, 0, kV), kV.hash));
  REQUIRE(HasPrecommit(h->Prevotes(1, 0, kV.hash, {1, 2}), kV.hash));
  REQUIRE(h->machine().locked_round() == 0);
}

// Ends a round in which we precommitted something: nil precommits from the others, then the
// precommit timeout.
void FinishRoundWithNilPrecommits(Harness* h, Height height, Round round) {
  const std::vector<Output> outputs = h->Precommits(height, round, std::nullopt, {1, 2, 3});
  REQUIRE(TimeoutsFor(outputs, Step::kPrecommit).size() == 1);
  h->Timeout(height, round, Step::kPrecommit);
  REQUIRE(h->machine().round() == round + 1);
}

// ---- StartRound ----

TEST_CASE("Alg1 lines 11-21: the proposer of round 0 requests a value and proposes it",
          "[unit][consensus]") {
  Harness h({.self = 1});
  std::vector<Output> outputs = h.Start();
  const auto requests = OutputsOf<RequestValue>(outputs);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].height == 1);
  CHECK(requests[0].round == 0);
  CHECK(BroadcastProposals(outputs).empty());

  outputs = h.Handle(ValueReady{1, 0, kV});
  const auto proposals = BroadcastProposals(outputs);
  REQUIRE(proposals.size() == 1);
  CHECK(proposals[0].value == kV);
  CHECK(proposals[0].pol_round == kNoRound);
  CHECK(proposals[0].proposer == 1);
  // Our own proposal is processed as if received, without asking the application again.
  CHECK(OutputsOf<ValidateValue>(outputs).empty());
  CHECK(HasPrevote(outputs, kV.hash));
  CHECK(h.machine().step() == Step::kPrevote);
}

TEST_CASE("Alg1 lines 11-21: a stale ValueReady proposes nothing", "[unit][consensus]") {
  Harness h({.self = 1});
  h.Start();
  CHECK(BroadcastProposals(h.Handle(ValueReady{1, 1, kV})).empty());
  CHECK(BroadcastProposals(h.Handle(ValueReady{2, 0, kV})).empty());
  CHECK(h.machine().drops().stale_value == 2);
  REQUIRE(BroadcastProposals(h.Handle(ValueReady{1, 0, kV})).size() == 1);
  // Answered once: a second answer for the same round is stale too.
  CHECK(BroadcastProposals(h.Handle(ValueReady{1, 0, kW})).empty());
  CHECK(h.machine().drops().stale_value == 3);
}

TEST_CASE("Alg1 lines 11-21: a non-proposer schedules timeoutPropose and requests nothing",
          "[unit][consensus]") {
  Harness h({.self = 0});
  const std::vector<Output> outputs = h.Start();
  CHECK(OutputsOf<RequestValue>(outputs).empty());
  const auto timeouts = TimeoutsFor(outputs, Step::kPropose);
  REQUIRE(timeouts.size() == 1);
  CHECK(timeouts[0].height == 1);
  CHECK(timeouts[0].round == 0);
  CHECK(timeouts[0].after_ms == TimeoutConfig{}.propose_ms);
}

TEST_CASE("Alg1 lines 11-21: a proposer with a validValue proposes it with its validRound",
          "[unit][consensus]") {
  Harness h({.self = 2});  // proposer of (1, 1)
  h.Start();
  REQUIRE(HasPrevote(h.ProposeAndValidate(1, 0, kV), kV.hash));
  REQUIRE(HasPrecommit(h.Prevotes(1, 0, kV.hash, {1, 3}), kV.hash));
  REQUIRE(h.machine().valid_round() == 0);
  h.Precommits(1, 0, std::nullopt, {0, 1, 3});

  const std::vector<Output> outputs = h.Timeout(1, 0, Step::kPrecommit);
  CHECK(OutputsOf<RequestValue>(outputs).empty());
  const auto proposals = BroadcastProposals(outputs);
  REQUIRE(proposals.size() == 1);
  CHECK(proposals[0].round == 1);
  CHECK(proposals[0].value == kV);
  CHECK(proposals[0].pol_round == 0);
  // Lines 28-33 on our own proposal: the polka of round 0 and our lock allow prevoting it.
  CHECK(HasPrevote(outputs, kV.hash));
}

// ---- Prevote on a proposal ----

TEST_CASE(
    "Alg1 lines 22-27: a valid proposal with validRound -1 is prevoted when not locked or locked "
    "on it",
    "[unit][consensus]") {
  SECTION("not locked") {
    Harness h;
    h.Start();
    std::vector<Output> outputs = h.Receive(h.MakeProposal(1, 0, kV));
    const auto requests = OutputsOf<ValidateValue>(outputs);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].value == kV);
    // valid(v) is not known yet: no prevote.
    CHECK(BroadcastVotes(outputs).empty());
    outputs = h.Validate(1, 0, kV, true);
    CHECK(HasPrevote(outputs, kV.hash));
    CHECK(h.machine().step() == Step::kPrevote);
  }
  SECTION("locked on it") {
    Harness h;
    LockOnVInRoundZero(&h);
    FinishRoundWithNilPrecommits(&h, 1, 0);
    CHECK(HasPrevote(h.ProposeAndValidate(1, 1, kV), kV.hash));
  }
}

TEST_CASE("Alg1 lines 22-27: an invalid proposal is prevoted nil", "[unit][consensus]") {
  Harness h;
  h.Start();
  const std::vector<Output> outputs = h.ProposeAndValidate(1, 0, kV, kNoRound, /*valid=*/false);
  CHECK(HasPrevote(outputs, std::nullopt));
  CHECK_FALSE(HasPrevote(outputs, kV.hash));
}

TEST_CASE("Alg1 lines 22-27: prevote nil when locked on another value", "[unit][consensus]") {
  Harness h;
  LockOnVInRoundZero(&h);
  FinishRoundWithNilPrecommits(&h, 1, 0);
  const std::vector<Output> outputs = h.ProposeAndValidate(1, 1, kW);
  CHECK(HasPrevote(outputs, std::nullopt));
  CHECK_FALSE(HasPrevote(outputs, kW.hash));
}

TEST_CASE(
    "Alg1 lines 28-33: a proposal with validRound vr and a polka in vr is prevoted when "
    "lockedRound <= vr",
    "[unit][consensus]") {
  Harness h;
  LockOnVInRoundZero(&h);
  FinishRoundWithNilPrecommits(&h, 1, 0);
  // Round 1: a polka for w that we see without its proposal; we time out and prevote nil.
  h.Prevotes(1, 1, kW.hash, {1, 2, 3});
  REQUIRE(HasPrevote(h.Timeout(1, 1, Step::kPropose), std::nullopt));
  h.Timeout(1, 1, Step::kPrevote);
  FinishRoundWithNilPrecommits(&h, 1, 1);
  // Round 2: w re-proposed with validRound 1; locked_round 0 <= 1.
  const std::vector<Output> outputs = h.ProposeAndValidate(1, 2, kW, /*pol_round=*/1);
  CHECK(HasPrevote(outputs, kW.hash));
}

TEST_CASE("Alg1 lines 28-33: prevote nil when locked after vr on another value",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  // Round 0: a polka for w without its proposal.
  h.Prevotes(1, 0, kW.hash, {1, 2, 3});
  h.Timeout(1, 0, Step::kPropose);
  h.Timeout(1, 0, Step::kPrevote);
  FinishRoundWithNilPrecommits(&h, 1, 0);
  // Round 1: lock on v.
  REQUIRE(HasPrevote(h.ProposeAndValidate(1, 1, kV), kV.hash));
  REQUIRE(HasPrecommit(h.Prevotes(1, 1, kV.hash, {1, 2}), kV.hash));
  REQUIRE(h.machine().locked_round() == 1);
  FinishRoundWithNilPrecommits(&h, 1, 1);
  // Round 2: w with validRound 0 < lockedRound 1, and we are locked on v.
  const std::vector<Output> outputs = h.ProposeAndValidate(1, 2, kW, /*pol_round=*/0);
  CHECK(HasPrevote(outputs, std::nullopt));
  CHECK_FALSE(HasPrevote(outputs, kW.hash));
}

TEST_CASE("Alg1 lines 28-33: without 2f+1 prevotes in vr the proposal waits for the timeout",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  h.NilRound(1, 0);  // round 0 ends with nil prevotes only: no polka for w
  std::vector<Output> outputs = h.ProposeAndValidate(1, 1, kW, /*pol_round=*/0);
  CHECK(BroadcastVotes(outputs).empty());
  CHECK(h.machine().step() == Step::kPropose);
  outputs = h.Timeout(1, 1, Step::kPropose);
  CHECK(HasPrevote(outputs, std::nullopt));
}

// ---- Prevote step ----

TEST_CASE("Alg1 lines 34-35: 2f+1 prevotes for anything schedule timeoutPrevote once",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  REQUIRE(HasPrevote(h.Timeout(1, 0, Step::kPropose), std::nullopt));
  CHECK(TimeoutsFor(h.Prevotes(1, 0, kV.hash, {1}), Step::kPrevote).empty());
  const auto scheduled = TimeoutsFor(h.Prevotes(1, 0, kW.hash, {2}), Step::kPrevote);
  REQUIRE(scheduled.size() == 1);
  CHECK(scheduled[0].round == 0);
  CHECK(scheduled[0].after_ms == TimeoutConfig{}.prevote_ms);
  CHECK(TimeoutsFor(h.Prevotes(1, 0, std::nullopt, {3}), Step::kPrevote).empty());
}

TEST_CASE("Alg1 lines 34-35: prevotes seen while in the propose step schedule nothing",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  const std::vector<Output> outputs = h.Prevotes(1, 0, kV.hash, {1, 2, 3});
  CHECK(TimeoutsFor(outputs, Step::kPrevote).empty());
  CHECK(h.machine().step() == Step::kPropose);
}

TEST_CASE("Alg1 lines 36-43: lock on the polka value and precommit it", "[unit][consensus]") {
  Harness h;
  h.Start();
  REQUIRE(HasPrevote(h.ProposeAndValidate(1, 0, kV), kV.hash));
  CHECK(BroadcastVotes(h.Prevotes(1, 0, kV.hash, {1})).empty());
  const std::vector<Output> outputs = h.Prevotes(1, 0, kV.hash, {2});
  CHECK(HasPrecommit(outputs, kV.hash));
  CHECK(h.machine().step() == Step::kPrecommit);
  CHECK(h.machine().locked_round() == 0);
  CHECK(h.machine().valid_round() == 0);
}

TEST_CASE("Alg1 lines 36-43: no lock on a polka for a value judged invalid", "[unit][consensus]") {
  Harness h;
  h.Start();
  REQUIRE(HasPrevote(h.ProposeAndValidate(1, 0, kV, kNoRound, /*valid=*/false), std::nullopt));
  const std::vector<Output> outputs = h.Prevotes(1, 0, kV.hash, {1, 2, 3});
  CHECK_FALSE(HasPrecommit(outputs, kV.hash));
  CHECK(h.machine().locked_round() == kNoRound);
  CHECK(h.machine().valid_round() == kNoRound);
}

TEST_CASE("Alg1 lines 36-43: in the precommit step a polka updates validValue but not the lock",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Receive(h.MakeProposal(1, 0, kV));  // verdict still pending
  h.Timeout(1, 0, Step::kPropose);
  h.Prevotes(1, 0, kV.hash, {1, 2, 3});  // a polka for v, but valid(v) is not known yet
  REQUIRE(HasPrecommit(h.Timeout(1, 0, Step::kPrevote), std::nullopt));
  // The verdict arrives after the votes: the rule is re-evaluated.
  const std::vector<Output> outputs = h.Validate(1, 0, kV, true);
  CHECK(BroadcastVotes(outputs).empty());
  CHECK(h.machine().valid_round() == 0);
  CHECK(h.machine().locked_round() == kNoRound);
}

TEST_CASE("Alg1 lines 44-46: 2f+1 prevotes for nil lead to a nil precommit", "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Timeout(1, 0, Step::kPropose);
  CHECK(BroadcastVotes(h.Prevotes(1, 0, std::nullopt, {1})).empty());
  const std::vector<Output> outputs = h.Prevotes(1, 0, std::nullopt, {2});
  CHECK(HasPrecommit(outputs, std::nullopt));
  CHECK(h.machine().step() == Step::kPrecommit);
}

TEST_CASE("Alg1 lines 44-46: mixed prevotes without a nil quorum precommit nothing",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Timeout(1, 0, Step::kPropose);
  std::vector<Output> outputs = h.Prevotes(1, 0, std::nullopt, {1});
  Append(&outputs, h.Prevotes(1, 0, kV.hash, {2, 3}));
  CHECK(BroadcastVotes(outputs).empty());
  CHECK(h.machine().step() == Step::kPrevote);
}

TEST_CASE("Alg1 lines 47-48: 2f+1 precommits for anything schedule timeoutPrecommit once",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  // No step guard: it fires even in the propose step.
  CHECK(TimeoutsFor(h.Precommits(1, 0, kV.hash, {1, 2}), Step::kPrecommit).empty());
  const auto scheduled = TimeoutsFor(h.Precommits(1, 0, std::nullopt, {3}), Step::kPrecommit);
  REQUIRE(scheduled.size() == 1);
  CHECK(scheduled[0].round == 0);
  CHECK(scheduled[0].after_ms == TimeoutConfig{}.precommit_ms);
  CHECK(TimeoutsFor(h.Precommits(1, 0, kW.hash, {0}), Step::kPrecommit).empty());
}

// ---- Decide ----

TEST_CASE("Alg1 lines 49-54: decide on proposal + 2f+1 precommits, from any round",
          "[unit][consensus]") {
  SECTION("in the current round, with the commit sorted and verifiable") {
    Harness h;
    h.Start();
    h.ProposeAndValidate(1, 0, kV);
    REQUIRE(HasPrecommit(h.Prevotes(1, 0, kV.hash, {1, 2}), kV.hash));
    CHECK(OutputsOf<Decide>(h.Precommits(1, 0, kV.hash, {3})).empty());
    const std::vector<Output> outputs = h.Precommits(1, 0, kV.hash, {2});
    const auto decisions = OutputsOf<Decide>(outputs);
    REQUIRE(decisions.size() == 1);
    CHECK(decisions[0].height == 1);
    CHECK(decisions[0].value == kV);
    CHECK(decisions[0].commit.height == 1);
    CHECK(decisions[0].commit.round == 0);
    CHECK(decisions[0].commit.block_hash == kV.hash);
    REQUIRE(decisions[0].commit.signatures.size() == 3);
    CHECK(decisions[0].commit.signatures[0].validator == 0);
    CHECK(decisions[0].commit.signatures[1].validator == 2);
    CHECK(decisions[0].commit.signatures[2].validator == 3);
    CHECK(VerifyCommit(testing::kChainId, h.committee(), decisions[0].commit, testing::FakeVerify)
              .ok());
    // Then StartRound(0) of the next height.
    CHECK(h.machine().height() == 2);
    CHECK(h.machine().round() == 0);
    CHECK(h.machine().step() == Step::kPropose);
    CHECK(h.machine().locked_round() == kNoRound);
    const auto timeouts = TimeoutsFor(outputs, Step::kPropose);
    REQUIRE(timeouts.size() == 1);
    CHECK(timeouts[0].height == 2);
  }
  SECTION("from an earlier round, after skipping ahead") {
    Harness h;
    h.Start();
    h.Prevotes(1, 2, std::nullopt, {2, 3});
    REQUIRE(h.machine().round() == 2);
    h.Receive(h.MakeProposal(1, 0, kV));
    CHECK(OutputsOf<Decide>(h.Precommits(1, 0, kV.hash, {1, 2, 3})).empty());
    const auto decisions = OutputsOf<Decide>(h.Validate(1, 0, kV, true));
    REQUIRE(decisions.size() == 1);
    CHECK(decisions[0].commit.round == 0);
    CHECK(decisions[0].value == kV);
  }
}

TEST_CASE("Alg1 lines 49-54: no decision without the proposal or with an invalid value",
          "[unit][consensus]") {
  SECTION("precommits without a proposal") {
    Harness h;
    h.Start();
    CHECK(OutputsOf<Decide>(h.Precommits(1, 0, kV.hash, {1, 2, 3})).empty());
    CHECK(h.machine().height() == 1);
  }
  SECTION("the value is invalid") {
    Harness h;
    h.Start();
    h.Precommits(1, 0, kV.hash, {1, 2, 3});
    const std::vector<Output> outputs = h.ProposeAndValidate(1, 0, kV, kNoRound, false);
    CHECK(OutputsOf<Decide>(outputs).empty());
    CHECK(h.machine().height() == 1);
  }
  SECTION("precommits for another value") {
    Harness h;
    h.Start();
    h.ProposeAndValidate(1, 0, kV);
    CHECK(OutputsOf<Decide>(h.Precommits(1, 0, kW.hash, {1, 2, 3})).empty());
  }
}

// ---- Round skip and timeouts ----

TEST_CASE("Alg1 line 55: f+1 of a higher round skips to it", "[unit][consensus]") {
  SECTION("votes from two validators") {
    Harness h;
    h.Start();
    CHECK(h.Prevotes(1, 3, std::nullopt, {1}).empty());
    const std::vector<Output> outputs = h.Precommits(1, 3, kV.hash, {2});
    CHECK(h.machine().round() == 3);
    CHECK(h.machine().step() == Step::kPropose);
    const auto timeouts = TimeoutsFor(outputs, Step::kPropose);
    REQUIRE(timeouts.size() == 1);
    CHECK(timeouts[0].round == 3);
  }
  SECTION("a proposal and a vote") {
    Harness h;
    h.Start();
    h.Receive(h.MakeProposal(1, 2, kV));
    CHECK(h.machine().round() == 0);
    h.Prevotes(1, 2, kV.hash, {1});
    CHECK(h.machine().round() == 2);
  }
}

TEST_CASE("Alg1 line 55: one validator's messages of a higher round do not skip",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Prevotes(1, 3, std::nullopt, {1});
  h.Precommits(1, 3, std::nullopt, {1});
  h.Prevotes(1, 4, std::nullopt, {1});
  CHECK(h.machine().round() == 0);
}

TEST_CASE("Alg1 lines 57-60: timeoutPropose in the propose step prevotes nil",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  CHECK(h.Timeout(1, 1, Step::kPropose).empty());  // another round
  CHECK(h.Timeout(2, 0, Step::kPropose).empty());  // another height
  CHECK(h.machine().drops().stale_timeout == 2);
  const std::vector<Output> outputs = h.Timeout(1, 0, Step::kPropose);
  CHECK(HasPrevote(outputs, std::nullopt));
  CHECK(h.machine().step() == Step::kPrevote);
  // Past the propose step, the same timeout is stale.
  CHECK(h.Timeout(1, 0, Step::kPropose).empty());
}

TEST_CASE("Alg1 lines 61-64: timeoutPrevote in the prevote step precommits nil",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  CHECK(h.Timeout(1, 0, Step::kPrevote).empty());  // still in the propose step
  h.Timeout(1, 0, Step::kPropose);
  const std::vector<Output> outputs = h.Timeout(1, 0, Step::kPrevote);
  CHECK(HasPrecommit(outputs, std::nullopt));
  CHECK(h.machine().step() == Step::kPrecommit);
  CHECK(h.Timeout(1, 0, Step::kPrevote).empty());
}

TEST_CASE("Alg1 lines 65-67: timeoutPrecommit starts the next round", "[unit][consensus]") {
  Harness h;
  h.Start();
  CHECK(h.Timeout(1, 1, Step::kPrecommit).empty());
  CHECK(h.machine().round() == 0);
  const std::vector<Output> outputs = h.Timeout(1, 0, Step::kPrecommit);
  CHECK(h.machine().round() == 1);
  CHECK(h.machine().step() == Step::kPropose);
  CHECK(TimeoutsFor(outputs, Step::kPropose).size() == 1);
  // The timeout of a round we have left is stale.
  CHECK(h.Timeout(1, 0, Step::kPrecommit).empty());
  CHECK(h.machine().round() == 1);
}

TEST_CASE("timeouts grow linearly with the round", "[unit][consensus]") {
  TimeoutConfig timeouts{.propose_ms = 100,
                         .propose_delta_ms = 10,
                         .prevote_ms = 50,
                         .prevote_delta_ms = 5,
                         .precommit_ms = 70,
                         .precommit_delta_ms = 7};
  Harness h({.timeouts = timeouts});
  std::vector<Output> outputs = h.Start();
  for (Round round = 0; round < 3; ++round) {
    Append(&outputs, h.NilRound(1, round));
  }
  std::vector<uint64_t> propose, prevote, precommit;
  for (const ScheduleTimeout& t : OutputsOf<ScheduleTimeout>(outputs)) {
    CHECK(t.height == 1);
    if (t.step == Step::kPropose) propose.push_back(t.after_ms);
    if (t.step == Step::kPrevote) prevote.push_back(t.after_ms);
    if (t.step == Step::kPrecommit) precommit.push_back(t.after_ms);
  }
  CHECK(propose == std::vector<uint64_t>{100, 110, 120, 130});
  CHECK(prevote == std::vector<uint64_t>{50, 55, 60});
  CHECK(precommit == std::vector<uint64_t>{70, 77, 84});
}

// ---- Counting and evidence ----

TEST_CASE("votes are counted once per validator", "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Timeout(1, 0, Step::kPropose);  // our own nil prevote: power 1
  const Vote vote = h.MakeVote(VoteType::kPrevote, 1, 0, std::nullopt, 1);
  std::vector<Output> outputs = h.Receive(vote);
  Append(&outputs, h.Receive(vote));
  Vote resigned = vote;
  resigned.signature = Bytes(64, 7);  // same vote, another signature
  Append(&outputs, h.Receive(resigned));
  // Power 2 of 4: neither the nil quorum (line 44) nor the any-quorum (line 34).
  CHECK(BroadcastVotes(outputs).empty());
  CHECK(TimeoutsFor(outputs, Step::kPrevote).empty());
  CHECK(h.machine().drops().duplicate == 2);
  CHECK(HasPrecommit(h.Prevotes(1, 0, std::nullopt, {2}), std::nullopt));
}

TEST_CASE("an equivocating vote yields evidence once and counts only for its own option",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Timeout(1, 0, Step::kPropose);
  const Vote first = h.MakeVote(VoteType::kPrevote, 1, 0, std::nullopt, 1);
  const Vote second = h.MakeVote(VoteType::kPrevote, 1, 0, kV.hash, 1);
  const Vote third = h.MakeVote(VoteType::kPrevote, 1, 0, kW.hash, 1);
  CHECK(OutputsOf<EvidenceFound>(h.Receive(first)).empty());
  const auto evidence = OutputsOf<EvidenceFound>(h.Receive(second));
  REQUIRE(evidence.size() == 1);
  CHECK(evidence[0].evidence.first == first);
  CHECK(evidence[0].evidence.second == second);
  CHECK(OutputsOf<EvidenceFound>(h.Receive(second)).empty());
  CHECK(OutputsOf<EvidenceFound>(h.Receive(third)).empty());
  CHECK(h.machine().drops().conflicting_vote == 2);  // second, third; second again: duplicate
  // Validator 1 counts once toward "any" (us nil, 1, and now 2: 3 of 4 prevoted something), but
  // its kV vote counts toward kV: with 2 and 3 that is a polka on kV that others may have seen.
  std::vector<Output> outputs = h.Prevotes(1, 0, kV.hash, {2});
  CHECK(BroadcastVotes(outputs).empty());
  CHECK(TimeoutsFor(outputs, Step::kPrevote).size() == 1);
  outputs = h.Precommits(1, 0, kV.hash, {1, 2});
  Append(&outputs, h.Receive(h.MakeProposal(1, 0, kV)));
  Append(&outputs, h.Validate(1, 0, kV, true));
  Append(&outputs, h.Precommits(1, 0, kV.hash, {3}));
  // Decided with 1's kV prevote in the polka: without counting it, kV had only 2 and 3.
  REQUIRE(OutputsOf<Decide>(outputs).size() == 1);
}

TEST_CASE("a prevote and a precommit for different blocks are not equivocation",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  std::vector<Output> outputs = h.Prevotes(1, 0, kV.hash, {1});
  Append(&outputs, h.Precommits(1, 0, std::nullopt, {1}));
  Append(&outputs, h.Prevotes(1, 1, kW.hash, {1}));
  CHECK(OutputsOf<EvidenceFound>(outputs).empty());
}

// ---- Input checks ----

TEST_CASE("out-of-range round, height, index and type are dropped without effect",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Timeout(1, 0, Step::kPropose);
  Vote vote = h.MakeVote(VoteType::kPrevote, 1, 0, std::nullopt, 1);

  Vote bad = vote;
  bad.round = -1;
  CHECK(h.Receive(bad).empty());
  bad.round = kRoundMax + 1;
  CHECK(h.Receive(bad).empty());
  CHECK(h.machine().drops().round_out_of_range == 2);

  bad = vote;
  bad.validator = 4;
  CHECK(h.Receive(bad).empty());
  bad.validator = UINT32_MAX;
  CHECK(h.Receive(bad).empty());
  CHECK(h.machine().drops().index_out_of_range == 2);

  bad = vote;
  bad.height = 0;
  CHECK(h.Receive(bad).empty());
  CHECK(h.machine().drops().stale_height == 1);
  bad.height = 3;
  CHECK(h.Receive(bad).empty());
  bad.height = UINT64_MAX;
  CHECK(h.Receive(bad).empty());
  CHECK(h.machine().drops().future_height == 2);

  bad = vote;
  bad.type = static_cast<VoteType>(7);
  CHECK(h.Receive(bad).empty());
  CHECK(h.machine().drops().bad_vote_type == 1);

  Proposal proposal = h.MakeProposal(1, 0, kV);
  proposal.pol_round = 0;  // must be below the round
  CHECK(h.Receive(proposal).empty());
  proposal.pol_round = -2;
  CHECK(h.Receive(proposal).empty());
  CHECK(h.machine().drops().bad_pol_round == 2);
  proposal = h.MakeProposal(1, 0, kV);
  proposal.round = kRoundMax + 1;
  CHECK(h.Receive(proposal).empty());
  proposal = h.MakeProposal(1, 0, kV);
  proposal.proposer = 9;
  CHECK(h.Receive(proposal).empty());

  // None of it counted: two more nil prevotes are needed for the nil quorum, as before.
  CHECK(BroadcastVotes(h.Receive(vote)).empty());
  CHECK(HasPrecommit(h.Prevotes(1, 0, std::nullopt, {2}), std::nullopt));
}

TEST_CASE("a proposal from the wrong proposer is dropped", "[unit][consensus]") {
  Harness h;
  h.Start();
  Proposal proposal = h.MakeProposal(1, 0, kV);
  proposal.proposer = 2;  // the proposer of (1, 0) is 1
  const std::vector<Output> outputs = h.Receive(proposal);
  CHECK(outputs.empty());
  CHECK(h.machine().drops().wrong_proposer == 1);
  // The rightful proposer's proposal is taken.
  CHECK(OutputsOf<ValidateValue>(h.Receive(h.MakeProposal(1, 0, kV))).size() == 1);
}

TEST_CASE("a value is validated once per height, round and hash", "[unit][consensus]") {
  Harness h;
  h.Start();
  CHECK(OutputsOf<ValidateValue>(h.Receive(h.MakeProposal(1, 0, kV))).size() == 1);
  CHECK(OutputsOf<ValidateValue>(h.Receive(h.MakeProposal(1, 0, kV))).empty());
  CHECK(h.machine().drops().duplicate == 1);
  // A second, different proposal for the round is dropped.
  CHECK(OutputsOf<ValidateValue>(h.Receive(h.MakeProposal(1, 0, kW))).empty());
  CHECK(h.machine().drops().conflicting_proposal == 1);
  // A verdict nobody asked for, or a second verdict, is stale.
  CHECK(h.Validate(1, 0, kW, true).empty());
  h.Validate(1, 0, kV, true);
  CHECK(h.Validate(1, 0, kV, false).empty());
  CHECK(h.machine().drops().stale_verdict == 2);
}

TEST_CASE("a sender's messages in too many future rounds are dropped", "[unit][consensus]") {
  Harness h;
  h.Start();
  for (Round round = 1; round <= static_cast<Round>(StateMachine::kFutureRoundsPerSenderMax);
       ++round) {
    h.Prevotes(1, round, std::nullopt, {1});
  }
  CHECK(h.machine().drops().future_round_cap == 0);
  h.Prevotes(1, 100, std::nullopt, {1});
  CHECK(h.machine().drops().future_round_cap == 1);
  // Validator 2 joining round 100 is only one validator there: no skip.
  h.Prevotes(1, 100, std::nullopt, {2});
  CHECK(h.machine().round() == 0);
  // A round already remembered for the sender is still accepted.
  h.Precommits(1, 1, std::nullopt, {1});
  CHECK(h.machine().drops().future_round_cap == 1);
}

// ---- Signing ----

TEST_CASE("the sign state is persisted before every broadcast", "[unit][consensus]") {
  Harness h({.self = 1});
  std::vector<Output> outputs = h.Start();
  Append(&outputs, h.Handle(ValueReady{1, 0, kV}));
  Append(&outputs, h.Prevotes(1, 0, kV.hash, {0, 2}));
  Append(&outputs, h.Precommits(1, 0, kV.hash, {0, 2}));
  REQUIRE(OutputsOf<Decide>(outputs).size() == 1);
  size_t broadcasts = 0;
  SignState previous;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto* broadcast = std::get_if<Broadcast>(&outputs[i]);
    if (broadcast == nullptr) continue;
    ++broadcasts;
    REQUIRE(i > 0);
    const auto* persist = std::get_if<PersistSignState>(&outputs[i - 1]);
    REQUIRE(persist != nullptr);
    SignState expected;
    if (const auto* proposal = std::get_if<Proposal>(&broadcast->message)) {
      expected = {proposal->height, proposal->round, Step::kPropose};
    } else {
      const Vote& vote = std::get<Vote>(broadcast->message);
      expected = {vote.height, vote.round,
                  vote.type == VoteType::kPrevote ? Step::kPrevote : Step::kPrecommit};
    }
    CHECK(persist->state.height == expected.height);
    CHECK(persist->state.round == expected.round);
    CHECK(persist->state.step == expected.step);
    CHECK(std::make_tuple(expected.height, expected.round, static_cast<int>(expected.step)) >
          std::make_tuple(previous.height, previous.round, static_cast<int>(previous.step)));
    previous = expected;
  }
  CHECK(broadcasts == 3);  // proposal, prevote, precommit
  // The precommit locked on kV: the lock is persisted with the signature.
  CHECK(h.machine().last_signed() == SignState{1, 0, Step::kPrecommit, 0, kV});
}

TEST_CASE("a validator restarted after precommitting keeps its lock", "[unit][consensus]") {
  // Round 1's proposer is (1 + 1) mod 4 = 2; it proposes kW fresh (pol_round -1).
  const auto prevote_in_round_one = [](const SignState& last_signed) {
    Harness h({.last_signed = last_signed});
    h.Start();
    h.Prevotes(1, 1, std::nullopt, {1, 2});  // f+1 of round 1: skip to it (line 55)
    REQUIRE(h.machine().round() == 1);
    return h.ProposeAndValidate(1, 1, kW);
  };
  SECTION("locked on kV in round 0: the fresh proposal kW gets a nil prevote (lines 22-27)") {
    CHECK(HasPrevote(prevote_in_round_one({1, 0, Step::kPrecommit, 0, kV}), std::nullopt));
  }
  SECTION("without a lock the same proposal is prevoted") {
    CHECK(HasPrevote(prevote_in_round_one({1, 0, Step::kPrecommit}), kW.hash));
  }
  SECTION("as proposer it re-proposes the locked value with its lock round and arms a timeout") {
    // Validator 2 proposes (1, 1); it locked on kV in round 0 before the crash.
    Harness h({.self = 2, .last_signed = {1, 0, Step::kPrecommit, 0, kV}});
    h.Start();
    const std::vector<Output> outputs = h.Prevotes(1, 1, std::nullopt, {0, 1});
    const auto proposals = BroadcastProposals(outputs);
    REQUIRE(proposals.size() == 1);
    CHECK(proposals[0].value == kV);
    CHECK(proposals[0].pol_round == 0);
    CHECK(TimeoutsFor(outputs, Step::kPropose).size() == 1);
  }
  SECTION("a lock from an earlier height is not carried into this one") {
    Harness h({.last_signed = {0, 3, Step::kPrecommit, 3, kV}});
    h.Start();
    CHECK(h.machine().locked_round() == kNoRound);
  }
}

TEST_CASE("after a restart nothing is signed at or below last_signed", "[unit][consensus]") {
  SECTION("a prevote already signed is not signed again") {
    Harness h({.last_signed = {1, 0, Step::kPrevote}});
    h.Start();
    std::vector<Output> outputs = h.ProposeAndValidate(1, 0, kV);
    CHECK(BroadcastVotes(outputs).empty());
    CHECK(OutputsOf<PersistSignState>(outputs).empty());
    CHECK(h.machine().step() == Step::kPrevote);  // the step still advances
    CHECK(h.machine().drops().sign_refused == 1);
    // The precommit is above last_signed: signed, persisted first.
    outputs = h.Prevotes(1, 0, std::nullopt, {1, 2, 3});
    const auto persisted = OutputsOf<PersistSignState>(outputs);
    REQUIRE(persisted.size() == 1);
    CHECK(persisted[0].state == SignState{1, 0, Step::kPrecommit});
    CHECK(HasPrecommit(outputs, std::nullopt));
  }
  SECTION("a proposer that already proposed waits for the timeout") {
    Harness h({.self = 1, .last_signed = {1, 0, Step::kPropose}});
    h.Start();
    CHECK(BroadcastProposals(h.Handle(ValueReady{1, 0, kV})).empty());
    CHECK(HasPrevote(h.Timeout(1, 0, Step::kPropose), std::nullopt));
  }
  SECTION("a later round signed before the crash silences the earlier rounds") {
    Harness h({.last_signed = {1, 2, Step::kPrecommit}});
    std::vector<Output> outputs = h.Start();
    Append(&outputs, h.NilRound(1, 0));
    Append(&outputs, h.NilRound(1, 1));
    Append(&outputs, h.NilRound(1, 2));
    CHECK(OutputsOf<Broadcast>(outputs).empty());
    CHECK(OutputsOf<PersistSignState>(outputs).empty());
    CHECK(h.machine().round() == 3);
    CHECK(HasPrevote(h.Timeout(1, 3, Step::kPropose), std::nullopt));
  }
}

TEST_CASE("a non-validator follows the votes and decides but never signs", "[unit][consensus]") {
  Harness h({.self = std::nullopt});
  std::vector<Output> outputs = h.Start();
  Append(&outputs, h.ProposeAndValidate(1, 0, kV));
  Append(&outputs, h.Timeout(1, 0, Step::kPropose));
  Append(&outputs, h.Prevotes(1, 0, kV.hash, {0, 1, 2}));
  Append(&outputs, h.Precommits(1, 0, kV.hash, {0, 1, 2}));
  CHECK(OutputsOf<Broadcast>(outputs).empty());
  CHECK(OutputsOf<PersistSignState>(outputs).empty());
  CHECK(OutputsOf<RequestValue>(outputs).empty());
  const auto decisions = OutputsOf<Decide>(outputs);
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].commit.signatures.size() == 3);
  CHECK_FALSE(h.machine().self_index().has_value());
}

// ---- Heights and committees ----

// Decides `value` at `height` round 0 with validator 0 as the machine; others 1..3.
void DecideRoundZero(Harness* h, Height height, const Value& value) {
  h->ProposeAndValidate(height, 0, value);
  h->Prevotes(height, 0, value.hash, {1, 2, 3});
  const std::vector<Output> outputs = h->Precommits(height, 0, value.hash, {1, 2, 3});
  REQUIRE(OutputsOf<Decide>(outputs).size() == 1);
  REQUIRE(h->machine().height() == height + 1);
}

TEST_CASE("messages for the next height are buffered and replayed when it starts",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  // Height 2: proposer of round 0 is (2 + 0) mod 4 = 2.
  CHECK(h.Receive(h.MakeProposal(2, 0, kW)).empty());
  CHECK(h.Precommits(2, 0, kW.hash, {1, 2, 3}).empty());
  h.ProposeAndValidate(1, 0, kV);
  h.Prevotes(1, 0, kV.hash, {1, 2, 3});
  const std::vector<Output> outputs = h.Precommits(1, 0, kV.hash, {1, 2, 3});
  REQUIRE(OutputsOf<Decide>(outputs).size() == 1);
  const auto requests = OutputsOf<ValidateValue>(outputs);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].height == 2);
  const auto decisions = OutputsOf<Decide>(h.Validate(2, 0, kW, true));
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].height == 2);
  CHECK(h.machine().height() == 3);
}

TEST_CASE("the next-height buffer is bounded per sender", "[unit][consensus]") {
  Harness h;
  h.Start();
  for (Round round = 0; round < static_cast<Round>(StateMachine::kBufferedMessagesPerSenderMax);
       ++round) {
    h.Prevotes(2, round, std::nullopt, {1});
  }
  CHECK(h.machine().drops().future_buffer_full == 0);
  h.Prevotes(2, 0, std::nullopt, {1});  // identical: a duplicate, not a new entry
  CHECK(h.machine().drops().duplicate == 1);
  h.Prevotes(2, 100, std::nullopt, {1});
  CHECK(h.machine().drops().future_buffer_full == 1);
  h.Prevotes(2, 100, std::nullopt, {2});  // another sender has its own budget
  CHECK(h.machine().drops().future_buffer_full == 1);
}

TEST_CASE("a committee set for height + 2 after a decision takes effect there",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  DecideRoundZero(&h, 1, kV);
  // The driver, right after Decide(1), sets the committee of height 3: validators 0..4.
  h.machine().SetCommittee(3, testing::MakeCommittee({1, 1, 1, 1, 1}));
  CHECK(h.machine().committee().size() == 4);  // height 2 keeps the old one
  // Index 4 is unknown at height 2 but known at height 3 (buffered now, replayed later).
  h.Prevotes(2, 0, std::nullopt, {4});
  CHECK(h.machine().drops().index_out_of_range == 1);
  Vote next = h.MakeVote(VoteType::kPrevote, 3, 1, std::nullopt, 4);
  CHECK(h.Receive(next).empty());
  CHECK(h.machine().drops().index_out_of_range == 1);

  // Height 2: proposer of round 0 is 2.
  DecideRoundZero(&h, 2, kW);
  CHECK(h.machine().committee().size() == 5);
  CHECK(h.machine().self_index() == std::optional<ValidatorIndex>(0));
  // At height 3 (5 validators, f+1 = 2 of 5), validator 4's replayed round-1 prevote and one
  // more from validator 3 pull us to round 1.
  h.Receive(h.MakeVote(VoteType::kPrevote, 3, 1, std::nullopt, 3));
  CHECK(h.machine().round() == 1);
}

TEST_CASE("a committee change for the next height drops messages buffered for it",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  h.Receive(h.MakeProposal(2, 0, kW));  // checked against the old committee of height 2
  h.machine().SetCommittee(2, testing::MakeCommittee({1, 1, 1, 1}, /*key_offset=*/10));
  h.ProposeAndValidate(1, 0, kV);
  h.Prevotes(1, 0, kV.hash, {1, 2, 3});
  const std::vector<Output> outputs = h.Precommits(1, 0, kV.hash, {1, 2, 3});
  REQUIRE(OutputsOf<Decide>(outputs).size() == 1);
  CHECK(OutputsOf<ValidateValue>(outputs).empty());
  // Our key is not in the new committee: we follow without voting.
  CHECK_FALSE(h.machine().self_index().has_value());
}

TEST_CASE("HeldMessages lists the current height's proposal and counted votes in order",
          "[unit][consensus]") {
  Harness h;
  h.Start();
  const Proposal proposal = h.MakeProposal(1, 0, kV);
  h.Receive(proposal);
  h.Validate(1, 0, kV, true);  // our prevote for v
  const Vote prevote = h.MakeVote(VoteType::kPrevote, 1, 0, kV.hash, 2);
  h.Receive(prevote);
  h.Prevotes(1, 0, std::nullopt, {2});  // equivocation: held, so it is re-gossiped
  const Vote precommit = h.MakeVote(VoteType::kPrecommit, 1, 0, std::nullopt, 3);
  h.Receive(precommit);
  const Vote later = h.MakeVote(VoteType::kPrevote, 1, 4, std::nullopt, 1);
  h.Receive(later);
  h.Prevotes(2, 0, kV.hash, {1});  // next height: buffered, not held

  const std::vector<ConsensusMessage> held = h.machine().HeldMessages();
  REQUIRE(held.size() == 6);
  CHECK(std::get<Proposal>(held[0]) == proposal);
  const Vote& own = std::get<Vote>(held[1]);
  CHECK(own.validator == 0);
  CHECK(own.block_hash == kV.hash);
  CHECK(std::get<Vote>(held[2]) == prevote);
  CHECK(std::get<Vote>(held[3]).validator == 2);
  CHECK(std::get<Vote>(held[3]).block_hash == std::nullopt);
  CHECK(std::get<Vote>(held[4]) == precommit);
  CHECK(std::get<Vote>(held[5]) == later);
}

TEST_CASE("re-gossiped held messages bring a validator that missed them to the same lock",
          "[unit][consensus]") {
  Harness first;
  LockOnVInRoundZero(&first);
  Harness second({.self = 3});
  second.Start();
  for (const ConsensusMessage& message : first.machine().HeldMessages()) second.Receive(message);
  second.Validate(1, 0, kV, true);
  CHECK(second.machine().locked_round() == 0);
  CHECK(second.machine().step() == Step::kPrecommit);
  // Without them it is still waiting for a proposal.
  Harness third({.self = 3});
  third.Start();
  CHECK(third.machine().step() == Step::kPropose);
}

TEST_CASE("a committee schedule answers each height with the latest change at or below it",
          "[unit][consensus]") {
  CommitteeSchedule schedule(testing::MakeCommittee({1}));
  schedule.Set(5, testing::MakeCommittee({1, 1}));
  schedule.Set(9, testing::MakeCommittee({1, 1, 1}));
  CHECK(schedule.At(1).size() == 1);
  CHECK(schedule.At(4).size() == 1);
  CHECK(schedule.At(5).size() == 2);
  CHECK(schedule.At(8).size() == 2);
  CHECK(schedule.At(9).size() == 3);
  CHECK(schedule.At(1000).size() == 3);
  schedule.ForgetBefore(6);
  CHECK(schedule.At(6).size() == 2);
  CHECK(schedule.At(5).size() == 2);
  CHECK(schedule.At(9).size() == 3);
  schedule.ForgetBefore(100);
  CHECK(schedule.At(100).size() == 3);
}

}  // namespace
}  // namespace lading::consensus
