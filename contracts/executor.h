// Transaction and block execution: the deterministic heart of the ledger (DESIGN §3, §6).
//
// A transaction executes against the state in this order of checks, each failure a specific
// error that names the bad value:
//   1. decode: SignedTx and TxBody within their caps (proto/ledger.h), a payload present, a Note
//      text within kNoteTextBytesMax                                          InvalidArgument
//   2. chain id equals this chain's                                           InvalidArgument
//   3. not expired: expires_at_height == 0 or >= the block height             FailedPrecondition
//      ("transaction expired at height 9; this block is at height 10")
//   4. the signer is a member                                                 PermissionDenied
//   5. the signature, over the exact body bytes, verifies with the member's signing key
//      (through the SignatureCheck)                                   Unauthenticated/InvalidArgument
//   6. nonce == the signer's next nonce:
//        replay  "nonce 3 already used by milchpulver (next is 5)"          AlreadyExists
//        gap     "nonce 7 is ahead of milchpulver's next nonce 5"           FailedPrecondition
//   7. the payload: a Note writes nothing (it lives in its block; no contract reads it back).
// On success the signer's next nonce is advanced. A transaction either applies all its writes or
// none: it runs in a child overlay that is merged only on success.
//
// A block is valid only if every one of its transactions is (execute-then-vote: a proposer
// includes only valid transactions, validators re-execute and vote nil on any failure).
//
// No I/O, clocks, threads or randomness: the same state and inputs give the same result on every
// node. Thread-safety: the functions are as thread-safe as the state and SignatureCheck passed in.
#ifndef LADING_CONTRACTS_EXECUTOR_H_
#define LADING_CONTRACTS_EXECUTOR_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "contracts/signature_check.h"
#include "contracts/state.h"
#include "crypto/bytes.h"
#include "crypto/sparse_merkle_tree.h"
#include "proto/ledger.pb.h"

namespace lading::contracts {

// A transaction that passed checks 1 to 5: well formed, for this chain, not expired at the
// height it was checked for, and signed by a member.
struct AuthenticatedTx {
  proto::TxBody body;
  // proto::TxId of the body bytes.
  Hash256 tx_id;
  // proto::SignedTxHash of the whole SignedTx.
  Hash256 signed_tx_hash;
};

// Checks 1 to 5 above for a transaction to be included at `height`, reading the signer's record
// from `state`. The mempool uses it at entry; ExecuteTx starts with it.
absl::StatusOr<AuthenticatedTx> AuthenticateTx(const StateReader& state, std::string_view chain_id,
                                               uint64_t height, ByteSpan signed_tx,
                                               const SignatureCheck& check);

// Executes the serialized SignedTx `signed_tx` in a block at `height` of chain `chain_id`,
// writing its effects into `overlay`. OK, or the error of the first failed check above, in which
// case `overlay` is unchanged. State read errors are returned as is.
// REQUIRES: overlay is non-null.
absl::Status ExecuteTx(StateOverlay* overlay, std::string_view chain_id, uint64_t height,
                       ByteSpan signed_tx, const SignatureCheck& check);

// What a block's execution changes.
struct BlockWrites {
  // Ordered by key hash, each key once; a value of std::nullopt deletes the key.
  std::vector<StateWrite> writes;
};

// Executes `txs` (serialized SignedTx, in block order) against `state` for a block at `height`.
// All must succeed; otherwise the block is invalid and the error (the failing transaction's
// code) names the transaction: "block transaction 2: nonce 3 already used by ...".
absl::StatusOr<BlockWrites> ExecuteBlock(const StateReader& state, std::string_view chain_id,
                                         uint64_t height, const std::vector<ByteSpan>& txs,
                                         const SignatureCheck& check);

// The sparse Merkle tree updates for `writes`: key hash -> StateValueHash(value), or a delete.
std::vector<crypto::SmtUpdate> SmtUpdates(const std::vector<StateWrite>& writes);

}  // namespace lading::contracts

#endif  // LADING_CONTRACTS_EXECUTOR_H_
