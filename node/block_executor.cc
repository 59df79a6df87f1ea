#include "node/block_executor.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "contracts/executor.h"
#include "contracts/genesis_state.h"
#include "contracts/records.h"
#include "contracts/state.h"
#include "crypto/smt_node.h"
#include "crypto/sparse_merkle_tree.h"
#include "crypto/status.h"
#include "node/state_view.h"
#include "proto/genesis.h"

namespace lading::node {
namespace {

// What the next block builds on.
struct Parent {
  uint64_t height = 0;  // the head height; 0 before block 1
  Hash256 block_hash;   // zero before block 1
  Hash256 state_root;
  int64_t time_unix_ms = 0;  // the head block's time, or the genesis time
};

absl::StatusOr<Parent> LoadParent(const BlockStore& store) {
  Parent parent;
  parent.height = store.HeadHeight();
  if (parent.height == 0) {
    absl::StatusOr<Hash256> root = store.GenesisStateRoot();
    if (absl::IsNotFound(root.status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the block store holds no genesis state (", root.status().message(),
          "); initialise it from the genesis first"));
    }
    LADING_RETURN_IF_ERROR(root.status());
    parent.state_root = *root;
    const StoreStateView view(&store);
    LADING_ASSIGN_OR_RETURN(const std::optional<proto::ChainState> chain,
                            contracts::ReadChain(view));
    if (!chain) return absl::DataLossError("the genesis state has no chain record");
    parent.time_unix_ms = chain->genesis_time_unix_ms();
    return parent;
  }
  LADING_ASSIGN_OR_RETURN(const Bytes head_block, store.GetBlock(parent.height));
  auto block = proto::DecodeBlock(head_block);
  if (!block.ok()) {
    return absl::DataLossError(absl::StrCat("head block ", parent.height,
                                            " does not decode: ", block.status().message()));
  }
  auto header = proto::DecodeBlockHeader(AsBytes(block->header()));
  if (!header.ok()) {
    return absl::DataLossError(absl::StrCat("head block ", parent.height,
                                            " header does not decode: ",
                                            header.status().message()));
  }
  auto state_root = Hash256::FromBytes(AsBytes(header->state_root()));
  if (!state_root.ok()) {
    return absl::DataLossError(absl::StrCat("head block ", parent.height, " state_root is ",
                                            header->state_root().size(), " bytes"));
  }
  parent.block_hash = proto::BlockHash(AsBytes(block->header()));
  parent.state_root = *state_root;
  parent.time_unix_ms = header->time_unix_ms();
  return parent;
}

absl::Status CheckHeadUnchanged(const BlockStore& store, const Parent& parent) {
  const uint64_t head = store.HeadHeight();
  if (head == parent.height) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("the store's head moved from height ", parent.height,
                                         " to ", head, " during execution; retry on the new head"));
}

size_t VarintBytes(uint64_t value) {
  size_t bytes = 1;
  for (value >>= 7; value != 0; value >>= 7) ++bytes;
  return bytes;
}

// Serialized size of a length-delimited field with a field number below 16 (one tag byte).
// proto3 leaves out a singular empty field but writes every element of a repeated one.
size_t SingularFieldBytes(size_t payload_bytes) {
  return payload_bytes == 0 ? 0 : 1 + VarintBytes(payload_bytes) + payload_bytes;
}
size_t RepeatedFieldBytes(size_t payload_bytes) {
  return 1 + VarintBytes(payload_bytes) + payload_bytes;
}

// Storage and I/O failures stop block building; any other execution error only disqualifies the
// transaction.
bool IsStorageFailure(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInternal ||
         status.code() == absl::StatusCode::kDataLoss ||
         status.code() == absl::StatusCode::kUnavailable;
}

std::string HashOf(const std::string& bytes) { return HexEncode(AsBytes(bytes)); }

bool SameHash(const std::string& bytes, const Hash256& hash) {
  return bytes.size() == Hash256::kSize &&
         std::equal(hash.bytes.begin(), hash.bytes.end(),
                    reinterpret_cast<const uint8_t*>(bytes.data()));
}

PreparedBlock Prepare(Bytes block, proto::BlockHeader header, const std::string& header_bytes,
                      crypto::SmtNodeBatch state_nodes,
                      const std::vector<contracts::StateWrite>& writes) {
  PreparedBlock prepared;
  prepared.block_hash = proto::BlockHash(AsBytes(header_bytes));
  prepared.append.block = std::move(block);
  prepared.append.header = std::move(header);
  prepared.append.state_nodes = std::move(state_nodes);
  for (const contracts::StateWrite& write : writes) {
    if (write.value) {
      prepared.append.state_puts.emplace_back(write.key_hash, *write.value);
    } else {
      prepared.append.state_deletes.push_back(write.key_hash);
    }
  }
  return prepared;
}

}  // namespace

