// RocksDbBlockStore: the BlockStore on RocksDB, one database directory per chain.
//
// Storage format (format version 1; docs/STORAGE.md has the full description). Column families,
// all integers big-endian so keys sort numerically:
//   blocks       u64 height            -> block record
//   block_index  32-byte block hash    -> u64 height
//   tx_index     32-byte tx id         -> u64 height || u32 index in the block
//   commits      u64 height            -> commit record
//   state_nodes  32-byte node hash     -> 65-byte SmtNode encoding (crypto/smt_node.h)
//   state        32-byte state key     -> value bytes (current state, latest block)
//   meta         "format_version" -> u32, "chain_id" -> UTF-8 bytes, "head_height" -> u64,
//                "genesis_state_root" -> 32-byte root of the state before block 1
// Records carry a 32-byte integrity checksum in front of the payload:
//   block record  = H("lading/store/record", u64 height || block) || block
//   commit record = H("lading/store/commit-record", u64 height || commit) || commit
// The height inside the checksum ties a record to its key, so a record copied to another height
// fails the check; the distinct labels keep block and commit records apart.
//
// Every Append is one rocksdb::WriteBatch (block, indexes, commit, state nodes, state values and
// the new head together) written with WriteOptions::sync, so it is atomic and durable.
//
// Verify walks heights 1..head and checks at each height H, in this order: the block record
// checksum; Block and BlockHeader decode; header height == H; header chain id == the store's;
// prev_block_hash == hash of block H-1 (empty or zero at H = 1); txs_root == the recomputed root;
// every tx id indexed at (H, i); last_commit_hash == H(last_commit), and last_commit is for
// height H-1 and block H-1's hash (both empty at H = 1); state_root is zero or a stored node that
// re-hashes to it; block_index maps the block hash to H; the commit record checksum, and the
// stored commit is for height H and this block's hash. It also checks that no block record sits
// above the head, and walks the whole state tree under the head's state_root, re-hashing every
// node and checking its canonical shape (leaves on their key's path, internal nodes above two or
// more keys); with no block yet it walks the genesis state tree instead, and with blocks it checks
// that the genesis root node is stored. Verify does NOT check commit signatures (that needs the committee, which lives in
// the state: block sync and start-up do it), transaction signatures (txs_root pins their bytes,
// but whether they verify needs the members' keys from the state), the state trees of blocks below the head beyond their root node, nor
// the `state` values against the tree's leaves.
//
// Ownership: the store owns the RocksDB handle and closes it on destruction.
// Thread-safety: thread-safe (see BlockStore); Appends are serialized by an internal mutex.
#ifndef LADING_NODE_ROCKSDB_BLOCK_STORE_H_
#define LADING_NODE_ROCKSDB_BLOCK_STORE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "node/block_store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace lading::node {

// The storage format version this build reads and writes.
inline constexpr uint32_t kBlockStoreFormatVersion = 1;

// Column family names, in the order of RocksDbBlockStore's handles.
inline constexpr std::string_view kBlocksColumnFamily = "blocks";
inline constexpr std::string_view kBlockIndexColumnFamily = "block_index";
inline constexpr std::string_view kTxIndexColumnFamily = "tx_index";
inline constexpr std::string_view kCommitsColumnFamily = "commits";
inline constexpr std::string_view kStateNodesColumnFamily = "state_nodes";
inline constexpr std::string_view kStateColumnFamily = "state";
inline constexpr std::string_view kMetaColumnFamily = "meta";
inline constexpr std::array<std::string_view, 7> kBlockStoreColumnFamilies = {
    kBlocksColumnFamily,     kBlockIndexColumnFamily, kTxIndexColumnFamily, kCommitsColumnFamily,
    kStateNodesColumnFamily, kStateColumnFamily,      kMetaColumnFamily};

// Keys in the meta column family.
inline constexpr std::string_view kMetaFormatVersionKey = "format_version";
inline constexpr std::string_view kMetaChainIdKey = "chain_id";
inline constexpr std::string_view kMetaHeadHeightKey = "head_height";
inline constexpr std::string_view kMetaGenesisStateRootKey = "genesis_state_root";

