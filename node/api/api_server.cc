#include "node/api/api_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "contracts/records.h"
#include "crypto/internal/strings.h"
#include "crypto/status.h"
#include "node/state_view.h"
#include "proto/api.grpc.pb.h"
#include "proto/ledger.h"

namespace lading::node::api {
namespace {

using ::lading::internal::StrCat;
using SteadyClock = std::chrono::steady_clock;

// Longest single wait on the StatusBoard: bounds how late a wait notices Shutdown() or a
// cancelled client, since neither notifies the board's condition variable.
constexpr std::chrono::milliseconds kWaitSlice{100};
// How long Shutdown() lets running handlers finish before gRPC cancels them.
constexpr std::chrono::milliseconds kShutdownGrace{1000};

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status ShuttingDown() { return absl::UnavailableError("node API is shutting down"); }

absl::StatusOr<Hash256> HashField(const std::string& value, std::string_view field) {
  if (value.size() != Hash256::kSize) {
    return absl::InvalidArgumentError(StrCat(field, " is ", value.size(), " bytes; expected ",
                                             Hash256::kSize));
  }
  return Hash256::FromBytes(AsBytes(value));
}

// The block hash of a stored serialized block. A stored block that does not decode means the
// store is corrupt, which Verify at start-up should have caught.
absl::StatusOr<Hash256> StoredBlockHash(const Bytes& block_bytes, uint64_t height) {
  absl::StatusOr<proto::Block> block = proto::DecodeBlock(block_bytes);
  if (!block.ok()) {
    return absl::DataLossError(
        StrCat("stored block at height ", height, " does not decode: ", block.status().message()));
  }
  return proto::BlockHash(AsBytes(block->header()));
}

}  // namespace

class NodeService final : public proto::Node::Service {
 public:
  NodeService(ApiBackend* backend, std::string chain_id, const ApiServerOptions& options)
      : backend_(backend),
        chain_id_(std::move(chain_id)),
        watch_streams_max_(options.watch_streams_max),
        authenticator_(
            [backend](std::string_view member_id)
                -> absl::StatusOr<std::optional<crypto::SigningPublicKey>> {
              const StoreStateView state(&backend->store());
              LADING_ASSIGN_OR_RETURN(const std::optional<proto::Member> member,
                                      contracts::ReadMember(state, member_id));
              if (!member.has_value()) return std::optional<crypto::SigningPublicKey>();
              absl::StatusOr<crypto::SigningPublicKey> key =
                  crypto::SigningPublicKey::FromBytes(AsBytes(member->signing_public_key()));
              if (!key.ok()) {
                return absl::DataLossError(StrCat("member ", member_id,
                                                  " has a malformed signing key in the state: ",
                                                  key.status().message()));
              }
              return std::optional<crypto::SigningPublicKey>(*key);
            },
            options.auth) {}

  void Stop() { stopping_.store(true); }

  grpc::Status SubmitTx(grpc::ServerContext* context, const proto::SubmitTxRequest* request,
                        proto::SubmitTxResponse* response) override {
    return ToGrpc(DoSubmitTx(context, *request, response));
  }
  grpc::Status GetTx(grpc::ServerContext* context, const proto::GetTxRequest* request,
                     proto::GetTxResponse* response) override {
    return ToGrpc(DoGetTx(context, *request, response));
  }
  grpc::Status GetBlock(grpc::ServerContext* context, const proto::GetBlockRequest* request,
                        proto::GetBlockResponse* response) override {
    return ToGrpc(DoGetBlock(context, *request, response));
  }
  grpc::Status GetCommit(grpc::ServerContext* context, const proto::GetCommitRequest* request,
                         proto::GetCommitResponse* response) override {
    return ToGrpc(DoGetCommit(context, *request, response));
  }
  grpc::Status GetStatus(grpc::ServerContext*, const proto::GetStatusRequest*,
                         proto::GetStatusResponse* response) override {
    FillStatus(response);
    return grpc::Status::OK;
  }
  grpc::Status GetAccount(grpc::ServerContext* context, const proto::GetAccountRequest* request,
                          proto::GetAccountResponse* response) override {
    return ToGrpc(DoGetAccount(context, *request, response));
  }
  grpc::Status WatchBlocks(grpc::ServerContext* context, const proto::WatchBlocksRequest* request,
                           grpc::ServerWriter<proto::WatchBlocksResponse>* writer) override {
    return ToGrpc(DoWatchBlocks(context, *request, writer));
  }

