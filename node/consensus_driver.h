// ConsensusDriver: runs the consensus core (consensus/state_machine.h) for a node, on one Asio
// strand, against the real block store, mempool, sign-state file and peers.
//
// What it does with the core's outputs, in order:
//   PersistSignState  saves the sign state, with the messages about to be broadcast, to the
//                     SignStateStore (synced) before anything after it is sent;
//   Broadcast         sends the proposal or vote to every peer;
//   ScheduleTimeout   arms a timer on the strand that feeds TimeoutFired back;
//   RequestValue      builds a block from the mempool (BuildBlock) and answers ValueReady;
//   ValidateValue     checks the proposed block (ValidateBlock, plus the checks ValidateBlock
//                     leaves to consensus: last_commit signatures against the committee and a
//                     header proposer that is a committee member) and answers ProposalValidated;
//   Decide            appends the block with its commit (ApplyBlock, one synced batch), removes
//                     its transactions from the mempool, publishes the new status;
//   EvidenceFound     gossips the evidence and counts it.
// Any error writing the block store or the sign-state file is fatal: the driver stops and
// reports it through on_fatal (DESIGN §4: an I/O error on the write path stops the node).
//
// Incoming peer messages are decoded and their signatures verified on `verify_pool` threads, in
// parallel, and only verified messages reach the strand. Transactions from peers go straight
// into the mempool from those threads (the mempool verifies each signature once).
//
// Idling (DESIGN §4, no empty-block churn): from height 2 on, while the mempool holds no ready
// transaction, the proposer does not build a block and every validator holds back its round-0
// propose timeout; a transaction arriving, a proposal or vote for the height arriving, or the
// heartbeat (when configured) releases them. Block 1 is always produced, so a new chain proves its committee
// live at once.
//
// Liveness over a lossy network: while the consensus position does not move for
// regossip_interval, the driver re-broadcasts every message the core holds for the height.
// Every status_interval it tells peers its head (Status), and when a peer is ahead it fetches
// the missing blocks with their commits (BlockRequest / BlockResponse), verifies the commit
// signatures against the committee, re-executes each block, applies it, and restarts the core at
// the new height (block sync).
//
// After a restart the driver re-sends the messages it signed at the height it resumes (from the
// sign-state file) and counts them as its own.
//
// Ownership: borrows everything it is given; all must outlive it. Stop() before destroying.
// Thread-safety: OnPeerMessage, OnPeerConnected, SubmitTx, counters and Stop may be called from
// any thread, also before Start (peer input is dropped until the core runs); everything else
// runs on the strand.
#ifndef LADING_NODE_CONSENSUS_DRIVER_H_
#define LADING_NODE_CONSENSUS_DRIVER_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consensus/state_machine.h"
#include "consensus/validator_set.h"
#include "crypto/signing.h"
#include "node/block_executor.h"
#include "node/block_store.h"
#include "node/mempool.h"
#include "node/node_status.h"
#include "node/sign_state_store.h"
#include "proto/ledger.pb.h"

