#include "node/rocksdb_block_store.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "crypto/hash.h"
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

std::unique_ptr<RocksDbBlockStore> OpenStore(const std::string& path) {
  auto store = RocksDbBlockStore::Open(path, RocksDbBlockStoreOptions{.chain_id = kChain});
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// `original` with its block and header changed by `mutate`; the commit is re-made for the new
// block hash so that only the intended defect remains.
BlockToAppend Modified(const BlockToAppend& original,
                       const std::function<void(proto::Block&, proto::BlockHeader&)>& mutate) {
  BlockToAppend out = original;
  auto block = proto::DecodeBlock(original.block);
  REQUIRE(block.ok());
  mutate(*block, out.header);
  const Bytes header_bytes = proto::Serialize(out.header);
  block->set_header(ToString(header_bytes));
  out.block = proto::Serialize(*block);
  auto commit = proto::DecodeCommit(original.commit);
  REQUIRE(commit.ok());
  commit->set_block_hash(ToString(proto::BlockHash(header_bytes).span()));
  out.commit = proto::Serialize(*commit);
  return out;
}

std::vector<Hash256> TxIdsOf(const BlockToAppend& append) {
  auto block = proto::DecodeBlock(append.block);
  REQUIRE(block.ok());
  auto ids = proto::TxIds(*block);
  REQUIRE(ids.ok());
  return *ids;
}

TEST_CASE("an empty store has head 0 and verifies", "[unit][storage]") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  REQUIRE(store->HeadHeight() == 0);
  REQUIRE(store->HeadBlockHash().IsZero());
  REQUIRE(store->Verify().ok());
  const absl::Status missing = store->GetBlock(1).status();
  REQUIRE(missing.code() == absl::StatusCode::kNotFound);
  REQUIRE_THAT(Message(missing), Catch::Contains("height 1"));
}

TEST_CASE("twenty appended blocks read back with their indexes, commits and state",
          "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  ChainBuilder builder(ChainBuilderOptions{.chain_id = kChain, .txs_per_block = 5});
  std::vector<BlockToAppend> blocks;
  std::set<Hash256> ever_written_keys;
  {
    auto store = OpenStore(path);
    for (int i = 0; i < 20; ++i) {
      blocks.push_back(builder.Next());
      const absl::Status status = store->Append(blocks.back());
      INFO(status.ToString());
      REQUIRE(status.ok());
      REQUIRE(store->HeadHeight() == builder.height());
      REQUIRE(store->HeadBlockHash() == builder.block_hash());
      for (const auto& put : blocks.back().state_puts) ever_written_keys.insert(put.first);
    }
    REQUIRE(store->Verify().ok());
  }

  // Everything must survive closing and reopening.
  auto store = OpenStore(path);
  REQUIRE(store->HeadHeight() == 20);
  REQUIRE(store->HeadBlockHash() == builder.block_hash());
  for (uint64_t height = 1; height <= 20; ++height) {
    CAPTURE(height);
    const BlockToAppend& expected = blocks[height - 1];
    auto block = store->GetBlock(height);
    REQUIRE(block.ok());
    REQUIRE((*block == expected.block));  // as a bool: Catch would print both vectors
    auto commit = store->GetCommit(height);
    REQUIRE(commit.ok());
    REQUIRE((*commit == expected.commit));
    const Hash256 hash = proto::BlockHash(proto::Serialize(expected.header));
    auto by_hash = store->GetHeightByHash(hash);
    REQUIRE(by_hash.ok());
    REQUIRE(*by_hash == height);
    const std::vector<Hash256> ids = TxIdsOf(expected);
    REQUIRE(ids.size() == 5);
    for (uint32_t i = 0; i < ids.size(); ++i) {
      auto location = store->GetTxLocation(ids[i]);
      REQUIRE(location.ok());
      REQUIRE(*location == TxLocation{.height = height, .index = i});
    }
  }

  REQUIRE(ever_written_keys.size() > builder.state().size());  // some keys were deleted
  for (const Hash256& key : ever_written_keys) {
    CAPTURE(key.ToHex());
    auto value = store->GetStateValue(key);
    auto it = builder.state().find(key);
    if (it == builder.state().end()) {
      REQUIRE(value.status().code() == absl::StatusCode::kNotFound);
    } else {
      REQUIRE(value.ok());
      REQUIRE(*value == it->second);
    }
  }

  // The state tree under the head root holds exactly the builder's state.
  size_t leaves = 0;
  std::function<void(const Hash256&)> walk = [&](const Hash256& node_hash) {
    auto node = store->StateNodes().Get(node_hash);
    REQUIRE(node.ok());
    REQUIRE(node->has_value());
    if ((*node)->kind == crypto::SmtNode::Kind::kLeaf) {
      auto it = builder.state().find((*node)->key);
      REQUIRE(it != builder.state().end());
      REQUIRE((*node)->value_hash == ChainBuilder::StateValueHash(it->second));
      ++leaves;
      return;
    }
    if (!(*node)->left.IsZero()) walk((*node)->left);
    if (!(*node)->right.IsZero()) walk((*node)->right);
  };
  walk(builder.state_root());
  REQUIRE(leaves == builder.state().size());
  auto absent_node = store->StateNodes().Get(crypto::HashWithLabel(crypto::kLabelSmtNode, {}));
  REQUIRE(absent_node.ok());
  REQUIRE_FALSE(absent_node->has_value());
  REQUIRE(store->Verify().ok());
}

