#include "crypto/secure_buffer.h"

#include <catch2/catch.hpp>

#include "crypto/random.h"

namespace lading::crypto {
namespace {

TEST_CASE("a secure buffer starts zeroed and copies its source", "[unit][crypto]") {
  const SecureBuffer zeros(40);
  REQUIRE(zeros.size() == 40);
  for (uint8_t b : zeros.span()) CHECK(b == 0);

  const Bytes source = ToBytes("secret");
  const SecureBuffer copy = SecureBuffer::CopyOf(source);
  CHECK(Bytes(copy.span().begin(), copy.span().end()) == source);
  CHECK(copy.data() != source.data());
}

TEST_CASE("moving a secure buffer leaves the source empty", "[unit][crypto]") {
  SecureBuffer a = SecureBuffer::CopyOf(ToBytes("abc"));
  const uint8_t* storage = a.data();
  SecureBuffer b = std::move(a);
  CHECK(b.data() == storage);
  CHECK(b.size() == 3);
  CHECK(a.empty());
  CHECK(a.data() == nullptr);

  SecureBuffer c(1);
  c = std::move(b);
  CHECK(c.size() == 3);
  CHECK(b.empty());
}

TEST_CASE("an empty secure buffer has no storage", "[unit][crypto]") {
  const SecureBuffer empty(0);
  CHECK(empty.empty());
  CHECK(empty.data() == nullptr);
  CHECK(empty.span().empty());
  CHECK(SecureBuffer::CopyOf(ByteSpan()).empty());
}

TEST_CASE("truncating a secure buffer zeroes the bytes it hides", "[unit][crypto]") {
  SecureBuffer buffer = SecureBuffer::CopyOf(ToBytes("abcdef"));
  buffer.Truncate(2);
  CHECK(ToString(buffer.span()) == "ab");
  CHECK(buffer.data()[2] == 0);
  CHECK(buffer.data()[5] == 0);
}

TEST_CASE("random bytes have the requested length and are not constant", "[unit][crypto]") {
  CHECK(RandomBytes(0).empty());
  const Bytes a = RandomBytes(32);
  const Bytes b = RandomBytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
  SecureBuffer buffer(32);
  FillRandom(buffer.mutable_span());
  CHECK(Bytes(buffer.span().begin(), buffer.span().end()) != Bytes(32, 0));
}

}  // namespace
}  // namespace lading::crypto
