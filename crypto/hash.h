// BLAKE2b hashing with domain separation (DESIGN §3).
//
// Every hash Lading commits to is BLAKE2b-256 over
//     u8(len(label)) || label || data...
// with a distinct label per use, so that a value hashed for one purpose can never be passed off
// as a value hashed for another. Labels are the constants below; add new ones here, never reuse.
//
// Thread-safety: the free functions are thread-safe; a Hasher is used by one thread at a time.
#ifndef LADING_CRYPTO_HASH_H_
#define LADING_CRYPTO_HASH_H_

#include <initializer_list>
#include <string_view>

#include "crypto/bytes.h"

namespace lading::crypto {

// Domain labels. Each is at most 255 bytes and is never reused for another purpose.
inline constexpr std::string_view kLabelTx = "lading/tx";
inline constexpr std::string_view kLabelSignedTx = "lading/tx/signed";
inline constexpr std::string_view kLabelBlock = "lading/block";
inline constexpr std::string_view kLabelCommit = "lading/commit";
inline constexpr std::string_view kLabelMerkleLeaf = "lading/merkle/leaf";
inline constexpr std::string_view kLabelMerkleNode = "lading/merkle/node";
inline constexpr std::string_view kLabelMerkleEmpty = "lading/merkle/empty";
inline constexpr std::string_view kLabelSmtLeaf = "lading/smt/leaf";
inline constexpr std::string_view kLabelSmtNode = "lading/smt/node";
inline constexpr std::string_view kLabelStateKey = "lading/state/key";
inline constexpr std::string_view kLabelStateValue = "lading/state/value";
inline constexpr std::string_view kLabelKeyCommitment = "lading/doc/key-commitment";
inline constexpr std::string_view kLabelMemberId = "lading/member";
inline constexpr std::string_view kLabelStoreRecord = "lading/store/record";
inline constexpr std::string_view kLabelStoreCommitRecord = "lading/store/commit-record";
inline constexpr std::string_view kLabelP2pHandshake = "lading/p2p/handshake";
inline constexpr std::string_view kLabelSignStateFile = "lading/node/sign-state";
inline constexpr std::string_view kLabelApiRequest = "lading/api/request";
inline constexpr std::string_view kLabelApiRequestBody = "lading/api/request/body";

// Incremental domain-separated BLAKE2b-256.
class Hasher {
 public:
  // REQUIRES: label.size() <= 255.
  explicit Hasher(std::string_view label);
  Hasher& Update(ByteSpan data);
  Hasher& Update(std::string_view data) { return Update(AsBytes(data)); }
  Hasher& Update(const Hash256& h) { return Update(h.span()); }
  // Finishes the hash. The Hasher must not be used afterwards.
  Hash256 Final();

 private:
  // Opaque storage for libsodium's crypto_generichash_blake2b_state (kept out of this header so
  // that only crypto/ includes libsodium); hash.cc checks size and alignment.
  alignas(64) unsigned char state_[384];
};

// BLAKE2b-256(u8(len(label)) || label || data).
Hash256 HashWithLabel(std::string_view label, ByteSpan data);
// The same over the concatenation of `parts`.
Hash256 HashWithLabel(std::string_view label, std::initializer_list<ByteSpan> parts);

// Plain, unlabelled BLAKE2b with an output of `out_bytes` (1..64) and an optional key
// (0..64 bytes). For known-answer tests and for formats that fix their own framing.
Bytes Blake2b(ByteSpan data, size_t out_bytes, ByteSpan key = {});

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_HASH_H_