absl::Status InitializeStore(BlockStore* store, const proto::Genesis& genesis) {
  LADING_CHECK(store != nullptr);
  LADING_ASSIGN_OR_RETURN(const std::vector<contracts::StateWrite> writes,
                          contracts::GenesisWrites(genesis));
  const crypto::MemorySmtNodeStore no_nodes;
  const crypto::SparseMerkleTree tree(&no_nodes);
  LADING_ASSIGN_OR_RETURN(crypto::SmtUpdateResult update,
                          tree.Update(Hash256{}, contracts::SmtUpdates(writes)));
  GenesisState state;
  state.state_root = update.root;
  state.state_nodes = std::move(update.new_nodes);
  for (const contracts::StateWrite& write : writes) {
    LADING_CHECK(write.value.has_value());
    state.state_puts.emplace_back(write.key_hash, *write.value);
  }
  return store->WriteGenesisState(state);
}

absl::StatusOr<Hash256> HeadStateRoot(const BlockStore& store) {
  LADING_ASSIGN_OR_RETURN(const Parent parent, LoadParent(store));
  return parent.state_root;
}

absl::StatusOr<consensus::ValidatorSet> HeadCommittee(const BlockStore& store) {
  const StoreStateView view(&store);
  return contracts::CommitteeFromState(view);
}

absl::StatusOr<BuiltBlock> BuildBlock(const BlockStore& store, const BuildBlockParams& params,
                                      const std::vector<Bytes>& candidate_txs,
                                      const contracts::SignatureCheck& signatures) {
  LADING_RETURN_IF_ERROR(proto::ValidateChainId(params.chain_id));
  LADING_ASSIGN_OR_RETURN(const Parent parent, LoadParent(store));
  const uint64_t height = parent.height + 1;
  if (height == 1 && !params.last_commit.empty()) {
    return absl::InvalidArgumentError("block 1 has no previous block, so no last commit");
  }
  if (height > 1 && params.last_commit.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("block ", height, " needs the commit of block ", parent.height));
  }

  proto::BlockHeader header;
  header.set_chain_id(params.chain_id);
  header.set_height(height);
  header.set_time_unix_ms(std::max(params.time_unix_ms, parent.time_unix_ms));
  if (height > 1) header.set_prev_block_hash(ToString(parent.block_hash.span()));
  header.set_proposer(params.proposer);
  // Zero hashes of the final size stand in for the roots, so the header size is known before
  // execution (the byte budget counts the whole block).
  header.set_txs_root(std::string(Hash256::kSize, '\0'));
  header.set_state_root(std::string(Hash256::kSize, '\0'));
  header.set_committee_hash(ToString(params.committee_hash.span()));
  if (height > 1) {
    header.set_last_commit_hash(ToString(proto::CommitHash(params.last_commit).span()));
  }
  const size_t header_bytes = header.ByteSizeLong();
  if (header_bytes > proto::kBlockHeaderBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("block header would be ", header_bytes,
                                                   " bytes, over the cap of ",
                                                   proto::kBlockHeaderBytesMax));
  }
  const size_t budget = std::min(params.block_bytes_max, proto::kBlockBytesMax);
  size_t block_bytes = SingularFieldBytes(header_bytes) +
                       SingularFieldBytes(params.last_commit.size());
  if (block_bytes > budget) {
    return absl::InvalidArgumentError(absl::StrCat("block budget of ", budget,
                                                   " bytes is below the empty block's ",
                                                   block_bytes, " bytes"));
  }

  const StoreStateView view(&store);
  contracts::StateOverlay overlay(&view);
  BuiltBlock built;
  proto::Block block;
  for (size_t i = 0; i < candidate_txs.size(); ++i) {
    const Bytes& tx = candidate_txs[i];
    const size_t tx_field_bytes = RepeatedFieldBytes(tx.size());
    if (block_bytes + tx_field_bytes > budget) {
      built.not_tried_count = candidate_txs.size() - i;
      break;
    }
    const absl::Status status =
        contracts::ExecuteTx(&overlay, params.chain_id, height, tx, signatures);
    if (IsStorageFailure(status)) return status;
    if (!status.ok()) {
      built.rejected.push_back(RejectedTx{.index = i, .reason = status});
      continue;
    }
    block.add_txs(ToString(tx));
    block_bytes += tx_field_bytes;
    ++built.included_count;
  }

  const std::vector<contracts::StateWrite> writes = overlay.Writes();
  const crypto::SparseMerkleTree tree(&store.StateNodes());
  LADING_ASSIGN_OR_RETURN(crypto::SmtUpdateResult update,
                          tree.Update(parent.state_root, contracts::SmtUpdates(writes)));
  LADING_ASSIGN_OR_RETURN(const Hash256 txs_root, proto::TxsRoot(block));
  header.set_txs_root(ToString(txs_root.span()));
  header.set_state_root(ToString(update.root.span()));
  block.set_header(ToString(proto::Serialize(header)));
  block.set_last_commit(ToString(params.last_commit));
  Bytes serialized = proto::Serialize(block);
  LADING_CHECK_MSG(serialized.size() == block_bytes, "block size accounting is off");
  LADING_RETURN_IF_ERROR(CheckHeadUnchanged(store, parent));

  built.prepared = Prepare(std::move(serialized), header, block.header(),
                           std::move(update.new_nodes), writes);
  return built;
}

