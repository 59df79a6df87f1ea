// Sparse Merkle tree over 256-bit keys: the authenticated map behind the ledger state
// (DESIGN §3). Keys are hashes of state keys; values are hashes of state values. Every key has
// a compact proof of membership or of non-membership against a root.
//
// Shape (canonical: the root depends only on the key -> value_hash map, never on the order of
// the updates that produced it). Conceptually a binary tree of depth 256 where key bit i
// (Hash256::Bit(i), bit 0 first) picks the left (0) or right (1) child at depth i. Node hashes
// are defined in smt_node.h. The subtree at a position holding
//   no key          is the empty hash (32 zero bytes) and is never stored;
//   exactly one key is that key's leaf node, placed directly at the position (however far
//                   above depth 256 that is);
//   two or more     is an internal node whose children are the two half-subtrees, one of which
//                   may be empty (so keys sharing a long prefix hang below a chain of internal
//                   nodes with one empty child each).
// The empty tree's root is zero; a one-key tree's root is that key's leaf hash.
//
// Update algorithm. A batch is sorted by key and applied in one recursive descent: at an
// internal node of depth d the sorted batch is split by bit d (a binary search, since sorted keys
// that share d bits are ordered by bit d) and each half goes to its child; a child with no
// updates keeps its hash unread. Upper nodes are thus read and re-hashed once per batch, not once
// per key. Where the descent meets the empty hash or a leaf, the new subtree is built from the
// batch's keys there (plus the old leaf unless the batch replaces or deletes it). On the way up,
// a node left with one leaf and one empty child is replaced by that leaf and a node left with
// two empty children by the empty hash, which restores the canonical shape after deletes.
// Nodes are immutable and content-addressed: an update never changes a stored node, it returns
// the nodes the new root needs that the old root did not have, and every old root stays valid
// as long as its nodes are kept.
//
// Proof. The path from the root along the key's bits through internal nodes, down to where the
// key's path ends: at the empty hash, at the key's own leaf, or at the leaf of another key that
// occupies the key's position. It holds the path length (depth), a bitmap of which siblings
// along the path are non-empty, the non-empty siblings root-first, and how the path ends.
// Encoding (all integers big-endian):
//   u16   depth                      0..256
//   u8[ceil(depth / 8)] bitmap       bit i (most significant bit of byte 0 = bit 0) set when
//                                    the sibling at depth i is non-empty; unused bits are zero
//   32 * popcount(bitmap)            the non-empty siblings, depth 0 first; none is zero
//   u8    end                        0 = empty, 1 = the key's own leaf, 2 = another key's leaf
//   [32 other_key, 32 other_value_hash]   only when end == 2
// At most kEncodedBytesMax (8,291) bytes. Every proof has exactly one encoding: Decode rejects
// anything Encode would not produce.
// Verification rebuilds the bottom of the path (the key's leaf from the claimed value, the
// empty hash, or the other key's leaf), folds it up with the siblings (zero where the bitmap
// says empty), taking the key's own bits as left/right, and compares the result with the root.
// Non-membership is sound because in the canonical shape the subtree at the key's position
// holds every key with that prefix: if it is empty, or is a single leaf of a different key
// (which must share the prefix, and is checked to), the key cannot be in the tree.
//
// Ownership: SparseMerkleTree borrows its store and never writes it; the caller persists
// SmtUpdateResult::new_nodes. Thread-safety: SparseMerkleTree is as thread-safe as the store's
// const Get (MemorySmtNodeStore: safe for concurrent readers while nobody Applies). SmtProof is
// a value; the Verify functions are pure and thread-safe.
#ifndef LADING_CRYPTO_SPARSE_MERKLE_TREE_H_
#define LADING_CRYPTO_SPARSE_MERKLE_TREE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/smt_node.h"

namespace lading::crypto {

// One change to the map: set `key` to `value_hash`, or delete `key` when value_hash is nullopt
// (deleting a key that is absent changes nothing).
struct SmtUpdate {
  Hash256 key;
  std::optional<Hash256> value_hash;
};

struct SmtUpdateResult {
  Hash256 root;
  // The nodes reachable from `root` that are not reachable from the old root, each once. The
  // caller writes them to the store (same write batch as whatever commits `root`). A node can
  // already be in the store from some other version (a key set back to a value it had before);
  // writing it again is harmless since nodes are content-addressed.
  SmtNodeBatch new_nodes;
};

// Membership or non-membership proof for one key against one root. See the header comment for
// the meaning of the fields and their encoding.
struct SmtProof {
  static constexpr size_t kDepthMax = 256;
  static constexpr size_t kEncodedBytesMax =
      2 + kDepthMax / 8 + kDepthMax * Hash256::kSize + 1 + 2 * Hash256::kSize;

