// ChainBuilder: deterministic, valid chains for block store tests and benchmarks.
//
// Each call to Next() returns the next block of one chain, ready for BlockStore::Append: a header
// linked to the previous block, transactions carrying Note payloads, the previous block's commit
// as last_commit, a commit for the block itself, and state writes with the sparse Merkle nodes
// they create. Everything is a function of (options, height): two builders with the same options
// produce byte-identical chains, so a test or a restarted writer can regenerate any block and
// compare it with what a store holds.
//
// What is NOT real here: signatures and commit signatures are random bytes (the store does not
// check signatures), and the state tree is rebuilt from the whole key->value map on every block
// (fine for the small key sets used here). The tree has the canonical shape of
// crypto/sparse_merkle_tree.h: a subtree holding one key is that key's leaf, placed as high as
// possible; a subtree holding none is the zero hash.
//
// Ownership: the builder owns its state; returned blocks are the caller's.
// Thread-safety: not thread-safe.
#ifndef LADING_NODE_TESTING_CHAIN_BUILDER_H_
#define LADING_NODE_TESTING_CHAIN_BUILDER_H_

#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>

#include "crypto/bytes.h"
#include "node/block_store.h"

namespace lading::node::testing {

struct ChainBuilderOptions {
  std::string chain_id = "lading-test";
  // Seeds every random byte of the chain.
  uint64_t seed = 1;
  uint32_t txs_per_block = 3;
  // Note text per transaction. REQUIRES: <= proto::kNoteTextBytesMax.
  size_t note_text_bytes = 64;
  // State keys written (or deleted, one time in five when present) per block, drawn from
  // `state_key_count` distinct keys. REQUIRES: state_writes_per_block <= state_key_count.
  uint32_t state_writes_per_block = 4;
  uint32_t state_key_count = 32;
  // Signatures in each stored commit; the next block's last_commit carries one fewer (a different
  // but still valid set, as a real proposer would gather).
  uint32_t validator_count = 4;
};

class ChainBuilder {
 public:
  explicit ChainBuilder(ChainBuilderOptions options);

  // The block at height() + 1; advances height().
  BlockToAppend Next();

  // Height of the last block Next() returned (0 before the first).
  uint64_t height() const { return height_; }
  // Hash of that block (zero before the first).
  const Hash256& block_hash() const { return block_hash_; }
  // State after that block: state key hash -> value.
  const std::map<Hash256, Bytes>& state() const { return state_; }
  const Hash256& state_root() const { return state_root_; }
  const ChainBuilderOptions& options() const { return options_; }

  // State key hash of the builder's key number `index`.
  static Hash256 StateKey(uint32_t index);
  // Value hash committed to in the state tree's leaves for `value`.
  static Hash256 StateValueHash(ByteSpan value);

 private:
  ChainBuilderOptions options_;
  uint64_t height_ = 0;
  Hash256 block_hash_;
  Bytes last_commit_;  // the commit carried by the next block (empty before block 2)
  std::map<Hash256, Bytes> state_;
  Hash256 state_root_;
  std::unordered_set<Hash256, Hash256Hasher> written_nodes_;
};

}  // namespace lading::node::testing

#endif  // LADING_NODE_TESTING_CHAIN_BUILDER_H_