 private:
  enum class WaitEnd { kAdvanced, kTimedOut, kStopping, kCancelled };

  absl::Status Authorize(const grpc::ServerContext& context, std::string_view method,
                         const google::protobuf::MessageLite& request) const {
    return authenticator_.Authenticate(chain_id_, method, context.client_metadata(), request)
        .status();
  }

  // Waits until the store's head is above `height`, `deadline` passes, the server or the node
  // stops, or the client goes away.
  WaitEnd WaitForHeadAbove(uint64_t height, SteadyClock::time_point deadline,
                           const grpc::ServerContext& context) const {
    const StatusBoard& board = backend_->status();
    while (true) {
      if (backend_->store().HeadHeight() > height) return WaitEnd::kAdvanced;
      if (stopping_.load() || board.shut_down()) return WaitEnd::kStopping;
      if (context.IsCancelled()) return WaitEnd::kCancelled;
      const SteadyClock::time_point now = SteadyClock::now();
      if (now >= deadline) return WaitEnd::kTimedOut;
      const auto slice = std::min<SteadyClock::duration>(deadline - now, kWaitSlice);
      const uint64_t board_height =
          board.WaitForHeightAbove(height, std::chrono::duration_cast<std::chrono::milliseconds>(
                                               slice + std::chrono::milliseconds(1)));
      // The board publishes a height after the store holds it; should it ever run ahead, pause
      // instead of spinning on a wait that returns at once.
      if (board_height > height && backend_->store().HeadHeight() <= height) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }

  absl::Status DoSubmitTx(const grpc::ServerContext* context, const proto::SubmitTxRequest& request,
                          proto::SubmitTxResponse* response) const {
    if (request.signed_tx().empty()) return absl::InvalidArgumentError("signed_tx is empty");
    if (stopping_.load()) return ShuttingDown();
    LADING_ASSIGN_OR_RETURN(const Hash256 tx_id,
                            backend_->SubmitTx(AsBytes(request.signed_tx())));
    response->set_tx_id(ToString(tx_id.span()));
    if (!request.wait_for_commit()) return absl::OkStatus();

    std::chrono::milliseconds wait(request.wait_timeout_ms());
    if (wait.count() == 0) wait = kSubmitWaitDefault;
    wait = std::min(wait, kSubmitWaitMax);
    const SteadyClock::time_point deadline = SteadyClock::now() + wait;
    while (true) {
      // Read the head before looking the transaction up: a block appended in between is seen by
      // the wait, never missed.
      const uint64_t head = backend_->store().HeadHeight();
      absl::StatusOr<TxLocation> location = backend_->store().GetTxLocation(tx_id);
      if (location.ok()) {
        response->set_committed(true);
        response->set_height(location->height);
        response->set_index(location->index);
        return absl::OkStatus();
      }
      if (!absl::IsNotFound(location.status())) return location.status();
      switch (WaitForHeadAbove(head, deadline, *context)) {
        case WaitEnd::kAdvanced:
          break;
        case WaitEnd::kTimedOut:
          return absl::DeadlineExceededError(StrCat("transaction ", tx_id.ToHex(),
                                                    " accepted but not committed within ",
                                                    wait.count(), " ms"));
        case WaitEnd::kStopping:
          return absl::UnavailableError(StrCat("node API is shutting down; transaction ",
                                               tx_id.ToHex(), " accepted, commit not awaited"));
        case WaitEnd::kCancelled:
          return absl::CancelledError("client cancelled the call");
      }
    }
  }

  absl::Status DoGetTx(const grpc::ServerContext* context, const proto::GetTxRequest& request,
                       proto::GetTxResponse* response) const {
    LADING_RETURN_IF_ERROR(Authorize(*context, kMethodGetTx, request));
    LADING_ASSIGN_OR_RETURN(const Hash256 tx_id, HashField(request.tx_id(), "tx_id"));
    const BlockStore& store = backend_->store();
    LADING_ASSIGN_OR_RETURN(const TxLocation location, store.GetTxLocation(tx_id));
    LADING_ASSIGN_OR_RETURN(const Bytes block_bytes, store.GetBlock(location.height));
    absl::StatusOr<proto::Block> block = proto::DecodeBlock(block_bytes);
    if (!block.ok() || location.index >= static_cast<uint32_t>(block->txs_size())) {
      return absl::DataLossError(StrCat("stored block at height ", location.height,
                                        " does not hold transaction ", tx_id.ToHex(),
                                        " at index ", location.index));
    }
    response->set_signed_tx(block->txs(static_cast<int>(location.index)));
    response->set_height(location.height);
    response->set_index(location.index);
    response->set_block_hash(ToString(proto::BlockHash(AsBytes(block->header())).span()));
    return absl::OkStatus();
  }

  // `requested`, or the head for 0; NotFound when there is no such block yet.
  absl::StatusOr<uint64_t> ResolveHeight(uint64_t requested) const {
    const uint64_t head = backend_->store().HeadHeight();
    if (requested == 0) {
      if (head == 0) return absl::NotFoundError("no block committed yet (head height 0)");
      return head;
    }
    if (requested > head) {
      return absl::NotFoundError(
          StrCat("no block at height ", requested, " (head height ", head, ")"));
    }
    return requested;
  }

  absl::Status DoGetBlock(const grpc::ServerContext* context,
                          const proto::GetBlockRequest& request,
                          proto::GetBlockResponse* response) const {
    LADING_RETURN_IF_ERROR(Authorize(*context, kMethodGetBlock, request));
    LADING_ASSIGN_OR_RETURN(const uint64_t height, ResolveHeight(request.height()));
    LADING_ASSIGN_OR_RETURN(const Bytes block, backend_->store().GetBlock(height));
    LADING_ASSIGN_OR_RETURN(const Bytes commit, backend_->store().GetCommit(height));
    LADING_ASSIGN_OR_RETURN(const Hash256 block_hash, StoredBlockHash(block, height));
    response->set_block(ToString(block));
    response->set_block_hash(ToString(block_hash.span()));
    response->set_commit(ToString(commit));
    response->set_height(height);
    return absl::OkStatus();
  }

  absl::Status DoGetCommit(const grpc::ServerContext* context,
                           const proto::GetCommitRequest& request,
                           proto::GetCommitResponse* response) const {
    LADING_RETURN_IF_ERROR(Authorize(*context, kMethodGetCommit, request));
    LADING_ASSIGN_OR_RETURN(const uint64_t height, ResolveHeight(request.height()));
    LADING_ASSIGN_OR_RETURN(const Bytes commit, backend_->store().GetCommit(height));
    response->set_commit(ToString(commit));
    response->set_height(height);
    return absl::OkStatus();
  }

  void FillStatus(proto::GetStatusResponse* response) const {
    const NodeStatus status = backend_->status().Snapshot();
    response->set_chain_id(status.chain_id);
    response->set_member_id(status.member_id);
    response->set_validator(status.validator);
    response->set_height(status.height);
    response->set_head_block_hash(ToString(status.head_block_hash.span()));
    response->set_state_root(ToString(status.state_root.span()));
    response->set_head_time_unix_ms(status.head_time_unix_ms);
    response->set_consensus_height(status.consensus_height);
    response->set_round(status.round);
    response->set_peers_connected(status.peers_connected);
    response->set_peers_configured(status.peers_configured);
    response->set_mempool_txs(status.mempool_txs);
    response->set_mempool_bytes(status.mempool_bytes);
    response->set_committed_txs_total(status.committed_txs_total);
    response->set_syncing(status.syncing);
    response->set_serving(status.serving);
  }

  absl::Status DoGetAccount(const grpc::ServerContext* context,
                            const proto::GetAccountRequest& request,
                            proto::GetAccountResponse* response) const {
    LADING_RETURN_IF_ERROR(Authorize(*context, kMethodGetAccount, request));
    if (absl::Status valid = crypto::ValidateMemberId(request.member_id()); !valid.ok()) {
      return absl::InvalidArgumentError(StrCat("member_id: ", valid.message()));
    }
    LADING_ASSIGN_OR_RETURN(const uint64_t pending,
                            backend_->PendingNextNonce(request.member_id()));
    const StoreStateView state(&backend_->store());
    LADING_ASSIGN_OR_RETURN(const uint64_t committed,
                            contracts::ReadNextNonce(state, request.member_id()));
    response->set_next_nonce(committed);
    // A block may commit between the two reads; the pending nonce is never behind the state.
    response->set_pending_next_nonce(std::max(pending, committed));
    return absl::OkStatus();
  }

  absl::Status DoWatchBlocks(const grpc::ServerContext* context,
                             const proto::WatchBlocksRequest& request,
                             grpc::ServerWriter<proto::WatchBlocksResponse>* writer) {
    LADING_RETURN_IF_ERROR(Authorize(*context, kMethodWatchBlocks, request));
    if (watch_streams_.fetch_add(1) >= watch_streams_max_) {
      watch_streams_.fetch_sub(1);
      return absl::ResourceExhaustedError(StrCat("too many block watchers on this node (",
                                                 watch_streams_max_, "); try again later"));
    }
    const absl::Status result = StreamBlocks(*context, request, writer);
    watch_streams_.fetch_sub(1);
    return result;
  }

  absl::Status StreamBlocks(const grpc::ServerContext& context,
                            const proto::WatchBlocksRequest& request,
                            grpc::ServerWriter<proto::WatchBlocksResponse>* writer) const {
    const BlockStore& store = backend_->store();
    uint64_t next = request.from_height() == 0 ? store.HeadHeight() + 1 : request.from_height();
    while (true) {
      const uint64_t head = store.HeadHeight();
      for (; next <= head; ++next) {
        if (stopping_.load()) return ShuttingDown();
        proto::WatchBlocksResponse event;
        LADING_ASSIGN_OR_RETURN(const Bytes block, store.GetBlock(next));
        LADING_ASSIGN_OR_RETURN(const Bytes commit, store.GetCommit(next));
        LADING_ASSIGN_OR_RETURN(const Hash256 block_hash, StoredBlockHash(block, next));
        event.set_height(next);
        event.set_block_hash(ToString(block_hash.span()));
        event.set_block(ToString(block));
        event.set_commit(ToString(commit));
        if (!writer->Write(event)) {
          if (stopping_.load()) return ShuttingDown();
          return absl::CancelledError(StrCat("client went away before block ", next));
        }
      }
      switch (WaitForHeadAbove(next - 1, SteadyClock::time_point::max(), context)) {
        case WaitEnd::kAdvanced:
        case WaitEnd::kTimedOut:
          break;
        case WaitEnd::kStopping:
          if (backend_->status().shut_down()) {
            return absl::UnavailableError("node is shutting down");
          }
          return ShuttingDown();
        case WaitEnd::kCancelled:
          return absl::CancelledError("client cancelled the watch");
      }
    }
  }

  ApiBackend* const backend_;
  const std::string chain_id_;
  const size_t watch_streams_max_;
  const RequestAuthenticator authenticator_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> watch_streams_{0};
};

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(ApiBackend* backend,
                                                            ApiServerOptions options) {
  LADING_CHECK(backend != nullptr);
  if (options.threads_max < 2) {
    return absl::InvalidArgumentError(
        StrCat("api threads_max ", options.threads_max, " is below the minimum 2"));
  }
  if (options.watch_streams_max >= static_cast<size_t>(options.threads_max)) {
    return absl::InvalidArgumentError(StrCat("api watch_streams_max ", options.watch_streams_max,
                                             " must be below threads_max ",
                                             options.threads_max));
  }
  if (options.auth.window.count() <= 0 || options.auth.replay_entries_max == 0) {
    return absl::InvalidArgumentError("api request window and replay cache size must be positive");
  }
  const StoreStateView state(&backend->store());
  LADING_ASSIGN_OR_RETURN(const std::optional<proto::ChainState> chain, contracts::ReadChain(state));
  if (!chain.has_value()) {
    return absl::FailedPreconditionError(
        "cannot start the gRPC API: the block store holds no chain record (no genesis state)");
  }

  std::unique_ptr<ApiServer> server(new ApiServer());
  server->service_ = std::make_unique<NodeService>(backend, chain->chain_id(), options);

  grpc::ServerBuilder builder;
  // gRPC binds with SO_REUSEPORT by default, which would let a second node on the same port
  // start and silently share (steal) the first one's connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(options.listen_address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(kApiRequestBytesMax));
  builder.SetMaxSendMessageSize(static_cast<int>(kApiResponseBytesMax));
  grpc::ResourceQuota quota("lading-api");
  quota.SetMaxThreads(options.threads_max);
  builder.SetResourceQuota(quota);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    server->server_.reset();
    return absl::UnavailableError(
        StrCat("cannot listen on ", options.listen_address, " for the gRPC API"));
  }
  server->port_ = port;
  const size_t colon = options.listen_address.rfind(':');
  server->address_ = StrCat(options.listen_address.substr(0, colon), ":", port);
  return server;
}

ApiServer::~ApiServer() { Shutdown(); }

void ApiServer::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    if (server_ == nullptr) return;
    service_->Stop();
    server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
    server_->Wait();
  });
}

}  // namespace lading::node::api
