// Corrupts a closed store through raw RocksDB writes, as a disk fault or a careless operator
// would, and checks that Verify names the height and the check that catches it.
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>

#include "crypto/hash.h"
#include "node/rocksdb_block_store.h"
#include "node/testing/chain_builder.h"
#include "node/testing/store_files.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

using testing::ChainBuilder;
using testing::ChainBuilderOptions;
using testing::RawStore;
using testing::TempDir;

constexpr const char* kChain = "lading-test";
constexpr uint64_t kBlockCount = 10;

// A closed store of kBlockCount small blocks, built once per test run; each fixture works on its
// own copy (building takes kBlockCount synced appends, copying a few hundred KB does not).
class StoreTemplate {
 public:
  StoreTemplate() : path_(dir_.Sub("store")) {
    ChainBuilder builder(
        ChainBuilderOptions{.chain_id = kChain, .txs_per_block = 2, .note_text_bytes = 16});
    auto store = RocksDbBlockStore::Open(path_, RocksDbBlockStoreOptions{.chain_id = kChain});
    REQUIRE(store.ok());
    for (uint64_t i = 0; i < kBlockCount; ++i) {
      blocks_.push_back(builder.Next());
      REQUIRE((*store)->Append(blocks_.back()).ok());
    }
    head_state_root_ = builder.state_root();
  }
  static const StoreTemplate& Get() {
    static const StoreTemplate shared;
    return shared;
  }

  const std::string& path() const { return path_; }
  const std::vector<BlockToAppend>& blocks() const { return blocks_; }
  const Hash256& head_state_root() const { return head_state_root_; }

 private:
  TempDir dir_;
  std::string path_;
  std::vector<BlockToAppend> blocks_;
  Hash256 head_state_root_;
};

class StoreFixture {
 public:
  StoreFixture() : path_(dir_.Sub("store")) {
    std::filesystem::copy(StoreTemplate::Get().path(), path_,
                          std::filesystem::copy_options::recursive);
  }

  std::unique_ptr<RocksDbBlockStore> Open() const {
    auto store = RocksDbBlockStore::Open(path_, RocksDbBlockStoreOptions{.chain_id = kChain});
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    return std::move(store).value();
  }
  absl::Status Verify() const { return Open()->Verify(); }
  std::unique_ptr<RawStore> Raw() const {
    auto raw = RawStore::Open(path_);
    INFO(raw.status().ToString());
    REQUIRE(raw.ok());
    return std::move(raw).value();
  }

  const std::string& path() const { return path_; }
  const BlockToAppend& block(uint64_t height) const {
    return StoreTemplate::Get().blocks()[height - 1];
  }
  const Hash256& head_state_root() const { return StoreTemplate::Get().head_state_root(); }

 private:
  TempDir dir_;
  std::string path_;
};

// Positions to flip in a record of `size` bytes: the first, a middle and the last byte of the
// 32-byte checksum, then about `payload_count` positions spread evenly over the payload up to its
// last byte.
std::vector<size_t> SpreadPositions(size_t size, size_t payload_count) {
  std::vector<size_t> positions = {0, 16, 31};
  const size_t stride = std::max<size_t>(1, (size - 32) / payload_count);
  for (size_t position = 32; position < size; position += stride) positions.push_back(position);
  if (positions.back() != size - 1) positions.push_back(size - 1);
  return positions;
}

// Verify must fail with DataLoss, a message starting with the height, and the given reason.
void RequireCorruptAt(const absl::Status& status, uint64_t height, const std::string& reason) {
  INFO(status.ToString());
  REQUIRE(status.code() == absl::StatusCode::kDataLoss);
  const std::string message(status.message());
  REQUIRE_THAT(message, Catch::StartsWith("block store corrupt at height " +
                                          std::to_string(height) + ": "));
  REQUIRE_THAT(message, Catch::Contains(reason));
}