  enum class End : uint8_t {
    kEmpty = 0,      // the key's path ends at an empty subtree: the key is absent
    kKeyLeaf = 1,    // the key's path ends at the key's own leaf: the key is present
    kOtherLeaf = 2,  // the key's path ends at the leaf of other_key: the key is absent
  };

  // Number of internal nodes on the path (the depth at which the path ends). <= kDepthMax.
  uint32_t depth = 0;
  // Bit i (most significant bit of byte 0 = bit 0) is set when the sibling at depth i is
  // non-empty. Bits at and beyond `depth` are zero.
  std::array<uint8_t, kDepthMax / 8> sibling_bitmap{};
  // The non-empty siblings, depth 0 first; one per set bit of sibling_bitmap; none is zero.
  std::vector<Hash256> siblings;
  End end = End::kEmpty;
  // Only meaningful when end == kOtherLeaf (zero otherwise): the leaf found at the key's
  // position, whose key shares the first `depth` bits with the proven key and differs from it.
  Hash256 other_key;
  Hash256 other_value_hash;

  // Whether the sibling at depth `index` is non-empty. REQUIRES: index < kDepthMax.
  bool SiblingPresent(size_t index) const {
    return (sibling_bitmap[index / 8] >> (7 - index % 8)) & 1;
  }

  // The encoding above. REQUIRES: the proof is well formed (as Prove and Decode produce it).
  Bytes Encode() const;
  // Parses an encoding. Fails with InvalidArgument, naming what is wrong, on input longer than
  // kEncodedBytesMax, a depth above 256, truncated input or trailing bytes, set unused bitmap
  // bits, a zero sibling, or an unknown end byte. Whether another leaf really shares the key's
  // prefix needs the key, so the Verify functions check that.
  static absl::StatusOr<SmtProof> Decode(ByteSpan encoded);

  bool operator==(const SmtProof&) const = default;
};

// Reads, updates and proves trees whose nodes live in an SmtNodeReader. Holds no state besides
// the store pointer; any number of roots can be used through one instance.
class SparseMerkleTree {
 public:
  // REQUIRES: `store` is non-null and outlives this object.
  explicit SparseMerkleTree(const SmtNodeReader* store);

  // Applies `updates` to the tree at `root` and returns the new root and the nodes to store.
  // The old root and its nodes are untouched. An empty batch, a value set to the value it
  // already has and the delete of an absent key return `root` with no new nodes.
  // Errors: InvalidArgument naming the key when a key appears twice in `updates`; DataLoss
  // naming the node hash when a node below `root` is missing from the store or is malformed
  // (an internal node at depth 256, a leaf off its key's path); store read errors as is.
  // On error nothing is returned (the store is never written by this class anyway).
  absl::StatusOr<SmtUpdateResult> Update(const Hash256& root,
                                         std::vector<SmtUpdate> updates) const;

  // The value hash `key` maps to under `root`, std::nullopt when the key is absent.
  // Errors as for Update (DataLoss for missing or malformed nodes).
  absl::StatusOr<std::optional<Hash256>> Get(const Hash256& root, const Hash256& key) const;

  // A proof for `key` under `root`: of membership (end == kKeyLeaf) when the key is present, of
  // non-membership (end == kEmpty or kOtherLeaf) when it is absent. Use Get for the value.
  // Errors as for Get.
  absl::StatusOr<SmtProof> Prove(const Hash256& root, const Hash256& key) const;

 private:
  const SmtNodeReader* store_;
};

// OK when `proof` shows that `key` maps to `value_hash` under `root`. Otherwise an error saying
// what failed: a malformed proof, a proof of absence, or a root that does not match.
absl::Status VerifyMembership(const Hash256& root, const Hash256& key, const Hash256& value_hash,
                              const SmtProof& proof);

// OK when `proof` shows that `key` is absent under `root`: the key's path ends at an empty
// subtree, or at the leaf of a different key that shares the path's prefix. Otherwise an error
// saying what failed. Sound for roots built by SparseMerkleTree: no proof makes a present key
// look absent (the canonical shape puts a key's leaf on its own path and nowhere else).
absl::Status VerifyNonMembership(const Hash256& root, const Hash256& key, const SmtProof& proof);

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_SPARSE_MERKLE_TREE_H_
