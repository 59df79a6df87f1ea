#include "crypto/signing.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crypto/sodium.h"
#include "crypto/status.h"

namespace lading::crypto {

static_assert(SigningPublicKey::kSize == crypto_sign_PUBLICKEYBYTES);
static_assert(Signature::kSize == crypto_sign_BYTES);
static_assert(SigningKey::kSeedSize == crypto_sign_SEEDBYTES);

absl::StatusOr<SigningPublicKey> SigningPublicKey::FromBytes(ByteSpan data) {
  if (data.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 public key is 32 bytes, got ", data.size()));
  }
  SigningPublicKey key;
  std::copy(data.begin(), data.end(), key.bytes.begin());
  return key;
}

absl::StatusOr<SigningPublicKey> SigningPublicKey::FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 public key is not valid hex: ", bytes.status().message()));
  }
  return FromBytes(*bytes);
}

absl::StatusOr<Signature> Signature::FromBytes(ByteSpan data) {
  if (data.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 signature is 64 bytes, got ", data.size()));
  }
  Signature signature;
  std::copy(data.begin(), data.end(), signature.bytes.begin());
  return signature;
}

absl::StatusOr<Signature> Signature::FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 signature is not valid hex: ", bytes.status().message()));
  }
  return FromBytes(*bytes);
}

SigningKey SigningKey::Generate() {
  EnsureSodium();
  SecureBuffer secret_key(crypto_sign_SECRETKEYBYTES);
  SigningPublicKey public_key;
  LADING_CHECK(crypto_sign_keypair(public_key.bytes.data(), secret_key.data()) == 0);
  return SigningKey(std::move(secret_key), public_key);
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(ByteSpan seed) {
  if (seed.size() != kSeedSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 seed is 32 bytes, got ", seed.size()));
  }
  EnsureSodium();
  SecureBuffer secret_key(crypto_sign_SECRETKEYBYTES);
  SigningPublicKey public_key;
  LADING_CHECK(
      crypto_sign_seed_keypair(public_key.bytes.data(), secret_key.data(), seed.data()) == 0);
  return SigningKey(std::move(secret_key), public_key);
}

Signature SigningKey::Sign(ByteSpan message) const {
  LADING_CHECK_MSG(secret_key_.size() == crypto_sign_SECRETKEYBYTES, "signing with a moved-from key");
  Signature signature;
  LADING_CHECK(crypto_sign_detached(signature.bytes.data(), nullptr, message.data(),
                                    message.size(), secret_key_.data()) == 0);
  return signature;
}

absl::Status VerifySignature(const SigningPublicKey& public_key, ByteSpan message,
                             ByteSpan signature) {
  if (signature.size() != Signature::kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 signature is 64 bytes, got ", signature.size()));
  }
  EnsureSodium();
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                  public_key.bytes.data()) != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "Ed25519 signature does not verify under public key ", public_key.ToHex()));
  }
  return absl::OkStatus();
}

}  // namespace lading::crypto
