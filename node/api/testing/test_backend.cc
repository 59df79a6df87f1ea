#include "node/api/testing/test_backend.h"

#include <utility>

#include "contracts/records.h"
#include "crypto/status.h"
#include "node/state_view.h"
#include "proto/ledger.h"

namespace lading::node::api::testing {

crypto::MemberKeys TestMemberKeys(const contracts::testing::TestChain& chain,
                                  std::string_view member_id) {
  absl::StatusOr<crypto::SigningKey> signing =
      crypto::SigningKey::FromSeed(chain.key(member_id).seed());
  LADING_CHECK(signing.ok());
  return crypto::MemberKeys{std::string(member_id), std::move(*signing),
                            crypto::EncryptionKey::Generate()};
}

absl::StatusOr<std::unique_ptr<TestBackend>> TestBackend::Create(
    const contracts::testing::TestChain* chain, MempoolOptions mempool_options) {
  std::unique_ptr<TestBackend> backend(new TestBackend(chain));
  LADING_ASSIGN_OR_RETURN(backend->node_, node::testing::TestNode::Create(chain));
  backend->mempool_ =
      std::make_unique<Mempool>(chain->chain_id(), &backend->node_->store(),
                                &backend->node_->signatures(), mempool_options);
  LADING_ASSIGN_OR_RETURN(const Hash256 genesis_root, backend->node_->store().GenesisStateRoot());
  backend->board_.Update([&](NodeStatus* status) {
    status->chain_id = chain->chain_id();
    status->member_id = chain->genesis().members(0).id();
    status->validator = true;
    status->state_root = genesis_root;
    status->head_time_unix_ms = chain->genesis().genesis_time_unix_ms();
    status->consensus_height = 1;
    status->serving = true;
  });
  return backend;
}

absl::StatusOr<Hash256> TestBackend::SubmitTx(ByteSpan signed_tx) {
  LADING_ASSIGN_OR_RETURN(const Hash256 tx_id, mempool_->Add(signed_tx));
  // Add accepted it, so it decodes.
  const proto::SignedTx tx = *proto::DecodeSignedTx(signed_tx);
  const proto::TxBody body = *proto::DecodeTxBody(AsBytes(tx.body()));
  {
    std::lock_guard<std::mutex> lock(nonces_mutex_);
    accepted_nonces_[body.signer()].insert(body.nonce());
  }
  board_.Update([&](NodeStatus* status) {
    status->mempool_txs = mempool_->size();
    status->mempool_bytes = mempool_->bytes();
  });
  return tx_id;
}

absl::StatusOr<uint64_t> TestBackend::PendingNextNonce(std::string_view member_id) const {
  const StoreStateView state(&node_->store());
  LADING_ASSIGN_OR_RETURN(const std::optional<proto::Member> member,
                          contracts::ReadMember(state, member_id));
  if (!member.has_value()) {
    return absl::NotFoundError(absl::StrCat("member ", std::string(member_id), " not found"));
  }
  LADING_ASSIGN_OR_RETURN(uint64_t next, contracts::ReadNextNonce(state, member_id));
  std::lock_guard<std::mutex> lock(nonces_mutex_);
  const auto accepted = accepted_nonces_.find(member_id);
  if (accepted == accepted_nonces_.end()) return next;
  while (accepted->second.count(next) != 0) ++next;
  return next;
}

absl::StatusOr<uint64_t> TestBackend::AppendBlock() {
  std::lock_guard<std::mutex> lock(append_mutex_);
  const std::vector<Bytes> txs = mempool_->Reap(proto::kBlockBytesMax / 2);
  LADING_ASSIGN_OR_RETURN(BuiltBlock built, node_->Build(txs));
  const proto::BlockHeader header = built.prepared.append.header;
  const Hash256 block_hash = built.prepared.block_hash;
  LADING_ASSIGN_OR_RETURN(const proto::Block block,
                          proto::DecodeBlock(built.prepared.append.block));
  LADING_RETURN_IF_ERROR(node_->Apply(std::move(built.prepared)));
  LADING_RETURN_IF_ERROR(mempool_->RemoveCommitted(block));
  LADING_ASSIGN_OR_RETURN(const Hash256 state_root,
                          Hash256::FromBytes(AsBytes(header.state_root())));
  board_.Update([&](NodeStatus* status) {
    status->height = header.height();
    status->head_block_hash = block_hash;
    status->state_root = state_root;
    status->head_time_unix_ms = header.time_unix_ms();
    status->consensus_height = header.height() + 1;
    status->committed_txs_total += static_cast<uint64_t>(block.txs_size());
    status->mempool_txs = mempool_->size();
    status->mempool_bytes = mempool_->bytes();
  });
  return header.height();
}

}  // namespace lading::node::api::testing
