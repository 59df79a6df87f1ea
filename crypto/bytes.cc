#include "crypto/bytes.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lading {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string HexEncode(ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(data.size() * 2);
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

absl::StatusOr<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has odd length ", hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("hex string has a non-hex character at offset ", hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

absl::StatusOr<Hash256> Hash256::FromBytes(ByteSpan data) {
  if (data.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a hash is 32 bytes, got ", data.size()));
  }
  Hash256 h;
  std::copy(data.begin(), data.end(), h.bytes.begin());
  return h;
}

absl::StatusOr<Hash256> Hash256::FromHex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) return bytes.status();
  return FromBytes(*bytes);
}

void AppendUint64BigEndian(uint64_t value, Bytes* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(value >> shift));
}

void AppendUint32BigEndian(uint32_t value, Bytes* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(value >> shift));
}

uint64_t ReadUint64BigEndian(ByteSpan data) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | data[i];
  return value;
}

uint32_t ReadUint32BigEndian(ByteSpan data) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | data[i];
  return value;
}

}  // namespace lading