// Rewrites the block record at `height` with `mutate` applied to its Block and header, with a
// valid checksum: only the semantic checks can then see the change.
void RewriteBlock(RawStore& raw, uint64_t height,
                  const std::function<void(proto::Block&, proto::BlockHeader&)>& mutate) {
  const Bytes key = EncodeHeightKey(height);
  const std::optional<Bytes> record = raw.Get(kBlocksColumnFamily, key);
  REQUIRE(record.has_value());
  auto payload = DecodeBlockRecord(height, *record);
  REQUIRE(payload.ok());
  auto block = proto::DecodeBlock(*payload);
  REQUIRE(block.ok());
  auto header = proto::DecodeBlockHeader(AsBytes(block->header()));
  REQUIRE(header.ok());
  mutate(*block, *header);
  block->set_header(ToString(proto::Serialize(*header)));
  raw.Put(kBlocksColumnFamily, key, EncodeBlockRecord(height, proto::Serialize(*block)));
}

TEST_CASE("a byte flipped anywhere in a block record is found and named by its height",
          "[unit][storage]") {
  StoreFixture fixture;
  REQUIRE(fixture.Verify().ok());
  const Bytes key = EncodeHeightKey(4);
  const Bytes original = *fixture.Raw()->Get(kBlocksColumnFamily, key);
  // Each round reopens RocksDB twice (tens of ms), so the unit test flips ~30 positions spread
  // over the checksum, header, transactions and last commit; node_storage_slow_test flips every
  // byte of the record.
  for (size_t position : SpreadPositions(original.size(), 24)) {
    CAPTURE(position, original.size());
    Bytes flipped = original;
    flipped[position] ^= static_cast<uint8_t>(1u << (position % 8));
    fixture.Raw()->Put(kBlocksColumnFamily, key, flipped);
    RequireCorruptAt(fixture.Verify(), 4, "block record at height 4 does not match its checksum");
  }
  fixture.Raw()->Put(kBlocksColumnFamily, key, original);
  REQUIRE(fixture.Verify().ok());
}

TEST_CASE("a store that fails verification refuses to open for serving", "[unit][storage]") {
  StoreFixture fixture;
  REQUIRE(RocksDbBlockStore::OpenForServing(fixture.path(),
                                            RocksDbBlockStoreOptions{.chain_id = kChain})
              .ok());
  {
    auto raw = fixture.Raw();
    Bytes record = *raw->Get(kBlocksColumnFamily, EncodeHeightKey(4));
    record[40] ^= 0x80;
    raw->Put(kBlocksColumnFamily, EncodeHeightKey(4), record);
  }
  auto store = RocksDbBlockStore::OpenForServing(fixture.path(),
                                                 RocksDbBlockStoreOptions{.chain_id = kChain});
  RequireCorruptAt(store.status(), 4, "does not match its checksum");
}

TEST_CASE("a block record moved, removed or added is named by its height", "[unit][storage]") {
  StoreFixture fixture;
  SECTION("block 5's record copied over block 4's") {
    auto raw = fixture.Raw();
    raw->Put(kBlocksColumnFamily, EncodeHeightKey(4),
             *raw->Get(kBlocksColumnFamily, EncodeHeightKey(5)));
    raw.reset();
    RequireCorruptAt(fixture.Verify(), 4, "does not match its checksum");
  }
  SECTION("block 4's record deleted") {
    fixture.Raw()->Delete(kBlocksColumnFamily, EncodeHeightKey(4));
    RequireCorruptAt(fixture.Verify(), 4, "block record missing");
  }
  SECTION("a record written above the head") {
    const BlockToAppend& block = fixture.block(3);
    fixture.Raw()->Put(kBlocksColumnFamily, EncodeHeightKey(11), EncodeBlockRecord(11, block.block));
    RequireCorruptAt(fixture.Verify(), 11, "block record above the head height 10");
  }
  SECTION("block 4's commit deleted") {
    fixture.Raw()->Delete(kCommitsColumnFamily, EncodeHeightKey(4));
    RequireCorruptAt(fixture.Verify(), 4, "commit record missing");
  }
}

