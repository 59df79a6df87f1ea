#include "node/node.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "contracts/records.h"
#include "crypto/internal/strings.h"
#include "crypto/key_file.h"
#include "crypto/signing.h"
#include "crypto/status.h"
#include "node/api/api_server.h"
#include "node/block_executor.h"
#include "node/consensus_codec.h"
#include "node/consensus_driver.h"
#include "node/http/http_server.h"
#include "node/http/metrics.h"
#include "node/http/node_endpoints.h"
#include "node/logging.h"
#include "node/mempool.h"
#include "node/p2p/asio_peer_transport.h"
#include "node/rocksdb_block_store.h"
#include "node/sign_state_store.h"
#include "node/state_view.h"
#include "proto/genesis.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

using internal::StrCat;

constexpr size_t kGenesisFileBytesMax = 16u << 20;

absl::StatusOr<proto::Genesis> ReadGenesis(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot open genesis file ", path));
  std::string text;
  text.resize(kGenesisFileBytesMax + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kGenesisFileBytesMax) {
    return absl::InvalidArgumentError(
        StrCat("genesis file ", path, " is larger than ", kGenesisFileBytesMax, " bytes"));
  }
  absl::StatusOr<proto::Genesis> genesis = proto::LoadGenesisJson(text);
  if (!genesis.ok()) {
    return absl::InvalidArgumentError(
        StrCat("genesis file ", path, ": ", genesis.status().message()));
  }
  return genesis;
}

absl::StatusOr<crypto::MemberKeys> ReadNodeKey(const NodeConfig& config,
                                               const proto::Genesis& genesis) {
  std::optional<crypto::SecureBuffer> passphrase;
  if (!config.key_passphrase_file.empty()) {
    LADING_ASSIGN_OR_RETURN(passphrase,
                            crypto::ReadPassphraseFile(config.key_passphrase_file.resolved));
  }
  std::optional<ByteSpan> passphrase_span;
  if (passphrase.has_value()) passphrase_span = passphrase->span();
  LADING_ASSIGN_OR_RETURN(crypto::MemberKeys keys,
                          crypto::ReadPrivateKeyFile(config.key_file.resolved, passphrase_span));
  const proto::Member* member = nullptr;
  for (const proto::Member& candidate : genesis.members()) {
    if (candidate.id() == config.member_id) member = &candidate;
  }
  if (member == nullptr) {
    return absl::InvalidArgumentError(StrCat("node.member_id ", config.member_id,
                                             " is not a member in the genesis file ",
                                             config.genesis_file.resolved));
  }
  if (AsBytes(member->signing_public_key()).size() != crypto::SigningPublicKey::kSize ||
      !std::equal(keys.signing.public_key().bytes.begin(), keys.signing.public_key().bytes.end(),
                  AsBytes(member->signing_public_key()).begin())) {
    return absl::InvalidArgumentError(
        StrCat("key file ", config.key_file.resolved, " holds signing key ",
               keys.signing.public_key().ToHex(), " but the genesis lists ", config.member_id,
               " with key ", HexEncode(AsBytes(member->signing_public_key()))));
  }
  return keys;
}

