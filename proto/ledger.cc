#include "proto/ledger.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/status.h"

namespace lading::proto {
namespace {

template <typename Message>
absl::StatusOr<Message> DecodeCapped(ByteSpan bytes, size_t bytes_max, const char* type) {
  // The cap comes first so that an oversize input costs nothing to refuse; it also keeps the
  // size within ParseFromArray's int parameter.
  if (bytes.size() > bytes_max) {
    return absl::InvalidArgumentError(absl::StrCat(type, " is ", bytes.size(),
                                                   " bytes, over the cap of ", bytes_max,
                                                   " bytes"));
  }
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, " of ", bytes.size(), " bytes does not parse"));
  }
  return message;
}

}  // namespace

absl::StatusOr<SignedTx> DecodeSignedTx(ByteSpan bytes) {
  return DecodeCapped<SignedTx>(bytes, kTxBytesMax, "SignedTx");
}

absl::StatusOr<TxBody> DecodeTxBody(ByteSpan bytes) {
  LADING_ASSIGN_OR_RETURN(TxBody body, DecodeCapped<TxBody>(bytes, kTxBytesMax, "TxBody"));
  if (body.has_note() && body.note().text().size() > kNoteTextBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("TxBody note text is ",
                                                   body.note().text().size(),
                                                   " bytes, over the cap of ", kNoteTextBytesMax,
                                                   " bytes"));
  }
  return body;
}

absl::StatusOr<Block> DecodeBlock(ByteSpan bytes) {
  return DecodeCapped<Block>(bytes, kBlockBytesMax, "Block");
}

absl::StatusOr<BlockHeader> DecodeBlockHeader(ByteSpan bytes) {
  return DecodeCapped<BlockHeader>(bytes, kBlockHeaderBytesMax, "BlockHeader");
}

absl::StatusOr<Commit> DecodeCommit(ByteSpan bytes) {
  return DecodeCapped<Commit>(bytes, kCommitBytesMax, "Commit");
}

absl::StatusOr<PeerMessage> DecodePeerMessage(ByteSpan bytes) {
  return DecodeCapped<PeerMessage>(bytes, kPeerMessageBytesMax, "PeerMessage");
}

Bytes Serialize(const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  LADING_CHECK(size <= static_cast<size_t>(std::numeric_limits<int>::max()));
  Bytes out(size);
  LADING_CHECK(message.SerializeToArray(out.data(), static_cast<int>(out.size())));
  return out;
}

Hash256 TxId(ByteSpan tx_body_bytes) {
  return crypto::HashWithLabel(crypto::kLabelTx, tx_body_bytes);
}

Hash256 BlockHash(ByteSpan header_bytes) {
  return crypto::HashWithLabel(crypto::kLabelBlock, header_bytes);
}

Hash256 CommitHash(ByteSpan commit_bytes) {
  return crypto::HashWithLabel(crypto::kLabelCommit, commit_bytes);
}

absl::StatusOr<std::vector<Hash256>> TxIds(const Block& block) {
  std::vector<Hash256> ids;
  ids.reserve(block.txs_size());
  for (int i = 0; i < block.txs_size(); ++i) {
    auto tx = DecodeSignedTx(AsBytes(block.txs(i)));
    if (!tx.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("block transaction ", i, ": ", tx.status().message()));
    }
    ids.push_back(TxId(AsBytes(tx->body())));
  }
  return ids;
}

Hash256 SignedTxHash(ByteSpan signed_tx_bytes) {
  return crypto::HashWithLabel(crypto::kLabelSignedTx, signed_tx_bytes);
}

absl::StatusOr<Hash256> TxsRoot(const Block& block) {
  std::vector<Hash256> leaves;
  leaves.reserve(block.txs_size());
  for (int i = 0; i < block.txs_size(); ++i) {
    auto tx = DecodeSignedTx(AsBytes(block.txs(i)));
    if (!tx.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("block transaction ", i, ": ", tx.status().message()));
    }
    leaves.push_back(SignedTxHash(AsBytes(block.txs(i))));
  }
  return crypto::MerkleRoot(leaves);
}

}  // namespace lading::proto
