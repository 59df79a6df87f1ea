#include "node/testing/chain_fixture.h"

#include <utility>

#include "consensus/types.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::node::testing {

Bytes SignedCommit(const contracts::testing::TestChain& chain, uint64_t height,
                   const Hash256& block_hash) {
  proto::Commit commit;
  commit.set_height(height);
  commit.set_round(0);
  commit.set_block_hash(ToString(block_hash.span()));
  uint32_t index = 0;
  for (const proto::Member& member : chain.genesis().members()) {
    if (member.voting_power() == 0) continue;
    consensus::Vote precommit;
    precommit.type = consensus::VoteType::kPrecommit;
    precommit.height = height;
    precommit.round = 0;
    precommit.block_hash = block_hash;
    precommit.validator = index;
    const Bytes sign_bytes = consensus::VoteSignBytes(chain.chain_id(), precommit);
    proto::CommitSignature* signature = commit.add_signatures();
    signature->set_validator_index(index);
    signature->set_signature(ToString(chain.key(member.id()).Sign(sign_bytes).span()));
    ++index;
  }
  return proto::Serialize(commit);
}

TestNode::TestNode(const contracts::testing::TestChain* chain,
                   const contracts::SignatureCheck* verifier)
    : chain_(chain),
      signatures_(std::make_unique<VerifiedSignatureCache>(
          VerifiedSignatureCache::kDefaultEntriesMax, verifier)) {}

absl::StatusOr<std::unique_ptr<TestNode>> TestNode::Create(
    const contracts::testing::TestChain* chain, const contracts::SignatureCheck* verifier) {
  LADING_CHECK(chain != nullptr);
  std::unique_ptr<TestNode> node(new TestNode(chain, verifier));
  LADING_ASSIGN_OR_RETURN(node->store_,
                          RocksDbBlockStore::Open(node->dir_.Sub("store"),
                                                  {.chain_id = chain->chain_id()}));
  LADING_RETURN_IF_ERROR(InitializeStore(node->store_.get(), chain->genesis()));
  LADING_ASSIGN_OR_RETURN(const consensus::ValidatorSet committee, HeadCommittee(*node->store_));
  node->committee_hash_ = committee.Hash();
  return node;
}

absl::StatusOr<BuildBlockParams> TestNode::NextBlockParams() const {
  const uint64_t head = store_->HeadHeight();
  BuildBlockParams params;
  params.chain_id = chain_->chain_id();
  for (const proto::Member& member : chain_->genesis().members()) {
    if (member.voting_power() > 0) {
      params.proposer = member.id();
      break;
    }
  }
  params.time_unix_ms = chain_->genesis().genesis_time_unix_ms() +
                        static_cast<int64_t>(head + 1) * 1000;
  if (head > 0) {
    LADING_ASSIGN_OR_RETURN(params.last_commit, store_->GetCommit(head));
  }
  params.committee_hash = committee_hash_;
  return params;
}

absl::StatusOr<BuiltBlock> TestNode::Build(const std::vector<Bytes>& txs) const {
  LADING_ASSIGN_OR_RETURN(const BuildBlockParams params, NextBlockParams());
  return BuildBlock(*store_, params, txs, *signatures_);
}

absl::StatusOr<PreparedBlock> TestNode::Validate(ByteSpan block) const {
  return ValidateBlock(*store_, chain_->chain_id(), block, committee_hash_, *signatures_);
}

absl::Status TestNode::Apply(PreparedBlock prepared) {
  Bytes commit = SignedCommit(*chain_, prepared.append.header.height(), prepared.block_hash);
  return ApplyBlock(store_.get(), std::move(prepared), std::move(commit));
}

}  // namespace lading::node::testing
