#include "crypto/aead.h"

#include <catch2/catch.hpp>

#include "crypto/hash.h"

namespace lading::crypto {
namespace {

Bytes FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  REQUIRE(bytes.ok());
  return *bytes;
}

AeadNonce NonceFromHex(std::string_view hex) {
  const Bytes bytes = FromHex(hex);
  REQUIRE(bytes.size() == 24);
  AeadNonce nonce;
  std::copy(bytes.begin(), bytes.end(), nonce.begin());
  return nonce;
}

// draft-irtf-cfrg-xchacha-03, appendix A.3.1.
struct XChaChaVector {
  AeadKey key = *AeadKey::FromBytes(
      FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"));
  AeadNonce nonce = NonceFromHex("404142434445464748494a4b4c4d4e4f5051525354555657");
  Bytes associated_data = FromHex("50515253c0c1c2c3c4c5c6c7");
  Bytes plaintext = ToBytes(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.");
  std::string ciphertext_hex =
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
      "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
      "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
      "21f9664c97637da9768812f615c68b13b52e";
  std::string tag_hex = "c0875924c1c7987947deafd8780acf49";
};

TEST_CASE("XChaCha20-Poly1305 matches draft-irtf-cfrg-xchacha-03 appendix A.3.1",
          "[unit][crypto][kat]") {
  const XChaChaVector v;
  const Bytes sealed = AeadSeal(v.key, v.nonce, v.plaintext, v.associated_data);
  REQUIRE(sealed.size() == v.plaintext.size() + kAeadTagBytes);
  const ByteSpan ciphertext = ByteSpan(sealed).first(v.plaintext.size());
  const ByteSpan tag = ByteSpan(sealed).last(kAeadTagBytes);
  CHECK(HexEncode(ciphertext) == v.ciphertext_hex);
  CHECK(HexEncode(tag) == v.tag_hex);

  auto opened = AeadOpen(v.key, v.nonce, FromHex(v.ciphertext_hex + v.tag_hex), v.associated_data);
  REQUIRE(opened.ok());
  CHECK(*opened == v.plaintext);
}

TEST_CASE("XChaCha20-Poly1305 refuses any alteration of the draft's vector", "[unit][crypto][kat]") {
  const XChaChaVector v;
  const Bytes sealed = FromHex(v.ciphertext_hex + v.tag_hex);
  REQUIRE(AeadOpen(v.key, v.nonce, sealed, v.associated_data).ok());

  SECTION("a flipped bit in the ciphertext") {
    Bytes bad = sealed;
    bad[10] ^= 0x04;
    CHECK(absl::IsUnauthenticated(AeadOpen(v.key, v.nonce, bad, v.associated_data).status()));
  }
  SECTION("a flipped bit in the tag") {
    Bytes bad = sealed;
    bad[bad.size() - 1] ^= 0x80;
    CHECK(absl::IsUnauthenticated(AeadOpen(v.key, v.nonce, bad, v.associated_data).status()));
  }
  SECTION("a flipped bit in the associated data") {
    Bytes bad_associated_data = v.associated_data;
    bad_associated_data[0] ^= 0x01;
    CHECK(absl::IsUnauthenticated(AeadOpen(v.key, v.nonce, sealed, bad_associated_data).status()));
  }
  SECTION("missing associated data") {
    CHECK(absl::IsUnauthenticated(AeadOpen(v.key, v.nonce, sealed, ByteSpan()).status()));
  }
  SECTION("a flipped bit in the nonce") {
    AeadNonce bad_nonce = v.nonce;
    bad_nonce[23] ^= 0x01;
    CHECK(absl::IsUnauthenticated(AeadOpen(v.key, bad_nonce, sealed, v.associated_data).status()));
  }
  SECTION("the wrong key") {
    const AeadKey other = AeadKey::Generate();
    CHECK(absl::IsUnauthenticated(AeadOpen(other, v.nonce, sealed, v.associated_data).status()));
  }
  SECTION("a truncated ciphertext") {
    const Bytes truncated(sealed.begin(), sealed.end() - 1);
    CHECK(absl::IsUnauthenticated(AeadOpen(v.key, v.nonce, truncated, v.associated_data).status()));
  }
  SECTION("shorter than a tag") {
    const Bytes tiny(kAeadTagBytes - 1, 0);
    const absl::Status status = AeadOpen(v.key, v.nonce, tiny, v.associated_data).status();
    CHECK(absl::IsInvalidArgument(status));
    CHECK(absl::IsInvalidArgument(AeadOpenSecret(v.key, v.nonce, tiny, v.associated_data).status()));
  }
}

TEST_CASE("AEAD round-trips empty and large plaintexts, into ordinary or guarded memory",
          "[unit][crypto]") {
  const AeadKey key = AeadKey::Generate();
  const AeadNonce nonce = RandomNonce();
  for (size_t size : {size_t{0}, size_t{1}, size_t{4096}, size_t{65536}}) {
    CAPTURE(size);
    Bytes plaintext(size);
    for (size_t i = 0; i < size; ++i) plaintext[i] = static_cast<uint8_t>(i * 7);
    const Bytes sealed = AeadSeal(key, nonce, plaintext, ToBytes("doc-1|380|v1"));
    auto opened = AeadOpen(key, nonce, sealed, ToBytes("doc-1|380|v1"));
    REQUIRE(opened.ok());
    CHECK(*opened == plaintext);
    auto secret = AeadOpenSecret(key, nonce, sealed, ToBytes("doc-1|380|v1"));
    REQUIRE(secret.ok());
    CHECK(Bytes(secret->span().begin(), secret->span().end()) == plaintext);
    CHECK(absl::IsUnauthenticated(AeadOpen(key, nonce, sealed, ToBytes("doc-1|380|v2")).status()));
    CHECK(absl::IsUnauthenticated(
        AeadOpenSecret(key, nonce, sealed, ToBytes("doc-1|380|v2")).status()));
  }
}

TEST_CASE("random nonces and keys differ", "[unit][crypto]") {
  CHECK(RandomNonce() != RandomNonce());
  const AeadKey a = AeadKey::Generate();
  const AeadKey b = AeadKey::Generate();
  CHECK(HexEncode(a.bytes()) != HexEncode(b.bytes()));
}

TEST_CASE("an AEAD key must be 32 bytes", "[unit][crypto]") {
  CHECK(AeadKey::FromBytes(Bytes(32, 1)).ok());
  const absl::Status status = AeadKey::FromBytes(Bytes(16, 1)).status();
  CHECK(absl::IsInvalidArgument(status));
  CHECK_THAT(std::string(status.message()), Catch::Contains("got 16"));
}

TEST_CASE("the key commitment is keyed BLAKE2b-256 of the fixed label", "[unit][crypto]") {
  const AeadKey key = *AeadKey::FromBytes(Bytes(32, 0x42));
  const Hash256 commitment = KeyCommitment(key);
  CHECK(commitment.ToBytes() == Blake2b(AsBytes(kLabelKeyCommitment), 32, Bytes(32, 0x42)));
  CHECK(commitment != KeyCommitment(*AeadKey::FromBytes(Bytes(32, 0x43))));
}

TEST_CASE("a key commitment matches its key only", "[unit][crypto]") {
  const AeadKey key = AeadKey::Generate();
  const Hash256 commitment = KeyCommitment(key);
  CHECK(CheckKeyCommitment(key, commitment).ok());

  const AeadKey other = AeadKey::Generate();
  CHECK(absl::IsUnauthenticated(CheckKeyCommitment(other, commitment)));

  Hash256 flipped = commitment;
  flipped.bytes[31] ^= 0x01;
  const absl::Status status = CheckKeyCommitment(key, flipped);
  CHECK(absl::IsUnauthenticated(status));
  CHECK_THAT(std::string(status.message()), Catch::Contains("does not match"));
}

}  // namespace
}  // namespace lading::crypto
