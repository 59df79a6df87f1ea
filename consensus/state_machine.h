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
// - Like the paper, the core assumes gossip eventually delivers every message between correct
//   validators; it sends each of its messages once. A driver on a lossy network re-gossips
//   (HeldMessages() returns what the core holds for the current height).
// - The paper's getValue() is asynchronous here: RequestValue, answered by ValueReady for the
//   same (height, round). A proposer that emits RequestValue also schedules its propose timeout,
//   so a late or missing answer costs the round, not liveness.
#ifndef LADING_CONSENSUS_STATE_MACHINE_H_
#define LADING_CONSENSUS_STATE_MACHINE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "consensus/internal/vote_set.h"
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
  // Forgets changes that no height >= `height` uses (At() below `height` is then undefined).
  void ForgetBefore(Height height);

 private:
  struct Change { Height from; ValidatorSet set; };
  std::vector<Change> changes_;  // ascending by `from`
};

// Why inputs were dropped or outputs withheld (Byzantine or stale input is data, not an error:
// STYLE.md "Errors: three kinds"). For metrics and tests; every field only grows.
struct DropCounters {
  uint64_t stale_height = 0;          // message for a height below the current one
  uint64_t future_height = 0;         // message for a height above the current one + 1
  uint64_t round_out_of_range = 0;    // round (or pol_round) outside [0, kRoundMax]
  uint64_t index_out_of_range = 0;    // validator / proposer index outside the committee
  uint64_t wrong_proposer = 0;        // proposal not from the proposer of its (height, round)
  uint64_t bad_vote_type = 0;         // vote type neither prevote nor precommit
  uint64_t bad_pol_round = 0;         // proposal pol_round not in [-1, round)
  uint64_t duplicate = 0;             // same message (or same option) already held
  uint64_t conflicting_vote = 0;      // equivocating vote: reported; counts for its option only
  uint64_t conflicting_proposal = 0;  // a second, different proposal for one round
  uint64_t future_round_cap = 0;      // sender already has messages in too many future rounds
  uint64_t future_buffer_full = 0;    // next-height buffer of the sender full
  uint64_t stale_timeout = 0;         // TimeoutFired whose (height, round, step) has passed
  uint64_t stale_verdict = 0;         // ProposalValidated nobody asked for or already given
  uint64_t stale_value = 0;           // ValueReady not for the pending RequestValue
  uint64_t sign_refused = 0;          // a rule wanted to sign at or below last_signed: skipped
};

class StateMachine {
 public:
  struct Options {
    std::string chain_id;
    Bytes self_public_key;  // empty for a non-validating node (follows, never signs)
    TimeoutConfig timeouts;
    // Deliberately unsafe, for the simulator only (lading-sim --break locking): prevote every
    // valid proposal whatever the lock (drops the lock tests of Alg. 1 lines 23 and 29). The
    // simulator must find the resulting forks; never set in a node.
    bool break_locking_for_testing = false;
  };

  // At most this many distinct rounds above the current one are remembered per sender at the
  // current height (later ones are dropped), which bounds what a Byzantine validator can make
  // us store while still letting f+1 honest validators pull us forward (Alg. 1 line 55).
  static constexpr size_t kFutureRoundsPerSenderMax = 8;
  // Messages for height + 1 are buffered, at most this many per sender, and replayed when the
  // height starts.
  static constexpr size_t kBufferedMessagesPerSenderMax = 16;

  // Starts at `height` (the first undecided height), round 0, resuming from `last_signed`: the
  // core never signs at or below last_signed's (height, round, step).
  // REQUIRES: height >= 1; signer outlives the machine; signer may be null only for a
  // non-validator (empty self_public_key).
  StateMachine(Options options, const Signer* signer, CommitteeSchedule committees, Height height,
               SignState last_signed);

  // Enters round 0 of the start height (the paper's StartRound(0)); call once before Handle.
  void Start(std::vector<Output>* outputs);
  // Processes one input; appends the resulting outputs, in the order they must be executed.
  // REQUIRES: Start() was called.
  void Handle(const Input& input, std::vector<Output>* outputs);
  // Sets the committee that validates `effective_height`. After Decide for height h the machine
  // is at h + 1, and the driver sets the committee of h + 2 = height() + 1: messages already
  // buffered for height() + 1 were checked against the old committee and are dropped.
  // REQUIRES: effective_height > height(), and greater than every height set before.
  void SetCommittee(Height effective_height, ValidatorSet set);

