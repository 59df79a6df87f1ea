#include "node/rocksdb_block_store.h"

#include <google/protobuf/util/message_differencer.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <filesystem>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

// Position of each column family in column_families_: the default column family (unused, but
// RocksDB requires it open) comes first, then kBlockStoreColumnFamilies in order.
enum class Cf : size_t {
  kBlocks = 1,
  kBlockIndex,
  kTxIndex,
  kCommits,
  kStateNodes,
  kState,
  kMeta,
};

constexpr size_t kChecksumBytes = Hash256::kSize;
constexpr size_t kTxLocationBytes = 12;

rocksdb::Slice ToSlice(ByteSpan bytes) {
  return rocksdb::Slice(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
rocksdb::Slice ToSlice(std::string_view text) { return rocksdb::Slice(text.data(), text.size()); }
rocksdb::Slice ToSlice(const Hash256& hash) { return ToSlice(hash.span()); }
ByteSpan ToSpan(const rocksdb::Slice& slice) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(slice.data()), slice.size());
}

std::string Quoted(std::string_view text) { return absl::StrCat("'", std::string(text), "'"); }

// RocksDB statuses never leave node/ (STYLE.md): corruption becomes DataLoss, the rest Internal.
absl::Status FromRocksDb(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": RocksDB: ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

Hash256 RecordChecksum(std::string_view label, uint64_t height, ByteSpan payload) {
  Bytes height_key = EncodeHeightKey(height);
  return crypto::HashWithLabel(label, {ByteSpan(height_key), payload});
}

Bytes EncodeRecord(std::string_view label, uint64_t height, ByteSpan payload) {
  const Hash256 checksum = RecordChecksum(label, height, payload);
  Bytes record(kChecksumBytes + payload.size());
  std::copy(checksum.bytes.begin(), checksum.bytes.end(), record.begin());
  std::copy(payload.begin(), payload.end(), record.begin() + kChecksumBytes);
  return record;
}

absl::StatusOr<ByteSpan> DecodeRecord(std::string_view label, const char* kind, uint64_t height,
                                      ByteSpan record) {
  if (record.size() < kChecksumBytes) {
    return absl::DataLossError(absl::StrCat(kind, " record at height ", height, " is ",
                                            record.size(), " bytes, shorter than its ",
                                            kChecksumBytes, "-byte checksum"));
  }
  const ByteSpan payload = record.subspan(kChecksumBytes);
  const Hash256 expected = RecordChecksum(label, height, payload);
  if (!std::equal(expected.bytes.begin(), expected.bytes.end(), record.begin())) {
    return absl::DataLossError(absl::StrCat(kind, " record at height ", height,
                                            " does not match its checksum"));
  }
  return payload;
}

// Height 1 has no predecessor: its prev_block_hash and last_commit_hash may be empty or zero.
bool IsEmptyOrZeroHash(const std::string& hash) {
  return hash.empty() ||
         (hash.size() == Hash256::kSize && std::all_of(hash.begin(), hash.end(),
                                                       [](char c) { return c == 0; }));
}

bool SameHash(const std::string& bytes, const Hash256& hash) {
  return bytes.size() == Hash256::kSize &&
         std::equal(hash.bytes.begin(), hash.bytes.end(),
                    reinterpret_cast<const uint8_t*>(bytes.data()));
}

std::string HexOf(const std::string& bytes) { return HexEncode(AsBytes(bytes)); }

// True when the first `depth` bits of `key` are those of `path`: in the canonical sparse Merkle
// tree a leaf sits on its own key's path.
bool OnPath(const Hash256& key, const Hash256& path, size_t depth) {
  for (size_t bit = 0; bit < depth; ++bit) {
    if (key.Bit(bit) != path.Bit(bit)) return false;
  }
  return true;
}

absl::StatusOr<Hash256> HashField(const std::string& bytes, const char* field) {
  auto hash = Hash256::FromBytes(AsBytes(bytes));
  if (!hash.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", bytes.size(), " bytes, expected ", Hash256::kSize));
  }
  return *hash;
}

absl::StatusOr<uint64_t> DecodeHeightValue(const std::string& value, const char* what) {
  if (value.size() != 8) {
    return absl::DataLossError(absl::StrCat(what, " is ", value.size(), " bytes, expected 8"));
  }
  return ReadUint64BigEndian(AsBytes(value));
}

absl::StatusOr<TxLocation> DecodeTxLocation(const std::string& value) {
  if (value.size() != kTxLocationBytes) {
    return absl::DataLossError(absl::StrCat("tx_index entry is ", value.size(), " bytes, expected ",
                                            kTxLocationBytes));
  }
  const ByteSpan bytes = AsBytes(value);
  return TxLocation{.height = ReadUint64BigEndian(bytes),
                    .index = ReadUint32BigEndian(bytes.subspan(8))};
}

rocksdb::ColumnFamilyOptions ColumnFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  // Most reads are point lookups (indexes, state nodes) and Append probes tx_index for ids that
  // are usually absent: a Bloom filter answers those without touching data blocks.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The same for the memtable, where the recent tx ids sit: without it every probe walks the
  // skip list.
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.02;
  return options;
}

}  // namespace

Bytes EncodeHeightKey(uint64_t height) {
  Bytes key;
  AppendUint64BigEndian(height, &key);
  return key;
}

Bytes EncodeTxLocation(const TxLocation& location) {
  Bytes value;
  AppendUint64BigEndian(location.height, &value);
  AppendUint32BigEndian(location.index, &value);
  return value;
}

Bytes EncodeBlockRecord(uint64_t height, ByteSpan block) {
  return EncodeRecord(crypto::kLabelStoreRecord, height, block);
}

Bytes EncodeCommitRecord(uint64_t height, ByteSpan commit) {
  return EncodeRecord(crypto::kLabelStoreCommitRecord, height, commit);
}

absl::StatusOr<ByteSpan> DecodeBlockRecord(uint64_t height, ByteSpan record) {
  return DecodeRecord(crypto::kLabelStoreRecord, "block", height, record);
}

