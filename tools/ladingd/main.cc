// ladingd: the Lading node. `ladingd --config node.toml` (node/config.h for the file, node/node.h
// for what runs). Exits 0 after a clean shutdown on SIGINT/SIGTERM; 1 with "ladingd: <reason>" on
// stderr when it cannot start or stops on a fatal error; 2 for a bad command line.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "node/config.h"
#include "node/node.h"

int main(int argc, char** argv) {
  CLI::App app{"ladingd: the Lading trade-document ledger node"};
  std::string config_path;
  app.add_option("--config", config_path, "node configuration file (node.toml)")->required();
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<lading::node::NodeConfig> config = lading::node::LoadNodeConfig(config_path);
  if (!config.ok()) {
    std::cerr << "ladingd: " << config.status().message() << "\n";
    return 1;
  }
  const absl::Status status = lading::node::RunNode(*config);
  if (!status.ok()) {
    std::cerr << "ladingd: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
