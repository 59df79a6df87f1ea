#include "node/consensus_driver.h"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <thread>
#include <utility>

#include "crypto/internal/strings.h"
#include "crypto/status.h"
#include "node/consensus_codec.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

using internal::StrCat;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kTickInterval{250};

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Bytes SerializePeerMessage(const proto::PeerMessage& message) { return proto::Serialize(message); }

Bytes ToPeerMessage(const consensus::ConsensusMessage& message) {
  proto::PeerMessage envelope;
  if (const auto* proposal = std::get_if<consensus::Proposal>(&message)) {
    *envelope.mutable_proposal() = ProposalToProto(*proposal);
  } else {
    *envelope.mutable_vote() = VoteToProto(std::get<consensus::Vote>(message));
  }
  return SerializePeerMessage(envelope);
}

bool IsStorageError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInternal ||
         status.code() == absl::StatusCode::kDataLoss;
}

std::string Why(const absl::Status& status) { return std::string(status.message()); }

int64_t MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::string ShortHash(const Hash256& hash) { return hash.ToHex().substr(0, 16); }

}  // namespace

class ConsensusDriver::CoreSigner final : public consensus::Signer {
 public:
  explicit CoreSigner(const crypto::SigningKey* key) : key_(key) {}
  consensus::Signature Sign(ByteSpan message) const override {
    return key_->Sign(message).ToBytes();
  }

 private:
  const crypto::SigningKey* key_;
};

ConsensusDriver::ConsensusDriver(boost::asio::io_context& io_context,
                                 boost::asio::thread_pool& verify_pool,
                                 ConsensusDriverOptions options, const crypto::SigningKey* key,
                                 BlockStore* store, Mempool* mempool,
                                 VerifiedSignatureCache* signatures, SignStateStore* sign_state,
                                 PeerNetwork* network, StatusBoard* status,
                                 ConsensusDriverCallbacks callbacks)
    : io_context_(io_context),
      verify_pool_(verify_pool),
      strand_(boost::asio::make_strand(io_context)),
      options_(std::move(options)),
      key_(key),
      store_(store),
      mempool_(mempool),
      signatures_(signatures),
      sign_state_(sign_state),
      network_(network),
      status_(status),
      callbacks_(std::move(callbacks)),
      signer_(key != nullptr ? std::make_unique<CoreSigner>(key) : nullptr),
      tick_timer_(strand_),
      heartbeat_timer_(strand_) {}

ConsensusDriver::~ConsensusDriver() = default;

template <typename Fn>
void ConsensusDriver::Post(Fn&& fn) {
  boost::asio::post(strand_, [this, fn = std::forward<Fn>(fn)]() mutable {
    if (started_.load() && !stopped_.load()) fn();
  });
}

absl::Status ConsensusDriver::Start() {
  LADING_ASSIGN_OR_RETURN(consensus::ValidatorSet committee, HeadCommittee(*store_));
  committee_hash_ = committee.Hash();
  committee_ = std::make_shared<const consensus::ValidatorSet>(std::move(committee));
  // The committed transaction count is not stored; one pass over the blocks at start-up.
  const uint64_t head = store_->HeadHeight();
  for (uint64_t height = 1; height <= head; ++height) {
    LADING_ASSIGN_OR_RETURN(const Bytes block_bytes, store_->GetBlock(height));
    LADING_ASSIGN_OR_RETURN(const proto::Block block, proto::DecodeBlock(block_bytes));
    committed_txs_total_ += static_cast<uint64_t>(block.txs_size());
  }
  core_height_ = head + 1;
  boost::asio::post(strand_, [this] { StartOnStrand(); });
  return absl::OkStatus();
}

void ConsensusDriver::Stop() {
  if (stopped_.exchange(true)) return;
  boost::asio::post(strand_, [this] {
    for (auto& timer : timeouts_) timer->cancel();
    tick_timer_.cancel();
    heartbeat_timer_.cancel();
  });
}

