#include "crypto/hash.h"

#include <sodium.h>

#include "crypto/sodium.h"
#include "crypto/status.h"

namespace lading::crypto {
namespace {
static_assert(sizeof(crypto_generichash_blake2b_state) <= 384);
static_assert(alignof(crypto_generichash_blake2b_state) <= 64);
crypto_generichash_blake2b_state* State(unsigned char* storage) {
  return reinterpret_cast<crypto_generichash_blake2b_state*>(storage);
}
}  // namespace

Hasher::Hasher(std::string_view label) {
  EnsureSodium();
  LADING_CHECK(label.size() <= 255);
  crypto_generichash_blake2b_init(State(state_), nullptr, 0, Hash256::kSize);
  const uint8_t length = static_cast<uint8_t>(label.size());
  crypto_generichash_blake2b_update(State(state_), &length, 1);
  Update(AsBytes(label));
}

Hasher& Hasher::Update(ByteSpan data) {
  crypto_generichash_blake2b_update(State(state_), data.data(), data.size());
  return *this;
}

Hash256 Hasher::Final() {
  Hash256 out;
  crypto_generichash_blake2b_final(State(state_), out.bytes.data(), out.bytes.size());
  return out;
}

Hash256 HashWithLabel(std::string_view label, ByteSpan data) {
  return Hasher(label).Update(data).Final();
}

Hash256 HashWithLabel(std::string_view label, std::initializer_list<ByteSpan> parts) {
  Hasher hasher(label);
  for (ByteSpan part : parts) hasher.Update(part);
  return hasher.Final();
}

Bytes Blake2b(ByteSpan data, size_t out_bytes, ByteSpan key) {
  EnsureSodium();
  LADING_CHECK(out_bytes >= crypto_generichash_blake2b_BYTES_MIN &&
               out_bytes <= crypto_generichash_blake2b_BYTES_MAX);
  LADING_CHECK(key.size() <= crypto_generichash_blake2b_KEYBYTES_MAX);
  Bytes out(out_bytes);
  crypto_generichash_blake2b(out.data(), out.size(), data.data(), data.size(),
                             key.empty() ? nullptr : key.data(), key.size());
  return out;
}

}  // namespace lading::crypto
