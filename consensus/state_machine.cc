#include "consensus/state_machine.h"

#include <cstddef>
#include <iterator>
#include <tuple>

#include "crypto/status.h"

namespace lading::consensus {
namespace {

uint64_t TimeoutAfter(uint64_t base_ms, uint64_t delta_ms, Round round) {
  const uint64_t rounds = static_cast<uint64_t>(round);
  // Saturate rather than wrap: a huge configured delta must not turn into a short timeout.
  if (rounds != 0 && delta_ms > (UINT64_MAX - base_ms) / rounds) return UINT64_MAX;
  return base_ms + rounds * delta_ms;
}

bool SignStateAfter(const SignState& a, const SignState& b) {
  return std::make_tuple(a.height, a.round, static_cast<uint8_t>(a.step)) >
         std::make_tuple(b.height, b.round, static_cast<uint8_t>(b.step));
}

Height MessageHeight(const ConsensusMessage& message) {
  return std::visit([](const auto& m) { return m.height; }, message);
}

ValidatorIndex MessageSender(const ConsensusMessage& message) {
  if (const auto* proposal = std::get_if<Proposal>(&message)) return proposal->proposer;
  return std::get<Vote>(message).validator;
}

bool SameProposalContent(const Proposal& a, const Proposal& b) {
  return a.height == b.height && a.round == b.round && a.pol_round == b.pol_round &&
         a.value == b.value && a.proposer == b.proposer;
}

bool SameVoteContent(const Vote& a, const Vote& b) {
  return a.type == b.type && a.height == b.height && a.round == b.round &&
         a.block_hash == b.block_hash && a.validator == b.validator;
}

bool SameMessageContent(const ConsensusMessage& a, const ConsensusMessage& b) {
  if (a.index() != b.index()) return false;
  if (const auto* proposal = std::get_if<Proposal>(&a)) {
    return SameProposalContent(*proposal, std::get<Proposal>(b));
  }
  return SameVoteContent(std::get<Vote>(a), std::get<Vote>(b));
}

}  // namespace

void CommitteeSchedule::Set(Height effective_height, ValidatorSet set) {
  LADING_CHECK_MSG(effective_height > changes_.back().from,
                   "committee change not after the last one");
  changes_.push_back({effective_height, std::move(set)});
}

const ValidatorSet& CommitteeSchedule::At(Height height) const {
  LADING_CHECK_MSG(height >= 1, "committee asked for height 0");
  for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
    if (it->from <= height) return it->set;
  }
  LADING_CHECK_MSG(false, "no committee covers the height");
  return changes_.front().set;
}

void CommitteeSchedule::ForgetBefore(Height height) {
  // Keep the change in force at `height` and everything after it.
  size_t keep_from = 0;
  for (size_t i = 0; i < changes_.size(); ++i) {
    if (changes_[i].from <= height) keep_from = i;
  }
  changes_.erase(changes_.begin(), changes_.begin() + static_cast<std::ptrdiff_t>(keep_from));
}

StateMachine::StateMachine(Options options, const Signer* signer, CommitteeSchedule committees,
                           Height height, SignState last_signed)
    : options_(std::move(options)),
      signer_(signer),
      committees_(std::move(committees)),
      height_(height),
      last_signed_(last_signed) {
  LADING_CHECK_MSG(height >= 1, "consensus starts at height 1 or later");
  LADING_CHECK_MSG(options_.self_public_key.empty() || signer_ != nullptr,
                   "a validating node needs a signer");
  EnterHeight(height);
  if (last_signed_.height == height && last_signed_.locked_round != kNoRound) {
    // Restarting inside a height where we precommitted: keep the lock (see SignState), and the
    // locked value as validValue (line 36 sets both; validRound >= lockedRound always holds).
    locked_round_ = last_signed_.locked_round;
    locked_value_ = last_signed_.locked_value;
    valid_round_ = last_signed_.locked_round;
    valid_value_ = last_signed_.locked_value;
  }
}

void StateMachine::Start(std::vector<Output>* outputs) {
  LADING_CHECK_MSG(!started_, "Start called twice");
  started_ = true;
  StartRound(0, outputs);
  RunRules(outputs);
}

