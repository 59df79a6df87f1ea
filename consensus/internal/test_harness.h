// Test-only helpers for the consensus unit tests: a fake signer (signature = labelled hash of
// key || message, so tests can forge any validator's messages and check them again), small
// committees, and a harness that drives one StateMachine as one of the committee's validators.
//
// Not part of lading_consensus; included only by *_test.cc files. Thread-compatible.
#ifndef LADING_CONSENSUS_INTERNAL_TEST_HARNESS_H_
#define LADING_CONSENSUS_INTERNAL_TEST_HARNESS_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/state_machine.h"
#include "consensus/types.h"
#include "consensus/validator_set.h"
#include "crypto/hash.h"
#include "crypto/status.h"

namespace lading::consensus::testing {

inline const std::string kChainId = "lading-test-chain";
inline constexpr std::string_view kFakeSignatureLabel = "lading/test/fake-signature";

// The fake public key of validator `index`.
inline Bytes FakeKey(uint32_t index) {
  Bytes seed;
  AppendUint32BigEndian(index, &seed);
  return crypto::HashWithLabel("lading/test/fake-key", seed).ToBytes();
}

inline Signature FakeSign(ByteSpan public_key, ByteSpan message) {
  return crypto::HashWithLabel(kFakeSignatureLabel, {public_key, message}).ToBytes();
}

inline bool FakeVerify(ByteSpan public_key, ByteSpan message, ByteSpan signature) {
  const Signature expected = FakeSign(public_key, message);
  return std::equal(expected.begin(), expected.end(), signature.begin(), signature.end());
}

class FakeSigner : public Signer {
 public:
  explicit FakeSigner(Bytes public_key) : public_key_(std::move(public_key)) {}
  Signature Sign(ByteSpan message) const override { return FakeSign(public_key_, message); }

 private:
  Bytes public_key_;
};

// Validators "validator-<i>" with FakeKey(i + key_offset) and the given powers.
inline ValidatorSet MakeCommittee(const std::vector<VotingPower>& powers, uint32_t key_offset = 0) {
  std::vector<Validator> validators;
  for (size_t i = 0; i < powers.size(); ++i) {
    const uint32_t key_index = static_cast<uint32_t>(i) + key_offset;
    validators.push_back({"validator-" + std::to_string(key_index), FakeKey(key_index), powers[i]});
  }
  absl::StatusOr<ValidatorSet> set = ValidatorSet::Create(std::move(validators));
  LADING_CHECK_MSG(set.ok(), "test committee rejected");
  return *std::move(set);
}

inline Value MakeValue(std::string_view name) {
  Value value;
  value.payload = ToBytes(name);
  value.hash = crypto::HashWithLabel("lading/test/value", AsBytes(name));
  return value;
}

template <typename T>
std::vector<T> OutputsOf(const std::vector<Output>& outputs) {
  std::vector<T> found;
  for (const Output& output : outputs) {
    if (const T* typed = std::get_if<T>(&output)) found.push_back(*typed);
  }
  return found;
}

inline std::vector<Vote> BroadcastVotes(const std::vector<Output>& outputs) {
  std::vector<Vote> votes;
  for (const Broadcast& broadcast : OutputsOf<Broadcast>(outputs)) {
    if (const Vote* vote = std::get_if<Vote>(&broadcast.message)) votes.push_back(*vote);
  }
  return votes;
}

inline std::vector<Proposal> BroadcastProposals(const std::vector<Output>& outputs) {
  std::vector<Proposal> proposals;
  for (const Broadcast& broadcast : OutputsOf<Broadcast>(outputs)) {
    if (const Proposal* proposal = std::get_if<Proposal>(&broadcast.message)) {
      proposals.push_back(*proposal);
    }
  }
  return proposals;
}

inline void Append(std::vector<Output>* to, const std::vector<Output>& from) {
  to->insert(to->end(), from.begin(), from.end());
}

// One StateMachine playing validator `self` of a committee whose other members the test plays.
class Harness {
 public:
  struct Config {
    std::vector<VotingPower> powers = {1, 1, 1, 1};
    std::optional<ValidatorIndex> self = 0;  // nullopt: a non-validating node
    Height height = 1;
    SignState last_signed;
    TimeoutConfig timeouts;
  };