void ConsensusDriver::StopAndDrain() {
  Stop();
  while (pending_verifications_.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Everything queued on the strand before this point (including cancelled timers' handlers
  // and posts from the verification tasks above) runs before the barrier.
  std::promise<void> barrier;
  boost::asio::post(strand_, [&barrier] { barrier.set_value(); });
  barrier.get_future().wait();
}

void ConsensusDriver::Fatal(const absl::Status& status) {
  if (stopped_.exchange(true)) return;
  for (auto& timer : timeouts_) timer->cancel();
  tick_timer_.cancel();
  heartbeat_timer_.cancel();
  spdlog::critical("consensus stopped: {}", status.ToString());
  if (callbacks_.on_fatal) callbacks_.on_fatal(status);
}

// ---------------------------------------------------------------------------------------------
// Strand: core lifecycle and outputs
// ---------------------------------------------------------------------------------------------

void ConsensusDriver::StartOnStrand() {
  if (stopped_.load()) return;
  // Copied: starting the core may sign (and save) at once.
  const SignRecord record = sign_state_->last();
  last_signed_ = record.state;
  signed_messages_ = record.signed_messages;
  const uint64_t height = store_->HeadHeight() + 1;
  head_changed_ = Clock::now();
  last_progress_ = Clock::now();
  StartCore(height);
  if (record.state.height == height && !record.signed_messages.empty()) {
    // We signed these before the restart: count them again and re-send them, since peers may
    // never have received them.
    spdlog::info("resuming height {}: re-sending {} message(s) signed before the restart",
                 height, record.signed_messages.size());
    for (const Bytes& bytes : record.signed_messages) {
      absl::StatusOr<proto::PeerMessage> message = proto::DecodePeerMessage(bytes);
      if (!message.ok()) continue;
      if (message->has_proposal()) {
        absl::StatusOr<consensus::Proposal> proposal = ProposalFromProto(message->proposal());
        if (proposal.ok()) Feed(consensus::MessageReceived{*std::move(proposal)});
      } else if (message->has_vote()) {
        absl::StatusOr<consensus::Vote> vote = VoteFromProto(message->vote());
        if (vote.ok()) Feed(consensus::MessageReceived{*std::move(vote)});
      }
      network_->Broadcast(bytes);
    }
  }
  BroadcastStatus();
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error && !stopped_.load()) Tick();
  });
  // From here on peer input reaches the core (see OnPeerMessage).
  started_ = true;
}

void ConsensusDriver::StartCore(uint64_t height) {
  for (auto& timer : timeouts_) timer->cancel();
  timeouts_.clear();
  prepared_.clear();
  deferred_timeout_.reset();
  deferred_request_.reset();
  pending_inputs_.clear();
  consensus::StateMachine::Options options;
  options.chain_id = options_.chain_id;
  if (key_ != nullptr) {
    const ByteSpan public_key = key_->public_key().span();
    options.self_public_key.assign(public_key.begin(), public_key.end());
  }
  options.timeouts = options_.timeouts;
  core_ = std::make_unique<consensus::StateMachine>(
      std::move(options), signer_.get(), consensus::CommitteeSchedule(*committee_), height,
      last_signed_);
  core_height_ = height;
  std::vector<consensus::Output> outputs;
  core_->Start(&outputs);
  Execute(std::move(outputs));
  ReplayFutureMessages();
  PublishStatus();
}

void ConsensusDriver::Feed(const consensus::Input& input) {
  if (stopped_.load()) return;
  if (executing_) {
    // An answer produced while executing outputs (ValueReady, ProposalValidated) is handled
    // after the outputs before it, so that outputs leave in the order the core emitted them.
    pending_inputs_.push_back(input);
    return;
  }
  std::vector<consensus::Output> outputs;
  core_->Handle(input, &outputs);
  Execute(std::move(outputs));
}

void ConsensusDriver::Execute(std::vector<consensus::Output> outputs) {
  executing_ = true;
  std::deque<std::vector<consensus::Output>> batches;
  batches.push_back(std::move(outputs));
  while (!batches.empty() && !stopped_.load()) {
    std::vector<consensus::Output> batch = std::move(batches.front());
    batches.pop_front();
    for (size_t i = 0; i < batch.size() && !stopped_.load(); ++i) {
      consensus::Output& output = batch[i];
      if (auto* persist = std::get_if<consensus::PersistSignState>(&output)) {
        Persist(persist->state, batch, i + 1);
      } else if (auto* broadcast = std::get_if<consensus::Broadcast>(&output)) {
        network_->Broadcast(ToPeerMessage(broadcast->message));
      } else if (auto* timeout = std::get_if<consensus::ScheduleTimeout>(&output)) {
        ScheduleTimeout(*timeout);
      } else if (auto* request = std::get_if<consensus::RequestValue>(&output)) {
        if (request->round == 0 && request->height > 1 && Idle()) {
          spdlog::debug("height {}: mempool empty, not proposing until a transaction arrives",
                        request->height);
          deferred_request_ = *request;
          idle_deferred_ = true;
          ArmHeartbeat();
        } else {
          ProposeValue(request->height, request->round);
        }
      } else if (auto* validate = std::get_if<consensus::ValidateValue>(&output)) {
        ValidateValue(*validate);
      } else if (auto* decide = std::get_if<consensus::Decide>(&output)) {
        Decide(*decide);
      } else if (auto* evidence = std::get_if<consensus::EvidenceFound>(&output)) {
        OnEvidence(evidence->evidence);
      }
    }
    while (batches.empty() && !pending_inputs_.empty() && !stopped_.load()) {
      consensus::Input input = std::move(pending_inputs_.front());
      pending_inputs_.pop_front();
      std::vector<consensus::Output> next;
      core_->Handle(input, &next);
      if (!next.empty()) batches.push_back(std::move(next));
    }
  }
  executing_ = false;
}

