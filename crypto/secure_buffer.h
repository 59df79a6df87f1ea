// SecureBuffer: owned storage for secret bytes (private keys, passphrases, unwrapped document keys).
//
// The bytes live in libsodium's guarded heap (sodium_malloc): locked in RAM so they are never
// swapped out, fenced by guard pages, and zeroed when released. A SecureBuffer is move-only: the
// secret has exactly one owner, and moving leaves the source empty.
//
// Thread-safety: thread-compatible (const access from many threads is safe; mutation needs
// external synchronisation).
#ifndef LADING_CRYPTO_SECURE_BUFFER_H_
#define LADING_CRYPTO_SECURE_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/bytes.h"

namespace lading::crypto {

class SecureBuffer {
 public:
  // An empty buffer (size 0, data() == nullptr).
  SecureBuffer() = default;
  // `size` zero bytes in guarded memory. Stops the process if the allocation fails (out of memory
  // is not a recoverable condition for key handling).
  explicit SecureBuffer(size_t size);
  // A guarded copy of `data`.
  static SecureBuffer CopyOf(ByteSpan data);

  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  // Zeroes and frees the memory.
  ~SecureBuffer();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteSpan span() const { return ByteSpan(data_, size_); }
  std::span<uint8_t> mutable_span() { return std::span<uint8_t>(data_, size_); }

  // Shrinks the visible size to `new_size` without reallocating; the bytes past it are zeroed.
  // REQUIRES: new_size <= size().
  void Truncate(size_t new_size);

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_SECURE_BUFFER_H_
