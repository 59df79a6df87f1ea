// How `lading` subcommands plug into the CLI (tools/cli/main.cc).
//
// Each Add*Commands function registers its subcommands on the CLI11 app. When CLI11 selects one
// of them during parsing, its callback stores the work to do in *runner; main() runs it after
// parsing succeeded and turns a failed Status into "lading: <message>" and exit code 1.
// Commands print their results on stdout (human text, or one JSON object with --json) and never
// exit the process themselves.
//
// Thread-safety: single-threaded, like the CLI.
#ifndef LADING_TOOLS_CLI_COMMAND_H_
#define LADING_TOOLS_CLI_COMMAND_H_

#include <functional>

#include "absl/status/status.h"

namespace lading::cli {

using CommandRunner = std::function<absl::Status()>;

}  // namespace lading::cli

#endif  // LADING_TOOLS_CLI_COMMAND_H_