// DESIGN §4: "recent commit signatures" are re-verified before serving.
absl::Status VerifyRecentCommits(const BlockStore& store, const std::string& chain_id) {
  const uint64_t head = store.HeadHeight();
  if (head == 0) return absl::OkStatus();
  LADING_ASSIGN_OR_RETURN(const consensus::ValidatorSet committee, HeadCommittee(store));
  const uint64_t first = head > kStartupCommitsChecked ? head - kStartupCommitsChecked + 1 : 1;
  for (uint64_t height = first; height <= head; ++height) {
    absl::Status status = [&]() -> absl::Status {
      LADING_ASSIGN_OR_RETURN(const Bytes bytes, store.GetCommit(height));
      LADING_ASSIGN_OR_RETURN(const proto::Commit proto_commit, proto::DecodeCommit(bytes));
      LADING_ASSIGN_OR_RETURN(const consensus::Commit commit, CommitFromProto(proto_commit));
      return VerifyCommitSignatures(chain_id, committee, commit);
    }();
    if (!status.ok()) {
      return absl::DataLossError(
          StrCat("block store corrupt at height ", height, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

// The transaction signatures of the latest blocks, newest first, up to kStartupTxsChecked
// transactions, against the members' keys in the current state (keys do not change yet).
absl::Status VerifyRecentTxSignatures(const BlockStore& store) {
  const StoreStateView state(&store);
  size_t checked = 0;
  for (uint64_t height = store.HeadHeight(); height >= 1 && checked < kStartupTxsChecked;
       --height) {
    absl::Status status = [&]() -> absl::Status {
      LADING_ASSIGN_OR_RETURN(const Bytes bytes, store.GetBlock(height));
      LADING_ASSIGN_OR_RETURN(const proto::Block block, proto::DecodeBlock(bytes));
      for (int i = 0; i < block.txs_size(); ++i) {
        LADING_ASSIGN_OR_RETURN(const proto::SignedTx tx,
                                proto::DecodeSignedTx(AsBytes(block.txs(i))));
        LADING_ASSIGN_OR_RETURN(const proto::TxBody body,
                                proto::DecodeTxBody(AsBytes(tx.body())));
        LADING_ASSIGN_OR_RETURN(const std::optional<proto::Member> member,
                                contracts::ReadMember(state, body.signer()));
        if (!member.has_value()) {
          return absl::DataLossError(
              StrCat("transaction ", i, " is signed by ", body.signer(), ", not a member"));
        }
        LADING_ASSIGN_OR_RETURN(const crypto::SigningPublicKey key,
                                crypto::SigningPublicKey::FromBytes(
                                    AsBytes(member->signing_public_key())));
        if (!crypto::VerifySignature(key, AsBytes(tx.body()), AsBytes(tx.signature())).ok()) {
          return absl::DataLossError(StrCat("transaction ", i, " signed by ", body.signer(),
                                            " has an invalid signature"));
        }
        ++checked;
      }
      return absl::OkStatus();
    }();
    if (!status.ok()) {
      return absl::DataLossError(
          StrCat("block store corrupt at height ", height, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// The driver's view of the peer transport. Set once the transport exists.
class TransportNetwork final : public PeerNetwork {
 public:
  void Attach(p2p::PeerTransport* transport) { transport_ = transport; }
  void Send(const std::string& member_id, Bytes payload) override {
    if (p2p::PeerTransport* transport = transport_.load()) {
      transport->Send(member_id, std::move(payload));
    }
  }
  void Broadcast(Bytes payload) override {
    if (p2p::PeerTransport* transport = transport_.load()) {
      transport->Broadcast(std::move(payload));
    }
  }

 private:
  std::atomic<p2p::PeerTransport*> transport_{nullptr};
};

class RunningNode final : public api::ApiBackend {
 public:
  explicit RunningNode(const NodeConfig& config) : config_(config) {}

  absl::Status Run();

  // ApiBackend.
  absl::StatusOr<Hash256> SubmitTx(ByteSpan signed_tx) override {
    return driver_->SubmitTx(signed_tx);
  }
  absl::StatusOr<uint64_t> PendingNextNonce(std::string_view member_id) const override {
    const StoreStateView state(store_.get());
    LADING_ASSIGN_OR_RETURN(const std::optional<proto::Member> member,
                            contracts::ReadMember(state, member_id));
    if (!member.has_value()) {
      return absl::NotFoundError(
          StrCat(member_id, " is not a member of chain ", genesis_.chain_id()));
    }
    LADING_ASSIGN_OR_RETURN(const uint64_t committed, contracts::ReadNextNonce(state, member_id));
    return mempool_->PendingNextNonce(std::string(member_id), committed);
  }
  const BlockStore& store() const override { return *store_; }
  const StatusBoard& status() const override { return status_; }

 private:
  absl::Status Open();
  absl::Status StartServices();
  void Shutdown();
  void OnCommit(const CommittedBlock& block);
  void UpdatePeers();

  const NodeConfig& config_;
  proto::Genesis genesis_;
  std::optional<crypto::MemberKeys> keys_;
  std::unique_ptr<RocksDbBlockStore> store_;
  std::unique_ptr<SignStateStore> sign_state_;
  std::unique_ptr<VerifiedSignatureCache> signatures_;
  std::unique_ptr<Mempool> mempool_;
  StatusBoard status_;
  http::MetricsRegistry metrics_;
  http::Histogram* commit_latency_ = nullptr;

  boost::asio::io_context io_context_;
  std::unique_ptr<boost::asio::thread_pool> verify_pool_;
  TransportNetwork network_;
  std::unique_ptr<ConsensusDriver> driver_;
  std::unique_ptr<p2p::PeerTransport> transport_;
  std::unique_ptr<http::HttpServer> http_server_;
  std::unique_ptr<api::ApiServer> api_server_;
  std::vector<std::thread> threads_;
  std::mutex fatal_mutex_;
  absl::Status fatal_;  // guarded by fatal_mutex_
};

absl::Status RunningNode::Open() {
  LADING_ASSIGN_OR_RETURN(genesis_, ReadGenesis(config_.genesis_file.resolved));
  LADING_ASSIGN_OR_RETURN(crypto::MemberKeys keys, ReadNodeKey(config_, genesis_));
  keys_.emplace(std::move(keys));
  std::error_code error;
  std::filesystem::create_directories(config_.data_dir.resolved, error);
  if (error) {
    return absl::InternalError(StrCat("cannot create data directory ", config_.data_dir.resolved,
                                      ": ", error.message()));
  }
  std::filesystem::permissions(config_.data_dir.resolved, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);
  const std::string store_path = StrCat(config_.data_dir.resolved, "/blocks");
  spdlog::info("verifying block store {}", store_path);
  const auto verify_start = std::chrono::steady_clock::now();
  LADING_ASSIGN_OR_RETURN(store_, RocksDbBlockStore::OpenForServing(
                                      store_path, {.chain_id = genesis_.chain_id()}));
  LADING_RETURN_IF_ERROR(InitializeStore(store_.get(), genesis_));
  LADING_RETURN_IF_ERROR(VerifyRecentCommits(*store_, genesis_.chain_id()));
  LADING_RETURN_IF_ERROR(VerifyRecentTxSignatures(*store_));
  spdlog::info("block store verified: {} block(s) in {} ms", store_->HeadHeight(),
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - verify_start)
                   .count());
  LADING_ASSIGN_OR_RETURN(sign_state_,
                          SignStateStore::Open(StrCat(config_.data_dir.resolved, "/consensus")));
  signatures_ = std::make_unique<VerifiedSignatureCache>();
  MempoolOptions mempool_options;
  mempool_options.txs_max = config_.mempool_txs_max;
  mempool_options.bytes_max = config_.mempool_bytes_max;
  mempool_options.txs_per_signer_max = config_.mempool_txs_per_signer_max;
  mempool_ = std::make_unique<Mempool>(genesis_.chain_id(), store_.get(), signatures_.get(),
                                       mempool_options);
  const uint64_t head = store_->HeadHeight();
  Hash256 state_root;
  LADING_ASSIGN_OR_RETURN(state_root, HeadStateRoot(*store_));
  int64_t head_time = genesis_.genesis_time_unix_ms();
  if (head > 0) {
    LADING_ASSIGN_OR_RETURN(const Bytes block_bytes, store_->GetBlock(head));
    LADING_ASSIGN_OR_RETURN(const proto::Block block, proto::DecodeBlock(block_bytes));
    LADING_ASSIGN_OR_RETURN(const proto::BlockHeader header,
                            proto::DecodeBlockHeader(AsBytes(block.header())));
    head_time = header.time_unix_ms();
  }
  status_.Update([&](NodeStatus* status) {
    status->chain_id = genesis_.chain_id();
    status->member_id = config_.member_id;
    status->height = head;
    status->head_block_hash = store_->HeadBlockHash();
    status->state_root = state_root;
    status->head_time_unix_ms = head_time;
    status->consensus_height = head + 1;
    status->peers_configured = config_.peers.size();
  });
  return absl::OkStatus();
}

absl::Status RunningNode::StartServices() {
  const unsigned cores = std::max(2u, std::thread::hardware_concurrency());
  verify_pool_ = std::make_unique<boost::asio::thread_pool>(cores);

  ConsensusDriverOptions driver_options;
  driver_options.chain_id = genesis_.chain_id();
  driver_options.member_id = config_.member_id;
  driver_options.timeouts = config_.timeouts;
  driver_options.heartbeat_ms = config_.heartbeat_ms;
  driver_options.block_bytes_max = static_cast<size_t>(config_.block_bytes_max);
  ConsensusDriverCallbacks callbacks;
  callbacks.on_commit = [this](const CommittedBlock& block) { OnCommit(block); };
  callbacks.on_fatal = [this](const absl::Status& status) {
    {
      std::lock_guard<std::mutex> lock(fatal_mutex_);
      fatal_ = status;
    }
    io_context_.stop();
  };
  driver_ = std::make_unique<ConsensusDriver>(
      io_context_, *verify_pool_, driver_options, &keys_->signing, store_.get(), mempool_.get(),
      signatures_.get(), sign_state_.get(), &network_, &status_, std::move(callbacks));

  p2p::PeerTransportConfig transport_config;
  transport_config.chain_id = genesis_.chain_id();
  transport_config.listen_host = config_.p2p_listen.host;
  transport_config.listen_port = config_.p2p_listen.port;
  for (const proto::Member& member : genesis_.members()) {
    LADING_ASSIGN_OR_RETURN(const crypto::SigningPublicKey key,
                            crypto::SigningPublicKey::FromBytes(
                                AsBytes(member.signing_public_key())));
    transport_config.members.emplace(key, member.id());
  }
  for (const PeerAddress& peer : config_.peers) {
    transport_config.peers_to_dial.push_back(
        {peer.member_id, peer.address.host, peer.address.port});
  }
  p2p::PeerTransportCallbacks transport_callbacks;
  transport_callbacks.on_message = [this](const std::string& member_id, ByteSpan payload) {
    driver_->OnPeerMessage(member_id, payload);
  };
  transport_callbacks.on_peer_connected = [this](const std::string& member_id) {
    spdlog::info("peer {} connected", member_id);
    UpdatePeers();
    driver_->OnPeerConnected(member_id);
  };
  transport_callbacks.on_peer_disconnected = [this](const std::string& member_id) {
    spdlog::info("peer {} disconnected", member_id);
    UpdatePeers();
  };
  LADING_ASSIGN_OR_RETURN(transport_,
                          p2p::PeerTransport::Create(io_context_, keys_->signing,
                                                     std::move(transport_config),
                                                     std::move(transport_callbacks)));
  network_.Attach(transport_.get());

  commit_latency_ = http::RegisterNodeMetrics(&metrics_, &status_, &transport_->counters());
  const DriverCounters& counters = driver_->counters();
  const auto counter = [this](const char* name, const char* help,
                              const std::atomic<uint64_t>* value) {
    metrics_.AddCounter(name, help, [value] { return static_cast<double>(value->load()); });
  };
  counter("lading_consensus_messages_invalid_total",
          "Peer messages that did not decode or whose signature failed.",
          &counters.messages_invalid);
  counter("lading_consensus_messages_dropped_overload_total",
          "Peer messages dropped because verification was backlogged.",
          &counters.messages_dropped_overload);
  counter("lading_consensus_messages_out_of_window_total",
          "Proposals and votes for heights other than the current and next.",
          &counters.messages_out_of_window);
  counter("lading_consensus_proposals_invalid_total", "Proposed blocks that failed validation.",
          &counters.proposals_invalid);
  counter("lading_consensus_evidence_found_total", "Equivocations this node detected.",
          &counters.evidence_found);
  counter("lading_consensus_evidence_received_total", "Valid equivocation evidence from peers.",
          &counters.evidence_received);
  counter("lading_consensus_txs_from_peers_total", "Transactions gossiped by peers.",
          &counters.txs_from_peers);
  counter("lading_consensus_txs_from_peers_rejected_total",
          "Gossiped transactions the mempool refused (mostly duplicates).",
          &counters.txs_from_peers_rejected);
  counter("lading_sync_blocks_total", "Blocks applied through block sync.",
          &counters.blocks_synced);
  counter("lading_sync_responses_invalid_total", "Block sync responses rejected.",
          &counters.sync_responses_invalid);
  counter("lading_consensus_regossips_total", "Times the held messages were re-sent.",
          &counters.regossips);
  metrics_.AddCounter("lading_mempool_signature_verifications_total",
                      "Transaction signatures verified (each transaction's once per node).",
                      [this] { return static_cast<double>(signatures_->verifications()); });

  LADING_ASSIGN_OR_RETURN(
      http_server_,
      http::HttpServer::Create(io_context_, config_.http_listen.host, config_.http_listen.port,
                               http::NodeEndpoints(&status_, &metrics_)));
  api::ApiServerOptions api_options;
  api_options.listen_address = config_.api_listen.ToString();
  LADING_ASSIGN_OR_RETURN(api_server_, api::ApiServer::Start(this, api_options));
  LADING_RETURN_IF_ERROR(driver_->Start());
  return absl::OkStatus();
}

void RunningNode::UpdatePeers() {
  const uint64_t connected = transport_ != nullptr ? transport_->counters().peers_connected.load()
                                                   : 0;
  status_.Update([&](NodeStatus* status) { status->peers_connected = connected; });
}

void RunningNode::OnCommit(const CommittedBlock& block) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t latency_ms = std::max<int64_t>(0, now_ms - block.time_unix_ms);
  if (!block.synced) commit_latency_->Observe(static_cast<double>(latency_ms) / 1000.0);
  spdlog::info("committed block {} {} txs={} bytes={} round={} proposer={} latency_ms={}{}",
               block.height, block.block_hash.ToHex().substr(0, 16), block.tx_count,
               block.block_bytes, block.round, block.proposer, latency_ms,
               block.synced ? " (block sync)" : "");
}

void RunningNode::Shutdown() {
  spdlog::info("shutting down");
  status_.Update([](NodeStatus* status) { status->serving = false; });
  status_.Shutdown();
  if (api_server_ != nullptr) api_server_->Shutdown();
  if (driver_ != nullptr) driver_->Stop();
  if (transport_ != nullptr) transport_->Stop();
  if (http_server_ != nullptr) http_server_->Stop();
  io_context_.stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  if (verify_pool_ != nullptr) verify_pool_->join();
  // Handlers that referenced these are gone with the io_context's threads and the pool.
  api_server_.reset();
  http_server_.reset();
  transport_.reset();
  driver_.reset();
}

absl::Status RunningNode::Run() {
  if (absl::Status status = Open(); !status.ok()) return status;
  boost::asio::signal_set signals(io_context_, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info("signal {} received", signal);
    io_context_.stop();
  });
  auto work = boost::asio::make_work_guard(io_context_);
  absl::Status started = StartServices();
  if (!started.ok()) {
    Shutdown();
    return started;
  }
  status_.Update([](NodeStatus* status) { status->serving = true; });
  spdlog::info("serving chain {} as {} at height {}; p2p {}:{}, gRPC {}, HTTP {}:{}",
               genesis_.chain_id(), config_.member_id, store_->HeadHeight(),
               config_.p2p_listen.host, transport_->listen_port(), api_server_->address(),
               config_.http_listen.host, http_server_->listen_port());
  for (int i = 0; i < 2; ++i) {
    threads_.emplace_back([this] { io_context_.run(); });
  }
  io_context_.run();
  work.reset();
  signals.cancel();
  Shutdown();
  std::lock_guard<std::mutex> lock(fatal_mutex_);
  return fatal_;
}

}  // namespace

absl::Status RunNode(const NodeConfig& config) {
  if (absl::Status status = ConfigureLogging(LogLevelName(config.log_level),
                                             config.log_file.resolved);
      !status.ok()) {
    return status;
  }
  spdlog::set_level(ToSpdlog(config.log_level));
  RunningNode node(config);
  return node.Run();
}

}  // namespace lading::node
