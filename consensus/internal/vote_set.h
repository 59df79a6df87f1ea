// The votes of one (height, round, type) in the consensus core, with the power behind every
// option (a block hash or nil).
//
// A correct validator votes once per (height, round, type). An equivocating one may send
// different votes to different nodes; each node then sees one of them first. If a node kept only
// the first, a polka or commit that others formed with the equivocator's *other* vote could never
// be seen here, and a node locked on it could stall the height forever. So a validator's
// conflicting votes (up to kVotesPerValidatorMax distinct options) each count toward the option
// they name, while the validator counts once toward total_power (the "+2/3 of anything" tests).
// This is safe: the quorum-intersection argument of Tendermint already lets every Byzantine
// validator back two options at once; counting what it really signed adds nothing it could not
// achieve by sending each node the vote that suits it.
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
    kConflicting,  // a different option from a validator that already voted (evidence)
  };
  // Distinct options one validator can make count here; further conflicting votes are dropped.
  static constexpr size_t kVotesPerValidatorMax = 3;

  // Counts `vote` with `power`: a validator's first vote toward its option and total_power; a
  // conflicting vote toward its option only (while the validator has fewer than
  // kVotesPerValidatorMax options here). On kConflicting, *first (when first is not null) points
  // at the validator's first vote, valid until the next Add.
  // REQUIRES: power > 0; every vote added to one set has the same (height, round, type).
  AddResult Add(const Vote& vote, VotingPower power, const Vote** first = nullptr);

  // The first vote of `validator`, or null.
  const Vote* Find(ValidatorIndex validator) const;
  // Power of the validators that voted, each once (the paper's "2f+1 <PREVOTE, h, r, *>" test).
  VotingPower total_power() const { return total_power_; }
  // Power of the validators with a vote for `block` (nullopt = nil).
  VotingPower PowerFor(const std::optional<BlockHash>& block) const;
  // Every kept vote, sorted by validator index, each validator's in arrival order.
  std::vector<Vote> votes() const;
  // Signatures of the votes for `block`, sorted by validator index.
  std::vector<CommitSignature> SignaturesFor(const BlockHash& block) const;

  // Returns true the first time it is called for `validator`, false afterwards: evidence is
  // reported once per validator per (height, round, type), which bounds what a Byzantine
  // validator sending many conflicting votes can make us emit and remember.
  bool MarkEvidenceReported(ValidatorIndex validator) {
    return evidence_reported_.insert(validator).second;
  }

 private:
  std::map<ValidatorIndex, std::vector<Vote>> votes_;  // first vote first; distinct options
  std::map<std::optional<BlockHash>, VotingPower> power_by_option_;
  VotingPower total_power_ = 0;
  std::set<ValidatorIndex> evidence_reported_;
};

}  // namespace lading::consensus::internal

#endif  // LADING_CONSENSUS_INTERNAL_VOTE_SET_H_
