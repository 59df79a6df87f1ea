#include "node/mempool.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "contracts/executor.h"
#include "contracts/records.h"
#include "crypto/status.h"
#include "node/state_view.h"
#include "proto/ledger.h"

namespace lading::node {

// ---------------------------------------------------------------------------------------------
// VerifiedSignatureCache.

VerifiedSignatureCache::VerifiedSignatureCache(size_t entries_max,
                                               const contracts::SignatureCheck* verifier)
    : entries_max_(entries_max), verifier_(verifier != nullptr ? verifier : &default_verifier_) {
  LADING_CHECK(entries_max_ > 0);
}

absl::Status VerifiedSignatureCache::Check(const Hash256& signed_tx_hash,
                                           const crypto::SigningPublicKey& signer_key,
                                           ByteSpan body, ByteSpan signature) const {
  {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(signed_tx_hash);
    if (it != entries_.end() && it->second.signer_key == signer_key) return absl::OkStatus();
  }
  // Verified outside the lock: an Ed25519 verification takes far longer than a lookup, and other
  // threads' hits need not wait for it.
  verifications_.fetch_add(1, std::memory_order_relaxed);
  LADING_RETURN_IF_ERROR(verifier_->Check(signed_tx_hash, signer_key, body, signature));
  Remember(signed_tx_hash, signer_key);
  return absl::OkStatus();
}

void VerifiedSignatureCache::Remember(const Hash256& signed_tx_hash,
                                      const crypto::SigningPublicKey& signer_key) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(signed_tx_hash);
  if (it != entries_.end()) {
    it->second.signer_key = signer_key;
    return;
  }
  if (entries_.size() >= entries_max_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(signed_tx_hash);
  entries_.emplace(signed_tx_hash, Entry{.signer_key = signer_key, .position = std::prev(order_.end())});
}

void VerifiedSignatureCache::Forget(const Hash256& signed_tx_hash) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(signed_tx_hash);
  if (it == entries_.end()) return;
  order_.erase(it->second.position);
  entries_.erase(it);
}

size_t VerifiedSignatureCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

// ---------------------------------------------------------------------------------------------
// Mempool.

namespace {

absl::Status NonceUsed(uint64_t nonce, const std::string& signer, uint64_t next_nonce) {
  return absl::AlreadyExistsError(absl::StrCat("nonce ", nonce, " already used by ", signer,
                                               " (next is ", next_nonce, ")"));
}

}  // namespace

Mempool::Mempool(std::string chain_id, const BlockStore* store,
                 VerifiedSignatureCache* signatures, MempoolOptions options)
    : chain_id_(std::move(chain_id)), store_(store), signatures_(signatures), options_(options) {
  LADING_CHECK(store_ != nullptr);
  LADING_CHECK(signatures_ != nullptr);
}

uint64_t Mempool::ReadyEnd(const SignerQueue& queue) {
  uint64_t end = queue.next_nonce;
  for (auto it = queue.by_nonce.lower_bound(queue.next_nonce);
       it != queue.by_nonce.end() && it->first == end; ++it) {
    ++end;
  }
  return end;
}

uint64_t Mempool::PendingNextNonce(const std::string& signer,
                                   uint64_t committed_next_nonce) const {
  std::lock_guard lock(mutex_);
  const auto it = signers_.find(signer);
  if (it == signers_.end()) return committed_next_nonce;
  uint64_t end = committed_next_nonce;
  for (auto entry = it->second.by_nonce.lower_bound(end);
       entry != it->second.by_nonce.end() && entry->first == end; ++entry) {
    ++end;
  }
  return end;
}

size_t Mempool::FutureCount(const SignerQueue& queue) {
  const uint64_t ready_end = ReadyEnd(queue);
  return static_cast<size_t>(std::distance(queue.by_nonce.lower_bound(ready_end),
                                           queue.by_nonce.end()));
}

std::map<uint64_t, Mempool::Entry>::iterator Mempool::EraseLocked(
    SignerQueue* queue, std::map<uint64_t, Entry>::iterator entry, std::vector<Hash256>* forget) {
  bytes_ -= entry->second.tx.size();
  by_id_.erase(entry->second.tx_id);
  forget->push_back(entry->second.signed_tx_hash);
  return queue->by_nonce.erase(entry);
}