absl::StatusOr<ByteSpan> DecodeCommitRecord(uint64_t height, ByteSpan record) {
  return DecodeRecord(crypto::kLabelStoreCommitRecord, "commit", height, record);
}

// ---------------------------------------------------------------------------------------------
// Reading helpers shared by the store, its node reader and its verifier.

namespace {

class Reader {
 public:
  Reader(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* column_families,
         const rocksdb::Snapshot* snapshot = nullptr)
      : db_(db), column_families_(column_families) {
    options_.snapshot = snapshot;
  }

  // The value under `key`, std::nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(Cf cf, rocksdb::Slice key) const {
    std::string value;
    const rocksdb::Status status =
        db_->Get(options_, (*column_families_)[static_cast<size_t>(cf)], key, &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) {
      return FromRocksDb(status, absl::StrCat("reading column family ",
                                              std::string(kBlockStoreColumnFamilies[static_cast<size_t>(cf) - 1])));
    }
    return std::optional<std::string>(std::move(value));
  }

  rocksdb::Iterator* NewIterator(Cf cf) const {
    return db_->NewIterator(options_, (*column_families_)[static_cast<size_t>(cf)]);
  }

 private:
  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* column_families_;
  rocksdb::ReadOptions options_;
};

}  // namespace

// State tree nodes are content-addressed and never change, so a cache of them can never be
// stale. Every transaction's update walks the tree from the root, so the upper levels are read
// for every key: without the cache those reads dominate block execution. Sharded, each shard
// a map under its own mutex; a full shard is emptied (the hot upper nodes come back at once).
class NodeCache {
 public:
  static constexpr size_t kShards = 16;
  explicit NodeCache(size_t entries_max) : shard_entries_max_(entries_max / kShards + 1) {}

  std::optional<crypto::SmtNode> Find(const Hash256& node_hash) const {
    const Shard& shard = ShardOf(node_hash);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.nodes.find(node_hash);
    if (it == shard.nodes.end()) return std::nullopt;
    return it->second;
  }

  // REQUIRES: node hashes to node_hash (the caller checked it).
  void Insert(const Hash256& node_hash, const crypto::SmtNode& node) {
    Shard& shard = ShardOf(node_hash);
    std::lock_guard lock(shard.mutex);
    if (shard.nodes.size() >= shard_entries_max_) shard.nodes.clear();
    shard.nodes.emplace(node_hash, node);
  }

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<Hash256, crypto::SmtNode, Hash256Hasher> nodes;  // guarded by mutex
  };
  const Shard& ShardOf(const Hash256& hash) const { return shards_[hash.bytes[0] % kShards]; }
  Shard& ShardOf(const Hash256& hash) { return shards_[hash.bytes[0] % kShards]; }

  const size_t shard_entries_max_;
  std::array<Shard, kShards> shards_;
};

class RocksDbBlockStore::NodeReader final : public crypto::SmtNodeReader {
 public:
  // About 130 bytes a node: 64 MiB at most.
  static constexpr size_t kCacheEntriesMax = 1u << 19;

  explicit NodeReader(Reader reader) : reader_(reader), cache_(kCacheEntriesMax) {}

  // Nodes just written by an Append (checked against their hashes by it).
  void Remember(const crypto::SmtNodeBatch& nodes) {
    for (const auto& [node_hash, node] : nodes) cache_.Insert(node_hash, node);
  }

  absl::StatusOr<std::optional<crypto::SmtNode>> Get(const Hash256& node_hash) const override {
    if (std::optional<crypto::SmtNode> cached = cache_.Find(node_hash)) return cached;
    LADING_ASSIGN_OR_RETURN(std::optional<std::string> value,
                            reader_.Get(Cf::kStateNodes, ToSlice(node_hash)));
    if (!value) return std::optional<crypto::SmtNode>();
    auto node = crypto::SmtNode::Decode(AsBytes(*value));
    if (!node.ok()) {
      return absl::DataLossError(absl::StrCat("state node ", node_hash.ToHex(),
                                              " does not decode: ", node.status().message()));
    }
    // Re-hashing costs far less than the lookup and catches a corrupted node before it feeds a
    // proof or an update.
    const Hash256 rehash = node->Hash();
    if (rehash != node_hash) {
      return absl::DataLossError(
          absl::StrCat("state node ", node_hash.ToHex(), " re-hashes to ", rehash.ToHex()));
    }
    cache_.Insert(node_hash, *node);
    return std::optional<crypto::SmtNode>(*node);
  }

 private:
  Reader reader_;
  mutable NodeCache cache_;
};

// ---------------------------------------------------------------------------------------------
// Verify.

class RocksDbBlockStore::Verifier {
 public:
  explicit Verifier(const RocksDbBlockStore& store)
      : store_(store),
        snapshot_(store.db_->GetSnapshot()),
        reader_(store.db_.get(), &store.column_families_, snapshot_),
        nodes_(reader_) {}
  ~Verifier() { store_.db_->ReleaseSnapshot(snapshot_); }
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  absl::Status Run() {
    LADING_ASSIGN_OR_RETURN(std::optional<std::string> head_value,
                            reader_.Get(Cf::kMeta, ToSlice(kMetaHeadHeightKey)));
    uint64_t head = 0;
    if (head_value) {
      auto decoded = DecodeHeightValue(*head_value, "meta head_height");
      if (!decoded.ok()) return Corrupt(decoded.status().message());
      head = *decoded;
    }
    LADING_RETURN_IF_ERROR(CheckNothingAbove(Cf::kBlocks, "block", head));
    LADING_RETURN_IF_ERROR(CheckNothingAbove(Cf::kCommits, "commit", head));
    LADING_ASSIGN_OR_RETURN(std::optional<std::string> genesis_value,
                            reader_.Get(Cf::kMeta, ToSlice(kMetaGenesisStateRootKey)));
    std::optional<Hash256> genesis_root;
    if (genesis_value) {
      auto root = Hash256::FromBytes(AsBytes(*genesis_value));
      if (!root.ok()) {
        return Corrupt(absl::StrCat("meta genesis_state_root is ", genesis_value->size(),
                                    " bytes, expected ", Hash256::kSize));
      }
      genesis_root = *root;
    }

    Hash256 prev_hash;
    Hash256 state_root;
    for (uint64_t height = 1; height <= head; ++height) {
      const absl::Status status = CheckHeight(height, &prev_hash, &state_root);
      if (!status.ok()) return CorruptAt(height, status);
    }
    if (head > 0) {
      const absl::Status status = CheckStateTree(state_root);
      if (!status.ok()) return CorruptAt(head, status);
    }
    if (genesis_root) {
      // With no block yet the genesis tree is the current state and is walked whole; below
      // blocks only its root node is checked, as for older blocks' roots.
      const absl::Status status = head == 0 ? CheckStateTree(*genesis_root)
                                            : CheckRootStored(*genesis_root, "genesis state_root ");
      if (!status.ok()) return CorruptGenesis(status);
    }
    return absl::OkStatus();
  }

