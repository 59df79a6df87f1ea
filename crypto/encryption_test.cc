#include "crypto/encryption.h"

#include <catch2/catch.hpp>

namespace lading::crypto {
namespace {

Bytes FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  REQUIRE(bytes.ok());
  return *bytes;
}

TEST_CASE("an X25519 public key is derived from its secret as in RFC 7748 section 6.1",
          "[unit][crypto][kat]") {
  auto alice = EncryptionKey::FromSecret(
      FromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  REQUIRE(alice.ok());
  CHECK(alice->public_key().ToHex() ==
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  CHECK(HexEncode(alice->secret()) ==
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto other = EncryptionKey::FromSecret(
      FromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  REQUIRE(other.ok());
  CHECK(other->public_key().ToHex() != alice->public_key().ToHex());
  CHECK(absl::IsInvalidArgument(EncryptionKey::FromSecret(Bytes(31, 1)).status()));
}

TEST_CASE("a wrapped key unwraps for its recipient", "[unit][crypto]") {
  const EncryptionKey recipient = EncryptionKey::Generate();
  const Bytes document_key(32, 0x5a);
  auto wrapped = WrapKey(recipient.public_key(), document_key);
  REQUIRE(wrapped.ok());
  CHECK(wrapped->size() == 32 + kSealedBoxOverheadBytes);
  auto again = WrapKey(recipient.public_key(), document_key);
  REQUIRE(again.ok());
  CHECK(*again != *wrapped);

  auto unwrapped = UnwrapKey(recipient, *wrapped);
  REQUIRE(unwrapped.ok());
  CHECK(Bytes(unwrapped->span().begin(), unwrapped->span().end()) == document_key);
}

TEST_CASE("a wrapped key does not unwrap for anyone else, or once altered or truncated",
          "[unit][crypto]") {
  const EncryptionKey recipient = EncryptionKey::Generate();
  const EncryptionKey stranger = EncryptionKey::Generate();
  auto wrapped = WrapKey(recipient.public_key(), Bytes(32, 0x5a));
  REQUIRE(wrapped.ok());
  REQUIRE(UnwrapKey(recipient, *wrapped).ok());

  SECTION("the wrong recipient") {
    const absl::Status status = UnwrapKey(stranger, *wrapped).status();
    CHECK(absl::IsUnauthenticated(status));
    CHECK_THAT(std::string(status.message()), Catch::Contains(stranger.public_key().ToHex()));
  }
  SECTION("a flipped bit in the ephemeral key, the ciphertext or the tag") {
    for (size_t index : {size_t{0}, size_t{31}, size_t{32}, size_t{47}, size_t{79}}) {
      CAPTURE(index);
      Bytes bad = *wrapped;
      bad[index] ^= 0x01;
      CHECK(absl::IsUnauthenticated(UnwrapKey(recipient, bad).status()));
    }
  }
  SECTION("truncated by one byte") {
    const Bytes truncated(wrapped->begin(), wrapped->end() - 1);
    CHECK(absl::IsUnauthenticated(UnwrapKey(recipient, truncated).status()));
  }
  SECTION("truncated below the sealed-box overhead") {
    const Bytes truncated(wrapped->begin(), wrapped->begin() + kSealedBoxOverheadBytes);
    const absl::Status status = UnwrapKey(recipient, truncated).status();
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(std::string(status.message()), Catch::Contains("got 48"));
    CHECK(absl::IsInvalidArgument(UnwrapKey(recipient, ByteSpan()).status()));
  }
  SECTION("longer than any wrapped key") {
    const Bytes huge(kSealedBoxOverheadBytes + kWrappedKeyPlainBytesMax + 1, 0);
    CHECK(absl::IsInvalidArgument(UnwrapKey(recipient, huge).status()));
  }
}

TEST_CASE("wrapping refuses an empty or oversized key", "[unit][crypto]") {
  const EncryptionKey recipient = EncryptionKey::Generate();
  CHECK(WrapKey(recipient.public_key(), Bytes(kWrappedKeyPlainBytesMax, 1)).ok());
  CHECK(absl::IsInvalidArgument(WrapKey(recipient.public_key(), Bytes()).status()));
  CHECK(absl::IsInvalidArgument(
      WrapKey(recipient.public_key(), Bytes(kWrappedKeyPlainBytesMax + 1, 1)).status()));
}

TEST_CASE("wrapping to an all-zero or low-order public key fails with a clear error",
          "[unit][crypto]") {
  const EncryptionPublicKey zero{};
  const absl::Status status = WrapKey(zero, Bytes(32, 1)).status();
  CHECK(absl::IsInvalidArgument(status));
  CHECK_THAT(std::string(status.message()), Catch::Contains("low-order"));

  // A point of order 8 on Curve25519 (from libsodium's list of low-order encodings).
  EncryptionPublicKey order8;
  const Bytes order8_bytes =
      FromHex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  std::copy(order8_bytes.begin(), order8_bytes.end(), order8.bytes.begin());
  CHECK(absl::IsInvalidArgument(WrapKey(order8, Bytes(32, 1)).status()));
}

TEST_CASE("a low-order X25519 public key is refused when parsed", "[unit][crypto]") {
  const EncryptionKey good = EncryptionKey::Generate();
  CHECK(EncryptionPublicKey::FromBytes(good.public_key().span()).ok());
  CHECK(EncryptionPublicKey::FromHex(good.public_key().ToHex()).ok());

  const absl::Status zero = EncryptionPublicKey::FromBytes(Bytes(32, 0)).status();
  CHECK(absl::IsInvalidArgument(zero));
  CHECK_THAT(std::string(zero.message()), Catch::Contains("low-order"));
  CHECK(absl::IsInvalidArgument(
      EncryptionPublicKey::FromHex(
          "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
          .status()));
  CHECK(absl::IsInvalidArgument(EncryptionPublicKey::FromBytes(Bytes(33, 9)).status()));
}

}  // namespace
}  // namespace lading::crypto