  Height height() const { return height_; }
  Round round() const { return round_; }
  Step step() const { return step_; }
  const SignState& last_signed() const { return last_signed_; }
  // The paper's lockedRound / validRound (kNoRound when none) at the current height.
  Round locked_round() const { return locked_round_; }
  Round valid_round() const { return valid_round_; }
  // This node's index in the committee of the current height; nullopt when it does not vote.
  std::optional<ValidatorIndex> self_index() const { return self_index_; }
  const ValidatorSet& committee() const { return committees_.At(height_); }
  const DropCounters& drops() const { return drops_; }
  // Every proposal and counted vote held for the current height (our own included), ordered by
  // round, then proposal, prevotes, precommits, each by validator index: what a driver
  // re-gossips so that peers that lost messages catch up.
  std::vector<ConsensusMessage> HeldMessages() const;

 private:
  enum class Verdict { kPending, kValid, kInvalid };

  void OnTimeout(const TimeoutFired& timeout, std::vector<Output>* outputs);
  void OnVerdict(const ProposalValidated& verdict);
  void OnValueReady(const ValueReady& ready, std::vector<Output>* outputs);

  // Checks a peer's message against the committee of `height` and stores it (current height)
  // or buffers it (next height). Never runs the upon-rules.
  void RecordMessage(const ConsensusMessage& message, std::vector<Output>* outputs);
  bool CheckFields(const ConsensusMessage& message, const ValidatorSet& committee);
  void BufferForNextHeight(const ConsensusMessage& message);
  void RecordProposal(const Proposal& proposal, bool own, std::vector<Output>* outputs);
  void RecordVote(const Vote& vote, std::vector<Output>* outputs);
  bool AdmitRound(ValidatorIndex sender, Round round);
  void NoteSender(ValidatorIndex sender, Round round);

  // Applies the upon-rules of Alg. 1 until none fires.
  void RunRules(std::vector<Output>* outputs);
  bool TryDecide(std::vector<Output>* outputs);              // lines 49-54
  bool TrySkipRound(std::vector<Output>* outputs);           // line 55
  bool TryPrevoteOnProposal(std::vector<Output>* outputs);   // lines 22-33
  bool TryScheduleTimeoutPrevote(std::vector<Output>* outputs);    // lines 34-35
  bool TryLockOnPolka(std::vector<Output>* outputs);         // lines 36-43
  bool TryPrecommitNil(std::vector<Output>* outputs);        // lines 44-46
  bool TryScheduleTimeoutPrecommit(std::vector<Output>* outputs);  // lines 47-48

  void StartRound(Round round, std::vector<Output>* outputs);  // lines 11-21
  void EnterHeight(Height height);
  bool Propose(const Value& value, Round pol_round, std::vector<Output>* outputs);
  void CastVote(VoteType type, const std::optional<BlockHash>& block, std::vector<Output>* outputs);
  // Advances last_signed to (height_, round_, step) and emits PersistSignState, or returns false
  // when that is not above last_signed.
  bool ClaimSignState(Step step, std::vector<Output>* outputs);
  void ScheduleStepTimeout(Step step, std::vector<Output>* outputs) const;

  const internal::VoteSet* FindVotes(Round round, VoteType type) const;
  VotingPower PowerFor(Round round, VoteType type, const std::optional<BlockHash>& block) const;
  const Proposal* FindProposal(Round round) const;
  Verdict VerdictFor(const Proposal& proposal) const;

  Options options_;
  const Signer* signer_;
  CommitteeSchedule committees_;
  DropCounters drops_;
  bool started_ = false;

  // Alg. 1 state of the current height.
  Height height_;
  Round round_ = 0;
  Step step_ = Step::kPropose;
  std::optional<Value> locked_value_;
  Round locked_round_ = kNoRound;
  std::optional<Value> valid_value_;
  Round valid_round_ = kNoRound;
  SignState last_signed_;
  std::optional<ValidatorIndex> self_index_;
  // The round whose RequestValue is unanswered (kNoRound: none).
  Round value_requested_round_ = kNoRound;
  // Rounds in which the "for the first time" rules (lines 34, 36, 47) fired.
  Round timeout_prevote_round_ = kNoRound;
  Round polka_round_ = kNoRound;
  Round timeout_precommit_round_ = kNoRound;

  // Message log of the current height.
  std::map<Round, Proposal> proposals_;
  std::map<std::pair<Round, BlockHash>, Verdict> verdicts_;
  std::map<std::pair<Round, VoteType>, internal::VoteSet> votes_;
  std::map<Round, std::set<ValidatorIndex>> senders_by_round_;
  std::map<ValidatorIndex, std::set<Round>> rounds_by_sender_;
  // Messages for height_ + 1, by sender, in arrival order.
  std::map<ValidatorIndex, std::vector<ConsensusMessage>> next_height_messages_;
};

}  // namespace lading::consensus

#endif  // LADING_CONSENSUS_STATE_MACHINE_H_