 private:
  static absl::Status Corrupt(absl::string_view reason) {
    return absl::DataLossError(absl::StrCat("block store corrupt: ", reason));
  }
  static absl::Status CorruptAt(uint64_t height, const absl::Status& reason) {
    if (reason.code() == absl::StatusCode::kInternal) {
      // An I/O failure is not evidence of corruption; report it as what it is.
      return absl::InternalError(absl::StrCat("verifying block store at height ", height, ": ",
                                              reason.message()));
    }
    return absl::DataLossError(
        absl::StrCat("block store corrupt at height ", height, ": ", reason.message()));
  }

  static absl::Status CorruptGenesis(const absl::Status& reason) {
    if (reason.code() == absl::StatusCode::kInternal) {
      return absl::InternalError(
          absl::StrCat("verifying block store genesis state: ", reason.message()));
    }
    return Corrupt(absl::StrCat("genesis state: ", reason.message()));
  }

  absl::Status CheckRootStored(const Hash256& root, const char* what) {
    if (root.IsZero()) return absl::OkStatus();
    auto node = nodes_.Get(root);
    if (!node.ok()) return node.status();
    if (!*node) return Fail(what, root.ToHex(), " is not in state_nodes");
    return absl::OkStatus();
  }

  absl::Status CheckNothingAbove(Cf cf, const char* kind, uint64_t head) {
    std::unique_ptr<rocksdb::Iterator> it(reader_.NewIterator(cf));
    it->SeekToLast();
    if (it->Valid()) {
      const rocksdb::Slice key = it->key();
      if (key.size() != 8) {
        return Corrupt(absl::StrCat(kind, " record key of ", key.size(), " bytes, expected 8"));
      }
      const uint64_t height = ReadUint64BigEndian(ToSpan(key));
      if (height > head) {
        return CorruptAt(height, absl::DataLossError(absl::StrCat(
                                     kind, " record above the head height ", head)));
      }
    }
    return FromRocksDb(it->status(), "scanning the block store");
  }

