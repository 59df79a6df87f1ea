#include "node/config.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <string_view>

#include "tests/testing/temp_files.h"

namespace lading::node {
namespace {

using test_files::TempDir;
using test_files::WriteText;

constexpr std::string_view kFullConfig = R"(# shared_facts.md's example
[node]
member_id = "validator-1"
key_file = "../keys/validator-1.key"
key_passphrase_file = ""
genesis_file = "../genesis.json"
data_dir = "data"

[p2p]
listen = "127.0.0.1:26600"
peers = ["validator-2@127.0.0.1:26610", "validator-3@127.0.0.1:26620"]

[api]
listen = "127.0.0.1:26601"

[http]
listen = "127.0.0.1:26602"

[log]
level = "debug"
file = "ladingd.log"

[consensus]
timeout_propose_ms = 3100
timeout_propose_delta_ms = 510
timeout_prevote_ms = 1020
timeout_prevote_delta_ms = 530
timeout_precommit_ms = 1040
timeout_precommit_delta_ms = 550
heartbeat_ms = 60000
block_bytes_max = 8388608

[mempool]
txs_max = 20000
bytes_max = 33554432
txs_per_signer_max = 128
)";

constexpr std::string_view kMinimalConfig = R"([node]
member_id = "validator-1"
key_file = "/etc/lading/validator-1.key"
genesis_file = "genesis.json"
[p2p]
listen = "0.0.0.0:26600"
[api]
listen = "127.0.0.1:26601"
[http]
listen = "127.0.0.1:26602"
)";

constexpr std::string_view kPeersLine =
    R"(peers = ["validator-2@127.0.0.1:26610", "validator-3@127.0.0.1:26620"])";

constexpr char kDir[] = "/srv/lading/node1";

// `text` with the first `from` replaced by `to`. REQUIRES: `from` occurs in `text`.
std::string Replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  const size_t at = out.find(from);
  REQUIRE(at != std::string::npos);
  out.replace(at, from.size(), to);
  return out;
}

absl::StatusOr<NodeConfig> Parse(std::string_view text) {
  return ParseNodeConfig(text, "node.toml", kDir);
}

