// Shared byte vocabulary for every Lading library: owned byte strings, read-only views, fixed
// 32-byte hashes, hex conversion and big-endian integer encoding.
//
// Everything here is a plain value type; thread-compatible (const use from many threads is safe).
#ifndef LADING_CRYPTO_BYTES_H_
#define LADING_CRYPTO_BYTES_H_

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lading {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsStringView(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string ToString(ByteSpan b) { return std::string(AsStringView(b)); }

// Lower-case hex of `data`.
std::string HexEncode(ByteSpan data);
// Parses lower- or upper-case hex. Fails on odd length or a non-hex character.
absl::StatusOr<Bytes> HexDecode(std::string_view hex);

// A 256-bit hash (BLAKE2b-256 everywhere in Lading). Value-initialised to all zeros.
struct Hash256 {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  // Fails unless `data` is exactly 32 bytes.
  static absl::StatusOr<Hash256> FromBytes(ByteSpan data);
  static absl::StatusOr<Hash256> FromHex(std::string_view hex);

  ByteSpan span() const { return ByteSpan(bytes.data(), bytes.size()); }
  Bytes ToBytes() const { return Bytes(bytes.begin(), bytes.end()); }
  std::string ToHex() const { return HexEncode(span()); }
  bool IsZero() const {
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
  }
  // Bit `index` counted from the most significant bit of byte 0 (index 0) to the least
  // significant bit of byte 31 (index 255). REQUIRES: index < 256.
  bool Bit(size_t index) const { return (bytes[index / 8] >> (7 - index % 8)) & 1; }

  auto operator<=>(const Hash256&) const = default;
  bool operator==(const Hash256&) const = default;
};

struct Hash256Hasher {
  size_t operator()(const Hash256& h) const {
    size_t out = 0;
    for (size_t i = 0; i < sizeof(out); ++i) out = (out << 8) | h.bytes[i];
    return out;
  }
};

// Big-endian fixed-width integers, used for storage keys (so byte order sorts numerically) and
// for canonical sign bytes.
void AppendUint64BigEndian(uint64_t value, Bytes* out);
void AppendUint32BigEndian(uint32_t value, Bytes* out);
// REQUIRES: data.size() >= 8 / >= 4.
uint64_t ReadUint64BigEndian(ByteSpan data);
uint32_t ReadUint32BigEndian(ByteSpan data);

}  // namespace lading

#endif  // LADING_CRYPTO_BYTES_H_
