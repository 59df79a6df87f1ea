#include "crypto/encryption.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crypto/sodium.h"
#include "crypto/status.h"

namespace lading::crypto {

static_assert(EncryptionPublicKey::kSize == crypto_box_PUBLICKEYBYTES);
static_assert(EncryptionKey::kSecretSize == crypto_box_SECRETKEYBYTES);
static_assert(kSealedBoxOverheadBytes == crypto_box_SEALBYTES);
static_assert(crypto_box_PUBLICKEYBYTES == crypto_scalarmult_BYTES);

absl::StatusOr<EncryptionPublicKey> EncryptionPublicKey::FromBytes(ByteSpan data) {
  if (data.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an X25519 public key is 32 bytes, got ", data.size()));
  }
  EnsureSodium();
  // Any clamped scalar is a multiple of the cofactor, so it sends every low-order point to the
  // identity; crypto_scalarmult reports that (and libsodium's list of low-order encodings) as -1.
  static constexpr std::array<uint8_t, crypto_scalarmult_SCALARBYTES> kProbeScalar = {1, 2, 3, 4};
  std::array<uint8_t, crypto_scalarmult_BYTES> product{};
  if (crypto_scalarmult(product.data(), kProbeScalar.data(), data.data()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "X25519 public key ", HexEncode(data), " is a low-order point and cannot be used"));
  }
  EncryptionPublicKey key;
  std::copy(data.begin(), data.end(), key.bytes.begin());
  return key;
}

absl::StatusOr<EncryptionPublicKey> EncryptionPublicKey::FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("X25519 public key is not valid hex: ", bytes.status().message()));
  }
  return FromBytes(*bytes);
}

EncryptionKey EncryptionKey::Generate() {
  EnsureSodium();
  SecureBuffer secret(crypto_box_SECRETKEYBYTES);
  EncryptionPublicKey public_key;
  LADING_CHECK(crypto_box_keypair(public_key.bytes.data(), secret.data()) == 0);
  return EncryptionKey(std::move(secret), public_key);
}

absl::StatusOr<EncryptionKey> EncryptionKey::FromSecret(ByteSpan secret) {
  if (secret.size() != kSecretSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an X25519 secret key is 32 bytes, got ", secret.size()));
  }
  EnsureSodium();
  SecureBuffer owned = SecureBuffer::CopyOf(secret);
  EncryptionPublicKey public_key;
  LADING_CHECK(crypto_scalarmult_base(public_key.bytes.data(), owned.data()) == 0);
  return EncryptionKey(std::move(owned), public_key);
}

absl::StatusOr<Bytes> WrapKey(const EncryptionPublicKey& recipient, ByteSpan key) {
  if (key.empty() || key.size() > kWrappedKeyPlainBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("a key to wrap is 1..", kWrappedKeyPlainBytesMax,
                                                   " bytes, got ", key.size()));
  }
  EnsureSodium();
  Bytes wrapped(key.size() + crypto_box_SEALBYTES);
  if (crypto_box_seal(wrapped.data(), key.data(), key.size(), recipient.bytes.data()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot wrap a key to X25519 public key ", recipient.ToHex(),
                     ": it is a low-order point"));
  }
  return wrapped;
}

absl::StatusOr<SecureBuffer> UnwrapKey(const EncryptionKey& recipient, ByteSpan wrapped) {
  constexpr size_t kMin = crypto_box_SEALBYTES + 1;
  constexpr size_t kMax = crypto_box_SEALBYTES + kWrappedKeyPlainBytesMax;
  if (wrapped.size() < kMin || wrapped.size() > kMax) {
    return absl::InvalidArgumentError(absl::StrCat("a wrapped key is ", kMin, "..", kMax,
                                                   " bytes, got ", wrapped.size()));
  }
  LADING_CHECK_MSG(recipient.secret().size() == crypto_box_SECRETKEYBYTES,
                   "unwrapping with a moved-from encryption key");
  EnsureSodium();
  SecureBuffer key(wrapped.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(key.data(), wrapped.data(), wrapped.size(),
                           recipient.public_key().bytes.data(), recipient.secret().data()) != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "wrapped key does not open with the encryption key ", recipient.public_key().ToHex(),
        " (wrapped for another recipient, or altered)"));
  }
  return key;
}

}  // namespace lading::crypto