// Record and key encodings (the format above), public for tools and tests that read or repair a
// store directly.
Bytes EncodeHeightKey(uint64_t height);
Bytes EncodeTxLocation(const TxLocation& location);
Bytes EncodeBlockRecord(uint64_t height, ByteSpan block);
Bytes EncodeCommitRecord(uint64_t height, ByteSpan commit);
// The payload of a record stored at `height` (a view into `record`), or DataLoss when the record
// is shorter than its checksum or the checksum does not match.
absl::StatusOr<ByteSpan> DecodeBlockRecord(uint64_t height, ByteSpan record);
absl::StatusOr<ByteSpan> DecodeCommitRecord(uint64_t height, ByteSpan record);

struct RocksDbBlockStoreOptions {
  // The chain this store holds. REQUIRED: not empty. A new store records it; an existing store
  // holding another chain refuses to open.
  std::string chain_id;
  // Create the directory and an empty store when `path` holds none.
  bool create_if_missing = true;
};

class RocksDbBlockStore final : public BlockStore {
 public:
  // Opens (or creates) the store at `path`, creating missing column families. Fails with
  // InvalidArgument for an empty chain id, FailedPrecondition when the store has another format
  // version or chain id, NotFound when it does not exist and create_if_missing is false,
  // DataLoss when its head block cannot be read, Internal for other RocksDB errors (the message
  // names the path and carries RocksDB's).
  static absl::StatusOr<std::unique_ptr<RocksDbBlockStore>> Open(
      const std::string& path, const RocksDbBlockStoreOptions& options);
  // Open followed by Verify: a store that fails verification is closed again and its Verify
  // error returned. This is how a node opens its store before serving (DESIGN §4).
  static absl::StatusOr<std::unique_ptr<RocksDbBlockStore>> OpenForServing(
      const std::string& path, const RocksDbBlockStoreOptions& options);

  ~RocksDbBlockStore() override;
  RocksDbBlockStore(const RocksDbBlockStore&) = delete;
  RocksDbBlockStore& operator=(const RocksDbBlockStore&) = delete;

  absl::Status Append(const BlockToAppend& block) override;
  absl::Status WriteGenesisState(const GenesisState& genesis) override;
  absl::StatusOr<Hash256> GenesisStateRoot() const override;
  uint64_t HeadHeight() const override;
  Hash256 HeadBlockHash() const override;
  absl::StatusOr<Bytes> GetBlock(uint64_t height) const override;
  absl::StatusOr<uint64_t> GetHeightByHash(const Hash256& block_hash) const override;
  absl::StatusOr<TxLocation> GetTxLocation(const Hash256& tx_id) const override;
  absl::StatusOr<Bytes> GetCommit(uint64_t height) const override;
  absl::StatusOr<Bytes> GetStateValue(const Hash256& state_key) const override;
  const crypto::SmtNodeReader& StateNodes() const override;
  absl::Status Verify() const override;

  const std::string& path() const { return path_; }
  const std::string& chain_id() const { return chain_id_; }

 private:
  class NodeReader;
  class Verifier;
  struct Head {
    uint64_t height = 0;
    Hash256 block_hash;
  };

  RocksDbBlockStore(std::string path, std::string chain_id);
  absl::Status Initialize(bool create_if_missing);
  // Append's checks of the block against the head and itself; fills the block's tx ids.
  absl::Status CheckAppend(const BlockToAppend& append, const proto::Block& block,
                           const Head& head, const Hash256& block_hash,
                           std::vector<Hash256>* tx_ids) const;
  // Append's check that the new state nodes hash to their keys and, with the stored ones, hold
  // the whole tree under the header's state_root.
  absl::Status CheckStateTree(const BlockToAppend& append) const;
  // The same for any root and new nodes; errors start with `what` ("block 7", "genesis").
  absl::Status CheckStateTree(const std::string& what, const Hash256& state_root,
                              const crypto::SmtNodeBatch& state_nodes) const;
  // The meta genesis_state_root: std::nullopt when absent, DataLoss when malformed.
  absl::StatusOr<std::optional<Hash256>> ReadGenesisStateRoot() const;
  Head LoadHead() const;

  const std::string path_;
  const std::string chain_id_;
  std::unique_ptr<rocksdb::DB> db_;
  // The default column family, then kBlockStoreColumnFamilies in order; destroyed before db_.
  std::vector<rocksdb::ColumnFamilyHandle*> column_families_;
  std::unique_ptr<NodeReader> node_reader_;

  std::mutex append_mutex_;  // held for a whole Append
  mutable std::mutex head_mutex_;
  Head head_;  // guarded by head_mutex_
};

}  // namespace lading::node

#endif  // LADING_NODE_ROCKSDB_BLOCK_STORE_H_
