// Binary Merkle tree over a list of 32-byte items (transaction ids in a block), with inclusion
// proofs.
//
//   leaf hash  = H("lading/merkle/leaf", item)
//   node hash  = H("lading/merkle/node", left || right)
//   empty root = H("lading/merkle/empty", "")
//
// Odd-leaf rule: when a level has an odd number of nodes, the last node is promoted unchanged to
// the next level (it is NOT paired with a copy of itself). Duplicating the last node, as some
// chains do, makes the lists [a, b, c] and [a, b, c, c] share a root; promotion does not. Leaf
// and node hashes carry different labels, so an inner node can never pass as a leaf.
//
// Pure functions; thread-safe.
#ifndef LADING_CRYPTO_MERKLE_H_
#define LADING_CRYPTO_MERKLE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "crypto/bytes.h"

namespace lading::crypto {

// Root of the tree over `items`, in order.
Hash256 MerkleRoot(std::span<const Hash256> items);

// Proof that one item sits at `index` among `count` items. `siblings` lists, from the leaf up,
// the sibling hash at each level where the node had one (promoted levels contribute none).
struct MerkleProof {
  uint64_t index = 0;
  uint64_t count = 0;
  std::vector<Hash256> siblings;
};

// REQUIRES: index < items.size().
MerkleProof MerkleProve(std::span<const Hash256> items, uint64_t index);

// OK when `proof` shows `item` at proof.index among proof.count items under `root`; otherwise an
// error saying what did not match.
absl::Status MerkleVerify(const Hash256& root, const Hash256& item, const MerkleProof& proof);

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_MERKLE_H_
