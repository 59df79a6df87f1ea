// The node configuration file (node.toml) that `ladingd --config` reads and `lading testnet init`
// writes.
//
//   [node]       member_id, key_file, key_passphrase_file, genesis_file, data_dir
//   [p2p]        listen = "host:port", peers = ["member@host:port", ...]
//   [api]        listen          (gRPC)
//   [http]       listen          (/healthz, /metrics, explorer)
//   [log]        level = trace | debug | info | warn | error, file ("" = stderr)
//   [consensus]  timeout_{propose,prevote,precommit}[_delta]_ms, heartbeat_ms, block_bytes_max
//   [mempool]    txs_max, bytes_max, txs_per_signer_max
//
// Required: node.member_id, node.key_file, node.genesis_file, p2p.listen, api.listen,
// http.listen; every other key is optional with the defaults in NodeConfig below. Unknown tables
// and keys are refused (a misspelt key is an error, never a silent default), every value is
// type- and range-checked, and errors name the file, the line and column, the key and the bad
// value ("node.toml:12:5: p2p.listen \"127.0.0.1:0\": port 0 is outside 1..65535").
//
// Relative paths are relative to the directory holding the config file; NodeConfig keeps both
// the path as written (for FormatNodeConfig) and the resolved one (for use). Parsing opens no
// file the config names: whether the key, genesis and data paths are usable is for the node to
// find out when it opens them (the key file's mode check is crypto::ReadPrivateKeyFile's).
//
// Ownership: NodeConfig is a plain value. Thread-safety: the functions are thread-safe (no shared
// state).
#ifndef LADING_NODE_CONFIG_H_
#define LADING_NODE_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consensus/state_machine.h"

namespace lading::node {

// Largest config file: a hand-written node.toml is a few KiB even with a hundred peers.
inline constexpr size_t kNodeConfigBytesMax = 256 * 1024;
// Most peers one node may list (DESIGN §8 plans committees of about 100).
inline constexpr size_t kNodeConfigPeersMax = 1024;
// Longest host name or address in a listen or peer address (RFC 1035 name limit).
inline constexpr size_t kHostLengthMax = 253;

// Ranges accepted for the numeric keys (inclusive).
inline constexpr uint64_t kTimeoutMsMin = 1;
inline constexpr uint64_t kTimeoutMsMax = 600'000;          // 10 minutes: base timeouts
inline constexpr uint64_t kTimeoutDeltaMsMax = 600'000;     // per-round growth, 0 allowed
inline constexpr uint64_t kHeartbeatMsMax = 86'400'000;     // 1 day; 0 = no heartbeat
inline constexpr uint64_t kConfigBlockBytesMin = 2u << 20;  // the largest transaction must fit
inline constexpr uint64_t kMempoolTxsMaxMax = 10'000'000;
inline constexpr uint64_t kMempoolBytesMaxMax = uint64_t{64} << 30;  // 64 GiB

// A TCP endpoint. `host` is a name, an IPv4 address or an IPv6 address (written in brackets in
// the file, "[::1]:26600", and stored without them).
struct HostPort {
  std::string host;
  uint16_t port = 0;

  // "host:port", or "[host]:port" when host contains ':'.
  std::string ToString() const;
  bool operator==(const HostPort&) const = default;
};

// One "member@host:port" entry of p2p.peers.
struct PeerAddress {
  std::string member_id;
  HostPort address;

  // "member@host:port".
  std::string ToString() const;
  bool operator==(const PeerAddress&) const = default;
};

// A path from the file: `as_written` is exactly what the file says (written back by
// FormatNodeConfig), `resolved` is it made absolute against the config file's directory and
// lexically normalised. Both are empty for an optional path left empty.
struct ConfigPath {
  std::string as_written;
  std::string resolved;

  bool empty() const { return as_written.empty(); }
  bool operator==(const ConfigPath&) const = default;
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// "trace", "debug", "info", "warn", "error".
std::string_view LogLevelName(LogLevel level);

struct NodeConfig {
  // The config file's directory (absolute), against which the paths below were resolved.
  std::string config_dir;

  // [node]
  std::string member_id;           // a genesis member; its key signs votes and proposals
  ConfigPath key_file;             // private key file (crypto/key_file.h), mode 0600
  ConfigPath key_passphrase_file;  // empty: the key file is not passphrase-protected
  ConfigPath genesis_file;
  ConfigPath data_dir;  // blocks in data_dir/blocks, sign state in data_dir/consensus

  // [p2p], [api], [http]
  HostPort p2p_listen;
  std::vector<PeerAddress> peers;  // in file order; no duplicates, never ourselves
  HostPort api_listen;
  HostPort http_listen;

  // [log]
  LogLevel log_level = LogLevel::kInfo;
  ConfigPath log_file;  // empty: stderr

  // [consensus]
  consensus::TimeoutConfig timeouts;
  uint64_t heartbeat_ms = 0;  // 0: no empty blocks while the mempool is empty
  uint64_t block_bytes_max = 4u << 20;

  // [mempool]
  uint64_t mempool_txs_max = 10'000;
  uint64_t mempool_bytes_max = 64u << 20;
  uint64_t mempool_txs_per_signer_max = 256;

  // Field-wise equality.
  bool operator==(const NodeConfig& other) const;
};

// Reads and parses the config file at `path` (ParseNodeConfig with source = path and the file's
// directory, made absolute, as config_dir). NotFound when it does not exist, InvalidArgument
// when it is larger than kNodeConfigBytesMax or invalid (see ParseNodeConfig).
absl::StatusOr<NodeConfig> LoadNodeConfig(const std::string& path);

// Parses config text. `source` names the text in errors ("SOURCE:LINE:COLUMN: ..."), and
// relative paths are resolved against `config_dir` (REQUIRES: absolute). InvalidArgument when
// the text is not TOML, a table or key is unknown, a required key is missing, a value has the
// wrong type or is out of range, a member id is invalid (crypto::ValidateMemberId), an address is
// not host:port with a port in 1..65535, a peer appears twice (same member or same address), a
// peer is this node (its member id or its p2p.listen address), there are more than
// kNodeConfigPeersMax peers, or mempool.txs_per_signer_max exceeds mempool.txs_max.
absl::StatusOr<NodeConfig> ParseNodeConfig(std::string_view text, std::string_view source,
                                           const std::string& config_dir);

// The config as node.toml text: every table and key in the order above, defaults included, paths
// as written. ParseNodeConfig(FormatNodeConfig(c), s, c.config_dir) == c for every config that
// ParseNodeConfig returned.
std::string FormatNodeConfig(const NodeConfig& config);

}  // namespace lading::node

#endif  // LADING_NODE_CONFIG_H_
