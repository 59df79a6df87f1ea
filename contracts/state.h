// The ledger state as the contracts see it (DESIGN §3): one key-value space whose keys are
// hashes of state key strings (contracts/records.h names them) and whose values are serialized
// records (proto/state.proto, proto/ledger.proto Member).
//
//   state key hash   = H("lading/state/key", state key string)     the sparse Merkle tree key
//   state value hash = H("lading/state/value", value bytes)         the tree leaf's value hash
//
// StateReader is the read side the executor runs against: the node backs it with the block
// store's `state` column family (node/state_view.h), tests with MemoryState. StateOverlay stacks
// uncommitted writes on a reader; a block's execution collects its writes in one overlay (one
// child overlay per transaction, merged only when the transaction succeeds), and the writes come
// out ordered by key hash, so every node derives the same list from the same block.
//
// Ownership: a StateOverlay borrows its base reader, which must outlive it. MemoryState owns its
// values. Thread-safety: StateReader implementations state their own; StateOverlay and
// MemoryState are not thread-safe (one execution uses them at a time).
#ifndef LADING_CONTRACTS_STATE_H_
#define LADING_CONTRACTS_STATE_H_

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"

namespace lading::contracts {

// Largest state value: records are bounded by the transactions that write them.
inline constexpr size_t kStateValueBytesMax = (1u << 20) + (64u << 10);

// H("lading/state/key", state_key): where `state_key` lives in the tree and the store.
Hash256 StateKeyHash(std::string_view state_key);
// H("lading/state/value", value): what the tree's leaf commits to for `value`.
Hash256 StateValueHash(ByteSpan value);

class StateReader {
 public:
  virtual ~StateReader() = default;
  // The value under `key_hash`, std::nullopt when the key is absent. An error means the state
  // could not be read (storage failure or corruption) and is passed up unchanged: execution
  // stops, it never treats an unreadable key as absent.
  virtual absl::StatusOr<std::optional<Bytes>> Get(const Hash256& key_hash) const = 0;
};

// One change to the state: `value` set, or the key deleted when `value` is std::nullopt.
struct StateWrite {
  Hash256 key_hash;
  std::optional<Bytes> value;
  bool operator==(const StateWrite&) const = default;
};

// Uncommitted writes over a base reader. Get sees this overlay's own writes first, then the base.
class StateOverlay final : public StateReader {
 public:
  // REQUIRES: `base` is non-null and outlives this overlay.
  explicit StateOverlay(const StateReader* base);

  absl::StatusOr<std::optional<Bytes>> Get(const Hash256& key_hash) const override;

  void Put(const Hash256& key_hash, Bytes value);
  void Delete(const Hash256& key_hash);

  // Moves every change of `child` into this overlay, the child's value winning for a key both
  // changed. REQUIRES: `child` was created over this overlay.
  void Absorb(StateOverlay&& child);

  // The changes, ordered by key hash, each key once.
  std::vector<StateWrite> Writes() const;
  bool empty() const { return changes_.empty(); }

 private:
  const StateReader* base_;
  // Ordered by key hash so that Writes() is the same on every node.
  std::map<Hash256, std::optional<Bytes>> changes_;
};

// A whole state in memory: for tests, tools and light clients.
class MemoryState final : public StateReader {
 public:
  absl::StatusOr<std::optional<Bytes>> Get(const Hash256& key_hash) const override;
  // Applies `writes` in order.
  void Apply(const std::vector<StateWrite>& writes);
  const std::map<Hash256, Bytes>& values() const { return values_; }

 private:
  std::map<Hash256, Bytes> values_;
};

}  // namespace lading::contracts

#endif  // LADING_CONTRACTS_STATE_H_
