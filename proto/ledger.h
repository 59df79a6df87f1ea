// Helpers over the ledger protobuf types (proto/ledger.proto): size caps, capped decoders and the
// ledger's hashes.
//
// Every decoder checks the input size against the type's cap before parsing, so a peer or a disk
// can never make Lading allocate more than the cap; errors name the type, the size and the cap.
// Hashes are taken over the exact serialized bytes as received (DESIGN §3), never over a
// re-serialized message.
//
// Pure functions over values the caller owns; thread-safe.
#ifndef LADING_PROTO_LEDGER_H_
#define LADING_PROTO_LEDGER_H_

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "proto/ledger.pb.h"

namespace lading::proto {

// Largest note text: notes are short annotations, documents travel in their own payloads.
inline constexpr size_t kNoteTextBytesMax = 4096;
// Largest serialized SignedTx (and so TxBody): room for a 1 MiB inline document (DESIGN §5)
// plus its envelope, wrapped keys and signature.
inline constexpr size_t kTxBytesMax = (1u << 20) + (64u << 10);
// Largest serialized BlockHeader: a chain id, a proposer id, five hashes and three integers take
// well under 1 KiB; the rest is headroom for ids.
inline constexpr size_t kBlockHeaderBytesMax = 4u << 10;
// Largest serialized Block: bounds the memory one proposal or one stored record can take and
// the time to hash and execute it.
inline constexpr size_t kBlockBytesMax = 16u << 20;
// Largest serialized Commit: a CommitSignature is about 75 bytes, so this holds over 3,000
// signatures, far above the ~100-member committees planned (DESIGN §8).
inline constexpr size_t kCommitBytesMax = 256u << 10;
// Largest serialized PeerMessage: one maximal block with its commit (a Proposal or a
// BlockResponse) plus envelope headroom. Block sync therefore sends big blocks one at a time.
inline constexpr size_t kPeerMessageBytesMax = kBlockBytesMax + kCommitBytesMax + (64u << 10);

static_assert(kTxBytesMax < kBlockBytesMax);
static_assert(kBlockBytesMax < kPeerMessageBytesMax);

// Each decoder: InvalidArgument when `bytes` is larger than the type's cap (checked before
// parsing) or does not parse as that type. The message names the type, the size and, for an
// oversize input, the cap. Unknown fields are kept, as protobuf does, so newer peers' fields
// survive a round trip.
absl::StatusOr<SignedTx> DecodeSignedTx(ByteSpan bytes);
// Also rejects a Note payload whose text exceeds kNoteTextBytesMax.
absl::StatusOr<TxBody> DecodeTxBody(ByteSpan bytes);
absl::StatusOr<Block> DecodeBlock(ByteSpan bytes);
absl::StatusOr<BlockHeader> DecodeBlockHeader(ByteSpan bytes);
absl::StatusOr<Commit> DecodeCommit(ByteSpan bytes);
absl::StatusOr<PeerMessage> DecodePeerMessage(ByteSpan bytes);

// Serializes `message` into a byte vector. For building new messages only: hashes and signatures
// are always taken over the bytes as stored or received.
Bytes Serialize(const google::protobuf::MessageLite& message);

// H("lading/tx", tx_body_bytes): the transaction id.
Hash256 TxId(ByteSpan tx_body_bytes);
// H("lading/block", header_bytes): the block hash.
Hash256 BlockHash(ByteSpan header_bytes);
// H("lading/commit", commit_bytes).
Hash256 CommitHash(ByteSpan commit_bytes);

// The tx id of each transaction of `block`, in order. Fails (InvalidArgument naming the index)
// when a transaction does not decode as a SignedTx.
absl::StatusOr<std::vector<Hash256>> TxIds(const Block& block);
// H("lading/tx/signed", signed_tx_bytes): what a block's txs_root commits to for one
// transaction. It covers the signature as well as the body, so a block hash pins every byte of
// the block's transactions: two nodes can never hold different signatures under one committed
// block. (The tx id hashes the body only, so that it names the transaction whatever signature
// bytes carry it.)
Hash256 SignedTxHash(ByteSpan signed_tx_bytes);
// Binary Merkle root (crypto/merkle.h) over SignedTxHash of each transaction, in order; the
// empty-tree root for no transactions. Fails (InvalidArgument naming the index) when a
// transaction does not decode as a SignedTx.
absl::StatusOr<Hash256> TxsRoot(const Block& block);

}  // namespace lading::proto

#endif  // LADING_PROTO_LEDGER_H_
