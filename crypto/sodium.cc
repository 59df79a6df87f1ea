#include "crypto/sodium.h"

#include <sodium.h>

#include "crypto/status.h"

namespace lading::crypto {

void EnsureSodium() {
  static const int result = sodium_init();
  LADING_CHECK_MSG(result >= 0, "libsodium failed to initialise");
}

}  // namespace lading::crypto