void StateMachine::Handle(const Input& input, std::vector<Output>* outputs) {
  LADING_CHECK_MSG(started_, "Handle called before Start");
  if (const auto* timeout = std::get_if<TimeoutFired>(&input)) {
    OnTimeout(*timeout, outputs);
  } else if (const auto* received = std::get_if<MessageReceived>(&input)) {
    RecordMessage(received->message, outputs);
  } else if (const auto* verdict = std::get_if<ProposalValidated>(&input)) {
    OnVerdict(*verdict);
  } else {
    OnValueReady(std::get<ValueReady>(input), outputs);
  }
  RunRules(outputs);
}

void StateMachine::SetCommittee(Height effective_height, ValidatorSet set) {
  LADING_CHECK_MSG(effective_height > height_, "committee change for a height already started");
  committees_.Set(effective_height, std::move(set));
  // Buffered next-height messages were checked (and their signatures verified by the driver)
  // against the committee that has just been replaced.
  if (effective_height == height_ + 1) next_height_messages_.clear();
}

// ---- Inputs ----

void StateMachine::OnTimeout(const TimeoutFired& timeout, std::vector<Output>* outputs) {
  const bool current = timeout.height == height_ && timeout.round == round_;
  switch (timeout.step) {
    case Step::kPropose:
      // Alg. 1 lines 57-60.
      if (current && step_ == Step::kPropose) {
        step_ = Step::kPrevote;
        CastVote(VoteType::kPrevote, std::nullopt, outputs);
        return;
      }
      break;
    case Step::kPrevote:
      // Alg. 1 lines 61-64.
      if (current && step_ == Step::kPrevote) {
        step_ = Step::kPrecommit;
        CastVote(VoteType::kPrecommit, std::nullopt, outputs);
        return;
      }
      break;
    case Step::kPrecommit:
      // Alg. 1 lines 65-67. round_ never passes kRoundMax, so that our own messages stay
      // acceptable to the others; reaching it would take longer than the node's lifetime.
      if (current && round_ < kRoundMax) {
        StartRound(round_ + 1, outputs);
        return;
      }
      break;
  }
  ++drops_.stale_timeout;
}

void StateMachine::OnVerdict(const ProposalValidated& verdict) {
  if (verdict.height != height_) {
    ++drops_.stale_verdict;
    return;
  }
  const auto it = verdicts_.find({verdict.round, verdict.block});
  if (it == verdicts_.end() || it->second != Verdict::kPending) {
    ++drops_.stale_verdict;
    return;
  }
  it->second = verdict.valid ? Verdict::kValid : Verdict::kInvalid;
}

void StateMachine::OnValueReady(const ValueReady& ready, std::vector<Output>* outputs) {
  if (ready.height != height_ || ready.round != round_ || step_ != Step::kPropose ||
      value_requested_round_ != round_ || FindProposal(round_) != nullptr) {
    ++drops_.stale_value;
    return;
  }
  value_requested_round_ = kNoRound;
  Propose(ready.value, kNoRound, outputs);
}

// ---- Message log ----

void StateMachine::RecordMessage(const ConsensusMessage& message, std::vector<Output>* outputs) {
  const Height height = MessageHeight(message);
  if (height < height_) {
    // Late precommits for the last height would only add signatures to a commit we already
    // have: they are dropped with the rest of the past.
    ++drops_.stale_height;
    return;
  }
  if (height > height_ + 1) {
    ++drops_.future_height;
    return;
  }
  if (!CheckFields(message, committees_.At(height))) return;
  if (height == height_ + 1) {
    BufferForNextHeight(message);
    return;
  }
  if (const auto* proposal = std::get_if<Proposal>(&message)) {
    RecordProposal(*proposal, /*own=*/false, outputs);
  } else {
    RecordVote(std::get<Vote>(message), outputs);
  }
}

