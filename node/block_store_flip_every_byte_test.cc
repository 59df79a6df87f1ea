// The exhaustive form of the corruption test: every byte of a stored block record and of its
// commit record is flipped in turn. Each round reopens RocksDB twice, so this runs for minutes
// rather than seconds and is labelled slow (ctest -L slow).
#include <catch2/catch.hpp>
#include <string>

#include "node/rocksdb_block_store.h"
#include "node/testing/chain_builder.h"
#include "node/testing/store_files.h"

namespace lading::node {
namespace {

constexpr const char* kChain = "lading-test";

void FlipEveryByte(const std::string& path, std::string_view column_family, uint64_t height,
                   const std::string& reason) {
  const Bytes key = EncodeHeightKey(height);
  Bytes original;
  {
    auto raw = testing::RawStore::Open(path);
    REQUIRE(raw.ok());
    original = *(*raw)->Get(column_family, key);
  }
  for (size_t position = 0; position < original.size(); ++position) {
    CAPTURE(position, original.size());
    Bytes flipped = original;
    flipped[position] ^= static_cast<uint8_t>(1u << (position % 8));
    {
      auto raw = testing::RawStore::Open(path);
      REQUIRE(raw.ok());
      (*raw)->Put(column_family, key, flipped);
    }
    auto store = RocksDbBlockStore::Open(path, RocksDbBlockStoreOptions{.chain_id = kChain});
    REQUIRE(store.ok());
    const absl::Status status = (*store)->Verify();
    REQUIRE(status.code() == absl::StatusCode::kDataLoss);
    REQUIRE_THAT(std::string(status.message()),
                 Catch::StartsWith("block store corrupt at height " + std::to_string(height) +
                                   ": " + reason));
  }
  {
    auto raw = testing::RawStore::Open(path);
    REQUIRE(raw.ok());
    (*raw)->Put(column_family, key, original);
  }
  auto store = RocksDbBlockStore::Open(path, RocksDbBlockStoreOptions{.chain_id = kChain});
  REQUIRE(store.ok());
  REQUIRE((*store)->Verify().ok());
}

TEST_CASE("every byte of a block record and a commit record, flipped in turn, is found",
          "[slow][storage]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("store");
  {
    testing::ChainBuilder builder(testing::ChainBuilderOptions{
        .chain_id = kChain, .txs_per_block = 2, .note_text_bytes = 16});
    auto store = RocksDbBlockStore::Open(path, RocksDbBlockStoreOptions{.chain_id = kChain});
    REQUIRE(store.ok());
    for (int i = 0; i < 10; ++i) REQUIRE((*store)->Append(builder.Next()).ok());
  }
  FlipEveryByte(path, kBlocksColumnFamily, 4, "block record at height 4 does not match");
  FlipEveryByte(path, kCommitsColumnFamily, 4, "commit record at height 4 does not match");
}

}  // namespace
}  // namespace lading::node
