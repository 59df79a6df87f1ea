#include "crypto/sparse_merkle_tree.h"

#include <algorithm>
#include <bit>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/status.h"

namespace lading::crypto {
namespace {

constexpr size_t kBitmapBytesMax = SmtProof::kDepthMax / 8;

// Whether `a` and `b` agree on their first `bits` bits. REQUIRES: bits <= 256.
bool SharesPrefix(const Hash256& a, const Hash256& b, size_t bits) {
  const size_t whole_bytes = bits / 8;
  if (!std::equal(a.bytes.begin(), a.bytes.begin() + whole_bytes, b.bytes.begin())) return false;
  const size_t rest_bits = bits % 8;
  if (rest_bits == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest_bits));
  return ((a.bytes[whole_bytes] ^ b.bytes[whole_bytes]) & mask) == 0;
}

absl::StatusOr<SmtNode> ReadNode(const SmtNodeReader& store, const Hash256& node_hash,
                                 size_t depth) {
  absl::StatusOr<std::optional<SmtNode>> read = store.Get(node_hash);
  if (!read.ok()) {
    return absl::Status(read.status().code(),
                        absl::StrCat("reading sparse merkle node ", node_hash.ToHex(),
                                     " at depth ", depth, ": ", read.status().message()));
  }
  if (!read->has_value()) {
    return absl::DataLossError(absl::StrCat("sparse merkle node ", node_hash.ToHex(), " at depth ",
                                            depth, " is missing from the node store"));
  }
  // Internal nodes split on bit `depth`, so none can sit at depth 256; reaching one means the
  // store is corrupt, and following it would index past the key.
  if ((*read)->kind == SmtNode::Kind::kInternal && depth >= SmtProof::kDepthMax) {
    return absl::DataLossError(absl::StrCat("sparse merkle node ", node_hash.ToHex(),
                                            " is an internal node at depth ", depth,
                                            ", below the last key bit"));
  }
  return std::move(**read);
}

absl::Status LeafOffPath(const Hash256& node_hash, const Hash256& leaf_key,
                         const Hash256& path_key, size_t depth) {
  return absl::DataLossError(absl::StrCat(
      "sparse merkle leaf ", node_hash.ToHex(), " for key ", leaf_key.ToHex(), " sits at depth ",
      depth, " on the path of key ", path_key.ToHex(), " but does not share its prefix"));
}

// How a subtree's new top looks; the parent needs it to collapse a lone leaf upwards.
enum class TopKind { kEmpty, kLeaf, kInternal, kUnread };

struct Top {
  Hash256 hash;
  TopKind kind;
};

// A key -> value pair that ends up in a rebuilt subtree; `stored` when its leaf node is already
// in the store (an old leaf moved, or a value set to what it was), so it is not emitted again.
struct Entry {
  Hash256 key;
  Hash256 value_hash;
  bool stored;
};

// One batch update: the recursion of SparseMerkleTree::Update, collecting the nodes it creates.
class Updater {
 public:
  Updater(const SmtNodeReader* store, SmtNodeBatch* new_nodes)
      : store_(*store), new_nodes_(*new_nodes) {}

  // REQUIRES: `updates` sorted by key, keys distinct, all sharing their first `depth` bits with
  // the position of `node_hash`.
  absl::StatusOr<Top> UpdateSubtree(const Hash256& node_hash, size_t depth,
                                     std::span<const SmtUpdate> updates) {
    if (updates.empty()) {
      return Top{node_hash, node_hash.IsZero() ? TopKind::kEmpty : TopKind::kUnread};
    }
    if (node_hash.IsZero()) {
      std::vector<Entry> entries;
      entries.reserve(updates.size());
      for (const SmtUpdate& update : updates) {
        if (update.value_hash.has_value()) entries.push_back({update.key, *update.value_hash, false});
      }
      return Build(depth, entries);
    }
    LADING_ASSIGN_OR_RETURN(SmtNode node, ReadNode(store_, node_hash, depth));
    if (node.kind == SmtNode::Kind::kLeaf) return MergeIntoLeaf(node_hash, node, depth, updates);

    const auto right_begin = std::partition_point(
        updates.begin(), updates.end(),
        [depth](const SmtUpdate& update) { return !update.key.Bit(depth); });
    const size_t left_count = static_cast<size_t>(right_begin - updates.begin());
    LADING_ASSIGN_OR_RETURN(Top left,
                            UpdateSubtree(node.left, depth + 1, updates.first(left_count)));
    LADING_ASSIGN_OR_RETURN(Top right,
                            UpdateSubtree(node.right, depth + 1, updates.subspan(left_count)));
    if (left.hash == node.left && right.hash == node.right) {
      return Top{node_hash, TopKind::kInternal};
    }
    return Join(left, right, depth);
  }