bool StateMachine::CheckFields(const ConsensusMessage& message, const ValidatorSet& committee) {
  if (const auto* proposal = std::get_if<Proposal>(&message)) {
    if (proposal->round < 0 || proposal->round > kRoundMax) {
      ++drops_.round_out_of_range;
      return false;
    }
    if (proposal->pol_round < kNoRound || proposal->pol_round >= proposal->round) {
      ++drops_.bad_pol_round;
      return false;
    }
    if (!committee.Contains(proposal->proposer)) {
      ++drops_.index_out_of_range;
      return false;
    }
    if (committee.Proposer(proposal->height, proposal->round) != proposal->proposer) {
      ++drops_.wrong_proposer;
      return false;
    }
    return true;
  }
  const Vote& vote = std::get<Vote>(message);
  if (vote.type != VoteType::kPrevote && vote.type != VoteType::kPrecommit) {
    ++drops_.bad_vote_type;
    return false;
  }
  if (vote.round < 0 || vote.round > kRoundMax) {
    ++drops_.round_out_of_range;
    return false;
  }
  if (!committee.Contains(vote.validator)) {
    ++drops_.index_out_of_range;
    return false;
  }
  return true;
}

void StateMachine::BufferForNextHeight(const ConsensusMessage& message) {
  std::vector<ConsensusMessage>& buffered = next_height_messages_[MessageSender(message)];
  for (const ConsensusMessage& held : buffered) {
    if (SameMessageContent(held, message)) {
      ++drops_.duplicate;
      return;
    }
  }
  if (buffered.size() >= kBufferedMessagesPerSenderMax) {
    ++drops_.future_buffer_full;
    return;
  }
  buffered.push_back(message);
}

void StateMachine::RecordProposal(const Proposal& proposal, bool own,
                                  std::vector<Output>* outputs) {
  if (const Proposal* held = FindProposal(proposal.round)) {
    if (SameProposalContent(*held, proposal)) {
      ++drops_.duplicate;
    } else {
      ++drops_.conflicting_proposal;
    }
    return;
  }
  if (!AdmitRound(proposal.proposer, proposal.round)) return;
  proposals_.emplace(proposal.round, proposal);
  NoteSender(proposal.proposer, proposal.round);
  const auto [it, inserted] =
      verdicts_.try_emplace({proposal.round, proposal.value.hash}, Verdict::kPending);
  if (own) {
    // A value we built (or our validValue, valid when we stored it) needs no second opinion.
    it->second = Verdict::kValid;
  } else if (inserted) {
    outputs->push_back(ValidateValue{height_, proposal.round, proposal.value});
  }
}

void StateMachine::RecordVote(const Vote& vote, std::vector<Output>* outputs) {
  const auto key = std::make_pair(vote.round, vote.type);
  auto it = votes_.find(key);
  if (it != votes_.end() && it->second.Find(vote.validator) != nullptr) {
    // The validator already voted here: a duplicate, or an equivocation. An equivocating vote
    // still counts toward its own option (see internal/vote_set.h for why that is safe and
    // needed for liveness), and is reported as evidence once.
    const Vote* first = nullptr;
    const auto result =
        it->second.Add(vote, committees_.At(height_).at(vote.validator).voting_power, &first);
    if (result == internal::VoteSet::AddResult::kDuplicate) {
      ++drops_.duplicate;
      return;
    }
    ++drops_.conflicting_vote;
    if (it->second.MarkEvidenceReported(vote.validator)) {
      outputs->push_back(EvidenceFound{Evidence{*first, vote}});
    }
    return;
  }
  if (!AdmitRound(vote.validator, vote.round)) return;
  if (it == votes_.end()) it = votes_.emplace(key, internal::VoteSet{}).first;
  it->second.Add(vote, committees_.At(height_).at(vote.validator).voting_power);
  NoteSender(vote.validator, vote.round);
}

bool StateMachine::AdmitRound(ValidatorIndex sender, Round round) {
  if (round <= round_) return true;
  const auto it = rounds_by_sender_.find(sender);
  if (it == rounds_by_sender_.end()) return true;
  const std::set<Round>& rounds = it->second;
  if (rounds.contains(round)) return true;
  const auto future = std::distance(rounds.upper_bound(round_), rounds.end());
  if (static_cast<size_t>(future) < kFutureRoundsPerSenderMax) return true;
  ++drops_.future_round_cap;
  return false;
}

void StateMachine::NoteSender(ValidatorIndex sender, Round round) {
  senders_by_round_[round].insert(sender);
  rounds_by_sender_[sender].insert(round);
}

// ---- Upon-rules ----