  // On success *prev_hash becomes this block's hash and *state_root its state root.
  absl::Status CheckHeight(uint64_t height, Hash256* prev_hash, Hash256* state_root) {
    const Bytes key = EncodeHeightKey(height);
    LADING_ASSIGN_OR_RETURN(std::optional<std::string> record,
                            reader_.Get(Cf::kBlocks, ToSlice(key)));
    if (!record) return absl::DataLossError("block record missing");
    auto block_bytes = DecodeBlockRecord(height, AsBytes(*record));
    if (!block_bytes.ok()) return block_bytes.status();
    auto block = proto::DecodeBlock(*block_bytes);
    if (!block.ok()) return Fail("block does not decode: ", block.status().message());
    auto header = proto::DecodeBlockHeader(AsBytes(block->header()));
    if (!header.ok()) return Fail("header does not decode: ", header.status().message());
    const Hash256 block_hash = proto::BlockHash(AsBytes(block->header()));

    if (header->height() != height) return Fail("header height is ", header->height());
    if (header->chain_id() != store_.chain_id_) {
      return Fail("header chain id ", Quoted(header->chain_id()), " is not the store's chain ",
                  Quoted(store_.chain_id_));
    }
    if (height == 1) {
      if (!IsEmptyOrZeroHash(header->prev_block_hash())) {
        return Fail("prev_block_hash ", HexOf(header->prev_block_hash()),
                    " at height 1, expected empty");
      }
    } else if (!SameHash(header->prev_block_hash(), *prev_hash)) {
      return Fail("prev_block_hash ", HexOf(header->prev_block_hash()),
                  " is not the hash of block ", height - 1, " ", prev_hash->ToHex());
    }

    auto tx_ids = proto::TxIds(*block);
    if (!tx_ids.ok()) return Fail("", tx_ids.status().message());
    auto txs_root_or = proto::TxsRoot(*block);
    if (!txs_root_or.ok()) return Fail("", txs_root_or.status().message());
    const Hash256& txs_root = *txs_root_or;
    if (!SameHash(header->txs_root(), txs_root)) {
      return Fail("txs_root ", HexOf(header->txs_root()), " does not match the transactions' root ",
                  txs_root.ToHex());
    }
    for (size_t i = 0; i < tx_ids->size(); ++i) {
      const Hash256& id = (*tx_ids)[i];
      LADING_ASSIGN_OR_RETURN(std::optional<std::string> value,
                              reader_.Get(Cf::kTxIndex, ToSlice(id)));
      if (!value) return Fail("transaction ", i, " (id ", id.ToHex(), ") is not in tx_index");
      auto location = DecodeTxLocation(*value);
      if (!location.ok()) return Fail("transaction ", i, ": ", location.status().message());
      if (*location != TxLocation{.height = height, .index = static_cast<uint32_t>(i)}) {
        return Fail("tx_index maps transaction ", i, " (id ", id.ToHex(), ") to height ",
                    location->height, " index ", location->index);
      }
    }

    if (height == 1) {
      if (!block->last_commit().empty() || !IsEmptyOrZeroHash(header->last_commit_hash())) {
        return Fail("last_commit or last_commit_hash is not empty at height 1");
      }
    } else {
      const Hash256 last_commit_hash = proto::CommitHash(AsBytes(block->last_commit()));
      if (!SameHash(header->last_commit_hash(), last_commit_hash)) {
        return Fail("last_commit_hash ", HexOf(header->last_commit_hash()),
                    " does not match the hash of last_commit ", last_commit_hash.ToHex());
      }
      auto last_commit = proto::DecodeCommit(AsBytes(block->last_commit()));
      if (!last_commit.ok()) return Fail("last_commit does not decode: ", last_commit.status().message());
      if (last_commit->height() != height - 1) {
        return Fail("last_commit is for height ", last_commit->height(), ", expected ", height - 1);
      }
      if (!SameHash(last_commit->block_hash(), *prev_hash)) {
        return Fail("last_commit is for block ", HexOf(last_commit->block_hash()),
                    ", not block ", height - 1, " ", prev_hash->ToHex());
      }
    }

    auto root = HashField(header->state_root(), "state_root");
    if (!root.ok()) return Fail("", root.status().message());
    LADING_RETURN_IF_ERROR(CheckRootStored(*root, "state_root "));

    LADING_ASSIGN_OR_RETURN(std::optional<std::string> indexed,
                            reader_.Get(Cf::kBlockIndex, ToSlice(block_hash)));
    if (!indexed) return Fail("block_index has no entry for block hash ", block_hash.ToHex());
    auto indexed_height = DecodeHeightValue(*indexed, "block_index entry");
    if (!indexed_height.ok()) return indexed_height.status();
    if (*indexed_height != height) {
      return Fail("block_index maps block hash ", block_hash.ToHex(), " to height ",
                  *indexed_height);
    }

    LADING_ASSIGN_OR_RETURN(std::optional<std::string> commit_record,
                            reader_.Get(Cf::kCommits, ToSlice(key)));
    if (!commit_record) return absl::DataLossError("commit record missing");
    auto commit_bytes = DecodeCommitRecord(height, AsBytes(*commit_record));
    if (!commit_bytes.ok()) return commit_bytes.status();
    auto commit = proto::DecodeCommit(*commit_bytes);
    if (!commit.ok()) return Fail("stored commit does not decode: ", commit.status().message());
    if (commit->height() != height) return Fail("stored commit is for height ", commit->height());
    if (!SameHash(commit->block_hash(), block_hash)) {
      return Fail("stored commit is for block ", HexOf(commit->block_hash()), ", not ",
                  block_hash.ToHex());
    }

    *prev_hash = block_hash;
    *state_root = *root;
    return absl::OkStatus();
  }

  // Walks the whole tree under `root`, re-hashing every node (NodeReader::Get does) and checking
  // the canonical shape of crypto/sparse_merkle_tree.h.
  absl::Status CheckStateTree(const Hash256& root) {
    if (root.IsZero()) return absl::OkStatus();
    size_t keys = 0;
    return CheckSubtree(root, Hash256{}, 0, &keys);
  }

  // `path` holds the first `depth` bits leading to `node_hash`; *keys receives the number of
  // leaves below it, counted up to 2 (all the shape check needs).
  absl::Status CheckSubtree(const Hash256& node_hash, const Hash256& path, size_t depth,
                            size_t* keys) {
    auto node = nodes_.Get(node_hash);
    if (!node.ok()) return node.status();
    if (!*node) {
      return Fail("state node ", node_hash.ToHex(), " at depth ", depth,
                  " under the head state_root is missing");
    }
    if ((*node)->kind == crypto::SmtNode::Kind::kLeaf) {
      if (!OnPath((*node)->key, path, depth)) {
        return Fail("state leaf ", node_hash.ToHex(), " for key ", (*node)->key.ToHex(),
                    " sits at depth ", depth, " off its key's path");
      }
      *keys = 1;
      return absl::OkStatus();
    }
    if (depth >= 256) {
      return Fail("state node ", node_hash.ToHex(), " is an internal node at depth 256");
    }
    size_t left_keys = 0;
    size_t right_keys = 0;
    if (!(*node)->left.IsZero()) {
      LADING_RETURN_IF_ERROR(CheckSubtree((*node)->left, path, depth + 1, &left_keys));
    }
    if (!(*node)->right.IsZero()) {
      Hash256 right_path = path;
      right_path.bytes[depth / 8] |= static_cast<uint8_t>(0x80 >> (depth % 8));
      LADING_RETURN_IF_ERROR(CheckSubtree((*node)->right, right_path, depth + 1, &right_keys));
    }
    if (left_keys + right_keys < 2) {
      return Fail("state node ", node_hash.ToHex(),
                  " is an internal node above fewer than two keys (not canonical)");
    }
    *keys = 2;
    return absl::OkStatus();
  }

  template <typename... Parts>
  static absl::Status Fail(const Parts&... parts) {
    return absl::DataLossError(absl::StrCat(parts...));
  }

  const RocksDbBlockStore& store_;
  const rocksdb::Snapshot* snapshot_;
  Reader reader_;
  NodeReader nodes_;
};

// ---------------------------------------------------------------------------------------------
// Open and close.

RocksDbBlockStore::RocksDbBlockStore(std::string path, std::string chain_id)
    : path_(std::move(path)), chain_id_(std::move(chain_id)) {}