// The error message of parsing `text`. REQUIRES: the parse fails with InvalidArgument.
std::string ErrorOf(std::string_view text) {
  const absl::StatusOr<NodeConfig> config = Parse(text);
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST_CASE("a full node.toml is read with every value and paths resolved", "[unit][node][config]") {
  const absl::StatusOr<NodeConfig> config = Parse(kFullConfig);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  CHECK(config->config_dir == kDir);
  CHECK(config->member_id == "validator-1");
  CHECK(config->key_file ==
        ConfigPath{"../keys/validator-1.key", "/srv/lading/keys/validator-1.key"});
  CHECK(config->key_passphrase_file.empty());
  CHECK(config->key_passphrase_file.resolved.empty());
  CHECK(config->genesis_file.resolved == "/srv/lading/genesis.json");
  CHECK(config->data_dir == ConfigPath{"data", "/srv/lading/node1/data"});
  CHECK(config->p2p_listen == HostPort{"127.0.0.1", 26600});
  REQUIRE(config->peers.size() == 2);
  CHECK(config->peers[0] == PeerAddress{"validator-2", {"127.0.0.1", 26610}});
  CHECK(config->peers[1] == PeerAddress{"validator-3", {"127.0.0.1", 26620}});
  CHECK(config->api_listen == HostPort{"127.0.0.1", 26601});
  CHECK(config->http_listen == HostPort{"127.0.0.1", 26602});
  CHECK(config->log_level == LogLevel::kDebug);
  CHECK(config->log_file.resolved == "/srv/lading/node1/ladingd.log");
  CHECK(config->timeouts.propose_ms == 3100);
  CHECK(config->timeouts.propose_delta_ms == 510);
  CHECK(config->timeouts.prevote_ms == 1020);
  CHECK(config->timeouts.prevote_delta_ms == 530);
  CHECK(config->timeouts.precommit_ms == 1040);
  CHECK(config->timeouts.precommit_delta_ms == 550);
  CHECK(config->heartbeat_ms == 60000);
  CHECK(config->block_bytes_max == 8388608);
  CHECK(config->mempool_txs_max == 20000);
  CHECK(config->mempool_bytes_max == 33554432);
  CHECK(config->mempool_txs_per_signer_max == 128);
}

TEST_CASE("a minimal node.toml gets the documented defaults", "[unit][node][config]") {
  const absl::StatusOr<NodeConfig> config = Parse(kMinimalConfig);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  CHECK(config->key_file.resolved == "/etc/lading/validator-1.key");
  CHECK(config->genesis_file.resolved == "/srv/lading/node1/genesis.json");
  CHECK(config->data_dir == ConfigPath{"data", "/srv/lading/node1/data"});
  CHECK(config->key_passphrase_file.empty());
  CHECK(config->peers.empty());
  CHECK(config->log_level == LogLevel::kInfo);
  CHECK(config->log_file.empty());
  const consensus::TimeoutConfig defaults;
  CHECK(config->timeouts.propose_ms == defaults.propose_ms);
  CHECK(config->timeouts.precommit_delta_ms == defaults.precommit_delta_ms);
  CHECK(config->heartbeat_ms == 0);
  CHECK(config->block_bytes_max == 4194304);
  CHECK(config->mempool_txs_max == 10000);
  CHECK(config->mempool_bytes_max == 67108864);
  CHECK(config->mempool_txs_per_signer_max == 256);
}

TEST_CASE("FormatNodeConfig output parses back to the same config", "[unit][node][config]") {
  const std::string ipv6 =
      Replace(Replace(kFullConfig, "\"127.0.0.1:26600\"", "\"[::1]:26600\""),
              "\"validator-2@127.0.0.1:26610\"", "\"validator-2@[fe80::1]:26610\"");
  const std::string odd_paths = Replace(kMinimalConfig, "\"genesis.json\"",
                                        R"("dir with \"quotes\" and \\ and \t tab/g.json")");
  for (const std::string_view text :
       {kFullConfig, kMinimalConfig, std::string_view(ipv6), std::string_view(odd_paths)}) {
    CAPTURE(text);
    const absl::StatusOr<NodeConfig> config = Parse(text);
    INFO(config.status().ToString());
    REQUIRE(config.ok());
    const std::string formatted = FormatNodeConfig(*config);
    CAPTURE(formatted);
    const absl::StatusOr<NodeConfig> again = Parse(formatted);
    INFO(again.status().ToString());
    REQUIRE(again.ok());
    CHECK(*again == *config);
    CHECK(FormatNodeConfig(*again) == formatted);
  }
}

TEST_CASE("FormatNodeConfig writes IPv6 addresses in brackets and paths as written",
          "[unit][node][config]") {
  const absl::StatusOr<NodeConfig> config =
      Parse(Replace(kFullConfig, "\"127.0.0.1:26600\"", "\"[::1]:26600\""));
  REQUIRE(config.ok());
  CHECK(config->p2p_listen == HostPort{"::1", 26600});
  const std::string formatted = FormatNodeConfig(*config);
  CHECK_THAT(formatted, Catch::Contains("listen = \"[::1]:26600\"") &&
                            Catch::Contains("key_file = \"../keys/validator-1.key\"") &&
                            !Catch::Contains("/srv/lading"));
}

TEST_CASE("LoadNodeConfig resolves paths against the config file's directory",
          "[unit][node][config]") {
  const TempDir dir;
  REQUIRE(std::filesystem::create_directory(dir.File("node1")));
  WriteText(dir.File("node1/node.toml"), kFullConfig, 0644);
  const absl::StatusOr<NodeConfig> config = LoadNodeConfig(dir.File("node1/node.toml"));
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  CHECK(config->config_dir == dir.File("node1"));
  CHECK(config->key_file.resolved == dir.File("keys/validator-1.key"));
  CHECK(config->data_dir.resolved == dir.File("node1/data"));
}

TEST_CASE("LoadNodeConfig refuses a missing, oversized or malformed file and names it",
          "[unit][node][config]") {
  const TempDir dir;
  const absl::StatusOr<NodeConfig> missing = LoadNodeConfig(dir.File("absent.toml"));
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains(dir.File("absent.toml")));

  WriteText(dir.File("big.toml"), std::string(kNodeConfigBytesMax + 1, '#'), 0644);
  const absl::StatusOr<NodeConfig> big = LoadNodeConfig(dir.File("big.toml"));
  CHECK(big.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(big.status().message()), Catch::Contains("over the limit"));

  WriteText(dir.File("bad.toml"), "[node]\nmember_id = \"validator-1\"\nkey_file = oops\n", 0644);
  const absl::StatusOr<NodeConfig> bad = LoadNodeConfig(dir.File("bad.toml"));
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad.status().message()), Catch::StartsWith(dir.File("bad.toml") + ":3:"));

  CHECK(LoadNodeConfig(dir.path()).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("text that is not TOML is refused with its line and column", "[unit][node][config]") {
  CHECK_THAT(ErrorOf(Replace(kMinimalConfig, "[api]", "[api")), Catch::StartsWith("node.toml:7:"));
  CHECK_THAT(ErrorOf(std::string(kMinimalConfig) + "[node]\n"), Catch::StartsWith("node.toml:11:"));
}

TEST_CASE("unknown keys and tables are refused by name", "[unit][node][config]") {
  CHECK(ErrorOf(std::string(kMinimalConfig) + "[consensus]\ntimeout_propse_ms = 3000\n") ==
        "node.toml:12:1: unknown key consensus.timeout_propse_ms");
  CHECK_THAT(ErrorOf(std::string(kMinimalConfig) + "[rpc]\nlisten = \"127.0.0.1:1\"\n"),
             Catch::EndsWith("unknown key rpc"));
  CHECK_THAT(ErrorOf(std::string("colour = \"blue\"\n") + std::string(kMinimalConfig)),
             Catch::EndsWith("unknown key colour"));
  CHECK_THAT(ErrorOf(std::string(kMinimalConfig) + "[node.extra]\nx = 1\n"),
             Catch::EndsWith("unknown key node.extra"));
  CHECK_THAT(
      ErrorOf("api = 5\n" + Replace(kMinimalConfig, "[api]\nlisten = \"127.0.0.1:26601\"\n", "")),
      Catch::Contains("api must be a table, not an integer"));
}

TEST_CASE("every required key is required", "[unit][node][config]") {
  const std::pair<std::string_view, std::string_view> required[] = {
      {"member_id = \"validator-1\"\n", "node.member_id"},
      {"key_file = \"/etc/lading/validator-1.key\"\n", "node.key_file"},
      {"genesis_file = \"genesis.json\"\n", "node.genesis_file"},
      {"listen = \"0.0.0.0:26600\"\n", "p2p.listen"},
      {"listen = \"127.0.0.1:26601\"\n", "api.listen"},
      {"listen = \"127.0.0.1:26602\"\n", "http.listen"},
  };
  for (const auto& [line, key] : required) {
    CAPTURE(key);
    CHECK(ErrorOf(Replace(kMinimalConfig, line, "")) ==
          "node.toml: missing required key " + std::string(key));
  }
  CHECK(ErrorOf(Replace(kMinimalConfig, "\"genesis.json\"", "\"\"")) ==
        "node.toml:4:16: node.genesis_file \"\": must not be empty");
  CHECK_THAT(ErrorOf(Replace(kFullConfig, "data_dir = \"data\"", "data_dir = \"\"")),
             Catch::EndsWith("node.data_dir \"\": must not be empty"));
}

TEST_CASE("values of the wrong type are refused naming the key and both types",
          "[unit][node][config]") {
  CHECK(ErrorOf(Replace(kMinimalConfig, "\"0.0.0.0:26600\"", "26600")) ==
        "node.toml:6:10: p2p.listen must be a string, not an integer");
  CHECK_THAT(ErrorOf(Replace(kFullConfig, "heartbeat_ms = 60000", "heartbeat_ms = \"60000\"")),
             Catch::EndsWith("consensus.heartbeat_ms must be an integer, not a string"));
  CHECK_THAT(ErrorOf(Replace(kFullConfig, "timeout_prevote_ms = 1020", "timeout_prevote_ms = 1.5")),
             Catch::EndsWith("consensus.timeout_prevote_ms must be an integer, not a float"));
  CHECK_THAT(ErrorOf(Replace(kFullConfig, kPeersLine, "peers = \"x\"")),
             Catch::Contains("p2p.peers must be an array of strings, not a string"));
  CHECK_THAT(ErrorOf(Replace(kFullConfig, "\"validator-3@127.0.0.1:26620\"", "7")),
             Catch::EndsWith("p2p.peers entries must be strings, not an integer"));
}

TEST_CASE("listen addresses must be host:port with a port in 1..65535", "[unit][node][config]") {
  const std::pair<std::string_view, std::string_view> bad[] = {
      {"127.0.0.1:0", "port 0 is outside 1..65535"},
      {"127.0.0.1:65536", "port 65536 is outside 1..65535"},
      {"127.0.0.1:999999", "is not a number in 1..65535"},
      {"127.0.0.1:", "is not a number in 1..65535"},
      {"127.0.0.1:8o", "is not a number in 1..65535"},
      {"127.0.0.1", "expected host:port"},
      {":26600", "the host is empty"},
      {"::1:26600", "an IPv6 address must be written in brackets"},
      {"[::1]26600", "expected ':port' after ']'"},
      {"[::1:26600", "without a matching ']'"},
      {"host name:26600", "the character ' '"},
  };
  for (const auto& [address, problem] : bad) {
    CAPTURE(address);
    const std::string error = ErrorOf(Replace(kMinimalConfig, "0.0.0.0:26600", address));
    CHECK_THAT(error,
               Catch::StartsWith("node.toml:6:10: p2p.listen \"" + std::string(address) + "\": ") &&
                   Catch::Contains(std::string(problem)));
  }
  CHECK(Parse(Replace(kMinimalConfig, "0.0.0.0:26600", "node-1.example.org:65535")).ok());
  CHECK(Parse(Replace(kMinimalConfig, "0.0.0.0:26600", "[::]:1")).ok());
}

TEST_CASE("the three listen addresses must differ", "[unit][node][config]") {
  CHECK_THAT(ErrorOf(Replace(kFullConfig, "127.0.0.1:26601", "127.0.0.1:26600")),
             Catch::Contains("api.listen \"127.0.0.1:26600\": is the same address as p2p.listen"));
  CHECK_THAT(ErrorOf(Replace(kFullConfig, "127.0.0.1:26602", "127.0.0.1:26601")),
             Catch::Contains("http.listen \"127.0.0.1:26601\": is the same address as api.listen"));
}

TEST_CASE("peers must be member@host:port, distinct, and not this node", "[unit][node][config]") {
  const std::pair<std::string_view, std::string_view> bad[] = {
      {"127.0.0.1:26620", "expected member@host:port"},
      {"Validator-3@127.0.0.1:26620", "member id \"Validator-3\""},
      {"validator-3@127.0.0.1:0", "port 0 is outside 1..65535"},
      {"validator-2@127.0.0.1:26620", "member \"validator-2\" is listed twice"},
      {"validator-4@127.0.0.1:26610", "address 127.0.0.1:26610 is listed twice"},
      {"validator-1@127.0.0.1:26620", "is this node itself (node.member_id \"validator-1\")"},
      {"validator-4@127.0.0.1:26600", "is this node's own p2p.listen address"},
  };
  for (const auto& [peer, problem] : bad) {
    CAPTURE(peer);
    const std::string error = ErrorOf(Replace(kFullConfig, "validator-3@127.0.0.1:26620", peer));
    CHECK_THAT(error, Catch::StartsWith("node.toml:11:") &&
                          Catch::Contains("p2p.peers entry \"" + std::string(peer) + "\": ") &&
                          Catch::Contains(std::string(problem)));
  }
  std::string many = "peers = [";
  for (size_t i = 0; i <= kNodeConfigPeersMax; ++i) {
    many += "\"peer-" + std::to_string(i) + "@10.0.0.1:" + std::to_string(1000 + i) + "\",";
  }
  CHECK_THAT(ErrorOf(Replace(kFullConfig, kPeersLine, many + "]")),
             Catch::Contains("over the limit of 1024"));
}

TEST_CASE("the member id must be valid", "[unit][node][config]") {
  CHECK_THAT(ErrorOf(Replace(kMinimalConfig, "\"validator-1\"", "\"validator 1\"")),
             Catch::StartsWith("node.toml:2:13: node.member_id \"validator 1\": "));
  CHECK_THAT(ErrorOf(Replace(kMinimalConfig, "\"validator-1\"", "\"\"")),
             Catch::StartsWith("node.toml:2:13: node.member_id \"\": "));
}

TEST_CASE("the log level is one of the five names", "[unit][node][config]") {
  CHECK(ErrorOf(Replace(kFullConfig, "\"debug\"", "\"verbose\"")) ==
        "node.toml:20:9: log.level \"verbose\": is not one of trace, debug, info, warn, error");
  CHECK(ErrorOf(Replace(kFullConfig, "\"debug\"", "\"INFO\"")).find("log.level \"INFO\"") !=
        std::string::npos);
  for (const std::string_view level : {"trace", "debug", "info", "warn", "error"}) {
    const absl::StatusOr<NodeConfig> config =
        Parse(Replace(kFullConfig, "\"debug\"", "\"" + std::string(level) + "\""));
    REQUIRE(config.ok());
    CHECK(LogLevelName(config->log_level) == level);
  }
}

TEST_CASE("numeric values outside their range are refused with the range", "[unit][node][config]") {
  const std::pair<std::string_view, std::string_view> bad[] = {
      {"timeout_propose_ms = 3100", "timeout_propose_ms = 0"},
      {"timeout_propose_ms = 3100", "timeout_propose_ms = -5"},
      {"timeout_prevote_ms = 1020", "timeout_prevote_ms = 600001"},
      {"timeout_precommit_delta_ms = 550", "timeout_precommit_delta_ms = 600001"},
      {"heartbeat_ms = 60000", "heartbeat_ms = 86400001"},
      {"block_bytes_max = 8388608", "block_bytes_max = 1048576"},
      {"block_bytes_max = 8388608", "block_bytes_max = 16777217"},
      {"txs_max = 20000", "txs_max = 0"},
      {"bytes_max = 33554432", "bytes_max = 1024"},
      {"txs_per_signer_max = 128", "txs_per_signer_max = 0"},
  };
  for (const auto& [good, wrong] : bad) {
    CAPTURE(wrong);
    const std::string error = ErrorOf(Replace(kFullConfig, good, wrong));
    const std::string key(wrong.substr(0, wrong.find(' ')));
    CHECK_THAT(error,
               Catch::Contains("." + key + " " + std::string(wrong.substr(wrong.rfind(' ') + 1)) +
                               ": is outside "));
  }
  CHECK(
      Parse(Replace(kFullConfig, "timeout_propose_delta_ms = 510", "timeout_propose_delta_ms = 0"))
          .ok());
  CHECK(Parse(Replace(kFullConfig, "heartbeat_ms = 60000", "heartbeat_ms = 0")).ok());
  CHECK_THAT(
      ErrorOf(Replace(kFullConfig, "txs_per_signer_max = 128", "txs_per_signer_max = 20001")),
      Catch::EndsWith("mempool.txs_per_signer_max 20001: is larger than mempool.txs_max 20000"));
}

}  // namespace
}  // namespace lading::node