namespace lading::node {

// What the driver needs from the peer transport (node/p2p/asio_peer_transport.h in the node;
// an in-process bus in tests). Must be callable from any thread.
class PeerNetwork {
 public:
  virtual ~PeerNetwork() = default;
  virtual void Send(const std::string& member_id, Bytes payload) = 0;
  virtual void Broadcast(Bytes payload) = 0;
};

struct ConsensusDriverOptions {
  std::string chain_id;
  // This node's member id (its key signs when it is in the committee).
  std::string member_id;
  consensus::TimeoutConfig timeouts;
  // 0: never propose an empty block while idle (block 1 aside).
  uint64_t heartbeat_ms = 0;
  size_t block_bytes_max = 4u << 20;
  std::chrono::milliseconds regossip_interval{1000};
  std::chrono::milliseconds status_interval{250};
  // A block request not answered within this is given up and may go to another peer.
  std::chrono::milliseconds sync_request_timeout{5000};
  // Most blocks asked for, and most bytes of blocks answered, per BlockRequest.
  uint32_t sync_blocks_per_request = 32;
  size_t sync_response_bytes_max = 8u << 20;
  // Verification tasks queued on the pool beyond which peer messages are dropped (and counted).
  size_t pending_verifications_max = 20'000;
};

// One committed block, as reported to on_commit.
struct CommittedBlock {
  uint64_t height = 0;
  Hash256 block_hash;
  Hash256 state_root;
  int32_t round = 0;
  size_t tx_count = 0;
  size_t block_bytes = 0;
  int64_t time_unix_ms = 0;
  std::string proposer;
  // True when the block arrived by block sync rather than this node's consensus.
  bool synced = false;
};

struct ConsensusDriverCallbacks {
  // After each block is appended (on the strand).
  std::function<void(const CommittedBlock&)> on_commit;
  // A write-path failure; the driver has stopped (on the strand).
  std::function<void(const absl::Status&)> on_fatal;
};

struct DriverCounters {
  std::atomic<uint64_t> messages_invalid{0};
  std::atomic<uint64_t> messages_dropped_overload{0};
  std::atomic<uint64_t> messages_out_of_window{0};
  std::atomic<uint64_t> proposals_invalid{0};
  std::atomic<uint64_t> evidence_found{0};
  std::atomic<uint64_t> evidence_received{0};
  std::atomic<uint64_t> txs_from_peers{0};
  std::atomic<uint64_t> txs_from_peers_rejected{0};
  std::atomic<uint64_t> blocks_synced{0};
  std::atomic<uint64_t> sync_responses_invalid{0};
  std::atomic<uint64_t> regossips{0};
};

class ConsensusDriver {
 public:
  // `key` may be null for a node that only follows (never signs).
  // REQUIRES: all pointers but key non-null and outliving the driver; the store holds the
  // chain's genesis state (InitializeStore ran).
  ConsensusDriver(boost::asio::io_context& io_context, boost::asio::thread_pool& verify_pool,
                  ConsensusDriverOptions options, const crypto::SigningKey* key,
                  BlockStore* store, Mempool* mempool, VerifiedSignatureCache* signatures,
                  SignStateStore* sign_state, PeerNetwork* network, StatusBoard* status,
                  ConsensusDriverCallbacks callbacks);
  ~ConsensusDriver();
  ConsensusDriver(const ConsensusDriver&) = delete;
  ConsensusDriver& operator=(const ConsensusDriver&) = delete;

  // Reads the head and committee, then (on the strand) starts the core at head + 1 resuming
  // from the sign-state file, re-sends its signed messages, and arms the periodic timers.
  // Errors (the committee cannot be read) leave the driver stopped.
  absl::Status Start();
  // Cancels the timers; later inputs are ignored. Idempotent.
  void Stop();
  // Stop(), then waits until no verification task and no strand handler of this driver is
  // still queued, so that the driver (and what it borrows) may be destroyed while the
  // io_context keeps running for others. REQUIRES: the io_context runs on other threads; not
  // called from an io_context or pool thread.
  void StopAndDrain();

  // A payload (serialized proto::PeerMessage) from an authenticated peer.
  void OnPeerMessage(const std::string& member_id, ByteSpan payload);
  // Sends our Status, and the mempool's ready transactions, to a peer that just connected.
  void OnPeerConnected(const std::string& member_id);

  // Adds a client's transaction to the mempool and gossips it. The mempool's errors as is.
  absl::StatusOr<Hash256> SubmitTx(ByteSpan signed_tx);

  const DriverCounters& counters() const { return counters_; }

 private:
  class CoreSigner;
  struct Verified;

  // ---- strand side ----
  void StartOnStrand();
  void StartCore(uint64_t height);
  void Feed(const consensus::Input& input);
  void Execute(std::vector<consensus::Output> outputs);
  void Persist(const consensus::SignState& state, const std::vector<consensus::Output>& outputs,
               size_t next);
  void ScheduleTimeout(const consensus::ScheduleTimeout& timeout);
  void ArmTimeout(const consensus::ScheduleTimeout& timeout);
  void ProposeValue(consensus::Height height, consensus::Round round);
  void ValidateValue(const consensus::ValidateValue& request);
  absl::Status CheckProposedBlock(const consensus::Value& value);
  void Decide(const consensus::Decide& decision);
  void AfterAppend(const PreparedBlock& prepared, int32_t round, bool synced);
  void OnEvidence(const consensus::Evidence& evidence);
  // Feeds the core a verified peer message, or keeps it for later when it is for a height
  // beyond the next (the core itself only buffers the next height).
  void Deliver(consensus::ConsensusMessage message);
  void ReplayFutureMessages();
  void WakeIdle(const char* why);
  bool Idle() const;
  void ArmHeartbeat();
  void Tick();
  void Regossip();
  void BroadcastStatus();
  void MaybeRequestBlocks();
  void OnBlockResponse(const std::string& from, const proto::BlockResponse& response);
  void OnStatus(const std::string& from, const proto::Status& status);
  void PublishStatus();
  void Fatal(const absl::Status& status);