void ConsensusDriver::Persist(const consensus::SignState& state,
                              const std::vector<consensus::Output>& outputs, size_t next) {
  if (state.height != last_signed_.height) signed_messages_.clear();
  // The messages this sign state is claimed for are the broadcasts up to the next claim: they
  // go into the same synced record, so a restart can re-send them.
  for (size_t i = next; i < outputs.size(); ++i) {
    if (std::holds_alternative<consensus::PersistSignState>(outputs[i])) break;
    if (const auto* broadcast = std::get_if<consensus::Broadcast>(&outputs[i])) {
      signed_messages_.push_back(ToPeerMessage(broadcast->message));
    }
  }
  // Only the latest rounds matter for a re-send; older ones are superseded.
  constexpr size_t kSignedMessagesKept = 6;
  if (signed_messages_.size() > kSignedMessagesKept) {
    signed_messages_.erase(signed_messages_.begin(),
                           signed_messages_.end() - kSignedMessagesKept);
  }
  SignRecord record{state, signed_messages_};
  const auto started = Clock::now();
  if (absl::Status status = sign_state_->Save(record); !status.ok()) {
    Fatal(status);
    return;
  }
  spdlog::trace("height {} round {}: sign state saved in {} ms", state.height, state.round,
                MillisecondsSince(started));
  last_signed_ = state;
}

void ConsensusDriver::ScheduleTimeout(const consensus::ScheduleTimeout& timeout) {
  if (timeout.step == consensus::Step::kPropose && timeout.round == 0 && timeout.height > 1 &&
      Idle()) {
    deferred_timeout_ = timeout;
    idle_deferred_ = true;
    ArmHeartbeat();
    return;
  }
  ArmTimeout(timeout);
}

void ConsensusDriver::ArmTimeout(const consensus::ScheduleTimeout& timeout) {
  auto timer = std::make_unique<boost::asio::steady_timer>(
      strand_, std::chrono::milliseconds(timeout.after_ms));
  timer->async_wait([this, timeout](const boost::system::error_code& error) {
    if (error || stopped_.load()) return;
    Feed(consensus::TimeoutFired{timeout.height, timeout.round, timeout.step});
  });
  timeouts_.push_back(std::move(timer));
}

bool ConsensusDriver::Idle() const { return mempool_->Reap(proto::kTxBytesMax).empty(); }

void ConsensusDriver::ArmHeartbeat() {
  if (options_.heartbeat_ms == 0) return;
  const NodeStatus status = status_->Snapshot();
  const int64_t due_ms = status.head_time_unix_ms + static_cast<int64_t>(options_.heartbeat_ms);
  const int64_t wait_ms = std::max<int64_t>(0, due_ms - NowUnixMs());
  heartbeat_timer_.expires_after(std::chrono::milliseconds(wait_ms));
  heartbeat_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error && !stopped_.load()) WakeIdle("heartbeat");
  });
}

void ConsensusDriver::WakeIdle(const char* why) {
  if (deferred_timeout_.has_value() || deferred_request_.has_value()) {
    spdlog::debug("height {}: leaving idle ({})", core_->height(), why);
  }
  idle_deferred_ = false;
  heartbeat_timer_.cancel();
  const uint64_t height = core_->height();
  if (deferred_timeout_.has_value()) {
    const consensus::ScheduleTimeout timeout = *deferred_timeout_;
    deferred_timeout_.reset();
    if (timeout.height == height) ArmTimeout(timeout);
  }
  if (deferred_request_.has_value()) {
    const consensus::RequestValue request = *deferred_request_;
    deferred_request_.reset();
    if (request.height == height && core_->round() == request.round) {
      ProposeValue(request.height, request.round);
    }
  }
}

void ConsensusDriver::ProposeValue(consensus::Height height, consensus::Round round) {
  BuildBlockParams params;
  params.chain_id = options_.chain_id;
  params.proposer = options_.member_id;
  params.time_unix_ms = NowUnixMs();
  params.committee_hash = committee_hash_;
  params.block_bytes_max = options_.block_bytes_max;
  if (height > 1) {
    absl::StatusOr<Bytes> last_commit = store_->GetCommit(height - 1);
    if (!last_commit.ok()) {
      Fatal(last_commit.status());
      return;
    }
    params.last_commit = *std::move(last_commit);
  }
  const auto started = Clock::now();
  const std::vector<Bytes> candidates = mempool_->Reap(options_.block_bytes_max);
  absl::StatusOr<BuiltBlock> built = BuildBlock(*store_, params, candidates, *signatures_);
  spdlog::debug("height {} round {}: built a block of {} txs in {} ms", height, round,
                candidates.size(), MillisecondsSince(started));
  if (!built.ok()) {
    if (IsStorageError(built.status())) {
      Fatal(built.status());
    } else {
      spdlog::error("cannot build block {} round {}: {}", height, round,
                    built.status().ToString());
    }
    return;
  }
  if (!built->rejected.empty()) {
    spdlog::debug("block {}: {} candidate transaction(s) failed execution, first: {}", height,
                  built->rejected.size(), built->rejected.front().reason.ToString());
  }
  const Hash256 hash = built->prepared.block_hash;
  consensus::Value value{hash, built->prepared.append.block};
  prepared_.insert_or_assign(hash, std::move(built->prepared));
  Feed(consensus::ValueReady{height, round, std::move(value)});
}

