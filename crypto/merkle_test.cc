#include "crypto/merkle.h"

#include <catch2/catch.hpp>

#include "crypto/hash.h"

namespace lading::crypto {
namespace {

std::vector<Hash256> Items(size_t n) {
  std::vector<Hash256> items;
  for (size_t i = 0; i < n; ++i) {
    Bytes seed;
    AppendUint64BigEndian(i, &seed);
    items.push_back(HashWithLabel(kLabelTx, seed));
  }
  return items;
}

TEST_CASE("every item of trees of 1 to 33 items has a proof that verifies", "[unit][crypto]") {
  for (size_t n = 1; n <= 33; ++n) {
    const auto items = Items(n);
    const Hash256 root = MerkleRoot(items);
    for (size_t i = 0; i < n; ++i) {
      CAPTURE(n, i);
      const MerkleProof proof = MerkleProve(items, i);
      REQUIRE(MerkleVerify(root, items[i], proof).ok());
    }
  }
}

TEST_CASE("a merkle proof for a wrong item, index, root or sibling is rejected", "[unit][crypto]") {
  const auto items = Items(7);
  const Hash256 root = MerkleRoot(items);
  const MerkleProof proof = MerkleProve(items, 3);
  REQUIRE_FALSE(MerkleVerify(root, items[4], proof).ok());
  MerkleProof moved = proof;
  moved.index = 2;
  REQUIRE_FALSE(MerkleVerify(root, items[3], moved).ok());
  Hash256 other_root = root;
  other_root.bytes[0] ^= 1;
  REQUIRE_FALSE(MerkleVerify(other_root, items[3], proof).ok());
  MerkleProof flipped = proof;
  flipped.siblings[1].bytes[5] ^= 0x10;
  REQUIRE_FALSE(MerkleVerify(root, items[3], flipped).ok());
  MerkleProof short_proof = proof;
  short_proof.siblings.pop_back();
  REQUIRE_FALSE(MerkleVerify(root, items[3], short_proof).ok());
  MerkleProof beyond = proof;
  beyond.index = 7;
  REQUIRE_FALSE(MerkleVerify(root, items[3], beyond).ok());
}

TEST_CASE("the odd-leaf rule promotes: [a,b,c] and [a,b,c,c] differ", "[unit][crypto]") {
  auto items = Items(3);
  const Hash256 three = MerkleRoot(items);
  items.push_back(items.back());
  REQUIRE(MerkleRoot(items) != three);
}

TEST_CASE("the empty tree has a fixed root distinct from any one-item tree", "[unit][crypto]") {
  REQUIRE(MerkleRoot({}) == HashWithLabel(kLabelMerkleEmpty, ByteSpan{}));
  const auto one = Items(1);
  REQUIRE(MerkleRoot(one) != MerkleRoot({}));
}

}  // namespace
}  // namespace lading::crypto
