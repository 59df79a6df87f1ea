// Mempool: the transactions a node has accepted and not yet seen committed, and the
// VerifiedSignatureCache it shares with the block executor.
//
// Entry (Add) authenticates a transaction against the committed state (contracts::AuthenticateTx:
// decodes, chain id, not expired for the next block, signer is a member, signature) and refuses
// nonces the signer has already used. The signature is verified through the
// VerifiedSignatureCache, which remembers it: the node passes the same cache as the
// SignatureCheck of BuildBlock and ValidateBlock (node/block_executor.h), so a transaction's
// signature is verified once per node, however many blocks carry or re-propose it.
//
// Order. Per signer, transactions are kept by nonce. Those whose nonces continue the committed
// next nonce without a gap are ready; the others wait for the missing nonce (bounded per signer).
// Reap returns ready transactions in executable order: each signer's in ascending nonce,
// signers interleaved round-robin, one transaction each per round, the signer whose oldest ready
// transaction arrived first going first. The order is a function of the sequence of calls, with
// no clock or randomness.
//
// Bounds: at most txs_max transactions and bytes_max bytes in total, txs_per_signer_max per
// signer, of which future_txs_per_signer_max may wait for a missing nonce. A full mempool refuses
// with ResourceExhausted "mempool full (N txs, B bytes)"; nothing is evicted to make room.
//
// After each committed block, RemoveCommitted drops its transactions and those the new state
// makes stale (a nonce now used) or expired.
//
// Ownership: the mempool borrows the store and the cache, which must outlive it.
// Thread-safety: Mempool and VerifiedSignatureCache are thread-safe (each has a mutex; signature
// verification and state reads happen outside it).
#ifndef LADING_NODE_MEMPOOL_H_
#define LADING_NODE_MEMPOOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "contracts/signature_check.h"
#include "crypto/bytes.h"
#include "crypto/signing.h"
#include "node/block_store.h"
#include "proto/ledger.pb.h"

namespace lading::node {

// Remembers signatures that verified, by SignedTxHash and signer key, so each is verified once.
// A hit needs the same SignedTxHash (which covers body and signature bytes) and the same signer
// key: if a member's key changed, the signature is verified again under the new key. Failures are
// never remembered. Bounded: beyond entries_max the oldest entry is forgotten.
class VerifiedSignatureCache final : public contracts::SignatureCheck {
 public:
  static constexpr size_t kDefaultEntriesMax = 1u << 16;

  // `verifier` does the real verification on a miss; nullptr = contracts::VerifyingSignatureCheck.
  // REQUIRES: entries_max > 0; verifier (when given) outlives the cache.
  explicit VerifiedSignatureCache(size_t entries_max = kDefaultEntriesMax,
                                  const contracts::SignatureCheck* verifier = nullptr);

  // OK at once on a hit; otherwise the verifier's result, remembered when OK.
  absl::Status Check(const Hash256& signed_tx_hash, const crypto::SigningPublicKey& signer_key,
                     ByteSpan body, ByteSpan signature) const override;

  // Forgets `signed_tx_hash` (a committed transaction will not be checked again).
  void Forget(const Hash256& signed_tx_hash);
  size_t size() const;
  // Signatures actually verified (misses that reached the verifier), since construction.
  uint64_t verifications() const { return verifications_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    crypto::SigningPublicKey signer_key;
    std::list<Hash256>::iterator position;
  };
  void Remember(const Hash256& signed_tx_hash, const crypto::SigningPublicKey& signer_key) const;

