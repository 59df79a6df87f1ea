// String helpers internal to Lading's libraries.
//
// Debian 12's Abseil is built with its own absl::string_view rather than an alias of
// std::string_view, so absl::StrCat does not accept a std::string_view. lading::internal::StrCat
// takes the same arguments as absl::StrCat plus std::string_view.
//
// Thread-safety: pure functions.
#ifndef LADING_CRYPTO_INTERNAL_STRINGS_H_
#define LADING_CRYPTO_INTERNAL_STRINGS_H_

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace lading::internal {

inline absl::string_view ToAbslView(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}
inline std::string_view ToStdView(absl::string_view text) {
  return std::string_view(text.data(), text.size());
}

inline absl::string_view StrCatArg(std::string_view text) { return ToAbslView(text); }
template <typename T>
const T& StrCatArg(const T& value) {
  return value;
}

// absl::StrCat over `args`, any of which may also be a std::string_view.
template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(StrCatArg(args)...);
}

}  // namespace lading::internal

#endif  // LADING_CRYPTO_INTERNAL_STRINGS_H_
