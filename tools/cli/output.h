// Output helpers shared by `lading` commands: JSON string quoting and aligned human-readable
// "label: value" lines.
//
// Thread-safety: pure functions.
#ifndef LADING_TOOLS_CLI_OUTPUT_H_
#define LADING_TOOLS_CLI_OUTPUT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/json_text.h"

namespace lading::cli {

// `text` as a JSON string literal (crypto/json_text.h).
using ::lading::JsonString;

// Lines "label:  value" with the values aligned in one column, each ending in "\n".
std::string FormatFields(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace lading::cli

#endif  // LADING_TOOLS_CLI_OUTPUT_H_
