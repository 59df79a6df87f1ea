// Status helpers shared by every Lading library.
//
// Operating errors travel as absl::Status / absl::StatusOr<T> (STYLE.md, "Errors: three kinds").
// Broken invariants stop the process through LADING_CHECK: losing safety state is fatal.
#ifndef LADING_CRYPTO_STATUS_H_
#define LADING_CRYPTO_STATUS_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LADING_INTERNAL_CONCAT_INNER(a, b) a##b
#define LADING_INTERNAL_CONCAT(a, b) LADING_INTERNAL_CONCAT_INNER(a, b)

// Returns from the enclosing function with the status of `expr` when it is not OK.
#define LADING_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status lading_status_ = (expr);          \
    if (!lading_status_.ok()) return lading_status_; \
  } while (0)

// `LADING_ASSIGN_OR_RETURN(auto x, F())`: evaluates F() (a StatusOr), returns its status when it
// is not OK, otherwise move-assigns its value to the left-hand side.
#define LADING_ASSIGN_OR_RETURN(lhs, expr) \
  LADING_INTERNAL_ASSIGN_OR_RETURN(LADING_INTERNAL_CONCAT(lading_statusor_, __LINE__), lhs, expr)
#define LADING_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) return tmp.status();                    \
  lhs = std::move(tmp).value()

namespace lading::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition, const char* message);
}  // namespace lading::internal

// Stops the process when `condition` is false. For invariants whose breach means the node can no
// longer be trusted (never for bad input from a peer or a user: that is a Status).
#define LADING_CHECK(condition)                                                 \
  do {                                                                          \
    if (!(condition)) ::lading::internal::CheckFailed(__FILE__, __LINE__, #condition, ""); \
  } while (0)
#define LADING_CHECK_MSG(condition, message)                                    \
  do {                                                                          \
    if (!(condition)) ::lading::internal::CheckFailed(__FILE__, __LINE__, #condition, message); \
  } while (0)

#endif  // LADING_CRYPTO_STATUS_H_
