// ApiClient: a client of a node's gRPC API (proto/api.proto), for the CLI, lading-bench and
// agents.
//
// One method per RPC. Each returns the response message, or the server's status with its code
// and message kept; transport failures keep their code (UNAVAILABLE, DEADLINE_EXCEEDED) and
// name the node ("node 127.0.0.1:26601 unavailable: ..."). Every unary call has a deadline
// (call_timeout; SubmitTx with a wait gets the wait on top). Queries that need a signed request
// are signed with the signer's key when the client has one, and sent unsigned otherwise (the node
// then refuses them with UNAUTHENTICATED).
//
// Connect asks the node for its status once: that checks the node is reachable and gives the
// chain id every signature is bound to.
//
// Ownership: the client borrows the signer's keys, which must outlive it. Thread-safety: all
// methods may be called concurrently; CancelWatch() ends WatchBlocks calls running on other
// threads.
#ifndef LADING_NODE_API_CLIENT_H_
#define LADING_NODE_API_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/key_file.h"
#include "proto/api.grpc.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace lading::node::api {

struct ApiClientOptions {
  // Deadline of each unary call, and of Connect's status call.
  std::chrono::milliseconds call_timeout{10'000};
  // The clock request signatures carry, ms since the Unix epoch; empty = the system clock.
  std::function<int64_t()> now_unix_ms;
};

class ApiClient {
 public:
  // Connects to the node at `address` ("host:port") and fetches its status. `signer` signs the
  // queries that need it (may be null). Errors: InvalidArgument for an empty address; the status
  // call's error (UNAVAILABLE "node ADDRESS unavailable: ..." when nothing answers within the
  // timeout). REQUIRES: signer (when given) outlives the client.
  static absl::StatusOr<std::unique_ptr<ApiClient>> Connect(const std::string& address,
                                                            const crypto::MemberKeys* signer,
                                                            ApiClientOptions options = {});

  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const std::string& address() const { return address_; }
  // The node's chain id, as Connect read it.
  const std::string& chain_id() const { return chain_id_; }

  absl::StatusOr<proto::GetStatusResponse> GetStatus();
  // Submits the serialized SignedTx `signed_tx`. With `wait_for_commit`, the node answers once it
  // is committed or after `wait_timeout` (0 = the node's default, 10 s; at most 60 s) with
  // DEADLINE_EXCEEDED "transaction <id> accepted but not committed within N ms".
  absl::StatusOr<proto::SubmitTxResponse> SubmitTx(
      ByteSpan signed_tx, bool wait_for_commit,
      std::chrono::milliseconds wait_timeout = std::chrono::milliseconds(0));
  absl::StatusOr<proto::GetTxResponse> GetTx(const Hash256& tx_id);
  // Height 0 = the head block.
  absl::StatusOr<proto::GetBlockResponse> GetBlock(uint64_t height);
  absl::StatusOr<proto::GetCommitResponse> GetCommit(uint64_t height);
  absl::StatusOr<proto::GetAccountResponse> GetAccount(std::string_view member_id);

  // Streams committed blocks from `from_height` (0 = the next block to commit) in height order,
  // calling `on_block` for each on this thread. Returns OK when `on_block` returned false or
  // CancelWatch() was called; otherwise the status that ended the stream (UNAVAILABLE when the
  // node shuts down: reconnect with the last height seen + 1 to miss nothing).
  absl::Status WatchBlocks(uint64_t from_height,
                           const std::function<bool(const proto::WatchBlocksResponse&)>& on_block);
  // Ends every WatchBlocks call of this client now running.
  void CancelWatch();

 private:
  ApiClient(std::string address, const crypto::MemberKeys* signer, ApiClientOptions options);

  // Sets the deadline `timeout` from now and, with a signer, signs `request` for `method`.
  void Prepare(grpc::ClientContext* context, std::string_view method,
               const google::protobuf::MessageLite& request, std::chrono::milliseconds timeout,
               bool signed_request) const;
  absl::Status FromGrpc(const grpc::Status& status) const;
  // One unary call: a context with `timeout` (and the request signature when `sign`), the RPC
  // `rpc` (a Stub member function), and the server's status mapped by FromGrpc.
  template <typename Request, typename Response, typename Rpc>
  absl::StatusOr<Response> Call(std::string_view method, const Request& request, Rpc rpc,
                                std::chrono::milliseconds timeout, bool sign);
  int64_t NowUnixMs() const;

  const std::string address_;
  const crypto::MemberKeys* signer_;
  const ApiClientOptions options_;
  std::string chain_id_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::Node::Stub> stub_;

  std::mutex watches_mutex_;
  // Contexts of the running WatchBlocks calls; guarded by watches_mutex_.
  std::set<grpc::ClientContext*> watches_;
};

}  // namespace lading::node::api

#endif  // LADING_NODE_API_CLIENT_H_