TEST_CASE("a block changed under a valid checksum is named by the check it fails",
          "[unit][storage]") {
  StoreFixture fixture;
  struct Case {
    std::string name;
    std::function<void(proto::Block&, proto::BlockHeader&)> mutate;
    std::string reason;
  };
  const Case cases[] = {
      {"a changed transaction body",
       [](proto::Block& b, proto::BlockHeader&) {
         proto::SignedTx tx = *proto::DecodeSignedTx(AsBytes(b.txs(1)));
         tx.mutable_body()->back() ^= 1;
         b.set_txs(1, ToString(proto::Serialize(tx)));
       },
       "does not match the transactions' root"},
      {"a changed transaction signature",
       [](proto::Block& b, proto::BlockHeader&) {
         proto::SignedTx tx = *proto::DecodeSignedTx(AsBytes(b.txs(1)));
         tx.mutable_signature()->front() ^= 1;
         b.set_txs(1, ToString(proto::Serialize(tx)));
       },
       "does not match the transactions' root"},
      {"a removed transaction",
       [](proto::Block& b, proto::BlockHeader&) { b.mutable_txs()->RemoveLast(); },
       "does not match the transactions' root"},
      {"an undecodable transaction",
       [](proto::Block& b, proto::BlockHeader&) { b.set_txs(0, "\x0a\x05"); },
       "block transaction 0: SignedTx of 2 bytes does not parse"},
      {"a changed header height", [](proto::Block&, proto::BlockHeader& h) { h.set_height(5); },
       "header height is 5"},
      {"a changed chain id", [](proto::Block&, proto::BlockHeader& h) { h.set_chain_id("evil"); },
       "header chain id 'evil' is not the store's chain 'lading-test'"},
      {"a changed parent link",
       [](proto::Block&, proto::BlockHeader& h) { h.set_prev_block_hash(std::string(32, 'p')); },
       "is not the hash of block 3"},
      {"a changed txs_root",
       [](proto::Block&, proto::BlockHeader& h) { h.set_txs_root(std::string(32, 't')); },
       "txs_root 7474"},
      {"a changed last commit",
       [](proto::Block& b, proto::BlockHeader&) { b.mutable_last_commit()->back() ^= 1; },
       "does not match the hash of last_commit"},
      {"a last commit for another height with a matching hash",
       [](proto::Block& b, proto::BlockHeader& h) {
         proto::Commit commit = *proto::DecodeCommit(AsBytes(b.last_commit()));
         commit.set_height(2);
         b.set_last_commit(ToString(proto::Serialize(commit)));
         h.set_last_commit_hash(ToString(proto::CommitHash(AsBytes(b.last_commit())).span()));
       },
       "last_commit is for height 2, expected 3"},
      {"a state root that is not stored",
       [](proto::Block&, proto::BlockHeader& h) { h.set_state_root(std::string(32, 's')); },
       "state_root 7373"},
      {"a changed proposer (which changes the block hash)",
       [](proto::Block&, proto::BlockHeader& h) { h.set_proposer("mallory"); },
       "block_index has no entry for block hash"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      {
        auto raw = fixture.Raw();
        RewriteBlock(*raw, 4, c.mutate);
      }
      RequireCorruptAt(fixture.Verify(), 4, c.reason);
    }
  }
}

