#include "crypto/aead.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/sodium.h"
#include "crypto/status.h"

namespace lading::crypto {

static_assert(AeadKey::kSize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(std::tuple_size_v<AeadNonce> == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kAeadTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

namespace {

absl::Status OpenInto(const AeadKey& key, const AeadNonce& nonce, ByteSpan ciphertext,
                      ByteSpan associated_data, uint8_t* plaintext) {
  LADING_CHECK_MSG(key.bytes().size() == AeadKey::kSize, "AEAD with a moved-from key");
  unsigned long long plaintext_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plaintext, &plaintext_size, nullptr, ciphertext.data(), ciphertext.size(),
          associated_data.data(), associated_data.size(), nonce.data(),
          key.bytes().data()) != 0) {
    return absl::UnauthenticatedError(
        "XChaCha20-Poly1305 ciphertext does not authenticate (wrong key, nonce or associated "
        "data, or altered bytes)");
  }
  LADING_CHECK(plaintext_size == ciphertext.size() - kAeadTagBytes);
  return absl::OkStatus();
}

absl::Status CheckCiphertextSize(ByteSpan ciphertext) {
  if (ciphertext.size() < kAeadTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an XChaCha20-Poly1305 ciphertext is at least its 16-byte tag, got ", ciphertext.size(),
        " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

AeadKey AeadKey::Generate() {
  EnsureSodium();
  SecureBuffer key(kSize);
  crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
  return AeadKey(std::move(key));
}

absl::StatusOr<AeadKey> AeadKey::FromBytes(ByteSpan key) {
  if (key.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an XChaCha20-Poly1305 key is 32 bytes, got ", key.size()));
  }
  return AeadKey(SecureBuffer::CopyOf(key));
}

AeadNonce RandomNonce() {
  AeadNonce nonce;
  FillRandom(nonce);
  return nonce;
}

Bytes AeadSeal(const AeadKey& key, const AeadNonce& nonce, ByteSpan plaintext,
               ByteSpan associated_data) {
  LADING_CHECK_MSG(key.bytes().size() == AeadKey::kSize, "AEAD with a moved-from key");
  EnsureSodium();
  Bytes ciphertext(plaintext.size() + kAeadTagBytes);
  unsigned long long ciphertext_size = 0;
  LADING_CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(
                   ciphertext.data(), &ciphertext_size, plaintext.data(), plaintext.size(),
                   associated_data.data(), associated_data.size(), nullptr, nonce.data(),
                   key.bytes().data()) == 0);
  LADING_CHECK(ciphertext_size == ciphertext.size());
  return ciphertext;
}

absl::StatusOr<Bytes> AeadOpen(const AeadKey& key, const AeadNonce& nonce, ByteSpan ciphertext,
                               ByteSpan associated_data) {
  LADING_RETURN_IF_ERROR(CheckCiphertextSize(ciphertext));
  EnsureSodium();
  Bytes plaintext(ciphertext.size() - kAeadTagBytes);
  LADING_RETURN_IF_ERROR(OpenInto(key, nonce, ciphertext, associated_data, plaintext.data()));
  return plaintext;
}

absl::StatusOr<SecureBuffer> AeadOpenSecret(const AeadKey& key, const AeadNonce& nonce,
                                            ByteSpan ciphertext, ByteSpan associated_data) {
  LADING_RETURN_IF_ERROR(CheckCiphertextSize(ciphertext));
  EnsureSodium();
  SecureBuffer plaintext(ciphertext.size() - kAeadTagBytes);
  LADING_RETURN_IF_ERROR(OpenInto(key, nonce, ciphertext, associated_data, plaintext.data()));
  return plaintext;
}

Hash256 KeyCommitment(const AeadKey& key) {
  LADING_CHECK_MSG(key.bytes().size() == AeadKey::kSize, "commitment to a moved-from key");
  Hash256 out;
  const Bytes digest = Blake2b(AsBytes(kLabelKeyCommitment), Hash256::kSize, key.bytes());
  std::copy(digest.begin(), digest.end(), out.bytes.begin());
  return out;
}

absl::Status CheckKeyCommitment(const AeadKey& key, const Hash256& commitment) {
  const Hash256 expected = KeyCommitment(key);
  if (sodium_memcmp(expected.bytes.data(), commitment.bytes.data(), Hash256::kSize) != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "key commitment ", commitment.ToHex(), " does not match the document key"));
  }
  return absl::OkStatus();
}

}  // namespace lading::crypto