absl::Status ConsensusDriver::CheckProposedBlock(const consensus::Value& value) {
  LADING_ASSIGN_OR_RETURN(const proto::Block block, proto::DecodeBlock(value.payload));
  LADING_ASSIGN_OR_RETURN(const proto::BlockHeader header,
                          proto::DecodeBlockHeader(AsBytes(block.header())));
  bool proposer_known = false;
  for (const consensus::Validator& validator : committee_->validators()) {
    proposer_known = proposer_known || validator.id == header.proposer();
  }
  if (!proposer_known) {
    return absl::InvalidArgumentError(StrCat("block ", header.height(), " names proposer ",
                                             header.proposer(),
                                             ", who is not in the committee"));
  }
  if (header.height() > 1) {
    LADING_ASSIGN_OR_RETURN(const proto::Commit commit_proto,
                            proto::DecodeCommit(AsBytes(block.last_commit())));
    LADING_ASSIGN_OR_RETURN(const consensus::Commit commit, CommitFromProto(commit_proto));
    LADING_RETURN_IF_ERROR(VerifyCommitSignatures(options_.chain_id, *committee_, commit));
  }
  LADING_ASSIGN_OR_RETURN(PreparedBlock prepared,
                          ValidateBlock(*store_, options_.chain_id, value.payload,
                                        committee_hash_, *signatures_));
  prepared_.insert_or_assign(prepared.block_hash, std::move(prepared));
  return absl::OkStatus();
}

void ConsensusDriver::ValidateValue(const consensus::ValidateValue& request) {
  bool valid = prepared_.count(request.value.hash) > 0;
  if (!valid) {
    const auto started = Clock::now();
    const absl::Status status = CheckProposedBlock(request.value);
    spdlog::debug("height {} round {}: validated the proposed block in {} ms", request.height,
                  request.round, MillisecondsSince(started));
    if (IsStorageError(status)) {
      Fatal(status);
      return;
    }
    valid = status.ok();
    if (!valid) {
      ++counters_.proposals_invalid;
      spdlog::warn("proposal for height {} round {} (block {}) is invalid: {}", request.height,
                   request.round, ShortHash(request.value.hash), Why(status));
    }
  }
  Feed(consensus::ProposalValidated{request.height, request.round, request.value.hash, valid});
}

void ConsensusDriver::Decide(const consensus::Decide& decision) {
  if (decision.height <= store_->HeadHeight()) return;  // block sync got there first
  auto it = prepared_.find(decision.value.hash);
  if (it == prepared_.end()) {
    // The core decides only on a value it saw validated, so this is a broken invariant.
    Fatal(absl::InternalError(StrCat("decided block ", decision.height, " (",
                                     decision.value.hash.ToHex(), ") was never executed here")));
    return;
  }
  PreparedBlock prepared = std::move(it->second);
  prepared_.clear();
  Bytes commit = proto::Serialize(CommitToProto(decision.commit));
  const PreparedBlock kept{.append = {.block = prepared.append.block,
                                     .header = prepared.append.header},
                           .block_hash = prepared.block_hash};
  const auto started = Clock::now();
  if (absl::Status status = ApplyBlock(store_, std::move(prepared), std::move(commit));
      !status.ok()) {
    Fatal(status);
    return;
  }
  spdlog::debug("height {}: block appended in {} ms", decision.height,
                MillisecondsSince(started));
  for (auto& timer : timeouts_) timer->cancel();
  timeouts_.clear();
  deferred_timeout_.reset();
  deferred_request_.reset();
  AfterAppend(kept, decision.commit.round, /*synced=*/false);
  core_height_ = decision.height + 1;
  // The core moved its own next-height buffer into the new height: those copies are done with.
  // The height after is replayed into the core's new next-height buffer, queued behind the
  // outputs of the new height's start (Feed while executing).
  future_messages_.erase(decision.height + 1);
  ReplayFutureMessages();
}