 private:
  // The subtree that held only `leaf`, with `updates` applied.
  absl::StatusOr<Top> MergeIntoLeaf(const Hash256& leaf_hash, const SmtNode& leaf, size_t depth,
                                    std::span<const SmtUpdate> updates) {
    if (!SharesPrefix(leaf.key, updates.front().key, depth)) {
      return LeafOffPath(leaf_hash, leaf.key, updates.front().key, depth);
    }
    std::vector<Entry> entries;
    entries.reserve(updates.size() + 1);
    bool leaf_placed = false;
    for (const SmtUpdate& update : updates) {
      if (!leaf_placed && leaf.key <= update.key) {
        leaf_placed = true;
        if (leaf.key == update.key) {
          if (update.value_hash.has_value()) {
            entries.push_back({update.key, *update.value_hash, *update.value_hash == leaf.value_hash});
          }
          continue;
        }
        entries.push_back({leaf.key, leaf.value_hash, true});
      }
      if (update.value_hash.has_value()) entries.push_back({update.key, *update.value_hash, false});
    }
    if (!leaf_placed) entries.push_back({leaf.key, leaf.value_hash, true});
    return Build(depth, entries);
  }

  // The canonical subtree at `depth` holding exactly `entries`.
  // REQUIRES: `entries` sorted, keys distinct, all sharing their first `depth` bits.
  Top Build(size_t depth, std::span<const Entry> entries) {
    if (entries.empty()) return Top{Hash256{}, TopKind::kEmpty};
    if (entries.size() == 1) {
      const SmtNode leaf = SmtNode::Leaf(entries[0].key, entries[0].value_hash);
      const Hash256 hash = leaf.Hash();
      if (!entries[0].stored) new_nodes_.emplace_back(hash, leaf);
      return Top{hash, TopKind::kLeaf};
    }
    // Two distinct keys differ in some bit below 256, so the split below terminates.
    LADING_CHECK(depth < SmtProof::kDepthMax);
    const auto right_begin = std::partition_point(
        entries.begin(), entries.end(), [depth](const Entry& entry) { return !entry.key.Bit(depth); });
    const size_t left_count = static_cast<size_t>(right_begin - entries.begin());
    const Top left = Build(depth + 1, entries.first(left_count));
    const Top right = Build(depth + 1, entries.subspan(left_count));
    return NewInternal(left.hash, right.hash);
  }

  // The node at `depth` over two updated children, collapsed to canonical form.
  absl::StatusOr<Top> Join(const Top& left, const Top& right, size_t depth) {
    if (left.kind == TopKind::kEmpty && right.kind == TopKind::kEmpty) {
      return Top{Hash256{}, TopKind::kEmpty};
    }
    if (left.kind == TopKind::kEmpty || right.kind == TopKind::kEmpty) {
      const Top& only = left.kind == TopKind::kEmpty ? right : left;
      TopKind only_kind = only.kind;
      if (only_kind == TopKind::kUnread) {
        // An untouched child whose sibling just emptied: only its kind decides whether it
        // moves up (a leaf) or stays below a one-sided internal node.
        LADING_ASSIGN_OR_RETURN(SmtNode node, ReadNode(store_, only.hash, depth + 1));
        only_kind = node.kind == SmtNode::Kind::kLeaf ? TopKind::kLeaf : TopKind::kInternal;
      }
      if (only_kind == TopKind::kLeaf) return Top{only.hash, TopKind::kLeaf};
    }
    return NewInternal(left.hash, right.hash);
  }

  Top NewInternal(const Hash256& left, const Hash256& right) {
    const SmtNode node = SmtNode::Internal(left, right);
    const Hash256 hash = node.Hash();
    new_nodes_.emplace_back(hash, node);
    return Top{hash, TopKind::kInternal};
  }

