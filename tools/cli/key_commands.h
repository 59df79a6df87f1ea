// `lading keygen` and `lading key show`: create a member's key files and inspect them.
//
//   lading keygen --name NAME --out DIR [--passphrase-file FILE] [--kdf LEVEL] [--json]
//       Creates DIR (mode 0700) if needed, writes DIR/NAME.key (0600, never overwritten) and
//       DIR/NAME.pub.json (0644), and prints the member id and public keys. With
//       --passphrase-file the private keys are encrypted under Argon2id (--kdf interactive |
//       moderate | sensitive; default moderate).
//   lading key show --key FILE [--passphrase-file FILE] [--json]
//       Loads a private key file, refusing one readable by group or others, and prints the
//       member id and public keys.
//
// Thread-safety: single-threaded, like the CLI.
#ifndef LADING_TOOLS_CLI_KEY_COMMANDS_H_
#define LADING_TOOLS_CLI_KEY_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "tools/cli/command.h"

namespace lading::cli {

// Registers "keygen" and "key show" on `app`. REQUIRES: `runner` outlives parsing.
void AddKeyCommands(CLI::App& app, CommandRunner* runner);

}  // namespace lading::cli

#endif  // LADING_TOOLS_CLI_KEY_COMMANDS_H_