  // ---- any thread ----
  void VerifyAndDeliver(const std::string& from, proto::PeerMessage message);
  void ServeBlockRequest(const std::string& from, const proto::BlockRequest& request);
  template <typename Fn>
  void Post(Fn&& fn);

  boost::asio::io_context& io_context_;
  boost::asio::thread_pool& verify_pool_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  const ConsensusDriverOptions options_;
  const crypto::SigningKey* key_;
  BlockStore* store_;
  Mempool* mempool_;
  VerifiedSignatureCache* signatures_;
  SignStateStore* sign_state_;
  PeerNetwork* network_;
  StatusBoard* status_;
  ConsensusDriverCallbacks callbacks_;
  std::unique_ptr<CoreSigner> signer_;
  DriverCounters counters_;

  // Read on any thread (verification), set before Start returns: no committee changes yet.
  std::shared_ptr<const consensus::ValidatorSet> committee_;
  Hash256 committee_hash_;
  // The height the core decides, for cheap filtering off the strand.
  std::atomic<uint64_t> core_height_{0};
  std::atomic<size_t> pending_verifications_{0};
  std::atomic<bool> stopped_{false};
  // Set on the strand once the core runs; peer input and posted work wait for it.
  std::atomic<bool> started_{false};
  // Set while the core waits for a transaction (idling); read off the strand.
  std::atomic<bool> idle_deferred_{false};

  // Strand state.
  std::unique_ptr<consensus::StateMachine> core_;
  consensus::SignState last_signed_;
  std::vector<Bytes> signed_messages_;  // of last_signed_.height
  std::map<Hash256, PreparedBlock> prepared_;  // blocks of the current height that executed
  // Inputs produced while outputs execute, fed after them (see Feed).
  bool executing_ = false;
  std::deque<consensus::Input> pending_inputs_;
  std::optional<consensus::ScheduleTimeout> deferred_timeout_;
  std::optional<consensus::RequestValue> deferred_request_;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timeouts_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  std::chrono::steady_clock::time_point last_progress_;
  std::chrono::steady_clock::time_point last_regossip_;
  std::chrono::steady_clock::time_point last_status_;
  std::tuple<uint64_t, int32_t, int> progress_mark_{0, 0, 0};
  std::map<std::string, uint64_t> peer_heights_;
  // Verified messages for heights core + 1 .. core + kFutureHeights, by height. Those beyond the
  // next height wait here (a validator one height behind the others would otherwise drop them and
  // stay behind until block sync); those of the next height are also fed to the core at once and
  // kept only for a core started afresh at that height after block sync.
  static constexpr uint64_t kFutureHeights = 4;
  static constexpr size_t kFutureMessagesPerHeightMax = 1024;
  // Proposals carry whole blocks: the bytes kept per height are bounded too.
  static constexpr size_t kFutureBytesPerHeightMax = 64u << 20;
  struct FutureHeight {
    std::vector<consensus::ConsensusMessage> messages;
    size_t bytes = 0;
  };
  std::map<uint64_t, FutureHeight> future_messages_;
  struct SyncRequest {
    std::string peer;
    uint64_t from_height = 0;
    std::chrono::steady_clock::time_point sent;
  };
  std::optional<SyncRequest> sync_request_;
  std::chrono::steady_clock::time_point head_changed_;
  uint64_t committed_txs_total_ = 0;
};

}  // namespace lading::node

#endif  // LADING_NODE_CONSENSUS_DRIVER_H_
