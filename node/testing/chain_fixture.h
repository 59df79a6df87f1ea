// TestNode: the storage and execution side of one node, for block executor and mempool tests.
//
// A RocksDbBlockStore in a fresh temporary directory, initialised from a TestChain's genesis,
// with a VerifiedSignatureCache. Blocks built or validated here get commits signed by every
// validator of the chain (real precommit signatures over consensus::VoteSignBytes), so the stored
// chain is what a real committee would produce.
//
// Ownership: a TestNode owns its directory, store and cache, and borrows the TestChain.
// Thread-safety: as its store and cache (thread-safe); the helpers are for one test thread.
#ifndef LADING_NODE_TESTING_CHAIN_FIXTURE_H_
#define LADING_NODE_TESTING_CHAIN_FIXTURE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "contracts/testing/test_chain.h"
#include "node/block_executor.h"
#include "node/mempool.h"
#include "node/rocksdb_block_store.h"
#include "node/testing/store_files.h"

namespace lading::node::testing {

// The serialized Commit of (height, round 0, block_hash) signed by every validator of `chain`.
Bytes SignedCommit(const contracts::testing::TestChain& chain, uint64_t height,
                   const Hash256& block_hash);

class TestNode {
 public:
  // `verifier` is what the cache calls on a miss (nullptr: real verification).
  // REQUIRES: chain outlives the node; verifier (when given) too.
  static absl::StatusOr<std::unique_ptr<TestNode>> Create(
      const contracts::testing::TestChain* chain,
      const contracts::SignatureCheck* verifier = nullptr);

  RocksDbBlockStore& store() { return *store_; }
  VerifiedSignatureCache& signatures() { return *signatures_; }
  const Hash256& committee_hash() const { return committee_hash_; }

  // Params for the next block: proposed by the first validator at genesis time + height seconds,
  // carrying the head's stored commit.
  absl::StatusOr<BuildBlockParams> NextBlockParams() const;
  // BuildBlock with NextBlockParams and this node's cache.
  absl::StatusOr<BuiltBlock> Build(const std::vector<Bytes>& txs) const;
  // ValidateBlock as the next block with this node's cache and committee.
  absl::StatusOr<PreparedBlock> Validate(ByteSpan block) const;
  // ApplyBlock with SignedCommit for the prepared block.
  absl::Status Apply(PreparedBlock prepared);

 private:
  TestNode(const contracts::testing::TestChain* chain,
           const contracts::SignatureCheck* verifier);

  const contracts::testing::TestChain* chain_;
  TempDir dir_;
  std::unique_ptr<RocksDbBlockStore> store_;
  std::unique_ptr<VerifiedSignatureCache> signatures_;
  Hash256 committee_hash_;
};

}  // namespace lading::node::testing

#endif  // LADING_NODE_TESTING_CHAIN_FIXTURE_H_