  explicit Harness(Config config)
      : committee_(MakeCommittee(config.powers)),
        signer_(config.self.has_value() ? FakeKey(*config.self) : Bytes{}),
        machine_(StateMachine::Options{kChainId,
                                       config.self.has_value() ? FakeKey(*config.self) : Bytes{},
                                       config.timeouts},
                 config.self.has_value() ? &signer_ : nullptr, CommitteeSchedule(committee_),
                 config.height, config.last_signed),
        self_(config.self) {}
  Harness() : Harness(Config{}) {}

  StateMachine& machine() { return machine_; }
  const ValidatorSet& committee() const { return committee_; }

  std::vector<Output> Start() {
    std::vector<Output> outputs;
    machine_.Start(&outputs);
    return outputs;
  }
  std::vector<Output> Handle(const Input& input) {
    std::vector<Output> outputs;
    machine_.Handle(input, &outputs);
    return outputs;
  }
  std::vector<Output> Receive(const ConsensusMessage& message) {
    return Handle(MessageReceived{message});
  }
  std::vector<Output> Validate(Height height, Round round, const Value& value, bool valid) {
    return Handle(ProposalValidated{height, round, value.hash, valid});
  }
  std::vector<Output> Timeout(Height height, Round round, Step step) {
    return Handle(TimeoutFired{height, round, step});
  }

  // A proposal from the rightful proposer of (height, round) under the genesis committee.
  Proposal MakeProposal(Height height, Round round, const Value& value,
                        Round pol_round = kNoRound) {
    Proposal proposal;
    proposal.height = height;
    proposal.round = round;
    proposal.pol_round = pol_round;
    proposal.value = value;
    proposal.proposer = committee_.Proposer(height, round);
    proposal.signature =
        FakeSign(FakeKey(proposal.proposer), ProposalSignBytes(kChainId, proposal));
    return proposal;
  }
  Vote MakeVote(VoteType type, Height height, Round round, std::optional<BlockHash> block,
                ValidatorIndex validator) {
    Vote vote;
    vote.type = type;
    vote.height = height;
    vote.round = round;
    vote.block_hash = block;
    vote.validator = validator;
    vote.signature = FakeSign(FakeKey(validator), VoteSignBytes(kChainId, vote));
    return vote;
  }

  // Receives `type` votes for `block` from each of `validators`; returns all outputs.
  std::vector<Output> Votes(VoteType type, Height height, Round round,
                            std::optional<BlockHash> block,
                            std::initializer_list<ValidatorIndex> validators) {
    std::vector<Output> outputs;
    for (ValidatorIndex v : validators)
      Append(&outputs, Receive(MakeVote(type, height, round, block, v)));
    return outputs;
  }
  std::vector<Output> Prevotes(Height height, Round round, std::optional<BlockHash> block,
                               std::initializer_list<ValidatorIndex> validators) {
    return Votes(VoteType::kPrevote, height, round, block, validators);
  }
  std::vector<Output> Precommits(Height height, Round round, std::optional<BlockHash> block,
                                 std::initializer_list<ValidatorIndex> validators) {
    return Votes(VoteType::kPrecommit, height, round, block, validators);
  }

  // Receives the proposal of (height, round) for `value` and answers its ValidateValue.
  std::vector<Output> ProposeAndValidate(Height height, Round round, const Value& value,
                                         Round pol_round = kNoRound, bool valid = true) {
    std::vector<Output> outputs = Receive(MakeProposal(height, round, value, pol_round));
    Append(&outputs, Validate(height, round, value, valid));
    return outputs;
  }

  // Plays round (height, round) to its end with everyone (us included) voting nil: timeout
  // propose, nil prevotes, nil precommits, timeout precommit. Leaves the machine in round + 1.
  std::vector<Output> NilRound(Height height, Round round) {
    std::vector<Output> outputs = Timeout(height, round, Step::kPropose);
    for (ValidatorIndex v = 0; v < committee_.size(); ++v) {
      if (self_.has_value() && v == *self_) continue;
      Append(&outputs, Receive(MakeVote(VoteType::kPrevote, height, round, std::nullopt, v)));
    }
    for (ValidatorIndex v = 0; v < committee_.size(); ++v) {
      if (self_.has_value() && v == *self_) continue;
      Append(&outputs, Receive(MakeVote(VoteType::kPrecommit, height, round, std::nullopt, v)));
    }
    Append(&outputs, Timeout(height, round, Step::kPrecommit));
    return outputs;
  }

 private:
  ValidatorSet committee_;
  FakeSigner signer_;
  StateMachine machine_;
  std::optional<ValidatorIndex> self_;
};

}  // namespace lading::consensus::testing

#endif  // LADING_CONSENSUS_INTERNAL_TEST_HARNESS_H_
