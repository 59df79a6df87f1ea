#include "crypto/merkle.h"

#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "crypto/status.h"

namespace lading::crypto {
namespace {

Hash256 LeafHash(const Hash256& item) { return HashWithLabel(kLabelMerkleLeaf, item.span()); }

Hash256 NodeHash(const Hash256& left, const Hash256& right) {
  return HashWithLabel(kLabelMerkleNode, {left.span(), right.span()});
}

std::vector<Hash256> NextLevel(const std::vector<Hash256>& level) {
  std::vector<Hash256> next;
  next.reserve((level.size() + 1) / 2);
  for (size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(NodeHash(level[i], level[i + 1]));
  if (level.size() % 2 == 1) next.push_back(level.back());  // odd-leaf rule: promote
  return next;
}

std::vector<Hash256> Leaves(std::span<const Hash256> items) {
  std::vector<Hash256> level;
  level.reserve(items.size());
  for (const Hash256& item : items) level.push_back(LeafHash(item));
  return level;
}

}  // namespace

Hash256 MerkleRoot(std::span<const Hash256> items) {
  if (items.empty()) return HashWithLabel(kLabelMerkleEmpty, ByteSpan{});
  std::vector<Hash256> level = Leaves(items);
  while (level.size() > 1) level = NextLevel(level);
  return level[0];
}

MerkleProof MerkleProve(std::span<const Hash256> items, uint64_t index) {
  LADING_CHECK(index < items.size());
  MerkleProof proof{.index = index, .count = items.size(), .siblings = {}};
  std::vector<Hash256> level = Leaves(items);
  uint64_t position = index;
  while (level.size() > 1) {
    const uint64_t sibling = position ^ 1;
    if (sibling < level.size()) proof.siblings.push_back(level[sibling]);
    level = NextLevel(level);
    position /= 2;
  }
  return proof;
}

absl::Status MerkleVerify(const Hash256& root, const Hash256& item, const MerkleProof& proof) {
  if (proof.index >= proof.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("merkle proof index ", proof.index, " is not below count ", proof.count));
  }
  Hash256 hash = LeafHash(item);
  uint64_t position = proof.index;
  uint64_t width = proof.count;
  size_t used = 0;
  while (width > 1) {
    const uint64_t sibling = position ^ 1;
    if (sibling < width) {
      if (used == proof.siblings.size()) {
        return absl::InvalidArgumentError("merkle proof has too few sibling hashes");
      }
      const Hash256& other = proof.siblings[used++];
      hash = (position % 2 == 0) ? NodeHash(hash, other) : NodeHash(other, hash);
    }
    position /= 2;
    width = (width + 1) / 2;
  }
  if (used != proof.siblings.size()) {
    return absl::InvalidArgumentError("merkle proof has more sibling hashes than the tree has levels");
  }
  if (hash != root) return absl::InvalidArgumentError("merkle proof does not lead to the expected root");
  return absl::OkStatus();
}

}  // namespace lading::crypto
