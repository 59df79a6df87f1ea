// Block executor: turns transactions into blocks and blocks into stored chain, on top of the
// contracts (contracts/executor.h) and a BlockStore.
//
//   InitializeStore  writes the genesis state (members, committee, chain record) into a new store:
//                    the state root before block 1, kept in the store's meta.
//   BuildBlock       the proposer: executes candidate transactions in order on the head state,
//                    skips (and reports) invalid ones, stops at the byte budget, computes the new
//                    state tree and fills the header.
//   ValidateBlock    every validator, for a proposal: decodes, checks the header against the head,
//                    re-executes every transaction and recomputes every root. Its verdict is the
//                    consensus ProposalValidated (execute-then-vote: any error => vote nil).
//   ApplyBlock       once consensus decided: appends the prepared block with its commit.
// Build and Validate return a PreparedBlock: everything BlockStore::Append needs but the commit,
// so a decided block is stored without executing it again.
//
// Signatures are checked through the given contracts::SignatureCheck; the node passes its
// VerifiedSignatureCache (node/mempool.h) so that each transaction's signature is verified once
// per node, at mempool entry.
//
// What ValidateBlock does NOT check: the signatures of last_commit (that needs the committee of
// the previous height: the consensus driver or block sync verifies them with
// consensus::VerifyCommit), and that header.proposer is the round's proposer (the consensus
// driver knows the round; it must compare the proposal signer's id with header.proposer).
//
// Ownership: functions borrow the store. Thread-safety: Build and Validate only read the store,
// but need the state of one head: they REQUIRE that no Append runs on the store meanwhile (the
// node's consensus driver serialises them with ApplyBlock), and fail with Aborted if the head
// moved anyway.
#ifndef LADING_NODE_BLOCK_EXECUTOR_H_
#define LADING_NODE_BLOCK_EXECUTOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consensus/validator_set.h"
#include "contracts/signature_check.h"
#include "crypto/bytes.h"
#include "node/block_store.h"
#include "proto/genesis.pb.h"
#include "proto/ledger.h"

namespace lading::node {

// A block that executed and whose roots are known, waiting for its commit.
struct PreparedBlock {
  // All of BlockStore::Append's input; `append.commit` is empty until ApplyBlock.
  BlockToAppend append;
  // proto::BlockHash of the block's header: what consensus votes on.
  Hash256 block_hash;
};

// A candidate transaction BuildBlock left out because it failed execution.
struct RejectedTx {
  // Position in the candidate list.
  size_t index = 0;
  // Why (contracts/executor.h errors).
  absl::Status reason;
};

struct BuildBlockParams {
  // The chain; REQUIRED to be the store's.
  std::string chain_id;
  // Member id of the proposing validator.
  std::string proposer;
  // The proposer's clock, ms since the Unix epoch. Raised to the parent block's time (or the
  // genesis time) when earlier, so block times never go backwards.
  int64_t time_unix_ms = 0;
  // Serialized Commit of the head block (empty when building block 1).
  Bytes last_commit;
  // Hash of the committee that validates this block (consensus::ValidatorSet::Hash).
  Hash256 committee_hash;
  // Largest serialized block; at most proto::kBlockBytesMax (larger values are capped to it).
  size_t block_bytes_max = proto::kBlockBytesMax;
};

struct BuiltBlock {
  // The serialized block is prepared.append.block.
  PreparedBlock prepared;
  // Candidates that failed execution, in candidate order.
  std::vector<RejectedTx> rejected;
  // Candidates included in the block.
  size_t included_count = 0;
  // Candidates not tried because the block was full (the last ones of the list).
  size_t not_tried_count = 0;
};

// Writes the genesis state of `genesis` into `store` (BlockStore::WriteGenesisState): OK as well
// when the store already holds this very genesis state (a restart). Errors:
// contracts::GenesisWrites' (an invalid genesis), the store's (FailedPrecondition for a store
// holding blocks or another genesis).
// REQUIRES: store is non-null and holds chain genesis.chain_id().
absl::Status InitializeStore(BlockStore* store, const proto::Genesis& genesis);

// The state root the next block executes on: the head block's state_root, or the genesis state
// root for an empty store. FailedPrecondition when the store has neither (InitializeStore was
// not run); DataLoss when the head block does not decode.
absl::StatusOr<Hash256> HeadStateRoot(const BlockStore& store);

// The committee recorded in the head state (contracts::CommitteeFromState): the committee of the
// next block while committees do not change.
absl::StatusOr<consensus::ValidatorSet> HeadCommittee(const BlockStore& store);

// Builds block HeadHeight() + 1 from `candidate_txs` (serialized SignedTx, in the order they
// should execute: node/mempool.h Reap gives that order). Each candidate executes on the state
// left by those before it; a failing one is skipped and reported in `rejected`; at the first
// candidate that would take the block over the byte budget, building stops. An empty block is
// valid. Errors (no block): InvalidArgument for params that cannot make a valid block (last
// commit present at height 1 or absent later, a budget below the empty block's size, a chain id
// the header cannot carry); FailedPrecondition when the store has no genesis state; Aborted when
// the head moved while building; store errors as is.
absl::StatusOr<BuiltBlock> BuildBlock(const BlockStore& store, const BuildBlockParams& params,
                                      const std::vector<Bytes>& candidate_txs,
                                      const contracts::SignatureCheck& signatures);

// Validates the serialized Block `block` as the next block of `store` (chain `chain_id`) to be
// validated by the committee whose hash is `expected_committee_hash`, and prepares it. Checks, in
// order, each failure InvalidArgument naming the mismatch:
//   the block and header decode within their caps; height = head + 1; chain id; prev_block_hash
//   = the head's hash (empty at height 1); time_unix_ms not before the parent block's (or the
//   genesis) time; committee_hash = expected ("committee_hash X != expected Y");
//   last_commit_hash = H(last_commit) and last_commit is for the head height and hash (both empty
//   at height 1); txs_root ("txs_root X != recomputed Y"); every transaction executes
//   (contracts::ExecuteBlock's error, with its code: "block transaction 2: nonce 3 already used
//   by ..."); state_root ("state_root X != recomputed Y").
// FailedPrecondition when the store has no genesis state; Aborted when the head moved meanwhile;
// store errors with their code (Internal, DataLoss: the node's storage failed, which says nothing
// about the block; the node should stop rather than vote).
absl::StatusOr<PreparedBlock> ValidateBlock(const BlockStore& store, std::string_view chain_id,
                                            ByteSpan block, const Hash256& expected_committee_hash,
                                            const contracts::SignatureCheck& signatures);

// Appends `prepared` with `commit` (serialized Commit for it) to `store`: BlockStore::Append's
// result. REQUIRES: store is non-null.
absl::Status ApplyBlock(BlockStore* store, PreparedBlock prepared, Bytes commit);

}  // namespace lading::node

#endif  // LADING_NODE_BLOCK_EXECUTOR_H_