absl::StatusOr<Hash256> Mempool::Add(ByteSpan signed_tx) {
  // Duplicates are common (every peer gossips the same transactions): refuse them before paying
  // for a signature check.
  LADING_ASSIGN_OR_RETURN(const proto::SignedTx decoded, proto::DecodeSignedTx(signed_tx));
  const Hash256 tx_id = proto::TxId(AsBytes(decoded.body()));
  const auto already_here = [&] {
    return absl::AlreadyExistsError(
        absl::StrCat("transaction ", tx_id.ToHex(), " is already in mempool"));
  };
  if (Contains(tx_id)) return already_here();

  const StoreStateView view(store_);
  // So are transactions already committed (gossip that arrives after their block): each
  // signature is verified once per node, and the cache forgot this one at the commit.
  if (absl::StatusOr<proto::TxBody> body = proto::DecodeTxBody(AsBytes(decoded.body()));
      body.ok()) {
    absl::StatusOr<uint64_t> committed = contracts::ReadNextNonce(view, body->signer());
    if (committed.ok() && body->nonce() < *committed) {
      return NonceUsed(body->nonce(), body->signer(), *committed);
    }
  }
  const uint64_t next_height = store_->HeadHeight() + 1;
  LADING_ASSIGN_OR_RETURN(
      contracts::AuthenticatedTx tx,
      contracts::AuthenticateTx(view, chain_id_, next_height, signed_tx, *signatures_));
  const std::string& signer = tx.body.signer();
  const uint64_t nonce = tx.body.nonce();
  LADING_ASSIGN_OR_RETURN(const uint64_t committed_next, contracts::ReadNextNonce(view, signer));
  if (nonce < committed_next) return NonceUsed(nonce, signer, committed_next);

  std::lock_guard lock(mutex_);
  if (by_id_.contains(tx_id)) return already_here();
  auto [signer_it, created] = signers_.try_emplace(signer);
  SignerQueue& queue = signer_it->second;
  const auto refuse = [&, created = created](absl::Status status) {
    if (created) signers_.erase(signer_it);
    return status;
  };
  // Nonces only grow, so the larger of two reads is the fresher one. A new queue has no value to
  // compare with, and a block committed since the read above found no queue to update: read the
  // state again under the lock (a RemoveCommitted still to come will find the queue).
  if (created) {
    const absl::StatusOr<uint64_t> fresh = contracts::ReadNextNonce(view, signer);
    if (!fresh.ok()) return refuse(fresh.status());
    queue.next_nonce = std::max(*fresh, committed_next);
  }
  queue.next_nonce = std::max(queue.next_nonce, committed_next);
  if (nonce < queue.next_nonce) return refuse(NonceUsed(nonce, signer, queue.next_nonce));
  const auto taken = queue.by_nonce.find(nonce);
  if (taken != queue.by_nonce.end()) {
    return refuse(absl::AlreadyExistsError(
        absl::StrCat("nonce ", nonce, " of ", signer, " is already taken by transaction ",
                     taken->second.tx_id.ToHex(), " in mempool")));
  }
  if (queue.by_nonce.size() >= options_.txs_per_signer_max) {
    return refuse(absl::ResourceExhaustedError(
        absl::StrCat(signer, " has ", queue.by_nonce.size(),
                     " transactions in mempool, the per-signer limit")));
  }
  const uint64_t ready_end = ReadyEnd(queue);
  if (nonce > ready_end && FutureCount(queue) >= options_.future_txs_per_signer_max) {
    return refuse(absl::ResourceExhaustedError(absl::StrCat(
        signer, " already has ", options_.future_txs_per_signer_max,
        " transactions waiting for nonce ", ready_end, ", the limit; nonce ", nonce,
        " must wait until that one arrives")));
  }
  if (by_id_.size() >= options_.txs_max || bytes_ + signed_tx.size() > options_.bytes_max) {
    return refuse(absl::ResourceExhaustedError(
        absl::StrCat("mempool full (", by_id_.size(), " txs, ", bytes_, " bytes)")));
  }
  queue.by_nonce.emplace(nonce, Entry{.tx = Bytes(signed_tx.begin(), signed_tx.end()),
                                      .tx_id = tx_id,
                                      .signed_tx_hash = tx.signed_tx_hash,
                                      .expires_at_height = tx.body.expires_at_height(),
                                      .arrival = arrivals_++});
  by_id_.emplace(tx_id, Location{.signer = signer, .nonce = nonce});
  bytes_ += signed_tx.size();
  return tx_id;
}