void ConsensusDriver::AfterAppend(const PreparedBlock& prepared, int32_t round, bool synced) {
  head_changed_ = Clock::now();
  absl::StatusOr<proto::Block> block = proto::DecodeBlock(prepared.append.block);
  if (block.ok()) {
    committed_txs_total_ += static_cast<uint64_t>(block->txs_size());
    if (absl::Status status = mempool_->RemoveCommitted(*block); !status.ok()) {
      if (IsStorageError(status)) {
        Fatal(status);
        return;
      }
      spdlog::warn("mempool clean-up after block {}: {}", prepared.append.header.height(),
                   status.ToString());
    }
  }
  const proto::BlockHeader& header = prepared.append.header;
  CommittedBlock committed;
  committed.height = header.height();
  committed.block_hash = prepared.block_hash;
  if (absl::StatusOr<Hash256> root = Hash256::FromBytes(AsBytes(header.state_root()));
      root.ok()) {
    committed.state_root = *root;
  }
  committed.round = round;
  committed.tx_count = block.ok() ? static_cast<size_t>(block->txs_size()) : 0;
  committed.block_bytes = prepared.append.block.size();
  committed.time_unix_ms = header.time_unix_ms();
  committed.proposer = header.proposer();
  committed.synced = synced;
  const uint64_t mempool_txs = mempool_->size();
  const uint64_t mempool_bytes = mempool_->bytes();
  status_->Update([&](NodeStatus* status) {
    status->mempool_txs = mempool_txs;
    status->mempool_bytes = mempool_bytes;
    status->height = committed.height;
    status->consensus_height = committed.height + 1;
    status->round = 0;
    status->head_block_hash = committed.block_hash;
    status->state_root = committed.state_root;
    status->head_time_unix_ms = committed.time_unix_ms;
    status->committed_txs_total = committed_txs_total_;
  });
  if (callbacks_.on_commit) callbacks_.on_commit(committed);
  BroadcastStatus();
}

void ConsensusDriver::Deliver(consensus::ConsensusMessage message) {
  const uint64_t height = std::visit([](const auto& m) { return m.height; }, message);
  if (height > core_->height() + kFutureHeights) {
    ++counters_.messages_out_of_window;
    return;
  }
  if (height > core_->height()) {
    // Kept for a core started afresh at that height (block sync, StartCore), which would not
    // have the old core's next-height buffer. Decide drops the copies the core already holds.
    FutureHeight& held = future_messages_[height];
    const auto* proposal = std::get_if<consensus::Proposal>(&message);
    const size_t bytes = 128 + (proposal != nullptr ? proposal->value.payload.size() : 0);
    if (held.messages.size() < kFutureMessagesPerHeightMax &&
        held.bytes + bytes <= kFutureBytesPerHeightMax) {
      held.messages.push_back(message);
      held.bytes += bytes;
    } else if (height > core_->height() + 1) {
      ++counters_.messages_out_of_window;
      return;
    }
  }
  if (height <= core_->height() + 1) Feed(consensus::MessageReceived{std::move(message)});
}

void ConsensusDriver::ReplayFutureMessages() {
  const uint64_t height = core_->height();
  while (!future_messages_.empty() && future_messages_.begin()->first <= height + 1) {
    std::vector<consensus::ConsensusMessage> messages =
        std::move(future_messages_.begin()->second.messages);
    const bool stale = future_messages_.begin()->first < height;
    future_messages_.erase(future_messages_.begin());
    if (stale) continue;
    for (consensus::ConsensusMessage& message : messages) {
      Feed(consensus::MessageReceived{std::move(message)});
    }
  }
}

void ConsensusDriver::OnEvidence(const consensus::Evidence& evidence) {
  ++counters_.evidence_found;
  const consensus::ValidatorIndex index = evidence.first.validator;
  spdlog::warn("equivocation: validator {} ({}) signed two {} votes at height {} round {}",
               index, committee_->Contains(index) ? committee_->at(index).id : "?",
               evidence.first.type == consensus::VoteType::kPrevote ? "prevote" : "precommit",
               evidence.first.height, evidence.first.round);
  proto::PeerMessage message;
  *message.mutable_evidence() = EvidenceToProto(evidence);
  network_->Broadcast(SerializePeerMessage(message));
}

// ---------------------------------------------------------------------------------------------
// Strand: periodic work, status, block sync
// ---------------------------------------------------------------------------------------------

void ConsensusDriver::Tick() {
  const auto now = Clock::now();
  const std::tuple<uint64_t, int32_t, int> mark{core_->height(), core_->round(),
                                                static_cast<int>(core_->step())};
  if (mark != progress_mark_) {
    progress_mark_ = mark;
    last_progress_ = now;
  } else if (now - last_progress_ >= options_.regossip_interval &&
             now - last_regossip_ >= options_.regossip_interval) {
    Regossip();
    last_regossip_ = now;
  }
  if (now - last_status_ >= options_.status_interval) {
    BroadcastStatus();
    MaybeRequestBlocks();
  }
  PublishStatus();
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error && !stopped_.load()) Tick();
  });
}