  const SmtNodeReader& store_;
  SmtNodeBatch& new_nodes_;
};

absl::Status CheckWellFormed(const SmtProof& proof) {
  if (proof.depth > SmtProof::kDepthMax) {
    return absl::InvalidArgumentError(absl::StrCat("sparse merkle proof depth ", proof.depth,
                                                   " exceeds ", SmtProof::kDepthMax));
  }
  size_t present = 0;
  for (size_t i = 0; i < SmtProof::kDepthMax; ++i) {
    if (!proof.SiblingPresent(i)) continue;
    if (i >= proof.depth) {
      return absl::InvalidArgumentError(absl::StrCat("sparse merkle proof bitmap marks sibling ",
                                                     i, " beyond the path depth ", proof.depth));
    }
    ++present;
  }
  if (present != proof.siblings.size()) {
    return absl::InvalidArgumentError(absl::StrCat("sparse merkle proof bitmap marks ", present,
                                                   " siblings but the proof carries ",
                                                   proof.siblings.size()));
  }
  for (size_t i = 0; i < proof.siblings.size(); ++i) {
    if (proof.siblings[i].IsZero()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse merkle proof sibling ", i, " is the empty hash but is marked non-empty"));
    }
  }
  switch (proof.end) {
    case SmtProof::End::kEmpty:
    case SmtProof::End::kKeyLeaf:
      if (!proof.other_key.IsZero() || !proof.other_value_hash.IsZero()) {
        return absl::InvalidArgumentError(
            "sparse merkle proof carries another leaf but its path does not end at one");
      }
      return absl::OkStatus();
    case SmtProof::End::kOtherLeaf:
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("sparse merkle proof has unknown end kind ",
                                                 static_cast<int>(proof.end)));
}

// The root the proof's path yields when `bottom` is the subtree where the key's path ends.
// REQUIRES: CheckWellFormed(proof).ok().
Hash256 FoldPath(const Hash256& key, const SmtProof& proof, const Hash256& bottom) {
  Hash256 current = bottom;
  size_t next_sibling = proof.siblings.size();
  const Hash256 empty;
  for (size_t depth = proof.depth; depth-- > 0;) {
    const Hash256& sibling = proof.SiblingPresent(depth) ? proof.siblings[--next_sibling] : empty;
    current = key.Bit(depth) ? SmtNode::Internal(sibling, current).Hash()
                             : SmtNode::Internal(current, sibling).Hash();
  }
  return current;
}

absl::Status CheckRoot(const Hash256& root, const Hash256& computed, const Hash256& key,
                       const std::string& what) {
  if (computed == root) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("sparse merkle ", what, " proof for key ",
                                                 key.ToHex(), " yields root ", computed.ToHex(),
                                                 ", expected ", root.ToHex()));
}

}  // namespace

Bytes SmtProof::Encode() const {
  LADING_CHECK_MSG(CheckWellFormed(*this).ok(), "encoding a malformed sparse merkle proof");
  Bytes out;
  out.reserve(2 + (depth + 7) / 8 + siblings.size() * Hash256::kSize + 1 + 2 * Hash256::kSize);
  out.push_back(static_cast<uint8_t>(depth >> 8));
  out.push_back(static_cast<uint8_t>(depth));
  out.insert(out.end(), sibling_bitmap.begin(), sibling_bitmap.begin() + (depth + 7) / 8);
  for (const Hash256& sibling : siblings) {
    out.insert(out.end(), sibling.bytes.begin(), sibling.bytes.end());
  }
  out.push_back(static_cast<uint8_t>(end));
  if (end == End::kOtherLeaf) {
    out.insert(out.end(), other_key.bytes.begin(), other_key.bytes.end());
    out.insert(out.end(), other_value_hash.bytes.begin(), other_value_hash.bytes.end());
  }
  return out;
}

