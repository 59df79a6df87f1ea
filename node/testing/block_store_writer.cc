// lading-store-writer: appends test blocks to a RocksDbBlockStore until stopped, for the
// killed-mid-write test (node/block_store_kill_test.cc).
//
//   lading-store-writer STORE_DIR TXS_PER_BLOCK NOTE_TEXT_BYTES [BLOCK_COUNT_MAX]
//
// Resumes from the store's head: the chain comes from ChainBuilder with fixed options, so the
// blocks already stored are regenerated (and the head's hash compared) before appending more.
// After each Append returns it prints "height N" on its own line and flushes, so a line on
// stdout means that block is durable. Exits 0 after BLOCK_COUNT_MAX blocks (default: never),
// 1 with a one-line reason on stderr on any failure, 2 on bad arguments.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "node/rocksdb_block_store.h"
#include "proto/ledger.h"
#include "node/testing/chain_builder.h"

namespace {

bool ParseUint64(std::string_view text, uint64_t* value) {
  const auto result = std::from_chars(text.data(), text.data() + text.size(), *value);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

int Fail(const std::string& reason) {
  std::fprintf(stderr, "lading-store-writer: %s\n", reason.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t txs_per_block = 0;
  uint64_t note_text_bytes = 0;
  uint64_t block_count_max = std::numeric_limits<uint64_t>::max();
  if (argc < 4 || argc > 5 || !ParseUint64(argv[2], &txs_per_block) ||
      !ParseUint64(argv[3], &note_text_bytes) ||
      (argc == 5 && !ParseUint64(argv[4], &block_count_max)) ||
      txs_per_block > std::numeric_limits<uint32_t>::max() ||
      note_text_bytes > lading::proto::kNoteTextBytesMax) {
    std::fprintf(stderr,
                 "usage: lading-store-writer STORE_DIR TXS_PER_BLOCK NOTE_TEXT_BYTES "
                 "[BLOCK_COUNT_MAX]   (NOTE_TEXT_BYTES <= %zu)\n",
                 lading::proto::kNoteTextBytesMax);
    return 2;
  }

  lading::node::testing::ChainBuilderOptions options;
  options.chain_id = "lading-kill-test";
  options.txs_per_block = static_cast<uint32_t>(txs_per_block);
  options.note_text_bytes = note_text_bytes;
  lading::node::testing::ChainBuilder builder(options);

  auto store = lading::node::RocksDbBlockStore::Open(
      argv[1], lading::node::RocksDbBlockStoreOptions{.chain_id = options.chain_id});
  if (!store.ok()) return Fail(std::string(store.status().message()));
  const uint64_t head = (*store)->HeadHeight();
  while (builder.height() < head) builder.Next();
  if (builder.block_hash() != (*store)->HeadBlockHash()) {
    return Fail("the store's head block " + (*store)->HeadBlockHash().ToHex() +
                " is not the builder's block " + builder.block_hash().ToHex() + " at height " +
                std::to_string(head));
  }

  for (uint64_t appended = 0; appended < block_count_max; ++appended) {
    const lading::node::BlockToAppend block = builder.Next();
    const absl::Status status = (*store)->Append(block);
    if (!status.ok()) return Fail(std::string(status.message()));
    std::printf("height %llu\n", static_cast<unsigned long long>(builder.height()));
    std::fflush(stdout);
  }
  return 0;
}