void StateMachine::RunRules(std::vector<Output>* outputs) {
  // Every rule that fires changes the state so that it cannot fire again for the same
  // reason (step, round, height or a "first time" mark), so this loop ends.
  for (;;) {
    if (TryDecide(outputs)) continue;
    if (TrySkipRound(outputs)) continue;
    if (TryPrevoteOnProposal(outputs)) continue;
    if (TryScheduleTimeoutPrevote(outputs)) continue;
    if (TryLockOnPolka(outputs)) continue;
    if (TryPrecommitNil(outputs)) continue;
    if (TryScheduleTimeoutPrecommit(outputs)) continue;
    return;
  }
}

bool StateMachine::TryDecide(std::vector<Output>* outputs) {
  // Alg. 1 lines 49-54: a proposal from any round with 2f+1 precommits for it in that round.
  const ValidatorSet& committee = committees_.At(height_);
  for (const auto& [round, proposal] : proposals_) {
    if (VerdictFor(proposal) != Verdict::kValid) continue;
    if (!committee.IsQuorum(PowerFor(round, VoteType::kPrecommit, proposal.value.hash))) continue;
    Decide decision{
        height_, proposal.value,
        Commit{height_, round, proposal.value.hash,
               FindVotes(round, VoteType::kPrecommit)->SignaturesFor(proposal.value.hash)}};
    outputs->push_back(std::move(decision));
    EnterHeight(height_ + 1);
    StartRound(0, outputs);
    // The replayed messages go through every check again, now against the new height.
    std::map<ValidatorIndex, std::vector<ConsensusMessage>> buffered;
    buffered.swap(next_height_messages_);
    for (const auto& [sender, messages] : buffered) {
      for (const ConsensusMessage& message : messages) RecordMessage(message, outputs);
    }
    return true;
  }
  return false;
}

bool StateMachine::TrySkipRound(std::vector<Output>* outputs) {
  // Alg. 1 line 55: f+1 of power in messages of a higher round means at least one correct
  // validator is there. Jump to the highest such round.
  const ValidatorSet& committee = committees_.At(height_);
  for (auto it = senders_by_round_.rbegin(); it != senders_by_round_.rend() && it->first > round_;
       ++it) {
    VotingPower power = 0;
    for (ValidatorIndex sender : it->second) power += committee.at(sender).voting_power;
    if (committee.IsOneThird(power)) {
      StartRound(it->first, outputs);
      return true;
    }
  }
  return false;
}

bool StateMachine::TryPrevoteOnProposal(std::vector<Output>* outputs) {
  if (step_ != Step::kPropose) return false;
  const Proposal* proposal = FindProposal(round_);
  if (proposal == nullptr) return false;
  // valid(v) is the application's verdict: until it arrives the rule is not yet enabled.
  const Verdict verdict = VerdictFor(*proposal);
  if (verdict == Verdict::kPending) return false;
  const bool valid = verdict == Verdict::kValid;
  const BlockHash& hash = proposal->value.hash;
  const bool locked_on_it = options_.break_locking_for_testing ||
                            (locked_value_.has_value() && locked_value_->hash == hash);
  bool prevote_block = false;
  if (proposal->pol_round == kNoRound) {
    // Alg. 1 lines 22-27.
    prevote_block = valid && (locked_round_ == kNoRound || locked_on_it);
  } else {
    // Alg. 1 lines 28-33 (pol_round < round_ was checked on receipt).
    const ValidatorSet& committee = committees_.At(height_);
    if (!committee.IsQuorum(PowerFor(proposal->pol_round, VoteType::kPrevote, hash))) {
      return false;
    }
    prevote_block = valid && (locked_round_ <= proposal->pol_round || locked_on_it);
  }
  const std::optional<BlockHash> choice =
      prevote_block ? std::optional<BlockHash>(hash) : std::nullopt;
  step_ = Step::kPrevote;
  CastVote(VoteType::kPrevote, choice, outputs);
  return true;
}