RocksDbBlockStore::~RocksDbBlockStore() {
  if (db_ == nullptr) return;
  node_reader_.reset();
  for (rocksdb::ColumnFamilyHandle* handle : column_families_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::unique_ptr<RocksDbBlockStore>> RocksDbBlockStore::Open(
    const std::string& path, const RocksDbBlockStoreOptions& options) {
  if (options.chain_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("opening block store ", path, ": the chain id is empty"));
  }
  std::unique_ptr<RocksDbBlockStore> store(new RocksDbBlockStore(path, options.chain_id));
  LADING_RETURN_IF_ERROR(store->Initialize(options.create_if_missing));
  return store;
}

absl::StatusOr<std::unique_ptr<RocksDbBlockStore>> RocksDbBlockStore::OpenForServing(
    const std::string& path, const RocksDbBlockStoreOptions& options) {
  LADING_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbBlockStore> store, Open(path, options));
  LADING_RETURN_IF_ERROR(store->Verify());
  return store;
}

absl::Status RocksDbBlockStore::Initialize(bool create_if_missing) {
  std::error_code error;
  if (!create_if_missing && !std::filesystem::exists(std::filesystem::path(path_) / "CURRENT", error)) {
    return absl::NotFoundError(absl::StrCat("no block store at ", path_));
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 4;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, ColumnFamilyOptions());
  for (std::string_view name : kBlockStoreColumnFamilies) {
    descriptors.emplace_back(std::string(name), ColumnFamilyOptions());
  }
  rocksdb::DB* db = nullptr;
  LADING_RETURN_IF_ERROR(FromRocksDb(
      rocksdb::DB::Open(db_options, path_, descriptors, &column_families_, &db),
      absl::StrCat("opening block store ", path_)));
  db_.reset(db);
  node_reader_ = std::make_unique<NodeReader>(Reader(db_.get(), &column_families_));

  const Reader reader(db_.get(), &column_families_);
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> version,
                          reader.Get(Cf::kMeta, ToSlice(kMetaFormatVersionKey)));
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> chain_id,
                          reader.Get(Cf::kMeta, ToSlice(kMetaChainIdKey)));
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> head_value,
                          reader.Get(Cf::kMeta, ToSlice(kMetaHeadHeightKey)));
  if (!version) {
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(Cf::kBlocks));
    it->SeekToFirst();
    LADING_RETURN_IF_ERROR(FromRocksDb(it->status(), absl::StrCat("scanning block store ", path_)));
    if (chain_id || head_value || it->Valid()) {
      return absl::DataLossError(
          absl::StrCat("block store ", path_, " holds data but no format version"));
    }
    Bytes version_bytes;
    AppendUint32BigEndian(kBlockStoreFormatVersion, &version_bytes);
    rocksdb::WriteBatch batch;
    rocksdb::ColumnFamilyHandle* meta = column_families_[static_cast<size_t>(Cf::kMeta)];
    LADING_RETURN_IF_ERROR(FromRocksDb(
        batch.Put(meta, ToSlice(kMetaFormatVersionKey), ToSlice(version_bytes)), "batching"));
    LADING_RETURN_IF_ERROR(
        FromRocksDb(batch.Put(meta, ToSlice(kMetaChainIdKey), ToSlice(chain_id_)), "batching"));
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    LADING_RETURN_IF_ERROR(FromRocksDb(db_->Write(write_options, &batch),
                                       absl::StrCat("initialising block store ", path_)));
    return absl::OkStatus();
  }

  if (version->size() != 4) {
    return absl::DataLossError(absl::StrCat("block store ", path_, " format_version is ",
                                            version->size(), " bytes, expected 4"));
  }
  const uint32_t stored_version = ReadUint32BigEndian(AsBytes(*version));
  if (stored_version != kBlockStoreFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("block store ", path_, " has format version ", stored_version,
                     "; this build reads version ", kBlockStoreFormatVersion));
  }
  if (!chain_id) {
    return absl::DataLossError(absl::StrCat("block store ", path_, " has no chain id"));
  }
  if (*chain_id != chain_id_) {
    return absl::FailedPreconditionError(absl::StrCat("block store ", path_, " holds chain ",
                                                      Quoted(*chain_id), ", not ",
                                                      Quoted(chain_id_)));
  }
  if (!head_value) return absl::OkStatus();

  auto head_height = DecodeHeightValue(*head_value, "meta head_height");
  if (!head_height.ok()) {
    return absl::DataLossError(absl::StrCat("block store ", path_, " is corrupt: ",
                                            head_height.status().message()));
  }
  if (*head_height == 0) return absl::OkStatus();
  // The head's hash is what the next Append links to, so it is read and checked here; the rest
  // of the chain is Verify's job.
  auto head_block = GetBlock(*head_height);
  if (!head_block.ok()) {
    return absl::DataLossError(absl::StrCat("block store corrupt at height ", *head_height,
                                            ": head block unreadable: ",
                                            head_block.status().message()));
  }
  auto block = proto::DecodeBlock(*head_block);
  if (!block.ok()) {
    return absl::DataLossError(absl::StrCat("block store corrupt at height ", *head_height,
                                            ": head block does not decode: ",
                                            block.status().message()));
  }
  std::lock_guard lock(head_mutex_);
  head_ = Head{.height = *head_height, .block_hash = proto::BlockHash(AsBytes(block->header()))};
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Append.

