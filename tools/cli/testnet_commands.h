// `lading testnet`: create, start, stop and inspect a local multi-node test network.
//
//   lading testnet init --dir DIR --validators N [--clients M] [--base-port P] [--chain-id ID]
//       Writes a new testnet into DIR (which must not exist or be empty):
//         DIR/genesis.json            validator-1..N (ROLE_VALIDATOR, voting power 1) and
//                                     client-1..M (ROLE_EXPORTER, voting power 0); time = now
//         DIR/keys/<member>.key       0600 (DIR/keys is 0700), and <member>.pub.json (0644)
//         DIR/nodeK/node.toml         member validator-K, peers = every other validator,
//                                     p2p P+10*(K-1), gRPC +1, HTTP +2, all on 127.0.0.1
//         DIR/testnet.json            chain id, nodes and clients, paths relative to DIR
//       N is 1..64 (default M = 8, P = 26600, ID = lading-testnet); every port must fit in
//       1..65535. On failure nothing is left behind. --json prints testnet.json.
//   lading testnet start --dir DIR [--node K] [--ladingd PATH] [--timeout-s S]
//       For every node (or node K): skips it when DIR/nodeK/ladingd.pid names a live
//       `ladingd --config DIR/nodeK/node.toml` process; otherwise starts that command in a new
//       session (stdin /dev/null, stdout and stderr appended to DIR/nodeK/ladingd.log) and writes
//       its pid file. ladingd is PATH, else the `ladingd` beside this `lading` binary, else the
//       first on $PATH. Then waits (default 60 s) until every selected node's /healthz reports
//       "serving", all configured peers connected and height >= 1, and prints each node's height.
//       Fails naming the node, and quoting the last line of its log, when a process exits or the
//       time runs out (nodes already running are left running).
//   lading testnet stop --dir DIR [--node K]
//       SIGTERM to each running node, SIGKILL after 10 s, then removes its pid file. A stale pid
//       file (no such ladingd process) is just removed.
//   lading testnet status --dir DIR
//       Process state and /healthz of every node, one line each.
//   Every command takes --json (one JSON object on stdout).
//
// Thread-safety: single-threaded, like the CLI.
#ifndef LADING_TOOLS_CLI_TESTNET_COMMANDS_H_
#define LADING_TOOLS_CLI_TESTNET_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "tools/cli/command.h"

namespace lading::cli {

// Registers "testnet init|start|stop|status" on `app`. REQUIRES: `runner` outlives parsing.
void AddTestnetCommands(CLI::App& app, CommandRunner* runner);

}  // namespace lading::cli

#endif  // LADING_TOOLS_CLI_TESTNET_COMMANDS_H_
