// lading: the command-line client. Exit codes: 0 success, 1 the command failed (one line
// "lading: <reason>" on stderr), 2 the command line is wrong.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "tools/cli/chain_commands.h"
#include "tools/cli/command.h"
#include "tools/cli/key_commands.h"
#include "tools/cli/testnet_commands.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Lading: permissioned ledger for trade documents", "lading");
  app.require_subcommand(1);
  lading::cli::CommandRunner runner;
  lading::cli::AddKeyCommands(app, &runner);
  lading::cli::AddChainCommands(app, &runner);
  lading::cli::AddTestnetCommands(app, &runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and friends are "errors" with exit code 0 in CLI11; app.exit prints them.
    if (error.get_exit_code() == 0) return app.exit(error);
    std::cerr << "lading: " << error.what() << " (run 'lading --help' for usage)\n";
    return kExitUsage;
  }
  if (!runner) {
    std::cerr << "lading: no command given (run 'lading --help' for usage)\n";
    return kExitUsage;
  }
  try {
    const absl::Status status = runner();
    if (!status.ok()) {
      std::cerr << "lading: " << status.message() << "\n";
      return kExitFailure;
    }
  } catch (const std::exception& error) {
    // Third-party code (the standard library, CLI11) may throw; the CLI is the edge that stops it.
    std::cerr << "lading: unexpected error: " << error.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
