// Authenticated encryption of document bodies: XChaCha20-Poly1305-IETF with associated data
// (draft-irtf-cfrg-xchacha), and the key commitment that makes a document key binding (DESIGN §5).
//
// A document has a fresh random 256-bit AeadKey and a fresh random 24-byte nonce per version; the
// envelope's public fields are the associated data. Poly1305 is not key-committing (a ciphertext
// can be crafted to open under two keys), so the envelope also carries
//     KeyCommitment(K) = BLAKE2b-256(key = K, message = "lading/doc/key-commitment")
// and a grantee checks it (CheckKeyCommitment) before trusting a key unwrapped from a sealed box.
//
// Ownership: AeadKey owns its 32 bytes in guarded memory and is move-only; nonces and outputs are
// plain values owned by the caller.
// Thread-safety: thread-compatible; all functions may run concurrently on const objects.
#ifndef LADING_CRYPTO_AEAD_H_
#define LADING_CRYPTO_AEAD_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/secure_buffer.h"

namespace lading::crypto {

class AeadKey {
 public:
  static constexpr size_t kSize = 32;

  // A fresh random key.
  static AeadKey Generate();
  // Fails unless `key` is exactly 32 bytes.
  static absl::StatusOr<AeadKey> FromBytes(ByteSpan key);

  AeadKey(AeadKey&&) noexcept = default;
  AeadKey& operator=(AeadKey&&) noexcept = default;
  AeadKey(const AeadKey&) = delete;
  AeadKey& operator=(const AeadKey&) = delete;

  // The raw key, e.g. to wrap it for a grantee. Valid while this key lives.
  ByteSpan bytes() const { return key_.span(); }

 private:
  explicit AeadKey(SecureBuffer key) : key_(std::move(key)) {}
  SecureBuffer key_;
};

using AeadNonce = std::array<uint8_t, 24>;
inline constexpr size_t kAeadTagBytes = 16;

// A random nonce. 192-bit nonces are safe to draw at random for any realistic number of messages.
AeadNonce RandomNonce();

// Encrypts `plaintext` (any length, including empty) and authenticates it with
// `associated_data`. Returns ciphertext || 16-byte tag (plaintext.size() + 16 bytes).
// REQUIRES: the (key, nonce) pair is never used for another plaintext.
Bytes AeadSeal(const AeadKey& key, const AeadNonce& nonce, ByteSpan plaintext,
               ByteSpan associated_data);

// Decrypts the output of AeadSeal. The plaintext is returned only when the tag authenticates the
// ciphertext, the nonce and `associated_data` under `key`.
// Errors: InvalidArgument when `ciphertext` is shorter than the 16-byte tag; Unauthenticated on
// any other failure (wrong key, nonce or associated data, altered bytes). The output is exactly
// ciphertext.size() - 16 bytes, so the caller's cap on the input bounds it.
absl::StatusOr<Bytes> AeadOpen(const AeadKey& key, const AeadNonce& nonce, ByteSpan ciphertext,
                               ByteSpan associated_data);
// The same, with the plaintext in guarded memory: for secrets such as key-file contents.
absl::StatusOr<SecureBuffer> AeadOpenSecret(const AeadKey& key, const AeadNonce& nonce,
                                            ByteSpan ciphertext, ByteSpan associated_data);

// BLAKE2b-256 keyed with `key` over the fixed label kLabelKeyCommitment (crypto/hash.h).
Hash256 KeyCommitment(const AeadKey& key);
// OK when `commitment` == KeyCommitment(key), compared in constant time; otherwise
// Unauthenticated ("key commitment does not match ...").
absl::Status CheckKeyCommitment(const AeadKey& key, const Hash256& commitment);

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_AEAD_H_
