// One-time libsodium initialisation. Every crypto entry point calls EnsureSodium() first, so no
// caller has to remember it. Thread-safe (sodium_init is idempotent and thread-safe).
#ifndef LADING_CRYPTO_SODIUM_H_
#define LADING_CRYPTO_SODIUM_H_

namespace lading::crypto {

// Initialises libsodium once. Stops the process if libsodium cannot initialise (no secure
// randomness available): nothing in Lading may run without it.
void EnsureSodium();

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_SODIUM_H_
