// The votes of one (height, round, type) in the consensus core: each validator's first vote
// counted once, with the power behind every option (a block hash or nil).
//
// Owned by the StateMachine; a plain value, thread-compatible. Does not check signatures,
// heights, rounds or indices: the state machine has done that before calling Add.
#ifndef LADING_CONSENSUS_INTERNAL_VOTE_SET_H_
#define LADING_CONSENSUS_INTERNAL_VOTE_SET_H_

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "consensus/types.h"

namespace lading::consensus::internal {

class VoteSet {
 public:
  enum class AddResult {
    kAdded,        // first vote of this validator: counted
    kDuplicate,    // same option as the validator's counted vote: ignored
    kConflicting,  // a different option from a validator that already voted: not counted
  };

  // Counts `vote` with `power` unless its validator already voted here. On kConflicting,
  // *first (when first is not null) points at the counted vote, valid until the next Add.
  // REQUIRES: power > 0; every vote added to one set has the same (height, round, type).
  AddResult Add(const Vote& vote, VotingPower power, const Vote** first = nullptr);

  // The counted vote of `validator`, or null.
  const Vote* Find(ValidatorIndex validator) const;
  // Power of all counted votes (the paper's "2f+1 <PREVOTE, h, r, *>" test).
  VotingPower total_power() const { return total_power_; }
  // Power of the counted votes for `block` (nullopt = nil).
  VotingPower PowerFor(const std::optional<BlockHash>& block) const;
  // The counted votes, sorted by validator index.
  std::vector<Vote> votes() const;
  // Signatures of the counted votes for `block`, sorted by validator index.
  std::vector<CommitSignature> SignaturesFor(const BlockHash& block) const;

  // Returns true the first time it is called for `validator`, false afterwards: evidence is
  // reported once per validator per (height, round, type), which bounds what a Byzantine
  // validator sending many conflicting votes can make us emit and remember.
  bool MarkEvidenceReported(ValidatorIndex validator) {
    return evidence_reported_.insert(validator).second;
  }

 private:
  std::map<ValidatorIndex, Vote> votes_;
  std::map<std::optional<BlockHash>, VotingPower> power_by_option_;
  VotingPower total_power_ = 0;
  std::set<ValidatorIndex> evidence_reported_;
};

}  // namespace lading::consensus::internal

#endif  // LADING_CONSENSUS_INTERNAL_VOTE_SET_H_
