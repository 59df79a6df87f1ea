#include "node/state_view.h"

#include <catch2/catch.hpp>

#include "contracts/executor.h"
#include "contracts/genesis_state.h"
#include "contracts/records.h"
#include "contracts/testing/test_chain.h"
#include "crypto/sparse_merkle_tree.h"
#include "node/block_executor.h"
#include "node/rocksdb_block_store.h"
#include "node/testing/store_files.h"

namespace lading::node {
namespace {

using contracts::testing::TestChain;

std::unique_ptr<RocksDbBlockStore> OpenStore(const testing::TempDir& dir,
                                             const std::string& chain_id = "lading-test") {
  auto store = RocksDbBlockStore::Open(dir.Sub("store"), {.chain_id = chain_id});
  REQUIRE(store.ok());
  return std::move(store).value();
}

TEST_CASE("the store state view reads the genesis state and reports absent keys as absent",
          "[unit][node]") {
  const TestChain chain({"val-a", "fangxin"}, 1);
  testing::TempDir dir;
  auto store = OpenStore(dir);
  const StoreStateView view(store.get());
  CHECK(!view.Get(contracts::StateKeyHash("member/fangxin"))->has_value());

  REQUIRE(InitializeStore(store.get(), chain.genesis()).ok());
  auto member = contracts::ReadMember(view, "fangxin");
  REQUIRE(member.ok());
  REQUIRE(member->has_value());
  CHECK((*member)->signing_public_key() == chain.genesis().members(1).signing_public_key());
  CHECK(!view.Get(contracts::StateKeyHash("member/ghost"))->has_value());
}

TEST_CASE("the genesis state root is stored, verified and kept across reopening",
          "[unit][node]") {
  const TestChain chain({"val-a", "val-b", "fangxin"}, 2);
  testing::TempDir dir;
  Hash256 root;
  {
    auto store = OpenStore(dir);
    CHECK(store->GenesisStateRoot().status().code() == absl::StatusCode::kNotFound);
    CHECK(HeadStateRoot(*store).status().code() == absl::StatusCode::kFailedPrecondition);
    REQUIRE(InitializeStore(store.get(), chain.genesis()).ok());
    auto stored = store->GenesisStateRoot();
    REQUIRE(stored.ok());
    root = *stored;
    CHECK(!root.IsZero());
    CHECK(*HeadStateRoot(*store) == root);
    CHECK(store->Verify().ok());
  }
  auto reopened = RocksDbBlockStore::OpenForServing(dir.Sub("store"), {.chain_id = "lading-test"});
  REQUIRE(reopened.ok());
  CHECK(*(*reopened)->GenesisStateRoot() == root);
  // A restart initialising again from the same genesis is a no-op.
  CHECK(InitializeStore(reopened->get(), chain.genesis()).ok());
}

TEST_CASE("a store refuses a second, different genesis", "[unit][node]") {
  const TestChain chain({"val-a", "val-b", "fangxin"}, 2);
  const TestChain other({"val-a", "val-b", "fangxin"}, 1);
  testing::TempDir dir;
  auto store = OpenStore(dir);
  REQUIRE(InitializeStore(store.get(), chain.genesis()).ok());
  const Hash256 root = *store->GenesisStateRoot();
  const absl::Status status = InitializeStore(store.get(), other.genesis());
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("already holds the genesis state root " + root.ToHex()));
  CHECK(*store->GenesisStateRoot() == root);
}

TEST_CASE("a genesis state whose nodes do not complete its tree is refused and not written",
          "[unit][node]") {
  const TestChain chain({"val-a", "fangxin"}, 1);
  auto writes = contracts::GenesisWrites(chain.genesis());
  REQUIRE(writes.ok());
  crypto::MemorySmtNodeStore nodes;
  const crypto::SparseMerkleTree tree(&nodes);
  auto update = tree.Update(Hash256{}, contracts::SmtUpdates(*writes));
  REQUIRE(update.ok());
  REQUIRE(update->new_nodes.size() > 1);

  GenesisState genesis;
  genesis.state_root = update->root;
  genesis.state_nodes = update->new_nodes;
  genesis.state_nodes.pop_back();
  for (const auto& write : *writes) genesis.state_puts.emplace_back(write.key_hash, *write.value);

  testing::TempDir dir;
  auto store = OpenStore(dir);
  const absl::Status incomplete = store->WriteGenesisState(genesis);
  CHECK(incomplete.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(incomplete.message()), Catch::StartsWith("genesis state tree under"));
  CHECK(store->GenesisStateRoot().status().code() == absl::StatusCode::kNotFound);

  genesis.state_nodes = update->new_nodes;
  genesis.state_puts.push_back(genesis.state_puts.front());
  const absl::Status twice = store->WriteGenesisState(genesis);
  CHECK(twice.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(twice.message()), Catch::EndsWith(" twice"));

  genesis.state_puts.pop_back();
  CHECK(store->WriteGenesisState(genesis).ok());
  CHECK(*store->GenesisStateRoot() == update->root);
}

}  // namespace
}  // namespace lading::node
