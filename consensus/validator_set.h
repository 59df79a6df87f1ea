// A committee: the validators of one height, their voting power, quorum arithmetic and the
// weighted round-robin proposer rotation.
//
// Immutable value after construction; thread-compatible. Pure arithmetic on integers (no floating
// point in decisions).
#ifndef LADING_CONSENSUS_VALIDATOR_SET_H_
#define LADING_CONSENSUS_VALIDATOR_SET_H_

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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
  //
  // Scheme: a cycle of T = total_power() slots. Validator i with power p_i owns p_i turns, its
  // k-th turn (k = 0 .. p_i - 1) at time floor((2k + 1) * T / (2 * p_i)); the cycle lists all
  // turns by (time, index). (height, round) uses slot (height + round) mod T. So over any T
  // consecutive slots each validator proposes exactly p_i times, its turns evenly spread, and
  // with equal powers the proposer of (h, r) is (h + r) mod size(): equal validators strictly
  // alternate. Cost O(size() * log T), no state.
  // REQUIRES: round >= 0.
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
// `verify(public_key, message, signature)` returns true when the signature is valid; it is called
// with three `const Bytes&` (so a callable taking ByteSpan works too) and must not throw.
// Signatures must be sorted by strictly increasing validator index. Errors name the bad value:
// a round outside [0, kRoundMax], an index outside the committee, a repeated or out-of-order
// index, an invalid signature, or signers with power <= 2/3 of the total.
template <typename VerifyFn>
absl::Status VerifyCommit(const std::string& chain_id, const ValidatorSet& set,
                          const Commit& commit, VerifyFn verify);

// Implementation of the template above.
template <typename VerifyFn>
absl::Status VerifyCommit(const std::string& chain_id, const ValidatorSet& set,
                          const Commit& commit, VerifyFn verify) {
  if (commit.round < 0 || commit.round > kRoundMax) {
    return absl::InvalidArgumentError(absl::StrCat("commit for height ", commit.height,
                                                   " has round ", commit.round, " outside [0, ",
                                                   kRoundMax, "]"));
  }
  VotingPower signed_power = 0;
  for (size_t i = 0; i < commit.signatures.size(); ++i) {
    const CommitSignature& entry = commit.signatures[i];
    if (!set.Contains(entry.validator)) {
      return absl::InvalidArgumentError(
          absl::StrCat("commit for height ", commit.height, " names validator index ",
                       entry.validator, " but the committee has ", set.size(), " validators"));
    }
    if (i > 0 && entry.validator <= commit.signatures[i - 1].validator) {
      if (entry.validator == commit.signatures[i - 1].validator) {
        return absl::InvalidArgumentError(
            absl::StrCat("commit for height ", commit.height, " has validator ", entry.validator,
                         " (", set.at(entry.validator).id, ") sign more than once"));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "commit for height ", commit.height, " lists validator ", entry.validator, " after ",
          commit.signatures[i - 1].validator, "; signatures must be sorted by index"));
    }
    Vote precommit;
    precommit.type = VoteType::kPrecommit;
    precommit.height = commit.height;
    precommit.round = commit.round;
    precommit.block_hash = commit.block_hash;
    precommit.validator = entry.validator;
    const Bytes message = VoteSignBytes(chain_id, precommit);
    const Validator& validator = set.at(entry.validator);
    if (!verify(validator.public_key, message, entry.signature)) {
      return absl::InvalidArgumentError(
          absl::StrCat("commit for height ", commit.height, " round ", commit.round, " block ",
                       commit.block_hash.ToHex(), ": signature of validator ", entry.validator,
                       " (", validator.id, ") is invalid"));
    }
    signed_power += validator.voting_power;
  }
  if (!set.IsQuorum(signed_power)) {
    return absl::InvalidArgumentError(absl::StrCat("commit for height ", commit.height,
                                                   " is signed by power ", signed_power, " of ",
                                                   set.total_power(), "; more than 2/3 is needed"));
  }
  return absl::OkStatus();
}

}  // namespace lading::consensus

#endif  // LADING_CONSENSUS_VALIDATOR_SET_H_