void ConsensusDriver::Regossip() {
  const std::vector<consensus::ConsensusMessage> held = core_->HeldMessages();
  if (held.empty()) return;
  ++counters_.regossips;
  spdlog::debug("no progress at height {} round {} for {} ms: re-sending {} message(s)",
                core_->height(), core_->round(), options_.regossip_interval.count(), held.size());
  for (const consensus::ConsensusMessage& message : held) {
    network_->Broadcast(ToPeerMessage(message));
  }
}

void ConsensusDriver::BroadcastStatus() {
  last_status_ = Clock::now();
  proto::PeerMessage message;
  message.mutable_status()->set_height(store_->HeadHeight());
  if (store_->HeadHeight() > 0) {
    message.mutable_status()->set_block_hash(ToString(store_->HeadBlockHash().span()));
  }
  network_->Broadcast(SerializePeerMessage(message));
}

void ConsensusDriver::OnStatus(const std::string& from, const proto::Status& status) {
  peer_heights_[from] = status.height();
  if (status.height() > store_->HeadHeight() + 1) MaybeRequestBlocks();
}

void ConsensusDriver::MaybeRequestBlocks() {
  const auto now = Clock::now();
  if (sync_request_.has_value() && now - sync_request_->sent < options_.sync_request_timeout) {
    return;
  }
  sync_request_.reset();
  const uint64_t head = store_->HeadHeight();
  std::string best_peer;
  uint64_t best_height = head;
  for (const auto& [peer, height] : peer_heights_) {
    if (height > best_height) {
      best_peer = peer;
      best_height = height;
    }
  }
  if (best_peer.empty()) return;
  // One block behind is the normal state of a validator still deciding that height; only fetch
  // it when consensus has not caught up by itself for a while.
  if (best_height == head + 1 && now - head_changed_ < 2 * options_.status_interval) return;
  proto::PeerMessage message;
  message.mutable_block_request()->set_from_height(head + 1);
  message.mutable_block_request()->set_count_max(options_.sync_blocks_per_request);
  sync_request_ = SyncRequest{best_peer, head + 1, now};
  spdlog::info("block sync: at height {}, {} is at {}; requesting from {}", head, best_peer,
               best_height, head + 1);
  network_->Send(best_peer, SerializePeerMessage(message));
  PublishStatus();
}

void ConsensusDriver::OnBlockResponse(const std::string& from,
                                      const proto::BlockResponse& response) {
  if (!sync_request_.has_value() || sync_request_->peer != from) return;  // not asked for
  sync_request_.reset();
  size_t applied = 0;
  for (int i = 0; i < response.blocks_size() && !stopped_.load(); ++i) {
    const std::string& block_bytes = response.blocks(i);
    absl::Status status = [&]() -> absl::Status {
      LADING_ASSIGN_OR_RETURN(const proto::Block block, proto::DecodeBlock(AsBytes(block_bytes)));
      LADING_ASSIGN_OR_RETURN(const proto::BlockHeader header,
                              proto::DecodeBlockHeader(AsBytes(block.header())));
      const uint64_t head = store_->HeadHeight();
      if (header.height() <= head) return absl::OkStatus();
      if (header.height() != head + 1) {
        return absl::InvalidArgumentError(
            StrCat("block ", header.height(), " does not follow the head ", head));
      }
      // Block i is committed by the last_commit of block i + 1; the last by response.commit.
      std::string commit_bytes;
      if (i + 1 < response.blocks_size()) {
        LADING_ASSIGN_OR_RETURN(const proto::Block next,
                                proto::DecodeBlock(AsBytes(response.blocks(i + 1))));
        commit_bytes = next.last_commit();
      } else {
        commit_bytes = response.commit();
      }
      LADING_ASSIGN_OR_RETURN(const proto::Commit commit_proto,
                              proto::DecodeCommit(AsBytes(commit_bytes)));
      LADING_ASSIGN_OR_RETURN(const consensus::Commit commit, CommitFromProto(commit_proto));
      const Hash256 block_hash = proto::BlockHash(AsBytes(block.header()));
      if (commit.height != header.height() || commit.block_hash != block_hash) {
        return absl::InvalidArgumentError(
            StrCat("the commit sent for block ", header.height(), " is for height ",
                   commit.height, " block ", commit.block_hash.ToHex()));
      }
      LADING_RETURN_IF_ERROR(VerifyCommitSignatures(options_.chain_id, *committee_, commit));
      LADING_ASSIGN_OR_RETURN(PreparedBlock prepared,
                              ValidateBlock(*store_, options_.chain_id, AsBytes(block_bytes),
                                            committee_hash_, *signatures_));
      const PreparedBlock kept{.append = {.block = prepared.append.block,
                                          .header = prepared.append.header},
                               .block_hash = prepared.block_hash};
      const absl::Status applied_status =
          ApplyBlock(store_, std::move(prepared), ToBytes(commit_bytes));
      if (!applied_status.ok()) {
        Fatal(applied_status);
        return applied_status;
      }
      ++counters_.blocks_synced;
      AfterAppend(kept, commit.round, /*synced=*/true);
      return absl::OkStatus();
    }();
    if (stopped_.load()) return;
    if (!status.ok()) {
      if (IsStorageError(status)) {
        Fatal(status);
        return;
      }
      ++counters_.sync_responses_invalid;
      spdlog::warn("block sync: response from {} rejected: {}", from, Why(status));
      break;
    }
    ++applied;
  }
  const uint64_t head = store_->HeadHeight();
  if (head >= core_->height()) {
    spdlog::info("block sync: applied blocks up to {}; consensus resumes at {}", head, head + 1);
    StartCore(head + 1);
  }
  if (applied > 0) MaybeRequestBlocks();
  PublishStatus();
}

