#include "crypto/random.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace lading::crypto {

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  FillRandom(out);
  return out;
}

void FillRandom(std::span<uint8_t> out) {
  EnsureSodium();
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

}  // namespace lading::crypto
