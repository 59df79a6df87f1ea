// BlockStore: what a Lading node's chain storage promises.
//
// A block store holds one chain: its genesis state, committed blocks at heights 1..head, the
// commit that made each block final, indexes from block hash and tx id to where they sit, the
// sparse Merkle state nodes and the current state values. It only grows, one block at a time, and each Append is atomic and
// durable: after a crash the store holds exactly the blocks whose Append returned OK (and
// possibly the one in flight, complete), never part of a block.
//
// Append checks that the block extends the chain (height, hash link, commit, transaction root,
// state nodes); it does not check signatures or execute transactions: its caller (consensus,
// block sync) has done that. Verify re-checks the whole stored chain; see the implementation's
// header for exactly what it covers.
//
// Ownership: the store owns its storage; values returned are copies the caller owns.
// Thread-safety: implementations are thread-safe; Appends are serialized, reads and Verify may run
// concurrently with them and see either the old or the new head, never a partial block.
#ifndef LADING_NODE_BLOCK_STORE_H_
#define LADING_NODE_BLOCK_STORE_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/smt_node.h"
#include "proto/ledger.pb.h"

namespace lading::node {

// One committed block with everything that is stored with it.
struct BlockToAppend {
  // Serialized proto::Block, kept byte for byte (its hash and signatures cover these bytes).
  Bytes block;
  // `block.header` decoded; must be exactly the header inside `block`.
  proto::BlockHeader header;
  // Serialized proto::Commit that committed this block (height and block hash of this block).
  Bytes commit;
  // State tree nodes created by this block's execution (crypto/smt_node.h); together with the
  // nodes already stored they hold the whole tree under header.state_root.
  crypto::SmtNodeBatch state_nodes;
  // State values written and removed by this block, keyed by state key hash.
  std::vector<std::pair<Hash256, Bytes>> state_puts;
  std::vector<Hash256> state_deletes;
};

// The state before block 1 (the genesis state), written once into an empty store.
struct GenesisState {
  // Sparse Merkle root of the genesis state.
  Hash256 state_root;
  // The nodes of the tree under state_root.
  crypto::SmtNodeBatch state_nodes;
  // The genesis state values, keyed by state key hash.
  std::vector<std::pair<Hash256, Bytes>> state_puts;
};

// Where a transaction sits: block height and index within the block's txs.
struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
  bool operator==(const TxLocation&) const = default;
};

class BlockStore {
 public:
  virtual ~BlockStore() = default;

  // Appends the block at height HeadHeight() + 1, atomically and durably (synced before
  // returning). Errors, after which nothing was written and the head is unchanged:
  //   FailedPrecondition: the height does not follow the head, or prev_block_hash is not the
  //     head's hash (empty or 32 zero bytes at height 1);
  //   InvalidArgument: the block, header or commit do not decode or do not match each other
  //     (header vs block, chain id, txs_root, last_commit vs last_commit_hash and the previous
  //     block, commit height and block hash), a tx id is already stored, a state node does not
  //     hash to its key, the new state nodes do not complete the tree under state_root or break
  //     its canonical shape, or a state key is written twice;
  //   Internal / DataLoss: the storage failed (the message carries the storage's own error).
  virtual absl::Status Append(const BlockToAppend& block) = 0;

  // Writes the genesis state (its state nodes and values, and its root) atomically and durably.
  // When the store already holds a genesis state with the same root it returns OK and writes
  // nothing, so a restarted node may call it again. Errors, after which nothing was written:
  //   FailedPrecondition: the store holds a genesis state with another root, or holds blocks;
  //   InvalidArgument: a node does not hash to its key, the nodes do not complete the canonical
  //     tree under state_root (as for Append), or a state key is put twice;
  //   Internal / DataLoss: the storage failed.
  virtual absl::Status WriteGenesisState(const GenesisState& genesis) = 0;
  // The genesis state root: the state root before block 1, which block 1 executes on.
  // NotFound when no genesis state was written; DataLoss when the stored root is malformed.
  virtual absl::StatusOr<Hash256> GenesisStateRoot() const = 0;

  // Height of the last stored block; 0 for an empty store.
  virtual uint64_t HeadHeight() const = 0;
  // Hash of the last stored block; zero for an empty store.
  virtual Hash256 HeadBlockHash() const = 0;

  // The serialized Block at `height`, checked against its record checksum. NotFound names the
  // height; DataLoss when the stored record is corrupt.
  virtual absl::StatusOr<Bytes> GetBlock(uint64_t height) const = 0;
  // Height of the block whose hash is `block_hash`; NotFound names the hash.
  virtual absl::StatusOr<uint64_t> GetHeightByHash(const Hash256& block_hash) const = 0;
  // Location of the transaction with id `tx_id`; NotFound names the id.
  virtual absl::StatusOr<TxLocation> GetTxLocation(const Hash256& tx_id) const = 0;
  // The serialized Commit that committed the block at `height`, checked against its record
  // checksum. NotFound names the height; DataLoss when the record is corrupt.
  virtual absl::StatusOr<Bytes> GetCommit(uint64_t height) const = 0;
  // The current value stored under `state_key`; NotFound names the key.
  virtual absl::StatusOr<Bytes> GetStateValue(const Hash256& state_key) const = 0;

  // Reader over the stored state tree nodes, valid as long as the store. Thread-safe.
  virtual const crypto::SmtNodeReader& StateNodes() const = 0;

  // Re-checks the stored chain from height 1 to the head. OK, or DataLoss whose message starts
  // with "block store corrupt at height H: " and says what is wrong at the first bad height.
  virtual absl::Status Verify() const = 0;
};

}  // namespace lading::node

#endif  // LADING_NODE_BLOCK_STORE_H_
