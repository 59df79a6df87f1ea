// JSON string literals for the hand-written JSON the node and the CLI print.
//
// Stateless; thread-safe.
#ifndef LADING_CRYPTO_JSON_TEXT_H_
#define LADING_CRYPTO_JSON_TEXT_H_

#include <string>
#include <string_view>

namespace lading {

// `text` as a JSON string literal, quotes included: '"' and '\' escaped, \n \r \t spelled out,
// other control characters as \u00XX. Bytes >= 0x80 pass through unchanged (UTF-8 stays UTF-8).
std::string JsonString(std::string_view text);

}  // namespace lading

#endif  // LADING_CRYPTO_JSON_TEXT_H_