bool StateMachine::TryScheduleTimeoutPrevote(std::vector<Output>* outputs) {
  // Alg. 1 lines 34-35.
  if (step_ != Step::kPrevote || timeout_prevote_round_ == round_) return false;
  const internal::VoteSet* prevotes = FindVotes(round_, VoteType::kPrevote);
  if (prevotes == nullptr || !committees_.At(height_).IsQuorum(prevotes->total_power())) {
    return false;
  }
  timeout_prevote_round_ = round_;
  ScheduleStepTimeout(Step::kPrevote, outputs);
  return true;
}

bool StateMachine::TryLockOnPolka(std::vector<Output>* outputs) {
  // Alg. 1 lines 36-43.
  if (step_ == Step::kPropose || polka_round_ == round_) return false;
  const Proposal* proposal = FindProposal(round_);
  if (proposal == nullptr || VerdictFor(*proposal) != Verdict::kValid) return false;
  const BlockHash& hash = proposal->value.hash;
  if (!committees_.At(height_).IsQuorum(PowerFor(round_, VoteType::kPrevote, hash))) return false;
  polka_round_ = round_;
  const Value value = proposal->value;
  if (step_ == Step::kPrevote) {
    locked_value_ = value;
    locked_round_ = round_;
    step_ = Step::kPrecommit;
    CastVote(VoteType::kPrecommit, hash, outputs);
  }
  valid_value_ = value;
  valid_round_ = round_;
  return true;
}

bool StateMachine::TryPrecommitNil(std::vector<Output>* outputs) {
  // Alg. 1 lines 44-46.
  if (step_ != Step::kPrevote) return false;
  if (!committees_.At(height_).IsQuorum(PowerFor(round_, VoteType::kPrevote, std::nullopt))) {
    return false;
  }
  step_ = Step::kPrecommit;
  CastVote(VoteType::kPrecommit, std::nullopt, outputs);
  return true;
}

bool StateMachine::TryScheduleTimeoutPrecommit(std::vector<Output>* outputs) {
  // Alg. 1 lines 47-48.
  if (timeout_precommit_round_ == round_) return false;
  const internal::VoteSet* precommits = FindVotes(round_, VoteType::kPrecommit);
  if (precommits == nullptr || !committees_.At(height_).IsQuorum(precommits->total_power())) {
    return false;
  }
  timeout_precommit_round_ = round_;
  ScheduleStepTimeout(Step::kPrecommit, outputs);
  return true;
}

// ---- Actions ----

void StateMachine::StartRound(Round round, std::vector<Output>* outputs) {
  // Alg. 1 lines 11-21.
  round_ = round;
  step_ = Step::kPropose;
  value_requested_round_ = kNoRound;
  const bool proposer =
      self_index_.has_value() && committees_.At(height_).Proposer(height_, round) == *self_index_;
  if (!proposer) {
    ScheduleStepTimeout(Step::kPropose, outputs);
    return;
  }
  if (valid_value_.has_value()) {
    // Unlike the paper, the proposer also arms timeoutPropose: a validValue restored after a
    // restart may no longer be backed by a polka anyone holds (line 28 never fires), and a
    // proposer that may not sign (it signed this step before a restart) must wait like anyone.
    // The timeout only acts while we are still in the propose step, so it costs nothing else.
    Propose(*valid_value_, valid_round_, outputs);
    ScheduleStepTimeout(Step::kPropose, outputs);
    return;
  }
  // The paper's getValue() is synchronous; ours is RequestValue / ValueReady. The propose
  // timeout keeps the round live when the application answers late or never.
  value_requested_round_ = round;
  outputs->push_back(RequestValue{height_, round});
  ScheduleStepTimeout(Step::kPropose, outputs);
}

void StateMachine::EnterHeight(Height height) {
  height_ = height;
  round_ = 0;
  step_ = Step::kPropose;
  locked_value_.reset();
  locked_round_ = kNoRound;
  valid_value_.reset();
  valid_round_ = kNoRound;
  value_requested_round_ = kNoRound;
  timeout_prevote_round_ = kNoRound;
  polka_round_ = kNoRound;
  timeout_precommit_round_ = kNoRound;
  proposals_.clear();
  verdicts_.clear();
  votes_.clear();
  senders_by_round_.clear();
  rounds_by_sender_.clear();
  committees_.ForgetBefore(height_);
  self_index_.reset();
  if (!options_.self_public_key.empty()) {
    self_index_ = committees_.At(height_).IndexOfKey(options_.self_public_key);
  }
}