TEST_CASE("reads of what is not stored say NotFound and name what was asked for",
          "[unit][storage]") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  ChainBuilder builder(ChainBuilderOptions{.chain_id = kChain});
  REQUIRE(store->Append(builder.Next()).ok());
  const Hash256 unknown = crypto::HashWithLabel(crypto::kLabelTx, AsBytes("unknown"));

  const absl::Status block = store->GetBlock(2).status();
  REQUIRE(block.code() == absl::StatusCode::kNotFound);
  REQUIRE_THAT(Message(block), Catch::Contains("height 2"));
  const absl::Status commit = store->GetCommit(2).status();
  REQUIRE(commit.code() == absl::StatusCode::kNotFound);
  REQUIRE_THAT(Message(commit), Catch::Contains("height 2"));
  for (const absl::Status& status :
       {store->GetHeightByHash(unknown).status(), store->GetTxLocation(unknown).status(),
        store->GetStateValue(unknown).status()}) {
    REQUIRE(status.code() == absl::StatusCode::kNotFound);
    REQUIRE_THAT(Message(status), Catch::Contains(unknown.ToHex()));
  }
}

TEST_CASE("a block that does not extend the chain is rejected and nothing is written",
          "[unit][storage]") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  ChainBuilder builder(ChainBuilderOptions{.chain_id = kChain});
  BlockToAppend block_5;
  for (int i = 0; i < 5; ++i) {
    block_5 = builder.Next();
    REQUIRE(store->Append(block_5).ok());
  }
  const Hash256 head_hash = store->HeadBlockHash();
  const std::map<Hash256, Bytes> builder_state_after_5 = builder.state();
  const BlockToAppend next = builder.Next();  // height 6, valid
  const BlockToAppend after_next = builder.Next();  // height 7

  struct Case {
    std::string name;
    BlockToAppend block;
    absl::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({"a block two heights ahead", after_next, absl::StatusCode::kFailedPrecondition,
                   "block height 7 does not follow the head height 5; expected 6"});
  cases.push_back({"a block whose header claims another height",
                   Modified(next, [](proto::Block&, proto::BlockHeader& h) { h.set_height(5); }),
                   absl::StatusCode::kFailedPrecondition,
                   "block height 5 does not follow the head height 5"});
  cases.push_back({"a block linked to another parent",
                   Modified(next,
                            [](proto::Block&, proto::BlockHeader& h) {
                              h.set_prev_block_hash(std::string(32, '\x07'));
                            }),
                   absl::StatusCode::kFailedPrecondition, "is not the head block's hash"});
  cases.push_back({"a block for another chain",
                   Modified(next, [](proto::Block&, proto::BlockHeader& h) { h.set_chain_id("x"); }),
                   absl::StatusCode::kInvalidArgument, "is for chain 'x'"});
  {
    BlockToAppend wrong_commit = next;
    wrong_commit.commit = block_5.commit;
    cases.push_back({"a block with the commit of block 5", wrong_commit,
                     absl::StatusCode::kInvalidArgument,
                     "the commit given with block 6 is for height 5"});
  }
  {
    BlockToAppend other_block_commit = next;
    auto commit = proto::DecodeCommit(next.commit);
    REQUIRE(commit.ok());
    commit->set_block_hash(std::string(32, '\x09'));
    other_block_commit.commit = proto::Serialize(*commit);
    cases.push_back({"a block with a commit for another block at its height", other_block_commit,
                     absl::StatusCode::kInvalidArgument, "is for height 6 block 0909"});
  }
  {
    BlockToAppend garbled_commit = next;
    garbled_commit.commit = {0x0a, 0x05};
    cases.push_back({"a block with a commit that does not decode", garbled_commit,
                     absl::StatusCode::kInvalidArgument, "Commit of 2 bytes does not parse"});
  }
  {
    BlockToAppend mismatched_header = next;
    mismatched_header.header.set_proposer("someone-else");
    cases.push_back({"a block given with a header that is not its own", mismatched_header,
                     absl::StatusCode::kInvalidArgument, "differs from the header inside"});
  }
  cases.push_back({"a block whose txs_root does not match its transactions",
                   Modified(next, [](proto::Block& b, proto::BlockHeader&) { b.mutable_txs()->RemoveLast(); }),
                   absl::StatusCode::kInvalidArgument, "does not match its transactions' root"});
  {
    // A transaction of block 5 included again, with a header made consistent with it.
    const std::string replayed = proto::DecodeBlock(block_5.block)->txs(0);
    cases.push_back({"a block repeating a stored transaction",
                     Modified(next,
                              [&](proto::Block& b, proto::BlockHeader& h) {
                                b.add_txs(replayed);
                                h.set_txs_root(ToString(proto::TxsRoot(b)->span()));
                              }),
                     absl::StatusCode::kInvalidArgument, "is already stored at height 5 index 0"});
  }
  cases.push_back({"a block whose last_commit does not match last_commit_hash",
                   Modified(next,
                            [](proto::Block& b, proto::BlockHeader&) {
                              b.mutable_last_commit()->back() ^= 1;
                            }),
                   absl::StatusCode::kInvalidArgument, "does not match the hash of its last_commit"});
  cases.push_back({"a block whose last_commit is for another block",
                   Modified(next,
                            [](proto::Block& b, proto::BlockHeader& h) {
                              proto::Commit commit = *proto::DecodeCommit(AsBytes(b.last_commit()));
                              commit.set_block_hash(std::string(32, '\x03'));
                              b.set_last_commit(ToString(proto::Serialize(commit)));
                              h.set_last_commit_hash(
                                  ToString(proto::CommitHash(AsBytes(b.last_commit())).span()));
                            }),
                   absl::StatusCode::kInvalidArgument, "last_commit is for height 5 block 0303"});
  {
    BlockToAppend bad_node = next;
    REQUIRE_FALSE(bad_node.state_nodes.empty());
    bad_node.state_nodes.front().first.bytes[0] ^= 1;
    cases.push_back({"a block with a state node listed under the wrong hash", bad_node,
                     absl::StatusCode::kInvalidArgument, "hashes to"});
  }
  {
    BlockToAppend missing_node = next;
    missing_node.state_nodes.erase(missing_node.state_nodes.begin());
    cases.push_back({"a block whose state nodes leave the tree incomplete", missing_node,
                     absl::StatusCode::kInvalidArgument, "is incomplete"});
  }
  {
    BlockToAppend twice = next;
    REQUIRE_FALSE(twice.state_puts.empty());
    twice.state_deletes.push_back(twice.state_puts.front().first);
    cases.push_back({"a block writing one state key twice", twice,
                     absl::StatusCode::kInvalidArgument, "twice"});
  }
  {
    BlockToAppend garbage = next;
    garbage.block = {0x0a, 0x05, 0x41};
    cases.push_back({"bytes that are not a block", garbage, absl::StatusCode::kInvalidArgument,
                     "Block of 3 bytes does not parse"});
  }

  // One rejection after another on the same store: none of them may leave anything behind.
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const absl::Status status = store->Append(c.block);
    INFO(status.ToString());
    REQUIRE(status.code() == c.code);
    REQUIRE_THAT(Message(status), Catch::Contains(c.message));
    REQUIRE(store->HeadHeight() == 5);
    REQUIRE(store->HeadBlockHash() == head_hash);
    REQUIRE(store->GetBlock(6).status().code() == absl::StatusCode::kNotFound);
    REQUIRE(store->GetCommit(6).status().code() == absl::StatusCode::kNotFound);
    for (const Hash256& id : TxIdsOf(next)) {
      REQUIRE(store->GetTxLocation(id).status().code() == absl::StatusCode::kNotFound);
    }
    const Hash256 new_root = *Hash256::FromBytes(AsBytes(next.header.state_root()));
    REQUIRE_FALSE(store->StateNodes().Get(new_root)->has_value());
    for (const auto& put : next.state_puts) {
      const auto before = builder_state_after_5.find(put.first);
      auto value = store->GetStateValue(put.first);
      if (before == builder_state_after_5.end()) {
        REQUIRE(value.status().code() == absl::StatusCode::kNotFound);
      } else {
        REQUIRE(*value == before->second);
      }
    }
  }
  REQUIRE(store->Verify().ok());
  // The valid block still goes in afterwards.
  REQUIRE(store->Append(next).ok());
  REQUIRE(store->HeadHeight() == 6);
  REQUIRE(store->Verify().ok());
}