void ConsensusDriver::PublishStatus() {
  const bool validator = core_ != nullptr && core_->self_index().has_value();
  const uint64_t consensus_height = core_ != nullptr ? core_->height() : 0;
  const int32_t round = core_ != nullptr ? core_->round() : 0;
  const bool syncing = sync_request_.has_value();
  const uint64_t mempool_txs = mempool_->size();
  const uint64_t mempool_bytes = mempool_->bytes();
  status_->Update([&](NodeStatus* status) {
    status->validator = validator;
    status->consensus_height = consensus_height;
    status->round = round;
    status->syncing = syncing;
    status->mempool_txs = mempool_txs;
    status->mempool_bytes = mempool_bytes;
    status->committed_txs_total = committed_txs_total_;
  });
}

// ---------------------------------------------------------------------------------------------
// Any thread: peer input
// ---------------------------------------------------------------------------------------------

void ConsensusDriver::OnPeerConnected(const std::string& member_id) {
  // The peer may have missed transactions gossiped while it was away: offer the ready ones.
  for (Bytes& tx : mempool_->Reap(options_.block_bytes_max)) {
    proto::PeerMessage message;
    message.set_tx(ToString(tx));
    network_->Send(member_id, SerializePeerMessage(message));
  }
  Post([this, member_id] {
    proto::PeerMessage message;
    message.mutable_status()->set_height(store_->HeadHeight());
    if (store_->HeadHeight() > 0) {
      message.mutable_status()->set_block_hash(ToString(store_->HeadBlockHash().span()));
    }
    network_->Send(member_id, SerializePeerMessage(message));
  });
}

void ConsensusDriver::OnPeerMessage(const std::string& member_id, ByteSpan payload) {
  // The transport starts before the driver: until the core runs there is nothing to feed (and
  // no committee to verify against). Peers re-send what matters (status, re-gossip).
  if (!started_.load()) return;
  // Counted before the stopped check, so that StopAndDrain sees every task that may still post.
  if (++pending_verifications_ > options_.pending_verifications_max || stopped_.load()) {
    if (!stopped_.load()) ++counters_.messages_dropped_overload;
    --pending_verifications_;
    return;
  }
  boost::asio::post(verify_pool_, [this, member_id, bytes = Bytes(payload.begin(), payload.end())] {
    absl::StatusOr<proto::PeerMessage> message = proto::DecodePeerMessage(bytes);
    if (!message.ok()) {
      ++counters_.messages_invalid;
      spdlog::debug("message from {} does not decode: {}", member_id, Why(message.status()));
    } else if (!stopped_.load()) {
      VerifyAndDeliver(member_id, *std::move(message));
    }
    --pending_verifications_;
  });
}