TEST_CASE("a broken index entry is named by the height it belongs to", "[unit][storage]") {
  StoreFixture fixture;
  const BlockToAppend& block = fixture.block(4);
  const Hash256 tx_id = proto::TxId(AsBytes(
      proto::DecodeSignedTx(AsBytes(proto::DecodeBlock(block.block)->txs(1)))->body()));
  SECTION("a transaction missing from tx_index") {
    fixture.Raw()->Delete(kTxIndexColumnFamily, tx_id.span());
    RequireCorruptAt(fixture.Verify(), 4, "transaction 1 (id " + tx_id.ToHex() +
                                              ") is not in tx_index");
  }
  SECTION("a transaction indexed at the wrong place") {
    fixture.Raw()->Put(kTxIndexColumnFamily, tx_id.span(),
                       EncodeTxLocation(TxLocation{.height = 4, .index = 0}));
    RequireCorruptAt(fixture.Verify(), 4, "to height 4 index 0");
  }
  SECTION("a block hash indexed at another height") {
    const Hash256 hash = proto::BlockHash(proto::Serialize(block.header));
    fixture.Raw()->Put(kBlockIndexColumnFamily, hash.span(), EncodeHeightKey(7));
    RequireCorruptAt(fixture.Verify(), 4, "to height 7");
  }
}

TEST_CASE("a flipped or misplaced commit record is named by its height", "[unit][storage]") {
  StoreFixture fixture;
  const Bytes key = EncodeHeightKey(4);
  const Bytes original = *fixture.Raw()->Get(kCommitsColumnFamily, key);
  SECTION("a flipped byte, at positions spread across the record") {
    for (size_t position : SpreadPositions(original.size(), 8)) {
      CAPTURE(position);
      Bytes flipped = original;
      flipped[position] ^= 0x10;
      fixture.Raw()->Put(kCommitsColumnFamily, key, flipped);
      RequireCorruptAt(fixture.Verify(), 4, "commit record at height 4 does not match its checksum");
    }
  }
  SECTION("block 5's commit re-sealed as block 4's") {
    fixture.Raw()->Put(kCommitsColumnFamily, key,
                       EncodeCommitRecord(4, fixture.block(5).commit));
    RequireCorruptAt(fixture.Verify(), 4, "stored commit is for height 5");
  }
  SECTION("a commit for another block at the same height, re-sealed") {
    proto::Commit commit = *proto::DecodeCommit(fixture.block(4).commit);
    commit.set_block_hash(std::string(32, 'c'));
    fixture.Raw()->Put(kCommitsColumnFamily, key, EncodeCommitRecord(4, proto::Serialize(commit)));
    RequireCorruptAt(fixture.Verify(), 4, "stored commit is for block 6363");
  }
}

TEST_CASE("a flipped state node is named by the height whose state needs it", "[unit][storage]") {
  StoreFixture fixture;
  auto flip = [&](const Hash256& node_hash, size_t position) {
    auto raw = fixture.Raw();
    std::optional<Bytes> encoded = raw->Get(kStateNodesColumnFamily, node_hash.span());
    REQUIRE(encoded.has_value());
    (*encoded)[position] ^= 0x01;
    raw->Put(kStateNodesColumnFamily, node_hash.span(), *encoded);
  };
  SECTION("the state root of block 4") {
    const Hash256 root = *Hash256::FromBytes(AsBytes(fixture.block(4).header.state_root()));
    flip(root, 20);
    RequireCorruptAt(fixture.Verify(), 4, "state node " + root.ToHex() + " re-hashes to");
  }
  SECTION("the kind byte of block 4's state root") {
    const Hash256 root = *Hash256::FromBytes(AsBytes(fixture.block(4).header.state_root()));
    flip(root, 0);
    RequireCorruptAt(fixture.Verify(), 4, "state node " + root.ToHex());
  }
  SECTION("a leaf deep under the head's state root") {
    // Follow left children (or right, when left is empty) down to a leaf.
    Hash256 node_hash = fixture.head_state_root();
    {
      auto store = fixture.Open();
      while (true) {
        auto node = store->StateNodes().Get(node_hash);
        REQUIRE(node.ok());
        REQUIRE(node->has_value());
        if ((*node)->kind == crypto::SmtNode::Kind::kLeaf) break;
        node_hash = (*node)->left.IsZero() ? (*node)->right : (*node)->left;
      }
    }
    REQUIRE(node_hash != fixture.head_state_root());
    flip(node_hash, 40);
    RequireCorruptAt(fixture.Verify(), kBlockCount, "state node " + node_hash.ToHex());
  }
  SECTION("a node missing under the head's state root") {
    const crypto::SmtNode root = **fixture.Open()->StateNodes().Get(fixture.head_state_root());
    REQUIRE(root.kind == crypto::SmtNode::Kind::kInternal);
    const Hash256 child = root.left.IsZero() ? root.right : root.left;
    fixture.Raw()->Delete(kStateNodesColumnFamily, child.span());
    RequireCorruptAt(fixture.Verify(), kBlockCount,
                     "state node " + child.ToHex() + " at depth 1 under the head state_root is missing");
  }
}

