// Ed25519 signatures (RFC 8032, through libsodium's crypto_sign): member signing keys, public
// keys and detached signatures.
//
// Ownership: a SigningKey owns its private key in guarded memory (SecureBuffer) and is move-only;
// SigningPublicKey and Signature are plain values.
// Thread-safety: all types are thread-compatible; Sign and VerifySignature may run concurrently
// on the same const objects.
#ifndef LADING_CRYPTO_SIGNING_H_
#define LADING_CRYPTO_SIGNING_H_

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

// A 32-byte Ed25519 public key as encoded by RFC 8032 §5.1.2. FromBytes checks only the length;
// VerifySignature rejects keys that are not canonical points or have small order.
struct SigningPublicKey {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  // Fails unless `data` is exactly 32 bytes.
  static absl::StatusOr<SigningPublicKey> FromBytes(ByteSpan data);
  // Fails unless `hex` is 64 hex characters.
  static absl::StatusOr<SigningPublicKey> FromHex(std::string_view hex);

  ByteSpan span() const { return ByteSpan(bytes.data(), bytes.size()); }
  std::string ToHex() const { return HexEncode(span()); }

  auto operator<=>(const SigningPublicKey&) const = default;
  bool operator==(const SigningPublicKey&) const = default;
};

// A 64-byte detached Ed25519 signature (R || S).
struct Signature {
  static constexpr size_t kSize = 64;
  std::array<uint8_t, kSize> bytes{};

  // Fails unless `data` is exactly 64 bytes.
  static absl::StatusOr<Signature> FromBytes(ByteSpan data);
  // Fails unless `hex` is 128 hex characters.
  static absl::StatusOr<Signature> FromHex(std::string_view hex);

  ByteSpan span() const { return ByteSpan(bytes.data(), bytes.size()); }
  Bytes ToBytes() const { return Bytes(bytes.begin(), bytes.end()); }
  std::string ToHex() const { return HexEncode(span()); }

  bool operator==(const Signature&) const = default;
};

// An Ed25519 private key. Holds libsodium's 64-byte secret key (the 32-byte seed followed by the
// public key) in guarded memory.
class SigningKey {
 public:
  static constexpr size_t kSeedSize = 32;

  // A fresh key from the system's secure random source.
  static SigningKey Generate();
  // The key whose RFC 8032 private key (the "secret key" of §5.1.5) is `seed`. Fails unless
  // `seed` is exactly 32 bytes.
  static absl::StatusOr<SigningKey> FromSeed(ByteSpan seed);

  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // The deterministic detached signature of `message` (any length, including empty).
  Signature Sign(ByteSpan message) const;
  const SigningPublicKey& public_key() const { return public_key_; }
  // The 32-byte seed, for writing key files. The span is valid while this key lives.
  ByteSpan seed() const { return secret_key_.span().first(kSeedSize); }

 private:
  SigningKey(SecureBuffer secret_key, const SigningPublicKey& public_key)
      : secret_key_(std::move(secret_key)), public_key_(public_key) {}

  SecureBuffer secret_key_;  // 64 bytes: seed || public key.
  SigningPublicKey public_key_;
};

// OK when `signature` is a valid Ed25519 signature of `message` under `public_key`.
// Errors: InvalidArgument when `signature` is not 64 bytes; Unauthenticated when the signature
// does not verify (including a public key that is non-canonical or of small order, and a
// non-canonical S). Never crashes on any input.
absl::Status VerifySignature(const SigningPublicKey& public_key, ByteSpan message,
                             ByteSpan signature);
inline absl::Status VerifySignature(const SigningPublicKey& public_key, ByteSpan message,
                                    const Signature& signature) {
  return VerifySignature(public_key, message, signature.span());
}

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_SIGNING_H_