void ConsensusDriver::VerifyAndDeliver(const std::string& from, proto::PeerMessage message) {
  const auto in_window = [this](uint64_t height) {
    const uint64_t current = core_height_.load();
    return height >= current && height <= current + kFutureHeights;
  };
  switch (message.body_case()) {
    case proto::PeerMessage::kTx: {
      ++counters_.txs_from_peers;
      absl::StatusOr<Hash256> id = mempool_->Add(AsBytes(message.tx()));
      if (!id.ok()) {
        ++counters_.txs_from_peers_rejected;
        return;
      }
      if (idle_deferred_.load()) Post([this] { WakeIdle("transaction from a peer"); });
      return;
    }
    case proto::PeerMessage::kProposal: {
      absl::StatusOr<consensus::Proposal> proposal = ProposalFromProto(message.proposal());
      if (!proposal.ok()) {
        ++counters_.messages_invalid;
        spdlog::debug("proposal from {} rejected: {}", from, Why(proposal.status()));
        return;
      }
      if (!in_window(proposal->height)) {
        ++counters_.messages_out_of_window;
        return;
      }
      if (absl::Status status = VerifyProposalSignature(options_.chain_id, *committee_, *proposal);
          !status.ok()) {
        ++counters_.messages_invalid;
        spdlog::warn("proposal from {} rejected: {}", from, Why(status));
        return;
      }
      Post([this, proposal = *std::move(proposal)]() mutable {
        const consensus::Height height = proposal.height;
        Deliver(std::move(proposal));
        // (Compared after Feed: a message that completed the previous height says nothing
        // about this one.)
        const bool current = !stopped_.load() && height == core_->height();
        // Someone proposed: this height is not idle after all.
        if (current && idle_deferred_.load() && !stopped_.load()) WakeIdle("proposal");
      });
      return;
    }
    case proto::PeerMessage::kVote: {
      absl::StatusOr<consensus::Vote> vote = VoteFromProto(message.vote());
      if (!vote.ok()) {
        ++counters_.messages_invalid;
        spdlog::debug("vote from {} rejected: {}", from, Why(vote.status()));
        return;
      }
      if (!in_window(vote->height)) {
        ++counters_.messages_out_of_window;
        return;
      }
      if (absl::Status status = VerifyVoteSignature(options_.chain_id, *committee_, *vote);
          !status.ok()) {
        ++counters_.messages_invalid;
        spdlog::warn("vote from {} rejected: {}", from, Why(status));
        return;
      }
      Post([this, vote = *std::move(vote)]() mutable {
        const consensus::Height height = vote.height;
        Deliver(std::move(vote));
        const bool current = !stopped_.load() && height == core_->height();
        // Someone votes at this height: it is not idle after all (they may have transactions
        // we missed, or a proposal we have not seen yet).
        if (current && idle_deferred_.load() && !stopped_.load()) WakeIdle("vote");
      });
      return;
    }
    case proto::PeerMessage::kEvidence: {
      absl::StatusOr<consensus::Evidence> evidence = EvidenceFromProto(message.evidence());
      absl::Status status = evidence.status();
      if (status.ok()) status = VerifyEvidence(options_.chain_id, *committee_, *evidence);
      if (!status.ok()) {
        ++counters_.messages_invalid;
        spdlog::warn("evidence from {} rejected: {}", from, Why(status));
        return;
      }
      ++counters_.evidence_received;
      const consensus::ValidatorIndex index = evidence->first.validator;
      spdlog::warn("{} reports equivocation by validator {} ({}) at height {} round {}", from,
                   index, committee_->at(index).id, evidence->first.height,
                   evidence->first.round);
      return;
    }
    case proto::PeerMessage::kBlockRequest:
      ServeBlockRequest(from, message.block_request());
      return;
    case proto::PeerMessage::kBlockResponse:
      Post([this, from, response = std::move(*message.mutable_block_response())] {
        OnBlockResponse(from, response);
      });
      return;
    case proto::PeerMessage::kStatus:
      Post([this, from, status = message.status()] { OnStatus(from, status); });
      return;
    case proto::PeerMessage::BODY_NOT_SET:
      ++counters_.messages_invalid;
      return;
  }
}

void ConsensusDriver::ServeBlockRequest(const std::string& from,
                                        const proto::BlockRequest& request) {
  const uint64_t head = store_->HeadHeight();
  const uint64_t first = request.from_height();
  if (first == 0 || first > head) return;
  const uint32_t count_max =
      std::max<uint32_t>(1, std::min(request.count_max(), options_.sync_blocks_per_request));
  proto::PeerMessage message;
  proto::BlockResponse* response = message.mutable_block_response();
  size_t bytes = 0;
  uint64_t last = 0;
  for (uint64_t height = first; height <= head && height < first + count_max; ++height) {
    absl::StatusOr<Bytes> block = store_->GetBlock(height);
    if (!block.ok()) {
      spdlog::error("serving blocks to {}: {}", from, block.status().ToString());
      return;
    }
    if (last != 0 && bytes + block->size() > options_.sync_response_bytes_max) break;
    bytes += block->size();
    response->add_blocks(ToString(*block));
    last = height;
  }
  absl::StatusOr<Bytes> commit = store_->GetCommit(last);
  if (!commit.ok()) {
    spdlog::error("serving blocks to {}: {}", from, commit.status().ToString());
    return;
  }
  response->set_commit(ToString(*commit));
  network_->Send(from, SerializePeerMessage(message));
}

absl::StatusOr<Hash256> ConsensusDriver::SubmitTx(ByteSpan signed_tx) {
  LADING_ASSIGN_OR_RETURN(const Hash256 id, mempool_->Add(signed_tx));
  proto::PeerMessage message;
  message.set_tx(ToString(signed_tx));
  network_->Broadcast(SerializePeerMessage(message));
  if (idle_deferred_.load()) Post([this] { WakeIdle("transaction submitted"); });
  return id;
}

}  // namespace lading::node