std::vector<Bytes> Mempool::Reap(size_t bytes_max) const {
  std::lock_guard lock(mutex_);
  struct Run {
    std::vector<const Entry*> txs;
    size_t taken = 0;
    bool blocked = false;
  };
  std::vector<Run> runs;
  for (const auto& [signer, queue] : signers_) {
    Run run;
    uint64_t expected = queue.next_nonce;
    for (auto it = queue.by_nonce.lower_bound(queue.next_nonce);
         it != queue.by_nonce.end() && it->first == expected; ++it, ++expected) {
      run.txs.push_back(&it->second);
    }
    if (!run.txs.empty()) runs.push_back(std::move(run));
  }
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
    return a.txs.front()->arrival < b.txs.front()->arrival;
  });

  std::vector<Bytes> reaped;
  size_t used = 0;
  for (bool progress = true; progress;) {
    progress = false;
    for (Run& run : runs) {
      if (run.blocked || run.taken == run.txs.size()) continue;
      const Entry& entry = *run.txs[run.taken];
      if (entry.tx.size() > bytes_max - used) {
        // Its later nonces cannot execute without this one.
        run.blocked = true;
        continue;
      }
      reaped.push_back(entry.tx);
      used += entry.tx.size();
      ++run.taken;
      progress = true;
    }
  }
  return reaped;
}

absl::Status Mempool::RemoveCommitted(const proto::Block& block) {
  std::vector<Hash256> committed_ids;
  std::vector<Hash256> forget;
  std::set<std::string> signers;
  for (const std::string& tx : block.txs()) {
    auto signed_tx = proto::DecodeSignedTx(AsBytes(tx));
    if (!signed_tx.ok()) continue;
    committed_ids.push_back(proto::TxId(AsBytes(signed_tx->body())));
    forget.push_back(proto::SignedTxHash(AsBytes(tx)));
    auto body = proto::DecodeTxBody(AsBytes(signed_tx->body()));
    if (body.ok()) signers.insert(body->signer());
  }
  // The committed state is read outside the lock; a stale read only keeps a stale transaction
  // until the next block, and BuildBlock skips it meanwhile.
  const StoreStateView view(store_);
  std::map<std::string, uint64_t> next_nonces;
  absl::Status read_status;
  for (const std::string& signer : signers) {
    absl::StatusOr<uint64_t> next = contracts::ReadNextNonce(view, signer);
    if (!next.ok()) {
      read_status.Update(next.status());
      continue;
    }
    next_nonces.emplace(signer, *next);
  }
  const uint64_t next_height = store_->HeadHeight() + 1;

  {
    std::lock_guard lock(mutex_);
    for (const Hash256& tx_id : committed_ids) {
      const auto location = by_id_.find(tx_id);
      if (location == by_id_.end()) continue;
      const auto queue = signers_.find(location->second.signer);
      LADING_CHECK(queue != signers_.end());
      const auto entry = queue->second.by_nonce.find(location->second.nonce);
      LADING_CHECK(entry != queue->second.by_nonce.end());
      EraseLocked(&queue->second, entry, &forget);
    }
    for (const auto& [signer, next_nonce] : next_nonces) {
      const auto queue = signers_.find(signer);
      if (queue == signers_.end()) continue;
      queue->second.next_nonce = std::max(queue->second.next_nonce, next_nonce);
      auto entry = queue->second.by_nonce.begin();
      while (entry != queue->second.by_nonce.end() && entry->first < queue->second.next_nonce) {
        entry = EraseLocked(&queue->second, entry, &forget);
      }
    }
    for (auto queue = signers_.begin(); queue != signers_.end();) {
      for (auto entry = queue->second.by_nonce.begin(); entry != queue->second.by_nonce.end();) {
        const uint64_t expires = entry->second.expires_at_height;
        entry = expires != 0 && expires < next_height
                    ? EraseLocked(&queue->second, entry, &forget)
                    : std::next(entry);
      }
      // Empty queues stay (one per member that ever sent a transaction): their next_nonce is
      // what keeps an Add that read the state before this block from inserting a stale nonce.
      ++queue;
    }
  }
  for (const Hash256& signed_tx_hash : forget) signatures_->Forget(signed_tx_hash);
  return read_status;
}

bool Mempool::Contains(const Hash256& tx_id) const {
  std::lock_guard lock(mutex_);
  return by_id_.contains(tx_id);
}

size_t Mempool::size() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

size_t Mempool::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace lading::node
