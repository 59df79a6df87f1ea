#include "consensus/internal/vote_set.h"

#include "crypto/status.h"

namespace lading::consensus::internal {

VoteSet::AddResult VoteSet::Add(const Vote& vote, VotingPower power, const Vote** first) {
  LADING_CHECK(power > 0);
  const auto [it, inserted] = votes_.try_emplace(vote.validator, vote);
  if (!inserted) {
    // Only the option matters: a second signature over the same option is the same vote.
    if (it->second.block_hash == vote.block_hash) return AddResult::kDuplicate;
    if (first != nullptr) *first = &it->second;
    return AddResult::kConflicting;
  }
  power_by_option_[vote.block_hash] += power;
  total_power_ += power;
  return AddResult::kAdded;
}

const Vote* VoteSet::Find(ValidatorIndex validator) const {
  const auto it = votes_.find(validator);
  return it == votes_.end() ? nullptr : &it->second;
}

VotingPower VoteSet::PowerFor(const std::optional<BlockHash>& block) const {
  const auto it = power_by_option_.find(block);
  return it == power_by_option_.end() ? 0 : it->second;
}

std::vector<Vote> VoteSet::votes() const {
  std::vector<Vote> counted;
  counted.reserve(votes_.size());
  for (const auto& [validator, vote] : votes_) counted.push_back(vote);
  return counted;
}

std::vector<CommitSignature> VoteSet::SignaturesFor(const BlockHash& block) const {
  std::vector<CommitSignature> signatures;
  for (const auto& [validator, vote] : votes_) {
    if (vote.block_hash == block) signatures.push_back({validator, vote.signature});
  }
  return signatures;
}

}  // namespace lading::consensus::internal