absl::Status RocksDbBlockStore::Append(const BlockToAppend& append) {
  std::lock_guard append_lock(append_mutex_);
  const Head head = LoadHead();
  const uint64_t height = head.height + 1;

  auto block = proto::DecodeBlock(append.block);
  if (!block.ok()) return block.status();
  const Hash256 block_hash = proto::BlockHash(AsBytes(block->header()));
  std::vector<Hash256> tx_ids;
  LADING_RETURN_IF_ERROR(CheckAppend(append, *block, head, block_hash, &tx_ids));
  LADING_RETURN_IF_ERROR(CheckStateTree(append));

  const Bytes height_key = EncodeHeightKey(height);
  auto cf = [this](Cf which) { return column_families_[static_cast<size_t>(which)]; };
  rocksdb::WriteBatch batch;
  rocksdb::Status status;
  // The block record is written as two slices so a block of many megabytes is not copied to
  // prepend its checksum.
  const Hash256 block_checksum =
      RecordChecksum(crypto::kLabelStoreRecord, height, append.block);
  const rocksdb::Slice key_parts[] = {ToSlice(height_key)};
  const rocksdb::Slice record_parts[] = {ToSlice(block_checksum), ToSlice(append.block)};
  status = batch.Put(cf(Cf::kBlocks), rocksdb::SliceParts(key_parts, 1),
                     rocksdb::SliceParts(record_parts, 2));
  if (status.ok()) status = batch.Put(cf(Cf::kBlockIndex), ToSlice(block_hash), ToSlice(height_key));
  std::vector<Bytes> locations;
  locations.reserve(tx_ids.size());
  for (size_t i = 0; i < tx_ids.size() && status.ok(); ++i) {
    locations.push_back(
        EncodeTxLocation(TxLocation{.height = height, .index = static_cast<uint32_t>(i)}));
    status = batch.Put(cf(Cf::kTxIndex), ToSlice(tx_ids[i]), ToSlice(locations.back()));
  }
  const Bytes commit_record = EncodeCommitRecord(height, append.commit);
  if (status.ok()) status = batch.Put(cf(Cf::kCommits), ToSlice(height_key), ToSlice(commit_record));
  std::vector<Bytes> encoded_nodes;
  encoded_nodes.reserve(append.state_nodes.size());
  for (const auto& [node_hash, node] : append.state_nodes) {
    if (!status.ok()) break;
    encoded_nodes.push_back(node.Encode());
    status = batch.Put(cf(Cf::kStateNodes), ToSlice(node_hash), ToSlice(encoded_nodes.back()));
  }
  for (const auto& [state_key, value] : append.state_puts) {
    if (!status.ok()) break;
    status = batch.Put(cf(Cf::kState), ToSlice(state_key), ToSlice(value));
  }
  for (const Hash256& state_key : append.state_deletes) {
    if (!status.ok()) break;
    status = batch.Delete(cf(Cf::kState), ToSlice(state_key));
  }
  if (status.ok()) status = batch.Put(cf(Cf::kMeta), ToSlice(kMetaHeadHeightKey), ToSlice(height_key));
  LADING_RETURN_IF_ERROR(
      FromRocksDb(status, absl::StrCat("preparing the write of block ", height, " to ", path_)));

  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  LADING_RETURN_IF_ERROR(FromRocksDb(db_->Write(write_options, &batch),
                                     absl::StrCat("writing block ", height, " to ", path_)));
  node_reader_->Remember(append.state_nodes);
  std::lock_guard head_lock(head_mutex_);
  head_ = Head{.height = height, .block_hash = block_hash};
  return absl::OkStatus();
}

absl::Status RocksDbBlockStore::CheckAppend(const BlockToAppend& append, const proto::Block& block,
                                            const Head& head, const Hash256& block_hash,
                                            std::vector<Hash256>* tx_ids) const {
  const uint64_t height = head.height + 1;
  auto header = proto::DecodeBlockHeader(AsBytes(block.header()));
  if (!header.ok()) return header.status();
  if (!google::protobuf::util::MessageDifferencer::Equals(*header, append.header)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the decoded header given with block ", append.header.height(),
                     " differs from the header inside the block"));
  }
  if (header->height() != height) {
    return absl::FailedPreconditionError(absl::StrCat("block height ", header->height(),
                                                      " does not follow the head height ",
                                                      head.height, "; expected ", height));
  }
  if (header->chain_id() != chain_id_) {
    return absl::InvalidArgumentError(absl::StrCat("block ", height, " is for chain ",
                                                   Quoted(header->chain_id()), ", this store holds ",
                                                   Quoted(chain_id_)));
  }
  if (height == 1 ? !IsEmptyOrZeroHash(header->prev_block_hash())
                  : !SameHash(header->prev_block_hash(), head.block_hash)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "block ", height, " prev_block_hash ", HexOf(header->prev_block_hash()),
        " is not the head block's hash ", height == 1 ? "(empty)" : head.block_hash.ToHex()));
  }

  LADING_ASSIGN_OR_RETURN(*tx_ids, proto::TxIds(block));
  LADING_ASSIGN_OR_RETURN(const Hash256 txs_root, proto::TxsRoot(block));
  if (!SameHash(header->txs_root(), txs_root)) {
    return absl::InvalidArgumentError(absl::StrCat("block ", height, " txs_root ",
                                                   HexOf(header->txs_root()),
                                                   " does not match its transactions' root ",
                                                   txs_root.ToHex()));
  }
  std::unordered_set<Hash256, Hash256Hasher> seen;
  const Reader reader(db_.get(), &column_families_);
  for (size_t i = 0; i < tx_ids->size(); ++i) {
    const Hash256& id = (*tx_ids)[i];
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("block ", height, " holds transaction ",
                                                     id.ToHex(), " twice"));
    }
    LADING_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                            reader.Get(Cf::kTxIndex, ToSlice(id)));
    if (stored) {
      auto location = DecodeTxLocation(*stored);
      return absl::InvalidArgumentError(absl::StrCat(
          "block ", height, " transaction ", i, " (id ", id.ToHex(), ") is already stored",
          location.ok() ? absl::StrCat(" at height ", location->height, " index ", location->index)
                        : std::string()));
    }
  }

  if (height == 1) {
    if (!block.last_commit().empty() || !IsEmptyOrZeroHash(header->last_commit_hash())) {
      return absl::InvalidArgumentError("block 1 carries a last commit; the first block has none");
    }
  } else {
    const Hash256 last_commit_hash = proto::CommitHash(AsBytes(block.last_commit()));
    if (!SameHash(header->last_commit_hash(), last_commit_hash)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block ", height, " last_commit_hash ", HexOf(header->last_commit_hash()),
          " does not match the hash of its last_commit ", last_commit_hash.ToHex()));
    }
    auto last_commit = proto::DecodeCommit(AsBytes(block.last_commit()));
    if (!last_commit.ok()) return last_commit.status();
    if (last_commit->height() != head.height ||
        !SameHash(last_commit->block_hash(), head.block_hash)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block ", height, " last_commit is for height ", last_commit->height(), " block ",
          HexOf(last_commit->block_hash()), ", not the head ", head.height, " ",
          head.block_hash.ToHex()));
    }
  }

  auto commit = proto::DecodeCommit(append.commit);
  if (!commit.ok()) return commit.status();
  if (commit->height() != height || !SameHash(commit->block_hash(), block_hash)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the commit given with block ", height, " is for height ", commit->height(), " block ",
        HexOf(commit->block_hash()), ", not block ", block_hash.ToHex()));
  }

  std::unordered_set<Hash256, Hash256Hasher> state_keys;
  auto check_key = [&](const Hash256& key) {
    if (state_keys.insert(key).second) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("block ", height, " writes state key ", key.ToHex(), " twice"));
  };
  for (const auto& put : append.state_puts) LADING_RETURN_IF_ERROR(check_key(put.first));
  for (const Hash256& key : append.state_deletes) LADING_RETURN_IF_ERROR(check_key(key));
  return absl::OkStatus();
}