absl::StatusOr<SmtProof> SmtProof::Decode(ByteSpan encoded) {
  if (encoded.size() > kEncodedBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("sparse merkle proof is ", encoded.size(),
                                                   " bytes, more than the maximum ",
                                                   kEncodedBytesMax));
  }
  if (encoded.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse merkle proof is ", encoded.size(), " bytes, at least 3 expected"));
  }
  SmtProof proof;
  proof.depth = (static_cast<uint32_t>(encoded[0]) << 8) | encoded[1];
  if (proof.depth > kDepthMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse merkle proof depth ", proof.depth, " exceeds ", kDepthMax));
  }
  size_t offset = 2;
  const size_t bitmap_bytes = (proof.depth + 7) / 8;
  if (encoded.size() < offset + bitmap_bytes + 1) {
    return absl::InvalidArgumentError(absl::StrCat("sparse merkle proof of depth ", proof.depth,
                                                   " is truncated in its bitmap (",
                                                   encoded.size(), " bytes)"));
  }
  std::copy(encoded.begin() + offset, encoded.begin() + offset + bitmap_bytes,
            proof.sibling_bitmap.begin());
  offset += bitmap_bytes;
  if (proof.depth % 8 != 0) {
    const uint8_t unused_mask = static_cast<uint8_t>(0xff >> (proof.depth % 8));
    if ((proof.sibling_bitmap[bitmap_bytes - 1] & unused_mask) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse merkle proof bitmap has bits set beyond the path depth ", proof.depth));
    }
  }
  size_t sibling_count = 0;
  for (size_t i = 0; i < bitmap_bytes; ++i) sibling_count += std::popcount(proof.sibling_bitmap[i]);
  const size_t end_offset = offset + sibling_count * Hash256::kSize;
  if (encoded.size() < end_offset + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sparse merkle proof bitmap marks ", sibling_count, " siblings but only ",
        encoded.size() - offset, " bytes follow it (", sibling_count * Hash256::kSize + 1,
        " needed)"));
  }
  proof.siblings.resize(sibling_count);
  for (size_t i = 0; i < sibling_count; ++i, offset += Hash256::kSize) {
    std::copy(encoded.begin() + offset, encoded.begin() + offset + Hash256::kSize,
              proof.siblings[i].bytes.begin());
    if (proof.siblings[i].IsZero()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse merkle proof sibling ", i, " is the empty hash but is marked non-empty"));
    }
  }
  const uint8_t end_byte = encoded[offset++];
  size_t expected_size = offset;
  switch (end_byte) {
    case static_cast<uint8_t>(End::kEmpty):
    case static_cast<uint8_t>(End::kKeyLeaf):
      break;
    case static_cast<uint8_t>(End::kOtherLeaf):
      expected_size += 2 * Hash256::kSize;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("sparse merkle proof has unknown end kind ", static_cast<int>(end_byte)));
  }
  proof.end = static_cast<End>(end_byte);
  if (encoded.size() != expected_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse merkle proof is ", encoded.size(), " bytes but its header describes ",
                     expected_size, encoded.size() > expected_size ? " (trailing bytes)" : ""));
  }
  if (proof.end == End::kOtherLeaf) {
    std::copy(encoded.begin() + offset, encoded.begin() + offset + Hash256::kSize,
              proof.other_key.bytes.begin());
    offset += Hash256::kSize;
    std::copy(encoded.begin() + offset, encoded.begin() + offset + Hash256::kSize,
              proof.other_value_hash.bytes.begin());
  }
  return proof;
}

SparseMerkleTree::SparseMerkleTree(const SmtNodeReader* store) : store_(store) {
  LADING_CHECK(store_ != nullptr);
}

absl::StatusOr<SmtUpdateResult> SparseMerkleTree::Update(const Hash256& root,
                                                         std::vector<SmtUpdate> updates) const {
  std::sort(updates.begin(), updates.end(),
            [](const SmtUpdate& a, const SmtUpdate& b) { return a.key < b.key; });
  const auto duplicate = std::adjacent_find(
      updates.begin(), updates.end(),
      [](const SmtUpdate& a, const SmtUpdate& b) { return a.key == b.key; });
  if (duplicate != updates.end()) {
    return absl::InvalidArgumentError(absl::StrCat("sparse merkle update batch changes key ",
                                                   duplicate->key.ToHex(), " more than once"));
  }
  SmtUpdateResult result;
  Updater updater(store_, &result.new_nodes);
  LADING_ASSIGN_OR_RETURN(const Top top, updater.UpdateSubtree(root, 0, updates));
  result.root = top.hash;
  return result;
}