bool StateMachine::Propose(const Value& value, Round pol_round, std::vector<Output>* outputs) {
  if (!self_index_.has_value() || !ClaimSignState(Step::kPropose, outputs)) return false;
  Proposal proposal;
  proposal.height = height_;
  proposal.round = round_;
  proposal.pol_round = pol_round;
  proposal.value = value;
  proposal.proposer = *self_index_;
  proposal.signature = signer_->Sign(ProposalSignBytes(options_.chain_id, proposal));
  outputs->push_back(Broadcast{proposal});
  RecordProposal(proposal, /*own=*/true, outputs);
  return true;
}

void StateMachine::CastVote(VoteType type, const std::optional<BlockHash>& block,
                            std::vector<Output>* outputs) {
  if (!self_index_.has_value()) return;
  if (!ClaimSignState(type == VoteType::kPrevote ? Step::kPrevote : Step::kPrecommit, outputs)) {
    return;
  }
  Vote vote;
  vote.type = type;
  vote.height = height_;
  vote.round = round_;
  vote.block_hash = block;
  vote.validator = *self_index_;
  vote.signature = signer_->Sign(VoteSignBytes(options_.chain_id, vote));
  outputs->push_back(Broadcast{vote});
  RecordVote(vote, outputs);
}

bool StateMachine::ClaimSignState(Step step, std::vector<Output>* outputs) {
  const SignState next{.height = height_,
                       .round = round_,
                       .step = step,
                       .locked_round = locked_round_,
                       .locked_value = locked_value_};
  if (!SignStateAfter(next, last_signed_)) {
    ++drops_.sign_refused;
    return false;
  }
  last_signed_ = next;
  outputs->push_back(PersistSignState{next});
  return true;
}

void StateMachine::ScheduleStepTimeout(Step step, std::vector<Output>* outputs) const {
  const TimeoutConfig& t = options_.timeouts;
  uint64_t after_ms = 0;
  switch (step) {
    case Step::kPropose:
      after_ms = TimeoutAfter(t.propose_ms, t.propose_delta_ms, round_);
      break;
    case Step::kPrevote:
      after_ms = TimeoutAfter(t.prevote_ms, t.prevote_delta_ms, round_);
      break;
    case Step::kPrecommit:
      after_ms = TimeoutAfter(t.precommit_ms, t.precommit_delta_ms, round_);
      break;
  }
  outputs->push_back(ScheduleTimeout{height_, round_, step, after_ms});
}

// ---- Lookups ----

std::vector<ConsensusMessage> StateMachine::HeldMessages() const {
  std::set<Round> rounds;
  for (const auto& [round, proposal] : proposals_) rounds.insert(round);
  for (const auto& [key, votes] : votes_) rounds.insert(key.first);
  std::vector<ConsensusMessage> messages;
  for (Round round : rounds) {
    if (const Proposal* proposal = FindProposal(round)) messages.push_back(*proposal);
    for (VoteType type : {VoteType::kPrevote, VoteType::kPrecommit}) {
      const internal::VoteSet* votes = FindVotes(round, type);
      if (votes == nullptr) continue;
      for (const Vote& vote : votes->votes()) messages.push_back(vote);
    }
  }
  return messages;
}

const internal::VoteSet* StateMachine::FindVotes(Round round, VoteType type) const {
  const auto it = votes_.find({round, type});
  return it == votes_.end() ? nullptr : &it->second;
}

VotingPower StateMachine::PowerFor(Round round, VoteType type,
                                   const std::optional<BlockHash>& block) const {
  const internal::VoteSet* votes = FindVotes(round, type);
  return votes == nullptr ? 0 : votes->PowerFor(block);
}

const Proposal* StateMachine::FindProposal(Round round) const {
  const auto it = proposals_.find(round);
  return it == proposals_.end() ? nullptr : &it->second;
}

StateMachine::Verdict StateMachine::VerdictFor(const Proposal& proposal) const {
  const auto it = verdicts_.find({proposal.round, proposal.value.hash});
  LADING_CHECK_MSG(it != verdicts_.end(), "stored proposal without a verdict entry");
  return it->second;
}

}  // namespace lading::consensus
