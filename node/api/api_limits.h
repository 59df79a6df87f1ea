// Limits of the gRPC client API (proto/api.proto) that the server enforces and clients plan for.
//
// Constants only; thread-safe.
#ifndef LADING_NODE_API_API_LIMITS_H_
#define LADING_NODE_API_API_LIMITS_H_

#include <chrono>
#include <cstddef>

#include "proto/ledger.h"

namespace lading::node::api {

// Largest request a node reads: one maximal transaction plus envelope headroom. Larger requests
// are refused with RESOURCE_EXHAUSTED before any handler runs.
inline constexpr size_t kApiRequestBytesMax = proto::kTxBytesMax + (64u << 10);
// Largest response: one maximal block with its commit.
inline constexpr size_t kApiResponseBytesMax = proto::kPeerMessageBytesMax;
// SubmitTx wait_for_commit: the wait when the request gives none, and the longest wait.
inline constexpr std::chrono::milliseconds kSubmitWaitDefault{10'000};
inline constexpr std::chrono::milliseconds kSubmitWaitMax{60'000};

}  // namespace lading::node::api

#endif  // LADING_NODE_API_API_LIMITS_H_
