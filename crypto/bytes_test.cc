#include "crypto/bytes.h"
#include "crypto/json_text.h"

#include <catch2/catch.hpp>

namespace lading {
namespace {

TEST_CASE("hex round-trips every byte value", "[unit][crypto]") {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<uint8_t>(i));
  const std::string hex = HexEncode(all);
  REQUIRE(hex.size() == 512);
  auto back = HexDecode(hex);
  REQUIRE(back.ok());
  REQUIRE(*back == all);
}

TEST_CASE("hex decoding rejects odd length and non-hex characters", "[unit][crypto]") {
  REQUIRE_FALSE(HexDecode("abc").ok());
  REQUIRE_FALSE(HexDecode("zz").ok());
  REQUIRE(HexDecode("ABcd").ok());
}

TEST_CASE("Hash256 requires exactly 32 bytes", "[unit][crypto]") {
  REQUIRE_FALSE(Hash256::FromBytes(Bytes(31)).ok());
  REQUIRE_FALSE(Hash256::FromBytes(Bytes(33)).ok());
  REQUIRE(Hash256::FromBytes(Bytes(32)).ok());
}

TEST_CASE("Hash256 bits count from the most significant bit of byte 0", "[unit][crypto]") {
  Hash256 h;
  h.bytes[0] = 0x80;
  h.bytes[31] = 0x01;
  REQUIRE(h.Bit(0));
  REQUIRE_FALSE(h.Bit(1));
  REQUIRE(h.Bit(255));
  REQUIRE_FALSE(h.Bit(254));
}

TEST_CASE("big-endian integers round-trip and sort numerically", "[unit][crypto]") {
  Bytes a, b;
  AppendUint64BigEndian(255, &a);
  AppendUint64BigEndian(256, &b);
  REQUIRE(a < b);
  REQUIRE(ReadUint64BigEndian(a) == 255);
  Bytes c;
  AppendUint32BigEndian(0xdeadbeef, &c);
  REQUIRE(ReadUint32BigEndian(c) == 0xdeadbeef);
}

}  // namespace
}  // namespace lading

namespace lading {
namespace {

TEST_CASE("JsonString escapes quotes, backslashes and control characters", "[unit][json]") {
  CHECK(JsonString("plain") == "\"plain\"");
  CHECK(JsonString("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(JsonString("\n\r\t") == "\"\\n\\r\\t\"");
  CHECK(JsonString(std::string_view("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
  CHECK(JsonString("Milchpulver \xc3\xbc") == "\"Milchpulver \xc3\xbc\"");
}

}  // namespace
}  // namespace lading