absl::Status RocksDbBlockStore::CheckStateTree(const BlockToAppend& append) const {
  const std::string what = absl::StrCat("block ", append.header.height());
  auto root = HashField(append.header.state_root(), "state_root");
  if (!root.ok()) return absl::InvalidArgumentError(absl::StrCat(what, " ", root.status().message()));
  return CheckStateTree(what, *root, append.state_nodes);
}

absl::Status RocksDbBlockStore::CheckStateTree(const std::string& what, const Hash256& state_root,
                                               const crypto::SmtNodeBatch& state_nodes) const {
  std::unordered_map<Hash256, const crypto::SmtNode*, Hash256Hasher> new_nodes;
  for (const auto& [node_hash, node] : state_nodes) {
    const Hash256 rehash = node.Hash();
    if (rehash != node_hash) {
      return absl::InvalidArgumentError(absl::StrCat(what, " state node listed as ",
                                                     node_hash.ToHex(), " hashes to ",
                                                     rehash.ToHex()));
    }
    new_nodes.emplace(node_hash, &node);
  }
  const Hash256* root = &state_root;
  if (root->IsZero()) return absl::OkStatus();

  // Every stored node already heads a complete, canonical subtree (each Append checked its own
  // new nodes), so only the new nodes are walked: each child must be empty, new, or stored; a
  // leaf must sit on its key's path; an internal node must have two or more keys below it.
  auto incomplete = [&](const Hash256& node_hash) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " state tree under state_root ", root->ToHex(), " is incomplete: node ",
        node_hash.ToHex(), " is neither among the new state nodes nor stored"));
  };
  auto not_canonical = [&](const Hash256& node_hash, std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(what, " state node ",
                                                   node_hash.ToHex(), " ", std::string(why)));
  };
  // The kind of a child that is not new, read from the store (through the node cache: the
  // siblings of this block's paths are mostly the nodes the execution just read).
  auto stored_kind = [&](const Hash256& node_hash) -> absl::StatusOr<crypto::SmtNode> {
    LADING_ASSIGN_OR_RETURN(std::optional<crypto::SmtNode> stored,
                            node_reader_->Get(node_hash));
    if (!stored) return incomplete(node_hash);
    return *stored;
  };

  if (!new_nodes.contains(*root)) return stored_kind(*root).status();
  struct Pending {
    Hash256 node_hash;
    Hash256 path;  // the first `depth` bits lead here
    size_t depth;
  };
  std::vector<Pending> pending = {Pending{*root, Hash256{}, 0}};
  std::unordered_set<Hash256, Hash256Hasher> visited;
  while (!pending.empty()) {
    const Pending at = pending.back();
    pending.pop_back();
    if (!visited.insert(at.node_hash).second) {
      return not_canonical(at.node_hash, "appears twice in the tree");
    }
    const crypto::SmtNode& node = *new_nodes.at(at.node_hash);
    if (node.kind == crypto::SmtNode::Kind::kLeaf) {
      if (!OnPath(node.key, at.path, at.depth)) {
        return not_canonical(at.node_hash, absl::StrCat("is a leaf off its key's path at depth ",
                                                        at.depth));
      }
      continue;
    }
    if (at.depth >= 256) return not_canonical(at.node_hash, "is an internal node at depth 256");
    size_t keys = 0;
    for (int side = 0; side < 2; ++side) {
      const Hash256& child = side == 0 ? node.left : node.right;
      if (child.IsZero()) continue;
      Hash256 child_path = at.path;
      if (side == 1) child_path.bytes[at.depth / 8] |= static_cast<uint8_t>(0x80 >> (at.depth % 8));
      auto it = new_nodes.find(child);
      if (it != new_nodes.end()) {
        keys += it->second->kind == crypto::SmtNode::Kind::kLeaf ? 1 : 2;
        pending.push_back(Pending{child, child_path, at.depth + 1});
        continue;
      }
      LADING_ASSIGN_OR_RETURN(crypto::SmtNode stored, stored_kind(child));
      if (stored.kind == crypto::SmtNode::Kind::kLeaf) {
        if (!OnPath(stored.key, child_path, at.depth + 1)) {
          return not_canonical(child, absl::StrCat("is a leaf off its key's path at depth ",
                                                   at.depth + 1));
        }
        keys += 1;
      } else {
        keys += 2;
      }
    }
    if (keys < 2) return not_canonical(at.node_hash, "is an internal node above fewer than two keys");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Genesis state.

absl::Status RocksDbBlockStore::WriteGenesisState(const GenesisState& genesis) {
  std::lock_guard append_lock(append_mutex_);
  LADING_ASSIGN_OR_RETURN(const std::optional<Hash256> stored, ReadGenesisStateRoot());
  if (stored) {
    if (*stored == genesis.state_root) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "block store ", path_, " already holds the genesis state root ", stored->ToHex(),
        ", not ", genesis.state_root.ToHex(), " (was it created from another genesis?)"));
  }
  const Head head = LoadHead();
  if (head.height > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("block store ", path_, " already holds blocks up to height ", head.height,
                     "; the genesis state can only be written into an empty store"));
  }
  std::unordered_set<Hash256, Hash256Hasher> state_keys;
  for (const auto& [state_key, value] : genesis.state_puts) {
    if (!state_keys.insert(state_key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("genesis writes state key ", state_key.ToHex(), " twice"));
    }
  }
  LADING_RETURN_IF_ERROR(CheckStateTree("genesis", genesis.state_root, genesis.state_nodes));

  auto cf = [this](Cf which) { return column_families_[static_cast<size_t>(which)]; };
  rocksdb::WriteBatch batch;
  rocksdb::Status status;
  std::vector<Bytes> encoded_nodes;
  encoded_nodes.reserve(genesis.state_nodes.size());
  for (const auto& [node_hash, node] : genesis.state_nodes) {
    if (!status.ok()) break;
    encoded_nodes.push_back(node.Encode());
    status = batch.Put(cf(Cf::kStateNodes), ToSlice(node_hash), ToSlice(encoded_nodes.back()));
  }
  for (const auto& [state_key, value] : genesis.state_puts) {
    if (!status.ok()) break;
    status = batch.Put(cf(Cf::kState), ToSlice(state_key), ToSlice(value));
  }
  if (status.ok()) {
    status = batch.Put(cf(Cf::kMeta), ToSlice(kMetaGenesisStateRootKey),
                       ToSlice(genesis.state_root));
  }
  LADING_RETURN_IF_ERROR(
      FromRocksDb(status, absl::StrCat("preparing the genesis state write to ", path_)));
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return FromRocksDb(db_->Write(write_options, &batch),
                     absl::StrCat("writing the genesis state to ", path_));
}

