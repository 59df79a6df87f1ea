#include "crypto/secure_buffer.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "crypto/sodium.h"
#include "crypto/status.h"

namespace lading::crypto {

SecureBuffer::SecureBuffer(size_t size) {
  if (size == 0) return;
  EnsureSodium();
  data_ = static_cast<uint8_t*>(sodium_malloc(size));
  LADING_CHECK_MSG(data_ != nullptr, "sodium_malloc failed: out of memory for secret storage");
  size_ = size;
  // sodium_malloc fills with a canary pattern; callers expect zeros.
  sodium_memzero(data_, size_);
}

SecureBuffer SecureBuffer::CopyOf(ByteSpan data) {
  SecureBuffer buffer(data.size());
  if (!data.empty()) std::copy(data.begin(), data.end(), buffer.data_);
  return buffer;
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecureBuffer::~SecureBuffer() { Release(); }

void SecureBuffer::Truncate(size_t new_size) {
  LADING_CHECK(new_size <= size_);
  if (new_size < size_) sodium_memzero(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

void SecureBuffer::Release() {
  // sodium_free zeroes the whole allocation, including any bytes hidden by Truncate.
  if (data_ != nullptr) sodium_free(data_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace lading::crypto
