#include "consensus/internal/vote_set.h"

#include "crypto/status.h"

namespace lading::consensus::internal {

VoteSet::AddResult VoteSet::Add(const Vote& vote, VotingPower power, const Vote** first) {
  LADING_CHECK(power > 0);
  auto [it, inserted] = votes_.try_emplace(vote.validator);
  std::vector<Vote>& kept = it->second;
  if (inserted) {
    kept.push_back(vote);
    power_by_option_[vote.block_hash] += power;
    total_power_ += power;
    return AddResult::kAdded;
  }
  // Only the option matters: a second signature over the same option is the same vote.
  for (const Vote& other : kept) {
    if (other.block_hash == vote.block_hash) return AddResult::kDuplicate;
  }
  if (kept.size() < kVotesPerValidatorMax) {
    kept.push_back(vote);
    power_by_option_[vote.block_hash] += power;
  }
  if (first != nullptr) *first = &kept.front();
  return AddResult::kConflicting;
}

const Vote* VoteSet::Find(ValidatorIndex validator) const {
  const auto it = votes_.find(validator);
  return it == votes_.end() ? nullptr : &it->second.front();
}

VotingPower VoteSet::PowerFor(const std::optional<BlockHash>& block) const {
  const auto it = power_by_option_.find(block);
  return it == power_by_option_.end() ? 0 : it->second;
}

std::vector<Vote> VoteSet::votes() const {
  std::vector<Vote> all;
  for (const auto& [validator, kept] : votes_) all.insert(all.end(), kept.begin(), kept.end());
  return all;
}

std::vector<CommitSignature> VoteSet::SignaturesFor(const BlockHash& block) const {
  std::vector<CommitSignature> signatures;
  for (const auto& [validator, kept] : votes_) {
    for (const Vote& vote : kept) {
      if (vote.block_hash == block) signatures.push_back({validator, vote.signature});
    }
  }
  return signatures;
}

}  // namespace lading::consensus::internal