TEST_CASE("a head state tree of the wrong shape is found even when every node hashes right",
          "[unit][storage]") {
  StoreFixture fixture;
  // Rewrites the head block with a new state root and re-seals everything that depends on the
  // block hash (record, block_index, commit), so that only the tree's shape is wrong.
  auto reseal_head = [&](const crypto::SmtNodeBatch& nodes, const Hash256& root) {
    auto raw = fixture.Raw();
    for (const auto& [hash, node] : nodes) raw->Put(kStateNodesColumnFamily, hash.span(), node.Encode());
    const BlockToAppend& head = fixture.block(kBlockCount);
    const Hash256 old_hash = proto::BlockHash(proto::Serialize(head.header));
    proto::BlockHeader header = head.header;
    header.set_state_root(ToString(root.span()));
    const Bytes header_bytes = proto::Serialize(header);
    proto::Block block = *proto::DecodeBlock(head.block);
    block.set_header(ToString(header_bytes));
    const Hash256 new_hash = proto::BlockHash(header_bytes);
    raw->Put(kBlocksColumnFamily, EncodeHeightKey(kBlockCount),
             EncodeBlockRecord(kBlockCount, proto::Serialize(block)));
    raw->Delete(kBlockIndexColumnFamily, old_hash.span());
    raw->Put(kBlockIndexColumnFamily, new_hash.span(), EncodeHeightKey(kBlockCount));
    proto::Commit commit = *proto::DecodeCommit(head.commit);
    commit.set_block_hash(ToString(new_hash.span()));
    raw->Put(kCommitsColumnFamily, EncodeHeightKey(kBlockCount),
             EncodeCommitRecord(kBlockCount, proto::Serialize(commit)));
  };
  const crypto::SmtNode leaf = crypto::SmtNode::Leaf(ChainBuilder::StateKey(0),
                                                     ChainBuilder::StateValueHash(AsBytes("v")));
  const crypto::SmtNode other = crypto::SmtNode::Leaf(ChainBuilder::StateKey(1),
                                                      ChainBuilder::StateValueHash(AsBytes("w")));

  SECTION("the re-sealing itself leaves a valid store") {
    reseal_head({{leaf.Hash(), leaf}}, leaf.Hash());
    REQUIRE(fixture.Verify().ok());
  }
  SECTION("an internal node above one leaf") {
    const crypto::SmtNode root = leaf.key.Bit(0) ? crypto::SmtNode::Internal({}, leaf.Hash())
                                                 : crypto::SmtNode::Internal(leaf.Hash(), {});
    reseal_head({{leaf.Hash(), leaf}, {root.Hash(), root}}, root.Hash());
    RequireCorruptAt(fixture.Verify(), kBlockCount, "above fewer than two keys (not canonical)");
  }
  SECTION("a leaf off its key's path") {
    const crypto::SmtNode root = leaf.key.Bit(0) ? crypto::SmtNode::Internal(leaf.Hash(), other.Hash())
                                                 : crypto::SmtNode::Internal(other.Hash(), leaf.Hash());
    reseal_head({{leaf.Hash(), leaf}, {other.Hash(), other}, {root.Hash(), root}}, root.Hash());
    RequireCorruptAt(fixture.Verify(), kBlockCount, "off its key's path");
  }
}

}  // namespace
}  // namespace lading::node
