#include "crypto/smt_node.h"

#include "absl/strings/str_cat.h"
#include "crypto/hash.h"

namespace lading::crypto {

Hash256 SmtNode::Hash() const {
  if (kind == Kind::kLeaf) return HashWithLabel(kLabelSmtLeaf, {key.span(), value_hash.span()});
  return HashWithLabel(kLabelSmtNode, {left.span(), right.span()});
}

Bytes SmtNode::Encode() const {
  Bytes out;
  out.reserve(kEncodedSize);
  out.push_back(static_cast<uint8_t>(kind));
  const Hash256& first = kind == Kind::kLeaf ? key : left;
  const Hash256& second = kind == Kind::kLeaf ? value_hash : right;
  out.insert(out.end(), first.bytes.begin(), first.bytes.end());
  out.insert(out.end(), second.bytes.begin(), second.bytes.end());
  return out;
}

absl::StatusOr<SmtNode> SmtNode::Decode(ByteSpan encoded) {
  if (encoded.size() != kEncodedSize) {
    return absl::DataLossError(
        absl::StrCat("sparse merkle node is ", encoded.size(), " bytes, expected ", kEncodedSize));
  }
  Hash256 first, second;
  std::copy(encoded.begin() + 1, encoded.begin() + 33, first.bytes.begin());
  std::copy(encoded.begin() + 33, encoded.end(), second.bytes.begin());
  switch (encoded[0]) {
    case static_cast<uint8_t>(Kind::kInternal):
      return Internal(first, second);
    case static_cast<uint8_t>(Kind::kLeaf):
      return Leaf(first, second);
    default:
      return absl::DataLossError(
          absl::StrCat("sparse merkle node has unknown kind byte ", static_cast<int>(encoded[0])));
  }
}

absl::StatusOr<std::optional<SmtNode>> MemorySmtNodeStore::Get(const Hash256& node_hash) const {
  auto it = nodes_.find(node_hash);
  if (it == nodes_.end()) return std::optional<SmtNode>();
  return std::optional<SmtNode>(it->second);
}

void MemorySmtNodeStore::Apply(const SmtNodeBatch& batch) {
  for (const auto& [hash, node] : batch) nodes_.insert_or_assign(hash, node);
}

}  // namespace lading::crypto
