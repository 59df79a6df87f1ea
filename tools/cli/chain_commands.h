// `lading status`, `lading block get`, `lading tx get` and `lading note`: talking to a node's gRPC
// API (node/api/client.h).
//
//   lading status [--node HOST:PORT] [--json]
//       The node's chain id, member id, head (height, hash, time, state root), consensus height
//       and round, peers and mempool. Needs no key.
//   lading block get HEIGHT|head --key FILE [--passphrase-file FILE] [--node ...] [--json]
//       Height, hash, time, proposer, transaction count and ids, state root and the validators
//       whose precommits committed it (by committee index).
//   lading tx get TX_ID --key FILE [--passphrase-file FILE] [--show-text] [--node ...] [--json]
//       Height, index, block hash, signer, nonce, expiry, payload kind and note size. The note
//       text is printed only with --show-text.
//   lading note --text TEXT --key FILE [--passphrase-file FILE] [--wait] [--node ...] [--json]
//       Signs a Note transaction with the key's member (chain id from the node's status, nonce
//       from its pending next nonce), submits it and prints the tx id; with --wait, waits for the
//       commit and prints its height and index as well.
//
// --node defaults to $LADING_NODE; with neither the command fails with "no node given: pass
// --node HOST:PORT or set LADING_NODE". Queries other than status are signed with the --key
// member's signing key (the node refuses unsigned ones). Failures print "lading: <reason>" and
// exit with code 1.
//
// Thread-safety: single-threaded, like the CLI.
#ifndef LADING_TOOLS_CLI_CHAIN_COMMANDS_H_
#define LADING_TOOLS_CLI_CHAIN_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "tools/cli/command.h"

namespace lading::cli {

// Registers "status", "block get", "tx get" and "note" on `app`. REQUIRES: `runner` outlives
// parsing.
void AddChainCommands(CLI::App& app, CommandRunner* runner);

}  // namespace lading::cli

#endif  // LADING_TOOLS_CLI_CHAIN_COMMANDS_H_
