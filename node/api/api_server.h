// ApiServer: the node's gRPC client API (proto/api.proto, service lading.proto.Node) over an
// ApiBackend.
//
// Every RPC is answered from the backend: SubmitTx goes to its mempool, reads go to its block
// store, GetStatus to its StatusBoard. GetTx, GetBlock, GetCommit, GetAccount and WatchBlocks
// first authenticate the request signature (node/api/request_auth.h) against the members of the
// store's current state. Errors travel as gRPC statuses with the code and message of the
// absl::Status that caused them.
//
// Waiting (SubmitTx with wait_for_commit, WatchBlocks) is done on the StatusBoard's condition
// variable in slices of at most 100 ms, holding no lock of the server between slices, so that
// Shutdown(), the node's StatusBoard::Shutdown() and a client's cancellation all end a wait within
// one slice.
//
// Resources: requests up to kApiRequestBytesMax (larger: RESOURCE_EXHAUSTED, before any handler
// runs), responses up to kApiResponseBytesMax (node/api/api_limits.h), at most threads_max
// handler threads
// and watch_streams_max concurrent WatchBlocks streams (each holds a thread while it waits;
// beyond the limit a new watch gets RESOURCE_EXHAUSTED, so unary calls keep their threads).
// Transport is plaintext TCP: requests that reveal metadata are signed, responses hold only what
// the chain's members may all read.
//
// Ownership: the server borrows the backend, which must outlive it. Thread-safety: port() and
// address() are thread-safe; Shutdown() may be called from any thread, more than once.
#ifndef LADING_NODE_API_API_SERVER_H_
#define LADING_NODE_API_API_SERVER_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "node/api/api_limits.h"
#include "node/api/backend.h"
#include "node/api/request_auth.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace lading::node::api {

struct ApiServerOptions {
  // "host:port" to listen on; port 0 picks a free port (see ApiServer::port()).
  std::string listen_address = "127.0.0.1:0";
  // Request signatures: time window, replay cache bound, clock.
  RequestAuthOptions auth;
  // Most threads gRPC may use for this server.
  int threads_max = 64;
  // Most WatchBlocks streams at once. REQUIRES: < threads_max.
  size_t watch_streams_max = 32;
};

class NodeService;

class ApiServer {
 public:
  // Starts serving `backend` on options.listen_address. Errors: Unavailable "cannot listen on
  // ADDRESS for the gRPC API" when the address cannot be bound; InvalidArgument for options out
  // of range; FailedPrecondition when the backend's store holds no chain record (no genesis).
  // REQUIRES: backend is non-null and outlives the server.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(ApiBackend* backend,
                                                          ApiServerOptions options);

  // Shuts down (see Shutdown()).
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The port the server listens on (the one picked, when the options said port 0).
  int port() const { return port_; }
  // "host:port" with the real port, for clients.
  const std::string& address() const { return address_; }

  // Stops accepting calls, ends every WatchBlocks stream and SubmitTx wait (UNAVAILABLE "node API
  // is shutting down") within about 100 ms, and returns once every handler has returned. Calls
  // still running after one second are cancelled. Idempotent.
  void Shutdown();

 private:
  ApiServer() = default;

  std::unique_ptr<NodeService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  std::once_flag shutdown_once_;
};

}  // namespace lading::node::api

#endif  // LADING_NODE_API_API_SERVER_H_
