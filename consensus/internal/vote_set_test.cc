#include "consensus/internal/vote_set.h"

#include <catch2/catch.hpp>

namespace lading::consensus::internal {
namespace {

BlockHash HashOf(uint8_t tag) {
  BlockHash hash;
  hash.bytes[0] = tag;
  return hash;
}

Vote MakeVote(ValidatorIndex validator, std::optional<BlockHash> block, uint8_t signature = 1) {
  Vote vote;
  vote.type = VoteType::kPrevote;
  vote.height = 5;
  vote.round = 1;
  vote.block_hash = block;
  vote.validator = validator;
  vote.signature = Bytes(64, signature);
  return vote;
}

TEST_CASE("a vote set counts each validator's power once, per option", "[unit][consensus]") {
  VoteSet set;
  CHECK(set.Add(MakeVote(2, HashOf(1)), 5) == VoteSet::AddResult::kAdded);
  CHECK(set.Add(MakeVote(0, HashOf(1)), 3) == VoteSet::AddResult::kAdded);
  CHECK(set.Add(MakeVote(1, std::nullopt), 7) == VoteSet::AddResult::kAdded);
  CHECK(set.total_power() == 15);
  CHECK(set.PowerFor(HashOf(1)) == 8);
  CHECK(set.PowerFor(std::nullopt) == 7);
  CHECK(set.PowerFor(HashOf(2)) == 0);
  const auto signatures = set.SignaturesFor(HashOf(1));
  REQUIRE(signatures.size() == 2);
  CHECK(signatures[0].validator == 0);
  CHECK(signatures[1].validator == 2);
  REQUIRE(set.Find(1) != nullptr);
  CHECK(set.Find(1)->block_hash == std::nullopt);
  CHECK(set.Find(3) == nullptr);
}

TEST_CASE("a repeated vote adds nothing; a conflicting one counts for its option only",
          "[unit][consensus]") {
  VoteSet set;
  REQUIRE(set.Add(MakeVote(0, HashOf(1)), 5) == VoteSet::AddResult::kAdded);
  CHECK(set.Add(MakeVote(0, HashOf(1)), 5) == VoteSet::AddResult::kDuplicate);
  CHECK(set.Add(MakeVote(0, HashOf(1), /*signature=*/9), 5) == VoteSet::AddResult::kDuplicate);
  const Vote* first = nullptr;
  CHECK(set.Add(MakeVote(0, std::nullopt), 5, &first) == VoteSet::AddResult::kConflicting);
  REQUIRE(first != nullptr);
  CHECK(first->block_hash == HashOf(1));
  CHECK(set.total_power() == 5);
  CHECK(set.PowerFor(std::nullopt) == 5);
  CHECK(set.PowerFor(HashOf(1)) == 5);
  CHECK(set.Add(MakeVote(0, std::nullopt), 5) == VoteSet::AddResult::kDuplicate);
  CHECK(set.Add(MakeVote(0, HashOf(2)), 5) == VoteSet::AddResult::kConflicting);
  CHECK(set.PowerFor(HashOf(2)) == 5);
  // Beyond kVotesPerValidatorMax options a validator's votes are dropped.
  CHECK(set.Add(MakeVote(0, HashOf(3)), 5) == VoteSet::AddResult::kConflicting);
  CHECK(set.PowerFor(HashOf(3)) == 0);
  CHECK(set.total_power() == 5);
  CHECK(set.votes().size() == 3);
  CHECK(set.SignaturesFor(HashOf(2)).size() == 1);
  CHECK(set.MarkEvidenceReported(0));
  CHECK_FALSE(set.MarkEvidenceReported(0));
  CHECK(set.MarkEvidenceReported(1));
}

}  // namespace
}  // namespace lading::consensus::internal