absl::StatusOr<std::optional<Hash256>> SparseMerkleTree::Get(const Hash256& root,
                                                             const Hash256& key) const {
  Hash256 current = root;
  for (size_t depth = 0;; ++depth) {
    if (current.IsZero()) return std::optional<Hash256>();
    LADING_ASSIGN_OR_RETURN(const SmtNode node, ReadNode(*store_, current, depth));
    if (node.kind == SmtNode::Kind::kLeaf) {
      if (!SharesPrefix(node.key, key, depth)) return LeafOffPath(current, node.key, key, depth);
      if (node.key != key) return std::optional<Hash256>();
      return std::optional<Hash256>(node.value_hash);
    }
    current = key.Bit(depth) ? node.right : node.left;
  }
}

absl::StatusOr<SmtProof> SparseMerkleTree::Prove(const Hash256& root, const Hash256& key) const {
  SmtProof proof;
  Hash256 current = root;
  for (size_t depth = 0;; ++depth) {
    if (current.IsZero()) {
      proof.end = SmtProof::End::kEmpty;
      break;
    }
    LADING_ASSIGN_OR_RETURN(const SmtNode node, ReadNode(*store_, current, depth));
    if (node.kind == SmtNode::Kind::kLeaf) {
      if (!SharesPrefix(node.key, key, depth)) return LeafOffPath(current, node.key, key, depth);
      if (node.key == key) {
        proof.end = SmtProof::End::kKeyLeaf;
      } else {
        proof.end = SmtProof::End::kOtherLeaf;
        proof.other_key = node.key;
        proof.other_value_hash = node.value_hash;
      }
      break;
    }
    const bool go_right = key.Bit(depth);
    const Hash256& sibling = go_right ? node.left : node.right;
    if (!sibling.IsZero()) {
      proof.sibling_bitmap[depth / 8] |= static_cast<uint8_t>(0x80 >> (depth % 8));
      proof.siblings.push_back(sibling);
    }
    current = go_right ? node.right : node.left;
    proof.depth = static_cast<uint32_t>(depth + 1);
  }
  return proof;
}

absl::Status VerifyMembership(const Hash256& root, const Hash256& key, const Hash256& value_hash,
                              const SmtProof& proof) {
  LADING_RETURN_IF_ERROR(CheckWellFormed(proof));
  if (proof.end != SmtProof::End::kKeyLeaf) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sparse merkle proof for key ", key.ToHex(), " is a proof of absence (its path ends at ",
        proof.end == SmtProof::End::kEmpty ? "an empty subtree" : "another key's leaf",
        " at depth ", proof.depth, "), not of membership"));
  }
  const Hash256 leaf = SmtNode::Leaf(key, value_hash).Hash();
  return CheckRoot(root, FoldPath(key, proof, leaf), key,
                   absl::StrCat("membership (value ", value_hash.ToHex(), ")"));
}

absl::Status VerifyNonMembership(const Hash256& root, const Hash256& key, const SmtProof& proof) {
  LADING_RETURN_IF_ERROR(CheckWellFormed(proof));
  Hash256 bottom;
  switch (proof.end) {
    case SmtProof::End::kKeyLeaf:
      return absl::InvalidArgumentError(
          absl::StrCat("sparse merkle proof for key ", key.ToHex(),
                       " is a proof of membership, it cannot show the key absent"));
    case SmtProof::End::kEmpty:
      break;
    case SmtProof::End::kOtherLeaf:
      if (proof.other_key == key) {
        return absl::InvalidArgumentError(
            absl::StrCat("sparse merkle non-membership proof for key ", key.ToHex(),
                         " ends at a leaf holding that same key"));
      }
      if (!SharesPrefix(proof.other_key, key, proof.depth)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "sparse merkle non-membership proof for key ", key.ToHex(), " ends at the leaf of key ",
            proof.other_key.ToHex(), ", which does not share the first ", proof.depth,
            " bits of the path"));
      }
      bottom = SmtNode::Leaf(proof.other_key, proof.other_value_hash).Hash();
      break;
  }
  return CheckRoot(root, FoldPath(key, proof, bottom), key, "non-membership");
}

}  // namespace lading::crypto