TEST_CASE("the first block must have no parent and no last commit", "[unit][storage]") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  ChainBuilder builder(ChainBuilderOptions{.chain_id = kChain});
  const BlockToAppend first = builder.Next();
  const absl::Status with_parent = store->Append(Modified(first, [](proto::Block&, proto::BlockHeader& h) {
    h.set_prev_block_hash(std::string(32, '\x01'));
  }));
  REQUIRE(with_parent.code() == absl::StatusCode::kFailedPrecondition);
  const absl::Status with_commit = store->Append(Modified(first, [](proto::Block& b, proto::BlockHeader&) {
    b.set_last_commit("x");
  }));
  REQUIRE(with_commit.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE_THAT(Message(with_commit), Catch::Contains("the first block has none"));
  REQUIRE(store->HeadHeight() == 0);
  // A zero prev_block_hash is as good as an empty one at height 1.
  REQUIRE(store->Append(Modified(first, [](proto::Block&, proto::BlockHeader& h) {
    h.set_prev_block_hash(std::string(32, '\0'));
  })).ok());
  REQUIRE(store->Verify().ok());
}

TEST_CASE("a state tree that is not canonical is rejected on append", "[unit][storage]") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  ChainBuilder builder(ChainBuilderOptions{.chain_id = kChain});
  const BlockToAppend first = builder.Next();

  const crypto::SmtNode leaf = crypto::SmtNode::Leaf(ChainBuilder::StateKey(0),
                                                     ChainBuilder::StateValueHash(AsBytes("v")));
  SECTION("an internal node above a single leaf") {
    const crypto::SmtNode root = leaf.key.Bit(0) ? crypto::SmtNode::Internal({}, leaf.Hash())
                                                 : crypto::SmtNode::Internal(leaf.Hash(), {});
    BlockToAppend block = Modified(first, [&](proto::Block&, proto::BlockHeader& h) {
      h.set_state_root(ToString(root.Hash().span()));
    });
    block.state_nodes = {{leaf.Hash(), leaf}, {root.Hash(), root}};
    const absl::Status status = store->Append(block);
    REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
    REQUIRE_THAT(Message(status), Catch::Contains("above fewer than two keys"));
  }
  SECTION("a leaf on the other side of its key's path") {
    const crypto::SmtNode other = crypto::SmtNode::Leaf(ChainBuilder::StateKey(1),
                                                        ChainBuilder::StateValueHash(AsBytes("w")));
    // `leaf` goes on the side its first key bit does not choose.
    const crypto::SmtNode root = leaf.key.Bit(0) ? crypto::SmtNode::Internal(leaf.Hash(), other.Hash())
                                                 : crypto::SmtNode::Internal(other.Hash(), leaf.Hash());
    BlockToAppend block = Modified(first, [&](proto::Block&, proto::BlockHeader& h) {
      h.set_state_root(ToString(root.Hash().span()));
    });
    block.state_nodes = {{leaf.Hash(), leaf}, {other.Hash(), other}, {root.Hash(), root}};
    const absl::Status status = store->Append(block);
    REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
    REQUIRE_THAT(Message(status), Catch::Contains("off its key's path"));
  }
  REQUIRE(store->HeadHeight() == 0);
}

