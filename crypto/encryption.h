// X25519 encryption keys and sealed-box key wrap (DESIGN §5).
//
// Every member registers an X25519 encryption public key beside its Ed25519 signing key. A
// document key K is given to a party by wrapping it to that party's encryption public key with
// libsodium's sealed box (crypto_box_seal: an ephemeral X25519 key, XSalsa20-Poly1305). A sealed
// box hides its sender, so the envelope that carries a wrapped key is signed by its owner and
// carries a key commitment (aead.h) that the recipient checks after unwrapping.
//
// Ownership: an EncryptionKey owns its 32-byte secret in guarded memory and is move-only;
// EncryptionPublicKey is a plain value. UnwrapKey returns the key in a SecureBuffer the caller owns.
// Thread-safety: thread-compatible; all functions may run concurrently on const objects.
#ifndef LADING_CRYPTO_ENCRYPTION_H_
#define LADING_CRYPTO_ENCRYPTION_H_

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/secure_buffer.h"

namespace lading::crypto {

// A 32-byte X25519 public key (RFC 7748 u-coordinate).
struct EncryptionPublicKey {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  // Fails unless `data` is exactly 32 bytes and encodes a point of large order: the all-zero key
  // and the other low-order points (whose shared secret is predictable) are refused.
  static absl::StatusOr<EncryptionPublicKey> FromBytes(ByteSpan data);
  // The same from 64 hex characters.
  static absl::StatusOr<EncryptionPublicKey> FromHex(std::string_view hex);

  ByteSpan span() const { return ByteSpan(bytes.data(), bytes.size()); }
  std::string ToHex() const { return HexEncode(span()); }

  auto operator<=>(const EncryptionPublicKey&) const = default;
  bool operator==(const EncryptionPublicKey&) const = default;
};

// An X25519 private key with its public key.
class EncryptionKey {
 public:
  static constexpr size_t kSecretSize = 32;

  // A fresh key pair from the system's secure random source.
  static EncryptionKey Generate();
  // The key pair whose secret scalar is `secret`. Fails unless `secret` is exactly 32 bytes.
  static absl::StatusOr<EncryptionKey> FromSecret(ByteSpan secret);

  EncryptionKey(EncryptionKey&&) noexcept = default;
  EncryptionKey& operator=(EncryptionKey&&) noexcept = default;
  EncryptionKey(const EncryptionKey&) = delete;
  EncryptionKey& operator=(const EncryptionKey&) = delete;

  const EncryptionPublicKey& public_key() const { return public_key_; }
  // The 32-byte secret, for writing key files. The span is valid while this key lives.
  ByteSpan secret() const { return secret_.span(); }

 private:
  EncryptionKey(SecureBuffer secret, const EncryptionPublicKey& public_key)
      : secret_(std::move(secret)), public_key_(public_key) {}

  SecureBuffer secret_;
  EncryptionPublicKey public_key_;
};

// Sealed-box overhead: 32-byte ephemeral public key + 16-byte Poly1305 tag.
inline constexpr size_t kSealedBoxOverheadBytes = 48;
// Longest key WrapKey accepts (document keys are 32 bytes; the cap bounds what UnwrapKey parses).
inline constexpr size_t kWrappedKeyPlainBytesMax = 64;

// Wraps `key` (1..64 bytes) to `recipient` with a sealed box; the result is
// key.size() + 48 bytes and differs on every call.
// Errors: InvalidArgument when `key` is empty or longer than 64 bytes, or when `recipient` is a
// low-order point (e.g. all zeros) for which libsodium refuses to compute a shared secret.
absl::StatusOr<Bytes> WrapKey(const EncryptionPublicKey& recipient, ByteSpan key);

// Opens a sealed box made by WrapKey for `recipient`'s public key.
// Errors: InvalidArgument when `wrapped` is not 49..112 bytes long; Unauthenticated when it does
// not open (another recipient, or altered bytes). Nothing is returned unless authentic.
absl::StatusOr<SecureBuffer> UnwrapKey(const EncryptionKey& recipient, ByteSpan wrapped);

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_ENCRYPTION_H_
