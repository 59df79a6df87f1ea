// Cryptographically secure random bytes from the operating system (libsodium's randombytes).
//
// Use these for keys, nonces and salts. Never for anything that must be reproducible: the
// consensus core and contracts take no randomness at all (DESIGN §2).
//
// Thread-safety: thread-safe.
#ifndef LADING_CRYPTO_RANDOM_H_
#define LADING_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/bytes.h"

namespace lading::crypto {

// `n` random bytes (n may be 0).
Bytes RandomBytes(size_t n);
// Overwrites every byte of `out` with random bytes.
void FillRandom(std::span<uint8_t> out);

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_RANDOM_H_