TEST_CASE("a store refuses another chain id, an empty chain id, a missing directory and "
          "another format version",
          "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  { OpenStore(path); }

  auto other_chain = RocksDbBlockStore::Open(path, RocksDbBlockStoreOptions{.chain_id = "other"});
  REQUIRE(other_chain.status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE_THAT(Message(other_chain.status()),
               Catch::Contains("holds chain 'lading-test', not 'other'"));

  auto empty_chain = RocksDbBlockStore::Open(path, RocksDbBlockStoreOptions{.chain_id = ""});
  REQUIRE(empty_chain.status().code() == absl::StatusCode::kInvalidArgument);

  auto missing = RocksDbBlockStore::Open(
      dir.Sub("nothing-here"),
      RocksDbBlockStoreOptions{.chain_id = kChain, .create_if_missing = false});
  REQUIRE(missing.status().code() == absl::StatusCode::kNotFound);
  REQUIRE_THAT(Message(missing.status()), Catch::Contains("nothing-here"));

  {
    auto raw = RawStore::Open(path);
    REQUIRE(raw.ok());
    Bytes version;
    AppendUint32BigEndian(2, &version);
    (*raw)->Put(kMetaColumnFamily, AsBytes(kMetaFormatVersionKey), version);
  }
  auto future = RocksDbBlockStore::Open(path, RocksDbBlockStoreOptions{.chain_id = kChain});
  REQUIRE(future.status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE_THAT(Message(future.status()), Catch::Contains("format version 2"));
}

TEST_CASE("readers see the head advance only once a block is fully stored", "[unit][storage]") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  ChainBuilder builder(ChainBuilderOptions{.chain_id = kChain});
  std::atomic<bool> done = false;
  std::atomic<int> failures = 0;
  std::thread reader([&] {
    while (!done.load()) {
      const uint64_t head = store->HeadHeight();
      if (head == 0) continue;
      if (!store->GetBlock(head).ok() || !store->GetCommit(head).ok()) ++failures;
    }
  });
  for (int i = 0; i < 30; ++i) REQUIRE(store->Append(builder.Next()).ok());
  done = true;
  reader.join();
  REQUIRE(failures.load() == 0);
  REQUIRE(store->Verify().ok());
}

}  // namespace
}  // namespace lading::node