absl::StatusOr<std::optional<Hash256>> RocksDbBlockStore::ReadGenesisStateRoot() const {
  const Reader reader(db_.get(), &column_families_);
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          reader.Get(Cf::kMeta, ToSlice(kMetaGenesisStateRootKey)));
  if (!value) return std::optional<Hash256>();
  auto root = Hash256::FromBytes(AsBytes(*value));
  if (!root.ok()) {
    return absl::DataLossError(absl::StrCat("block store ", path_, " meta genesis_state_root is ",
                                            value->size(), " bytes, expected ", Hash256::kSize));
  }
  return std::optional<Hash256>(*root);
}

absl::StatusOr<Hash256> RocksDbBlockStore::GenesisStateRoot() const {
  LADING_ASSIGN_OR_RETURN(const std::optional<Hash256> root, ReadGenesisStateRoot());
  if (!root) {
    return absl::NotFoundError(absl::StrCat("block store ", path_, " holds no genesis state"));
  }
  return *root;
}

// ---------------------------------------------------------------------------------------------
// Reads.

RocksDbBlockStore::Head RocksDbBlockStore::LoadHead() const {
  std::lock_guard lock(head_mutex_);
  return head_;
}

uint64_t RocksDbBlockStore::HeadHeight() const { return LoadHead().height; }

Hash256 RocksDbBlockStore::HeadBlockHash() const { return LoadHead().block_hash; }

absl::StatusOr<Bytes> RocksDbBlockStore::GetBlock(uint64_t height) const {
  const Reader reader(db_.get(), &column_families_);
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> record,
                          reader.Get(Cf::kBlocks, ToSlice(EncodeHeightKey(height))));
  if (!record) return absl::NotFoundError(absl::StrCat("no block at height ", height));
  LADING_ASSIGN_OR_RETURN(ByteSpan block, DecodeBlockRecord(height, AsBytes(*record)));
  return Bytes(block.begin(), block.end());
}

absl::StatusOr<uint64_t> RocksDbBlockStore::GetHeightByHash(const Hash256& block_hash) const {
  const Reader reader(db_.get(), &column_families_);
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          reader.Get(Cf::kBlockIndex, ToSlice(block_hash)));
  if (!value) return absl::NotFoundError(absl::StrCat("no block with hash ", block_hash.ToHex()));
  return DecodeHeightValue(*value, "block_index entry");
}

absl::StatusOr<TxLocation> RocksDbBlockStore::GetTxLocation(const Hash256& tx_id) const {
  const Reader reader(db_.get(), &column_families_);
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          reader.Get(Cf::kTxIndex, ToSlice(tx_id)));
  if (!value) return absl::NotFoundError(absl::StrCat("no transaction with id ", tx_id.ToHex()));
  return DecodeTxLocation(*value);
}

absl::StatusOr<Bytes> RocksDbBlockStore::GetCommit(uint64_t height) const {
  const Reader reader(db_.get(), &column_families_);
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> record,
                          reader.Get(Cf::kCommits, ToSlice(EncodeHeightKey(height))));
  if (!record) return absl::NotFoundError(absl::StrCat("no commit for height ", height));
  LADING_ASSIGN_OR_RETURN(ByteSpan commit, DecodeCommitRecord(height, AsBytes(*record)));
  return Bytes(commit.begin(), commit.end());
}

absl::StatusOr<Bytes> RocksDbBlockStore::GetStateValue(const Hash256& state_key) const {
  const Reader reader(db_.get(), &column_families_);
  LADING_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          reader.Get(Cf::kState, ToSlice(state_key)));
  if (!value) return absl::NotFoundError(absl::StrCat("no state value for key ", state_key.ToHex()));
  return Bytes(value->begin(), value->end());
}

const crypto::SmtNodeReader& RocksDbBlockStore::StateNodes() const { return *node_reader_; }

absl::Status RocksDbBlockStore::Verify() const { return Verifier(*this).Run(); }

}  // namespace lading::node