absl::StatusOr<PreparedBlock> ValidateBlock(const BlockStore& store, std::string_view chain_id,
                                            ByteSpan block_bytes,
                                            const Hash256& expected_committee_hash,
                                            const contracts::SignatureCheck& signatures) {
  LADING_ASSIGN_OR_RETURN(const proto::Block block, proto::DecodeBlock(block_bytes));
  LADING_ASSIGN_OR_RETURN(proto::BlockHeader header,
                          proto::DecodeBlockHeader(AsBytes(block.header())));
  LADING_ASSIGN_OR_RETURN(const Parent parent, LoadParent(store));
  const uint64_t height = parent.height + 1;
  auto invalid = [&](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("block ", header.height(), ": ", parts...));
  };

  if (header.height() != height) return invalid("height ", header.height(), " != expected ", height);
  if (header.chain_id() != chain_id) {
    return invalid("chain id '", header.chain_id(), "' != this chain's '", std::string(chain_id),
                   "'");
  }
  if (height == 1 ? !header.prev_block_hash().empty()
                  : !SameHash(header.prev_block_hash(), parent.block_hash)) {
    return invalid("prev_block_hash ", HashOf(header.prev_block_hash()), " != head block hash ",
                   height == 1 ? std::string("(empty)") : parent.block_hash.ToHex());
  }
  if (header.time_unix_ms() < parent.time_unix_ms) {
    return invalid("time_unix_ms ", header.time_unix_ms(), " is before the ",
                   height == 1 ? "genesis time " : "parent block's time ", parent.time_unix_ms);
  }
  if (!SameHash(header.committee_hash(), expected_committee_hash)) {
    return invalid("committee_hash ", HashOf(header.committee_hash()), " != expected ",
                   expected_committee_hash.ToHex());
  }
  if (height == 1) {
    if (!block.last_commit().empty() || !header.last_commit_hash().empty()) {
      return invalid("carries a last commit; block 1 has none");
    }
  } else {
    const Hash256 last_commit_hash = proto::CommitHash(AsBytes(block.last_commit()));
    if (!SameHash(header.last_commit_hash(), last_commit_hash)) {
      return invalid("last_commit_hash ", HashOf(header.last_commit_hash()), " != recomputed ",
                     last_commit_hash.ToHex());
    }
    auto last_commit = proto::DecodeCommit(AsBytes(block.last_commit()));
    if (!last_commit.ok()) return invalid("last_commit: ", last_commit.status().message());
    if (last_commit->height() != parent.height ||
        !SameHash(last_commit->block_hash(), parent.block_hash)) {
      return invalid("last_commit is for height ", last_commit->height(), " block ",
                     HashOf(last_commit->block_hash()), ", not the head ", parent.height, " ",
                     parent.block_hash.ToHex());
    }
  }
  auto txs_root = proto::TxsRoot(block);
  if (!txs_root.ok()) return invalid(txs_root.status().message());
  if (!SameHash(header.txs_root(), *txs_root)) {
    return invalid("txs_root ", HashOf(header.txs_root()), " != recomputed ", txs_root->ToHex());
  }

  std::vector<ByteSpan> txs;
  txs.reserve(block.txs_size());
  for (const std::string& tx : block.txs()) txs.push_back(AsBytes(tx));
  const StoreStateView view(&store);
  absl::StatusOr<contracts::BlockWrites> writes =
      contracts::ExecuteBlock(view, chain_id, height, txs, signatures);
  if (!writes.ok()) {
    return absl::Status(writes.status().code(), absl::StrCat("block ", height, ": ",
                                                             writes.status().message()));
  }
  const crypto::SparseMerkleTree tree(&store.StateNodes());
  LADING_ASSIGN_OR_RETURN(crypto::SmtUpdateResult update,
                          tree.Update(parent.state_root, contracts::SmtUpdates(writes->writes)));
  if (!SameHash(header.state_root(), update.root)) {
    return invalid("state_root ", HashOf(header.state_root()), " != recomputed ",
                   update.root.ToHex());
  }
  LADING_RETURN_IF_ERROR(CheckHeadUnchanged(store, parent));
  return Prepare(Bytes(block_bytes.begin(), block_bytes.end()), std::move(header), block.header(),
                 std::move(update.new_nodes), writes->writes);
}

absl::Status ApplyBlock(BlockStore* store, PreparedBlock prepared, Bytes commit) {
  LADING_CHECK(store != nullptr);
  prepared.append.commit = std::move(commit);
  return store->Append(prepared.append);
}

}  // namespace lading::node
