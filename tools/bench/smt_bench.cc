// Sparse Merkle tree micro-benchmarks (crypto/sparse_merkle_tree.h) on a 1,000,000-key tree in
// a MemorySmtNodeStore: batch update throughput (keys/s), proof generation and proof
// verification (per operation). The tree is built once, before any timing, in one batched
// update; every timed update starts from that same root, so each iteration measures 10,000 keys
// going into a 1M-key tree.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "crypto/smt_node.h"
#include "crypto/sparse_merkle_tree.h"

namespace lading::crypto {
namespace {

constexpr size_t kTreeKeys = 1'000'000;
constexpr size_t kBatchKeys = 10'000;
constexpr size_t kPreparedBatches = 8;
constexpr size_t kPreparedProofs = 4096;
static_assert(kBatchKeys * 97 <= kTreeKeys);

Hash256 RandomHash(std::mt19937_64& rng) {
  Hash256 out;
  for (size_t i = 0; i < Hash256::kSize; i += 8) {
    const uint64_t word = rng();
    for (size_t j = 0; j < 8; ++j) out.bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  return out;
}

struct BigTree {
  MemorySmtNodeStore store;
  SparseMerkleTree tree{&store};
  Hash256 root;
  std::vector<Hash256> keys;
  std::vector<Hash256> values;
  std::vector<Hash256> absent_keys;
};

// Built on first use so that only the benchmarks that need it pay for it.
const BigTree& GetBigTree() {
  static const BigTree* const big = [] {
    auto* t = new BigTree;
    std::mt19937_64 rng(1);
    std::vector<SmtUpdate> updates;
    updates.reserve(kTreeKeys);
    for (size_t i = 0; i < kTreeKeys; ++i) {
      t->keys.push_back(RandomHash(rng));
      t->values.push_back(RandomHash(rng));
      updates.push_back({t->keys.back(), t->values.back()});
    }
    for (size_t i = 0; i < kPreparedProofs; ++i) t->absent_keys.push_back(RandomHash(rng));
    auto result = t->tree.Update(Hash256{}, std::move(updates));
    if (!result.ok()) {
      std::fprintf(stderr, "building the 1M-key tree failed: %s\n",
                   std::string(result.status().message()).c_str());
      std::abort();
    }
    t->store.Apply(result->new_nodes);
    t->root = result->root;
    std::fprintf(stderr, "built a %zu-key sparse merkle tree: %zu stored nodes\n", kTreeKeys,
                 t->store.size());
    return t;
  }();
  return *big;
}

// Argument 0: insert 10,000 new keys; 1: overwrite 10,000 present keys with new values.
void BM_SmtBatchUpdate(benchmark::State& state) {
  const BigTree& big = GetBigTree();
  const bool overwrite = state.range(0) == 1;
  std::mt19937_64 rng(2);
  std::vector<std::vector<SmtUpdate>> batches(kPreparedBatches);
  for (auto& batch : batches) {
    batch.reserve(kBatchKeys);
    for (size_t i = 0; i < kBatchKeys; ++i) {
      // One present key from each run of 97 keeps the overwritten keys distinct in a batch.
      const Hash256 key = overwrite ? big.keys[i * 97 + rng() % 97] : RandomHash(rng);
      batch.push_back({key, RandomHash(rng)});
    }
  }
  size_t new_nodes = 0;
  size_t next = 0;
  for (auto _ : state) {
    auto result = big.tree.Update(big.root, batches[next++ % kPreparedBatches]);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      break;
    }
    new_nodes = result->new_nodes.size();
    benchmark::DoNotOptimize(result->root);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatchKeys));
  state.counters["new_nodes_per_batch"] = static_cast<double>(new_nodes);
  state.SetLabel(overwrite ? "10k overwrites into 1M keys" : "10k inserts into 1M keys");
}
BENCHMARK(BM_SmtBatchUpdate)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_SmtProveMembership(benchmark::State& state) {
  const BigTree& big = GetBigTree();
  size_t next = 0;
  for (auto _ : state) {
    auto proof = big.tree.Prove(big.root, big.keys[(next++ * 7919) % kTreeKeys]);
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SmtProveMembership);

void BM_SmtProveNonMembership(benchmark::State& state) {
  const BigTree& big = GetBigTree();
  size_t next = 0;
  for (auto _ : state) {
    auto proof = big.tree.Prove(big.root, big.absent_keys[next++ % kPreparedProofs]);
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SmtProveNonMembership);

void BM_SmtVerifyMembership(benchmark::State& state) {
  const BigTree& big = GetBigTree();
  std::vector<SmtProof> proofs;
  std::vector<size_t> indexes;
  size_t siblings = 0;
  for (size_t i = 0; i < kPreparedProofs; ++i) {
    indexes.push_back((i * 7919) % kTreeKeys);
    proofs.push_back(*big.tree.Prove(big.root, big.keys[indexes.back()]));
    siblings += proofs.back().siblings.size();
  }
  size_t next = 0;
  for (auto _ : state) {
    const size_t i = next++ % kPreparedProofs;
    const absl::Status status =
        VerifyMembership(big.root, big.keys[indexes[i]], big.values[indexes[i]], proofs[i]);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["mean_siblings"] = static_cast<double>(siblings) / kPreparedProofs;
  state.counters["mean_proof_bytes"] = [&] {
    size_t bytes = 0;
    for (const SmtProof& proof : proofs) bytes += proof.Encode().size();
    return static_cast<double>(bytes) / kPreparedProofs;
  }();
}
BENCHMARK(BM_SmtVerifyMembership);

void BM_SmtVerifyNonMembership(benchmark::State& state) {
  const BigTree& big = GetBigTree();
  std::vector<SmtProof> proofs;
  for (const Hash256& key : big.absent_keys) proofs.push_back(*big.tree.Prove(big.root, key));
  size_t next = 0;
  for (auto _ : state) {
    const size_t i = next++ % kPreparedProofs;
    const absl::Status status = VerifyNonMembership(big.root, big.absent_keys[i], proofs[i]);
    if (!status.ok()) {
      state.SkipWithError(std::string(status.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SmtVerifyNonMembership);

}  // namespace
}  // namespace lading::crypto

