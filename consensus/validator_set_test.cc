#include "consensus/validator_set.h"

#include <catch2/catch.hpp>
#include <map>

#include "consensus/internal/test_harness.h"

namespace lading::consensus {
namespace {

using testing::FakeKey;
using testing::FakeSign;
using testing::FakeVerify;
using testing::MakeCommittee;

Validator MakeValidator(uint32_t index, VotingPower power) {
  return {"validator-" + std::to_string(index), FakeKey(index), power};
}

TEST_CASE("ValidatorSet::Create accepts a well-formed committee", "[unit][consensus]") {
  absl::StatusOr<ValidatorSet> set =
      ValidatorSet::Create({MakeValidator(0, 5), MakeValidator(1, 7)});
  REQUIRE(set.ok());
  CHECK(set->size() == 2);
  CHECK(set->total_power() == 12);
  CHECK(set->IndexOfKey(FakeKey(1)) == std::optional<ValidatorIndex>(1));
  CHECK_FALSE(set->IndexOfKey(FakeKey(2)).has_value());
  CHECK(set->Contains(1));
  CHECK_FALSE(set->Contains(2));
  // Exactly 2^60 total is allowed.
  CHECK(ValidatorSet::Create(
            {MakeValidator(0, VotingPower{1} << 59), MakeValidator(1, VotingPower{1} << 59)})
            .ok());
}

TEST_CASE("ValidatorSet::Create rejects malformed committees with a reason", "[unit][consensus]") {
  CHECK(ValidatorSet::Create({}).status().message() == "validator set is empty");

  auto status = ValidatorSet::Create({MakeValidator(0, 1), MakeValidator(1, 0)}).status();
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("validator-1") && Catch::Contains("zero voting power"));

  Validator short_key = MakeValidator(1, 1);
  short_key.public_key.pop_back();
  status = ValidatorSet::Create({MakeValidator(0, 1), short_key}).status();
  CHECK_THAT(std::string(status.message()), Catch::Contains("31-byte public key"));

  Validator same_id = MakeValidator(1, 1);
  same_id.id = "validator-0";
  status = ValidatorSet::Create({MakeValidator(0, 1), same_id}).status();
  CHECK_THAT(std::string(status.message()), Catch::Contains("repeats the id validator-0"));

  Validator same_key = MakeValidator(1, 1);
  same_key.public_key = FakeKey(0);
  status = ValidatorSet::Create({MakeValidator(0, 1), same_key}).status();
  CHECK_THAT(std::string(status.message()), Catch::Contains("repeats the public key"));

