// The committee BFT consensus core: a deterministic state machine implementing Tendermint
// (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus", 2018, Algorithm 1).
//
// Inputs arrive through Handle(); everything the core wants done leaves as Outputs, in order.
// The core does no I/O, reads no clock, starts no thread and draws no randomness: the same
// state and input always give the same outputs. Not thread-safe: its driver
// (node/consensus_driver.h in production, tests/sim in simulation) serialises calls.
//
// Contract with the driver:
// - MessageReceived carries messages whose signatures the driver has verified against the
//   validator set of their height; the core still checks every height, round and index.
// - Outputs are executed in order. A PersistSignState must be durable before any later
//   Broadcast leaves the node.
// - The core's own messages are handled internally (it counts its own votes); Broadcast is
//   for the other validators.
#ifndef LADING_CONSENSUS_STATE_MACHINE_H_
#define LADING_CONSENSUS_STATE_MACHINE_H_

#include <variant>
#include <vector>

#include "consensus/types.h"
#include "consensus/validator_set.h"

namespace lading::consensus {

// Inputs.
struct TimeoutFired { Height height; Round round; Step step; };
struct MessageReceived { ConsensusMessage message; };  // signature verified by the driver
struct ProposalValidated { Height height; Round round; BlockHash block; bool valid; };
// The application's answer to RequestValue (see below).
struct ValueReady { Height height; Round round; Value value; };
using Input = std::variant<TimeoutFired, MessageReceived, ProposalValidated, ValueReady>;

// Outputs.
struct Broadcast { ConsensusMessage message; };
struct ScheduleTimeout { Height height; Round round; Step step; uint64_t after_ms; };
struct PersistSignState { SignState state; };
struct RequestValue { Height height; Round round; };        // we propose: build a block
struct ValidateValue { Height height; Round round; Value value; };  // check a proposed block
struct Decide { Height height; Value value; Commit commit; };
struct EvidenceFound { Evidence evidence; };
using Output = std::variant<Broadcast, ScheduleTimeout, PersistSignState, RequestValue,
                            ValidateValue, Decide, EvidenceFound>;

// Signs this validator's proposals and votes. Deterministic (Ed25519), no I/O. Implemented over a
// crypto::SigningKey by the node, and by the simulator (which can also give two instances one
// key: "twins").
class Signer {
 public:
  virtual ~Signer() = default;
  virtual Signature Sign(ByteSpan message) const = 0;
};

// Round timeouts grow linearly with the round (the paper's timeoutPropose(r) etc.).
struct TimeoutConfig {
  uint64_t propose_ms = 3000;
  uint64_t propose_delta_ms = 500;
  uint64_t prevote_ms = 1000;
  uint64_t prevote_delta_ms = 500;
  uint64_t precommit_ms = 1000;
  uint64_t precommit_delta_ms = 500;
};

// Which committee validates which height. Genesis gives the committee of height 1; after the
// decision of height h the application may set the committee for h + 2 (DESIGN §4: committee
// changes take effect at a fixed later height). Heights without a change keep the previous one.
class CommitteeSchedule {
 public:
  explicit CommitteeSchedule(ValidatorSet genesis) { changes_.push_back({1, std::move(genesis)}); }
  // REQUIRES: effective_height greater than every height set before.
  void Set(Height effective_height, ValidatorSet set);
  // The committee of `height` (>= 1).
  const ValidatorSet& At(Height height) const;

 private:
  struct Change { Height from; ValidatorSet set; };
  std::vector<Change> changes_;  // ascending by `from`
};

class StateMachine {
 public:
  struct Options {
    std::string chain_id;
    Bytes self_public_key;  // empty for a non-validating node (follows, never signs)
    TimeoutConfig timeouts;
  };

  // Starts at `height` (the first undecided height), round 0, resuming from `last_signed`: the
  // core never signs at or below last_signed's (height, round, step).
  // REQUIRES: signer outlives the machine; signer may be null only for a non-validator.
  StateMachine(Options options, const Signer* signer, CommitteeSchedule committees, Height height,
               SignState last_signed);

  // Enters round 0 of the start height (the paper's StartRound(0)); call once before Handle.
  void Start(std::vector<Output>* outputs);
  // Processes one input; appends the resulting outputs, in the order they must be executed.
  void Handle(const Input& input, std::vector<Output>* outputs);
  // Sets the committee that validates `effective_height` (REQUIRES: > height() + 1).
  void SetCommittee(Height effective_height, ValidatorSet set);

  Height height() const;
  Round round() const;
  Step step() const;
  const SignState& last_signed() const;
};

}  // namespace lading::consensus

#endif  // LADING_CONSENSUS_STATE_MACHINE_H_