  const size_t entries_max_;
  contracts::VerifyingSignatureCheck default_verifier_;
  const contracts::SignatureCheck* verifier_;
  mutable std::atomic<uint64_t> verifications_{0};
  mutable std::mutex mutex_;
  // Oldest first; guarded by mutex_.
  mutable std::list<Hash256> order_;
  mutable std::unordered_map<Hash256, Entry, Hash256Hasher> entries_;
};

struct MempoolOptions {
  size_t txs_max = 10'000;
  size_t bytes_max = 64u << 20;
  size_t txs_per_signer_max = 256;
  // Transactions of one signer that may wait for a missing nonce. Generous: gossip and a
  // client's concurrent submits are verified in parallel and often arrive out of order.
  size_t future_txs_per_signer_max = 128;
};

class Mempool {
 public:
  // REQUIRES: store and signatures are non-null and outlive the mempool; the store holds
  // chain `chain_id`.
  Mempool(std::string chain_id, const BlockStore* store, VerifiedSignatureCache* signatures,
          MempoolOptions options = {});
  Mempool(const Mempool&) = delete;
  Mempool& operator=(const Mempool&) = delete;

  // Accepts the serialized SignedTx `signed_tx` and returns its tx id. Errors, after which the
  // mempool is unchanged:
  //   contracts::AuthenticateTx's, checked for block HeadHeight() + 1 (InvalidArgument,
  //     FailedPrecondition for an expired tx, PermissionDenied, Unauthenticated);
  //   AlreadyExists: "transaction <id> is already in mempool", a nonce the committed state has
  //     used ("nonce 3 already used by milchpulver (next is 5)"), or a nonce another pending
  //     transaction of the signer holds;
  //   ResourceExhausted: "mempool full (N txs, B bytes)", or the signer's per-signer bounds;
  //   the store's read errors as is.
  absl::StatusOr<Hash256> Add(ByteSpan signed_tx);

  // Ready transactions in executable order (see the header comment) whose sizes sum to at most
  // `bytes_max`. A signer whose next transaction does not fit contributes nothing further; other
  // signers still do. Transactions stay in the mempool until RemoveCommitted.
  std::vector<Bytes> Reap(size_t bytes_max) const;

  // Call after `block` was appended to the store: drops its transactions, then those whose
  // nonce the new state has used, then those expired for the next height, and forgets their
  // signatures in the cache. Store read errors are returned (the block's own transactions are
  // dropped regardless).
  absl::Status RemoveCommitted(const proto::Block& block);

  // The nonce `signer`'s next transaction should carry: one past its pending transactions that
  // continue `committed_next_nonce` (the state's next nonce) without a gap, or
  // committed_next_nonce itself when none do.
  uint64_t PendingNextNonce(const std::string& signer, uint64_t committed_next_nonce) const;
  bool Contains(const Hash256& tx_id) const;
  size_t size() const;
  size_t bytes() const;

 private:
  struct Entry {
    Bytes tx;
    Hash256 tx_id;
    Hash256 signed_tx_hash;
    uint64_t expires_at_height = 0;
    uint64_t arrival = 0;  // order of acceptance
  };
  struct SignerQueue {
    // The committed state's next nonce for the signer, as last read.
    uint64_t next_nonce = 1;
    std::map<uint64_t, Entry> by_nonce;
  };
  struct Location {
    std::string signer;
    uint64_t nonce = 0;
  };

  // The nonce after the run of consecutive nonces starting at queue.next_nonce: the first nonce
  // the signer's ready transactions do not cover.
  static uint64_t ReadyEnd(const SignerQueue& queue);
  // Number of `queue`'s transactions that wait behind a missing nonce.
  static size_t FutureCount(const SignerQueue& queue);
  // Removes one entry, adding its signed tx hash to *forget; returns the next entry.
  // REQUIRES: mutex_ held.
  std::map<uint64_t, Entry>::iterator EraseLocked(SignerQueue* queue,
                                                  std::map<uint64_t, Entry>::iterator entry,
                                                  std::vector<Hash256>* forget);

  const std::string chain_id_;
  const BlockStore* store_;
  VerifiedSignatureCache* signatures_;
  const MempoolOptions options_;

  mutable std::mutex mutex_;
  // Guarded by mutex_. Ordered containers keep Reap's order independent of hashing.
  std::map<std::string, SignerQueue> signers_;
  std::unordered_map<Hash256, Location, Hash256Hasher> by_id_;
  size_t bytes_ = 0;
  uint64_t arrivals_ = 0;
};

}  // namespace lading::node

#endif  // LADING_NODE_MEMPOOL_H_
