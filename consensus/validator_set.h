// A committee: the validators of one height, their voting power, quorum arithmetic and the
// weighted round-robin proposer rotation.
//
// Immutable value after construction; thread-compatible. Pure arithmetic on integers (no floating
// point in decisions).
#ifndef LADING_CONSENSUS_VALIDATOR_SET_H_
#define LADING_CONSENSUS_VALIDATOR_SET_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "consensus/types.h"

namespace lading::consensus {

class ValidatorSet {
 public:
  // Fails on an empty set, a validator with zero power, a public key that is not 32 bytes, two
  // validators with the same id or key, or a total power above 2^60 (so that 3 * power fits).
  static absl::StatusOr<ValidatorSet> Create(std::vector<Validator> validators);

  size_t size() const { return validators_.size(); }
  const std::vector<Validator>& validators() const { return validators_; }
  // REQUIRES: index < size().
  const Validator& at(ValidatorIndex index) const { return validators_[index]; }
  bool Contains(ValidatorIndex index) const { return index < validators_.size(); }
  std::optional<ValidatorIndex> IndexOfKey(ByteSpan public_key) const;
  VotingPower total_power() const { return total_power_; }

  // power > 2/3 of total (quorum, the paper's 2f+1).
  bool IsQuorum(VotingPower power) const { return 3 * power > 2 * total_power_; }
  // power > 1/3 of total (the paper's f+1: at least one correct validator).
  bool IsOneThird(VotingPower power) const { return 3 * power > total_power_; }

  // The proposer of (height, round): weighted round-robin, a pure function of the set and the
  // pair, in which each validator proposes in proportion to its voting power.
  ValidatorIndex Proposer(Height height, Round round) const;

  // Hash committing to ids, keys and powers in order (a block header's committee_hash).
  Hash256 Hash() const;

  bool operator==(const ValidatorSet&) const = default;

 private:
  std::vector<Validator> validators_;
  VotingPower total_power_ = 0;
};

// Checks a commit against the committee of its height: every signature from a distinct
// committee member, each a valid precommit signature for (height, round, block_hash) under
// `chain_id` (checked by `verify`), and together more than 2/3 of the committee's power.
// `verify(public_key, message, signature)` returns true when the signature is valid.
template <typename VerifyFn>
absl::Status VerifyCommit(const std::string& chain_id, const ValidatorSet& set, const Commit& commit,
                          VerifyFn verify);

}  // namespace lading::consensus

#endif  // LADING_CONSENSUS_VALIDATOR_SET_H_
