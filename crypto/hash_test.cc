#include "crypto/hash.h"

#include <catch2/catch.hpp>

namespace lading::crypto {
namespace {

TEST_CASE("BLAKE2b-512 of \"abc\" matches RFC 7693 appendix A", "[unit][crypto][kat]") {
  const Bytes digest = Blake2b(AsBytes("abc"), 64);
  REQUIRE(HexEncode(digest) ==
          "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
          "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
  Bytes flipped = ToBytes("abc");
  flipped[0] ^= 1;
  REQUIRE(Blake2b(flipped, 64) != digest);
}

TEST_CASE("labelled hashes differ by label and match incremental hashing", "[unit][crypto]") {
  const Hash256 tx = HashWithLabel(kLabelTx, AsBytes("payload"));
  const Hash256 block = HashWithLabel(kLabelBlock, AsBytes("payload"));
  REQUIRE(tx != block);
  REQUIRE(Hasher(kLabelTx).Update(std::string_view("pay")).Update(std::string_view("load")).Final() == tx);
  REQUIRE(HashWithLabel(kLabelTx, {AsBytes("pay"), AsBytes("load")}) == tx);
}

TEST_CASE("a label cannot be shifted into the data", "[unit][crypto]") {
  // Without the length prefix, ("ab", "c") and ("a", "bc") would collide.
  REQUIRE(HashWithLabel("ab", AsBytes("c")) != HashWithLabel("a", AsBytes("bc")));
}

}  // namespace
}  // namespace lading::crypto
