// Node: one running ladingd. Opens and re-verifies the block store, loads the key and genesis,
// starts the peer transport, the consensus driver, the gRPC API and the HTTP endpoints, and runs
// until SIGINT/SIGTERM or a fatal error.
//
// Start-up order (nothing is served before the chain is verified, DESIGN §4):
//   logging → genesis file → key file (must be the genesis key of config.member_id) →
//   block store (created on first start with the genesis state; otherwise every block is
//   re-verified: hash links, roots, checksums) → commit signatures of the latest blocks and
//   the transaction signatures in them →
//   sign-state file → mempool, transport, driver → gRPC API, HTTP → "serving".
// A failure at any step is returned (the message names the file, height or address) and the node
// does not start.
//
// Shutdown: the API stops taking calls and ends its streams, the driver and transport stop, the
// io_context threads and the verification pool are joined, the store is closed.
//
// Ownership: the Node owns every component. Thread-safety: Run blocks the calling thread; the
// ApiBackend methods are thread-safe.
#ifndef LADING_NODE_NODE_H_
#define LADING_NODE_NODE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/api/backend.h"
#include "node/config.h"

namespace lading::node {

// Runs the node described by `config` until a signal or a fatal error. OK after a clean
// shutdown on SIGINT/SIGTERM; the start-up error, or the fatal error that stopped it, otherwise.
absl::Status RunNode(const NodeConfig& config);

// How many of the latest blocks have their commit signatures re-checked at start-up.
inline constexpr uint64_t kStartupCommitsChecked = 256;
// How many transactions of the latest blocks have their signatures re-checked at start-up.
inline constexpr size_t kStartupTxsChecked = 10'000;

}  // namespace lading::node

#endif  // LADING_NODE_NODE_H_
