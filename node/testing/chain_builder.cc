#include "node/testing/chain_builder.h"

#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/smt_node.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::node::testing {
namespace {

using Item = std::pair<Hash256, Hash256>;  // key, value hash

std::string RandomBytes(std::mt19937_64& rng, size_t size) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// Builds the canonical subtree over items[begin, end), which share their first `depth` bits.
Hash256 BuildSubtree(const std::vector<Item>& items, size_t begin, size_t end, size_t depth,
                     crypto::SmtNodeBatch* nodes) {
  if (begin == end) return Hash256{};
  if (end - begin == 1) {
    const crypto::SmtNode leaf = crypto::SmtNode::Leaf(items[begin].first, items[begin].second);
    nodes->emplace_back(leaf.Hash(), leaf);
    return nodes->back().first;
  }
  LADING_CHECK(depth < 256);
  size_t split = begin;
  while (split < end && !items[split].first.Bit(depth)) ++split;
  const Hash256 left = BuildSubtree(items, begin, split, depth + 1, nodes);
  const Hash256 right = BuildSubtree(items, split, end, depth + 1, nodes);
  const crypto::SmtNode internal = crypto::SmtNode::Internal(left, right);
  nodes->emplace_back(internal.Hash(), internal);
  return nodes->back().first;
}

Bytes CommitFor(uint64_t height, const Hash256& block_hash, uint32_t signer_count,
                std::mt19937_64& rng) {
  proto::Commit commit;
  commit.set_height(height);
  commit.set_round(static_cast<uint32_t>(height % 3));
  commit.set_block_hash(ToString(block_hash.span()));
  for (uint32_t i = 0; i < signer_count; ++i) {
    proto::CommitSignature* signature = commit.add_signatures();
    signature->set_validator_index(i);
    signature->set_signature(RandomBytes(rng, 64));
  }
  return proto::Serialize(commit);
}

}  // namespace

ChainBuilder::ChainBuilder(ChainBuilderOptions options) : options_(std::move(options)) {
  LADING_CHECK(options_.note_text_bytes <= proto::kNoteTextBytesMax);
  LADING_CHECK(options_.state_writes_per_block <= options_.state_key_count);
  LADING_CHECK(options_.validator_count >= 1);
}

Hash256 ChainBuilder::StateKey(uint32_t index) {
  return crypto::HashWithLabel(crypto::kLabelStateKey, AsBytes(absl::StrCat("test-key-", index)));
}

Hash256 ChainBuilder::StateValueHash(ByteSpan value) {
  return crypto::HashWithLabel(crypto::kLabelStateValue, value);
}

BlockToAppend ChainBuilder::Next() {
  const uint64_t height = height_ + 1;
  std::mt19937_64 rng(options_.seed ^ (height * 0x9e3779b97f4a7c15ULL));
  BlockToAppend out;

  proto::Block block;
  for (uint32_t i = 0; i < options_.txs_per_block; ++i) {
    proto::TxBody body;
    body.set_chain_id(options_.chain_id);
    body.set_signer(absl::StrCat("member-", i % 5));
    body.set_nonce((height - 1) * options_.txs_per_block + i + 1);
    body.set_expires_at_height(height + 100);
    body.mutable_note()->set_text(RandomBytes(rng, options_.note_text_bytes));
    proto::SignedTx tx;
    tx.set_body(ToString(proto::Serialize(body)));
    tx.set_signature(RandomBytes(rng, 64));
    block.add_txs(ToString(proto::Serialize(tx)));
  }
  block.set_last_commit(ToString(last_commit_));

  std::vector<bool> touched(options_.state_key_count, false);
  for (uint32_t written = 0; written < options_.state_writes_per_block;) {
    const uint32_t index = static_cast<uint32_t>(rng() % options_.state_key_count);
    if (touched[index]) continue;
    touched[index] = true;
    ++written;
    const Hash256 key = StateKey(index);
    if (state_.contains(key) && rng() % 5 == 0) {
      state_.erase(key);
      out.state_deletes.push_back(key);
    } else {
      const std::string value = RandomBytes(rng, 8 + rng() % 57);
      state_[key] = ToBytes(value);
      out.state_puts.emplace_back(key, ToBytes(value));
    }
  }
  std::vector<Item> items;
  items.reserve(state_.size());
  for (const auto& [key, value] : state_) items.emplace_back(key, StateValueHash(value));
  crypto::SmtNodeBatch tree;
  state_root_ = BuildSubtree(items, 0, items.size(), 0, &tree);
  for (auto& entry : tree) {
    if (written_nodes_.insert(entry.first).second) out.state_nodes.push_back(std::move(entry));
  }

  out.header.set_chain_id(options_.chain_id);
  out.header.set_height(height);
  out.header.set_time_unix_ms(1'700'000'000'000 + static_cast<int64_t>(height) * 1000);
  if (height > 1) out.header.set_prev_block_hash(ToString(block_hash_.span()));
  out.header.set_proposer(absl::StrCat("validator-", height % options_.validator_count));
  auto txs_root = proto::TxsRoot(block);
  LADING_CHECK(txs_root.ok());
  out.header.set_txs_root(ToString(txs_root->span()));
  out.header.set_state_root(ToString(state_root_.span()));
  out.header.set_committee_hash(std::string(Hash256::kSize, '\xc0'));
  if (height > 1) {
    out.header.set_last_commit_hash(ToString(proto::CommitHash(last_commit_).span()));
  }
  const Bytes header_bytes = proto::Serialize(out.header);
  block.set_header(ToString(header_bytes));
  out.block = proto::Serialize(block);

  block_hash_ = proto::BlockHash(header_bytes);
  out.commit = CommitFor(height, block_hash_, options_.validator_count, rng);
  last_commit_ = CommitFor(height, block_hash_,
                           options_.validator_count > 1 ? options_.validator_count - 1 : 1, rng);
  height_ = height;
  return out;
}

}  // namespace lading::node::testing
