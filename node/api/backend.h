// ApiBackend: what the node's client-facing servers (gRPC API, HTTP) need from the running node.
// The node (node/node.h) implements it; tests implement it over a block store they fill.
//
// Ownership: the backend outlives the servers that use it. Thread-safety: every method may be
// called from any thread, concurrently.
#ifndef LADING_NODE_API_BACKEND_H_
#define LADING_NODE_API_BACKEND_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "node/block_store.h"
#include "node/node_status.h"

namespace lading::node::api {

class ApiBackend {
 public:
  virtual ~ApiBackend() = default;

  // Accepts the serialized SignedTx into the mempool and gossips it; returns its tx id.
  // Errors: the mempool's (node/mempool.h Add: InvalidArgument, FailedPrecondition,
  // PermissionDenied, Unauthenticated, AlreadyExists, ResourceExhausted "mempool full ...").
  virtual absl::StatusOr<Hash256> SubmitTx(ByteSpan signed_tx) = 0;

  // The next nonce `member_id` should sign with: one past the highest nonce of its transactions
  // in the mempool that continue its committed nonce, or the committed next nonce when it has
  // none pending. NotFound when `member_id` is not a member.
  virtual absl::StatusOr<uint64_t> PendingNextNonce(std::string_view member_id) const = 0;

  // The committed chain (blocks, commits, tx index, current state).
  virtual const BlockStore& store() const = 0;

  // The node's status, and waiting for commits.
  virtual const StatusBoard& status() const = 0;
};

}  // namespace lading::node::api

#endif  // LADING_NODE_API_BACKEND_H_
