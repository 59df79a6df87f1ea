// StoreStateView: the contracts' StateReader over a block store's current state (the values of
// the `state` column family as of the head block, or the genesis state before block 1).
//
// A read sees whatever the store holds at that moment: callers that need one consistent state for
// a whole block (BuildBlock, ValidateBlock, the mempool's checks) make sure no Append runs while
// they read, or re-check the head afterwards (node/block_executor.h does).
//
// Ownership: borrows the store, which must outlive the view. Thread-safety: as the store (the
// RocksDB store is thread-safe).
#ifndef LADING_NODE_STATE_VIEW_H_
#define LADING_NODE_STATE_VIEW_H_

#include <optional>

#include "absl/status/statusor.h"
#include "contracts/state.h"
#include "node/block_store.h"

namespace lading::node {

class StoreStateView final : public contracts::StateReader {
 public:
  // REQUIRES: store is non-null and outlives this view.
  explicit StoreStateView(const BlockStore* store);

  // The stored value, std::nullopt when the store has none (its NotFound), or the store's other
  // errors (Internal, DataLoss) as is.
  absl::StatusOr<std::optional<Bytes>> Get(const Hash256& key_hash) const override;

 private:
  const BlockStore* store_;
};

}  // namespace lading::node

#endif  // LADING_NODE_STATE_VIEW_H_