  status = ValidatorSet::Create({MakeValidator(0, VotingPower{1} << 59),
                                 MakeValidator(1, (VotingPower{1} << 59) + 1)})
               .status();
  CHECK_THAT(std::string(status.message()), Catch::Contains("exceeds 2^60"));
  status =
      ValidatorSet::Create({MakeValidator(0, UINT64_MAX), MakeValidator(1, UINT64_MAX)}).status();
  CHECK(absl::IsInvalidArgument(status));
}

TEST_CASE("quorum is more than 2/3 and one third more than 1/3 of the power", "[unit][consensus]") {
  const ValidatorSet four = MakeCommittee({1, 1, 1, 1});
  CHECK(four.IsQuorum(3));
  CHECK_FALSE(four.IsQuorum(2));
  CHECK(four.IsOneThird(2));
  CHECK_FALSE(four.IsOneThird(1));
  const ValidatorSet three = MakeCommittee({1, 1, 1});
  CHECK(three.IsQuorum(3));
  CHECK_FALSE(three.IsQuorum(2));    // exactly 2/3 is not enough
  CHECK_FALSE(three.IsOneThird(1));  // exactly 1/3 is not enough
}

TEST_CASE("the committee hash commits to ids, keys, powers and order", "[unit][consensus]") {
  const ValidatorSet base = MakeCommittee({1, 2, 3});
  CHECK(base.Hash() == MakeCommittee({1, 2, 3}).Hash());
  CHECK(base.Hash() != MakeCommittee({1, 2, 4}).Hash());
  CHECK(base.Hash() != MakeCommittee({1, 2, 3}, /*key_offset=*/1).Hash());
  CHECK(base.Hash() != MakeCommittee({1, 2}).Hash());
  std::vector<Validator> validators = base.validators();
  std::swap(validators[0], validators[1]);
  CHECK(base.Hash() != ValidatorSet::Create(validators)->Hash());
  validators = base.validators();
  validators[2].id = "someone-else";
  CHECK(base.Hash() != ValidatorSet::Create(validators)->Hash());
}

TEST_CASE("equal-power validators strictly alternate as proposer: (h + r) mod n",
          "[unit][consensus]") {
  for (size_t n : {1, 2, 4, 7}) {
    for (VotingPower power : {VotingPower{1}, VotingPower{10}}) {
      const ValidatorSet set = MakeCommittee(std::vector<VotingPower>(n, power));
      for (Height height = 0; height < 30; ++height) {
        for (Round round = 0; round < 30; ++round) {
          CAPTURE(n, power, height, round);
          REQUIRE(set.Proposer(height, round) == (height + round) % n);
        }
      }
    }
  }
}

TEST_CASE("weighted proposer rotation gives each validator turns in proportion to power",
          "[unit][consensus]") {
  SECTION("small powers: exact counts over every cycle") {
    const ValidatorSet set = MakeCommittee({1, 2, 3, 4});
    for (Height start : {Height{0}, Height{3}, Height{1000003}}) {
      std::map<ValidatorIndex, int> counts;
      for (Round round = 0; round < 10 * 10; ++round) ++counts[set.Proposer(start, round)];
      CAPTURE(start);
      CHECK(counts == std::map<ValidatorIndex, int>{{0, 10}, {1, 20}, {2, 30}, {3, 40}});
      // Any window of one cycle (10 slots) is exact too.
      std::map<ValidatorIndex, int> window;
      for (Round round = 5; round < 15; ++round) ++window[set.Proposer(start, round)];
      CHECK(window == std::map<ValidatorIndex, int>{{0, 1}, {1, 2}, {2, 3}, {3, 4}});
    }
  }
  SECTION("turns are spread out, not bunched") {
    const ValidatorSet set = MakeCommittee({1, 1, 2});
    std::vector<ValidatorIndex> sequence;
    for (Round round = 0; round < 4; ++round) sequence.push_back(set.Proposer(0, round));
    // Validator 2 never proposes twice in a row within the cycle.
    for (size_t i = 1; i < sequence.size(); ++i) {
      CHECK_FALSE((sequence[i] == 2 && sequence[i - 1] == 2));
    }
  }
  SECTION("large powers: proportional over a window, no overflow at extreme heights") {
    const VotingPower unit = VotingPower{1} << 40;
    const ValidatorSet set = MakeCommittee({3 * unit, unit});
    int first = 0;
    for (Round round = 0; round < 4000; ++round) first += set.Proposer(1, round) == 0 ? 1 : 0;
    CHECK(first >= 2990);
    CHECK(first <= 3010);
    const ValidatorSet near_max =
        MakeCommittee({(VotingPower{1} << 59) + 1, (VotingPower{1} << 59) - 1});
    CHECK(near_max.Proposer(UINT64_MAX, kRoundMax) < 2);
    CHECK(set.Proposer(UINT64_MAX, kRoundMax) < 2);
  }
  SECTION("the proposer depends only on height + round") {
    const ValidatorSet set = MakeCommittee({5, 1, 3});
    for (Height height = 1; height < 20; ++height) {
      CHECK(set.Proposer(height, 4) == set.Proposer(height + 4, 0));
    }
  }
}

// A commit for (height 9, round 2, block) signed by `signers` of a four-validator committee.
Commit MakeCommit(const std::vector<ValidatorIndex>& signers) {
  Commit commit;
  commit.height = 9;
  commit.round = 2;
  commit.block_hash = crypto::HashWithLabel("lading/test/value", AsBytes("b"));
  for (ValidatorIndex signer : signers) {
    Vote precommit{VoteType::kPrecommit, commit.height, commit.round,
                   commit.block_hash,    signer,        {}};
    commit.signatures.push_back(
        {signer, FakeSign(FakeKey(signer), VoteSignBytes(testing::kChainId, precommit))});
  }
  return commit;
}

absl::Status Verify(const ValidatorSet& set, const Commit& commit) {
  return VerifyCommit(testing::kChainId, set, commit, FakeVerify);
}

TEST_CASE("VerifyCommit accepts a good commit", "[unit][consensus]") {
  const ValidatorSet set = MakeCommittee({1, 1, 1, 1});
  CHECK(Verify(set, MakeCommit({0, 1, 3})).ok());
  CHECK(Verify(set, MakeCommit({0, 1, 2, 3})).ok());
  // Power, not head count: one validator with 3 of 4.
  CHECK(Verify(MakeCommittee({3, 1}), MakeCommit({0})).ok());
}

TEST_CASE("VerifyCommit rejects duplicate signers", "[unit][consensus]") {
  const ValidatorSet set = MakeCommittee({1, 1, 1, 1});
  Commit commit = MakeCommit({0, 1, 1});
  const absl::Status status = Verify(set, commit);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("validator 1") && Catch::Contains("more than once"));
  commit = MakeCommit({1, 0, 2});
  CHECK_THAT(std::string(Verify(set, commit).message()), Catch::Contains("sorted"));
}

TEST_CASE("VerifyCommit rejects too little power", "[unit][consensus]") {
  const ValidatorSet set = MakeCommittee({1, 1, 1, 1});
  CHECK_THAT(std::string(Verify(set, MakeCommit({0, 1})).message()),
             Catch::Contains("power 2 of 4"));
  CHECK_FALSE(Verify(set, MakeCommit({})).ok());
  CHECK_FALSE(Verify(MakeCommittee({1, 3}), MakeCommit({0})).ok());
}

TEST_CASE("VerifyCommit rejects an unknown validator index", "[unit][consensus]") {
  const ValidatorSet set = MakeCommittee({1, 1, 1, 1});
  CHECK_THAT(std::string(Verify(set, MakeCommit({0, 1, 4})).message()),
             Catch::Contains("validator index 4"));
}

TEST_CASE("VerifyCommit rejects a bad signature", "[unit][consensus]") {
  const ValidatorSet set = MakeCommittee({1, 1, 1, 1});
  Commit commit = MakeCommit({0, 1, 2});
  commit.signatures[1].signature[0] ^= 1;
  CHECK_THAT(std::string(Verify(set, commit).message()),
             Catch::Contains("signature of validator 1") && Catch::Contains("invalid"));
  // Signatures for another block, round or chain do not carry over.
  commit = MakeCommit({0, 1, 2});
  commit.block_hash.bytes[0] ^= 1;
  CHECK_FALSE(Verify(set, commit).ok());
  commit = MakeCommit({0, 1, 2});
  commit.round = 3;
  CHECK_FALSE(Verify(set, commit).ok());
  CHECK_FALSE(VerifyCommit("another-chain", set, MakeCommit({0, 1, 2}), FakeVerify).ok());
  commit = MakeCommit({0, 1, 2});
  commit.round = -1;
  CHECK_THAT(std::string(Verify(set, commit).message()), Catch::Contains("round -1"));
}

}  // namespace
}  // namespace lading::consensus
