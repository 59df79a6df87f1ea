#include "crypto/status.h"

namespace lading::internal {

void CheckFailed(const char* file, int line, const char* condition, const char* message) {
  std::fprintf(stderr, "LADING_CHECK failed at %s:%d: %s %s\n", file, line, condition, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace lading::internal
