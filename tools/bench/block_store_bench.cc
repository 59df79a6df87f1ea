// lading-store-bench: throughput of RocksDbBlockStore::Append, each append a synced RocksDB write
// batch (block record, block and tx indexes, commit, state nodes and values, head).
//
// Blocks come from node/testing's ChainBuilder with ~256-byte transactions (a Note of 150 bytes
// plus body fields and a 64-byte signature) and 16 state writes per block over 1,024 state keys.
// Building a block is excluded from the timing; wall-clock time is reported, because a synced
// write spends its time waiting for the disk, not on the CPU.
//
// Counters: items_per_second = transactions/s, bytes_per_second = serialized block bytes/s,
// blocks_per_s, and tx_bytes (mean serialized SignedTx size). Run with the store directory on
// the disk to be measured (TMPDIR).
#include <benchmark/benchmark.h>

#include <string>

#include "node/rocksdb_block_store.h"
#include "node/testing/chain_builder.h"
#include "node/testing/store_files.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

void BM_AppendSyncedBlock(benchmark::State& state) {
  const auto txs_per_block = static_cast<uint32_t>(state.range(0));
  testing::TempDir dir;
  auto store =
      RocksDbBlockStore::Open(dir.Sub("store"), RocksDbBlockStoreOptions{.chain_id = "bench"});
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  testing::ChainBuilder builder(testing::ChainBuilderOptions{.chain_id = "bench",
                                                             .txs_per_block = txs_per_block,
                                                             .note_text_bytes = 150,
                                                             .state_writes_per_block = 16,
                                                             .state_key_count = 1024});
  int64_t block_bytes = 0;
  int64_t tx_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const BlockToAppend block = builder.Next();
    block_bytes += static_cast<int64_t>(block.block.size());
    const auto decoded = proto::DecodeBlock(block.block);
    for (const std::string& tx : decoded->txs()) tx_bytes += static_cast<int64_t>(tx.size());
    state.ResumeTiming();
    const absl::Status status = (*store)->Append(block);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      return;
    }
  }
  const auto blocks = static_cast<int64_t>(state.iterations());
  state.SetItemsProcessed(blocks * txs_per_block);
  state.SetBytesProcessed(block_bytes);
  state.counters["blocks_per_s"] =
      benchmark::Counter(static_cast<double>(blocks), benchmark::Counter::kIsRate);
  state.counters["tx_bytes"] =
      static_cast<double>(tx_bytes) / static_cast<double>(blocks * txs_per_block);
}
BENCHMARK(BM_AppendSyncedBlock)
    ->ArgName("txs_per_block")
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

}  // namespace
}  // namespace lading::node

