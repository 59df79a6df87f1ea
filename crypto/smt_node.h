// Nodes of the sparse Merkle tree and the storage interface they live behind.
//
// The tree (sparse_merkle_tree.h) maps 256-bit keys to 256-bit value hashes. It is stored as
// content-addressed nodes: a node's storage key is its own hash, so nodes are immutable, shared
// between versions, and a store can be checked by re-hashing what it holds.
//
//   leaf     hash = H("lading/smt/leaf", key || value_hash)
//   internal hash = H("lading/smt/node", left_hash || right_hash)
//   empty subtree = 32 zero bytes (never stored)
//
// Encoding (65 bytes): 0x01 || left || right for an internal node, 0x02 || key || value_hash for
// a leaf.
//
// Thread-safety: SmtNode is a value. SmtNodeReader implementations state their own.
#ifndef LADING_CRYPTO_SMT_NODE_H_
#define LADING_CRYPTO_SMT_NODE_H_

#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"

namespace lading::crypto {

struct SmtNode {
  enum class Kind : uint8_t { kInternal = 1, kLeaf = 2 };
  static constexpr size_t kEncodedSize = 65;

  Kind kind = Kind::kInternal;
  Hash256 left;        // kInternal
  Hash256 right;       // kInternal
  Hash256 key;         // kLeaf
  Hash256 value_hash;  // kLeaf

  static SmtNode Internal(const Hash256& left, const Hash256& right) {
    return SmtNode{.kind = Kind::kInternal, .left = left, .right = right, .key = {}, .value_hash = {}};
  }
  static SmtNode Leaf(const Hash256& key, const Hash256& value_hash) {
    return SmtNode{.kind = Kind::kLeaf, .left = {}, .right = {}, .key = key, .value_hash = value_hash};
  }

  Hash256 Hash() const;
  Bytes Encode() const;
  // Fails on a wrong size or an unknown kind byte.
  static absl::StatusOr<SmtNode> Decode(ByteSpan encoded);

  bool operator==(const SmtNode&) const = default;
};

// Read access to stored nodes, by node hash.
class SmtNodeReader {
 public:
  virtual ~SmtNodeReader() = default;
  // The node whose hash is `node_hash`, std::nullopt when the store does not hold it, or an
  // error when the store could not be read.
  virtual absl::StatusOr<std::optional<SmtNode>> Get(const Hash256& node_hash) const = 0;
};

// Nodes created by an update, to be written by the caller (in the same batch as the block that
// produced them, for the RocksDB store).
using SmtNodeBatch = std::vector<std::pair<Hash256, SmtNode>>;

// In-memory node store, for tests, benchmarks and light clients. Not thread-safe.
class MemorySmtNodeStore final : public SmtNodeReader {
 public:
  absl::StatusOr<std::optional<SmtNode>> Get(const Hash256& node_hash) const override;
  void Apply(const SmtNodeBatch& batch);
  size_t size() const { return nodes_.size(); }

 private:
  std::unordered_map<Hash256, SmtNode, Hash256Hasher> nodes_;
};

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_SMT_NODE_H_
