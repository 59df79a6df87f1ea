#include "node/config.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include "crypto/internal/strings.h"
#include "crypto/key_file.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

using ::lading::internal::StrCat;

// The largest transaction must fit into a block and into the mempool, or it would wait forever.
static_assert(kConfigBlockBytesMin > proto::kTxBytesMax + proto::kBlockHeaderBytesMax);
static_assert(kConfigBlockBytesMin <= proto::kBlockBytesMax);

constexpr uint64_t kMempoolTxsMin = 1;
constexpr uint64_t kMempoolBytesMin = kConfigBlockBytesMin;

struct KeySpec {
  std::string_view table;
  std::vector<std::string_view> keys;
};

const std::vector<KeySpec>& KnownKeys() {
  static const std::vector<KeySpec>* const known = new std::vector<KeySpec>{
      {"node", {"member_id", "key_file", "key_passphrase_file", "genesis_file", "data_dir"}},
      {"p2p", {"listen", "peers"}},
      {"api", {"listen"}},
      {"http", {"listen"}},
      {"log", {"level", "file"}},
      {"consensus",
       {"timeout_propose_ms", "timeout_propose_delta_ms", "timeout_prevote_ms",
        "timeout_prevote_delta_ms", "timeout_precommit_ms", "timeout_precommit_delta_ms",
        "heartbeat_ms", "block_bytes_max"}},
      {"mempool", {"txs_max", "bytes_max", "txs_per_signer_max"}},
  };
  return *known;
}

constexpr std::pair<LogLevel, std::string_view> kLogLevelNames[] = {
    {LogLevel::kTrace, "trace"}, {LogLevel::kDebug, "debug"}, {LogLevel::kInfo, "info"},
    {LogLevel::kWarn, "warn"},   {LogLevel::kError, "error"},
};

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// `text` quoted as a TOML basic string (also valid JSON for the ASCII escapes used here).
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04X", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

absl::Status ValidateHost(std::string_view host, bool bracketed) {
  if (host.empty()) return absl::InvalidArgumentError("the host is empty");
  if (host.size() > kHostLengthMax) {
    return absl::InvalidArgumentError(
        StrCat("the host is ", host.size(), " characters, over the limit of ", kHostLengthMax));
  }
  for (const char c : host) {
    const bool hex_digit =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    const bool ok = bracketed ? (hex_digit || c == ':' || c == '.')
                              : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                                 (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_');
    if (!ok) {
      if (!bracketed && c == ':') {
        return absl::InvalidArgumentError(
            "an IPv6 address must be written in brackets: [::1]:26600");
      }
      return absl::InvalidArgumentError(
          StrCat("the host has the character '", std::string(1, c), "', which is not allowed"));
    }
  }
  return absl::OkStatus();
}

// "host:port" or "[v6]:port". The error message does not repeat the text (the caller does).
absl::StatusOr<HostPort> ParseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("'[' without a matching ']'");
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError("expected ':port' after ']'");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    bracketed = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError("expected host:port");
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  LADING_RETURN_IF_ERROR(ValidateHost(host, bracketed));
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return absl::InvalidArgumentError(
        StrCat("port \"", port_text, "\" is not a number in 1..65535"));
  }
  uint32_t port = 0;
  for (const char c : port_text) port = port * 10 + static_cast<uint32_t>(c - '0');
  if (port < 1 || port > 65535) {
    return absl::InvalidArgumentError(StrCat("port ", port, " is outside 1..65535"));
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

absl::StatusOr<PeerAddress> ParsePeer(std::string_view text) {
  const size_t at = text.find('@');
  if (at == std::string_view::npos) {
    return absl::InvalidArgumentError("expected member@host:port");
  }
  PeerAddress peer;
  peer.member_id = std::string(text.substr(0, at));
  LADING_RETURN_IF_ERROR(crypto::ValidateMemberId(peer.member_id));
  LADING_ASSIGN_OR_RETURN(peer.address, ParseHostPort(text.substr(at + 1)));
  return peer;
}

// Reads one document. Every error is InvalidArgument "SOURCE[:LINE:COLUMN]: message"; the first
// error ends the parse.
class ConfigReader {
 public:
  ConfigReader(const toml::table& root, std::string_view source, std::string config_dir)
      : root_(root), source_(source), config_dir_(std::move(config_dir)) {}

  absl::StatusOr<NodeConfig> Read() {
    LADING_RETURN_IF_ERROR(CheckKnownKeys());
    NodeConfig config;
    config.config_dir = config_dir_;

    LADING_RETURN_IF_ERROR(ReadString("node", "member_id", /*required=*/true, &config.member_id));
    if (const absl::Status status = crypto::ValidateMemberId(config.member_id); !status.ok()) {
      return ValueError("node", "member_id", Quote(config.member_id),
                        internal::ToStdView(status.message()));
    }
    LADING_RETURN_IF_ERROR(ReadPath("node", "key_file", /*required=*/true, &config.key_file));
    LADING_RETURN_IF_ERROR(
        ReadPath("node", "key_passphrase_file", /*required=*/false, &config.key_passphrase_file));
    LADING_RETURN_IF_ERROR(
        ReadPath("node", "genesis_file", /*required=*/true, &config.genesis_file));
    config.data_dir = Resolve("data");
    LADING_RETURN_IF_ERROR(ReadPath("node", "data_dir", /*required=*/false, &config.data_dir));
    if (config.data_dir.empty()) {
      return ValueError("node", "data_dir", "\"\"", "must not be empty");
    }

    LADING_RETURN_IF_ERROR(ReadListen("p2p", &config.p2p_listen));
    LADING_RETURN_IF_ERROR(ReadListen("api", &config.api_listen));
    LADING_RETURN_IF_ERROR(ReadListen("http", &config.http_listen));
    if (config.api_listen == config.p2p_listen) {
      return ValueError("api", "listen", Quote(config.api_listen.ToString()),
                        "is the same address as p2p.listen");
    }
    if (config.http_listen == config.p2p_listen || config.http_listen == config.api_listen) {
      return ValueError("http", "listen", Quote(config.http_listen.ToString()),
                        config.http_listen == config.p2p_listen
                            ? "is the same address as p2p.listen"
                            : "is the same address as api.listen");
    }
    LADING_RETURN_IF_ERROR(ReadPeers(config));

    std::string level = "info";
    LADING_RETURN_IF_ERROR(ReadString("log", "level", /*required=*/false, &level));
    bool level_known = false;
    for (const auto& [value, name] : kLogLevelNames) {
      if (name == level) {
        config.log_level = value;
        level_known = true;
      }
    }
    if (!level_known) {
      return ValueError("log", "level", Quote(level),
                        "is not one of trace, debug, info, warn, error");
    }
    LADING_RETURN_IF_ERROR(ReadPath("log", "file", /*required=*/false, &config.log_file));

    consensus::TimeoutConfig& timeouts = config.timeouts;
    LADING_RETURN_IF_ERROR(ReadUint("consensus", "timeout_propose_ms", kTimeoutMsMin, kTimeoutMsMax,
                                    &timeouts.propose_ms));
    LADING_RETURN_IF_ERROR(ReadUint("consensus", "timeout_propose_delta_ms", 0, kTimeoutDeltaMsMax,
                                    &timeouts.propose_delta_ms));
    LADING_RETURN_IF_ERROR(ReadUint("consensus", "timeout_prevote_ms", kTimeoutMsMin, kTimeoutMsMax,
                                    &timeouts.prevote_ms));
    LADING_RETURN_IF_ERROR(ReadUint("consensus", "timeout_prevote_delta_ms", 0, kTimeoutDeltaMsMax,
                                    &timeouts.prevote_delta_ms));
    LADING_RETURN_IF_ERROR(ReadUint("consensus", "timeout_precommit_ms", kTimeoutMsMin,
                                    kTimeoutMsMax, &timeouts.precommit_ms));
    LADING_RETURN_IF_ERROR(ReadUint("consensus", "timeout_precommit_delta_ms", 0,
                                    kTimeoutDeltaMsMax, &timeouts.precommit_delta_ms));
    LADING_RETURN_IF_ERROR(
        ReadUint("consensus", "heartbeat_ms", 0, kHeartbeatMsMax, &config.heartbeat_ms));
    LADING_RETURN_IF_ERROR(ReadUint("consensus", "block_bytes_max", kConfigBlockBytesMin,
                                    proto::kBlockBytesMax, &config.block_bytes_max));

    LADING_RETURN_IF_ERROR(
        ReadUint("mempool", "txs_max", kMempoolTxsMin, kMempoolTxsMaxMax, &config.mempool_txs_max));
    LADING_RETURN_IF_ERROR(ReadUint("mempool", "bytes_max", kMempoolBytesMin, kMempoolBytesMaxMax,
                                    &config.mempool_bytes_max));
    LADING_RETURN_IF_ERROR(ReadUint("mempool", "txs_per_signer_max", kMempoolTxsMin,
                                    kMempoolTxsMaxMax, &config.mempool_txs_per_signer_max));
    if (config.mempool_txs_per_signer_max > config.mempool_txs_max) {
      return ValueError("mempool", "txs_per_signer_max", StrCat(config.mempool_txs_per_signer_max),
                        StrCat("is larger than mempool.txs_max ", config.mempool_txs_max));
    }
    return config;
  }

 private:
  std::string Where(const toml::source_region& region) const {
    if (region.begin.line == 0) return std::string(source_);
    return StrCat(source_, ":", region.begin.line, ":", region.begin.column);
  }

  const toml::node* Find(std::string_view table, std::string_view key) const {
    const toml::table* section = root_.get_as<toml::table>(table);
    return section == nullptr ? nullptr : section->get(key);
  }

  // "SOURCE:L:C: table.key VALUE: problem" at the key's value.
  absl::Status ValueError(std::string_view table, std::string_view key, std::string_view value,
                          std::string_view problem) const {
    const toml::node* node = Find(table, key);
    const std::string where = node != nullptr ? Where(node->source()) : std::string(source_);
    return absl::InvalidArgumentError(
        StrCat(where, ": ", table, ".", key, " ", value, ": ", problem));
  }

  absl::Status TypeError(std::string_view table, std::string_view key, const toml::node& node,
                         std::string_view wanted) const {
    return absl::InvalidArgumentError(StrCat(Where(node.source()), ": ", table, ".", key,
                                             " must be ", wanted, ", not ", TypeName(node.type())));
  }

  absl::Status Missing(std::string_view table, std::string_view key) const {
    return absl::InvalidArgumentError(StrCat(source_, ": missing required key ", table, ".", key));
  }

  absl::Status CheckKnownKeys() const {
    for (const auto& [table_key, table_node] : root_) {
      const auto spec = std::find_if(KnownKeys().begin(), KnownKeys().end(),
                                     [&](const KeySpec& s) { return s.table == table_key.str(); });
      if (spec == KnownKeys().end()) {
        return absl::InvalidArgumentError(
            StrCat(Where(table_key.source()), ": unknown key ", table_key.str()));
      }
      const toml::table* table = table_node.as_table();
      if (table == nullptr) {
        return absl::InvalidArgumentError(StrCat(Where(table_node.source()), ": ", table_key.str(),
                                                 " must be a table, not ",
                                                 TypeName(table_node.type())));
      }
      for (const auto& [key, node] : *table) {
        if (std::find(spec->keys.begin(), spec->keys.end(), key.str()) == spec->keys.end()) {
          return absl::InvalidArgumentError(
              StrCat(Where(key.source()), ": unknown key ", table_key.str(), ".", key.str()));
        }
      }
    }
    return absl::OkStatus();
  }

  // Leaves *out unchanged when the key is absent and not required.
  absl::Status ReadString(std::string_view table, std::string_view key, bool required,
                          std::string* out) const {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return required ? Missing(table, key) : absl::OkStatus();
    const auto* value = node->as_string();
    if (value == nullptr) return TypeError(table, key, *node, "a string");
    *out = value->get();
    return absl::OkStatus();
  }

  ConfigPath Resolve(const std::string& as_written) const {
    if (as_written.empty()) return ConfigPath{};
    return ConfigPath{
        as_written, (std::filesystem::path(config_dir_) / as_written).lexically_normal().string()};
  }

  absl::Status ReadPath(std::string_view table, std::string_view key, bool required,
                        ConfigPath* out) const {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return required ? Missing(table, key) : absl::OkStatus();
    std::string text;
    LADING_RETURN_IF_ERROR(ReadString(table, key, required, &text));
    if (text.empty() && required) return ValueError(table, key, "\"\"", "must not be empty");
    if (text.find('\0') != std::string::npos) {
      return ValueError(table, key, Quote(text), "a path cannot contain a NUL character");
    }
    *out = Resolve(text);
    return absl::OkStatus();
  }

  absl::Status ReadListen(std::string_view table, HostPort* out) const {
    std::string text;
    LADING_RETURN_IF_ERROR(ReadString(table, "listen", /*required=*/true, &text));
    absl::StatusOr<HostPort> parsed = ParseHostPort(text);
    if (!parsed.ok()) {
      return ValueError(table, "listen", Quote(text),
                        internal::ToStdView(parsed.status().message()));
    }
    *out = *std::move(parsed);
    return absl::OkStatus();
  }

  absl::Status ReadPeers(NodeConfig& config) const {
    const toml::node* node = Find("p2p", "peers");
    if (node == nullptr) return absl::OkStatus();
    const toml::array* peers = node->as_array();
    if (peers == nullptr) return TypeError("p2p", "peers", *node, "an array of strings");
    if (peers->size() > kNodeConfigPeersMax) {
      return absl::InvalidArgumentError(StrCat(Where(node->source()), ": p2p.peers has ",
                                               peers->size(), " entries, over the limit of ",
                                               kNodeConfigPeersMax));
    }
    std::set<std::string> members;
    std::set<std::pair<std::string, uint16_t>> addresses;
    for (const toml::node& element : *peers) {
      const auto* value = element.as_string();
      if (value == nullptr) {
        return absl::InvalidArgumentError(StrCat(Where(element.source()),
                                                 ": p2p.peers entries must be strings, not ",
                                                 TypeName(element.type())));
      }
      const std::string& text = value->get();
      const auto fail = [&](std::string_view problem) {
        return absl::InvalidArgumentError(
            StrCat(Where(element.source()), ": p2p.peers entry ", Quote(text), ": ", problem));
      };
      absl::StatusOr<PeerAddress> peer = ParsePeer(text);
      if (!peer.ok()) return fail(internal::ToStdView(peer.status().message()));
      if (peer->member_id == config.member_id) {
        return fail(StrCat("is this node itself (node.member_id ", Quote(config.member_id), ")"));
      }
      if (peer->address == config.p2p_listen) {
        return fail("is this node's own p2p.listen address");
      }
      if (!members.insert(peer->member_id).second) {
        return fail(StrCat("member ", Quote(peer->member_id), " is listed twice"));
      }
      if (!addresses.insert({peer->address.host, peer->address.port}).second) {
        return fail(StrCat("address ", peer->address.ToString(), " is listed twice"));
      }
      config.peers.push_back(*std::move(peer));
    }
    return absl::OkStatus();
  }

  // Leaves *out unchanged when the key is absent.
  absl::Status ReadUint(std::string_view table, std::string_view key, uint64_t min, uint64_t max,
                        uint64_t* out) const {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return absl::OkStatus();
    const auto* value = node->as_integer();
    if (value == nullptr) return TypeError(table, key, *node, "an integer");
    const int64_t number = value->get();
    if (number < 0 || static_cast<uint64_t>(number) < min || static_cast<uint64_t>(number) > max) {
      return ValueError(table, key, StrCat(number), StrCat("is outside ", min, "..", max));
    }
    *out = static_cast<uint64_t>(number);
    return absl::OkStatus();
  }

  const toml::table& root_;
  std::string_view source_;
  std::string config_dir_;
};

void AppendPath(std::string& out, std::string_view key, const ConfigPath& path) {
  out += StrCat(key, " = ", Quote(path.as_written), "\n");
}

void AppendUint(std::string& out, std::string_view key, uint64_t value) {
  out += StrCat(key, " = ", value, "\n");
}

}  // namespace

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return StrCat("[", host, "]:", port);
  return StrCat(host, ":", port);
}

bool NodeConfig::operator==(const NodeConfig& other) const {
  // consensus::TimeoutConfig has no operator==, so the defaulted one cannot be used.
  const auto timeouts_tuple = [](const consensus::TimeoutConfig& t) {
    return std::tie(t.propose_ms, t.propose_delta_ms, t.prevote_ms, t.prevote_delta_ms,
                    t.precommit_ms, t.precommit_delta_ms);
  };
  return config_dir == other.config_dir && member_id == other.member_id &&
         key_file == other.key_file && key_passphrase_file == other.key_passphrase_file &&
         genesis_file == other.genesis_file && data_dir == other.data_dir &&
         p2p_listen == other.p2p_listen && peers == other.peers && api_listen == other.api_listen &&
         http_listen == other.http_listen && log_level == other.log_level &&
         log_file == other.log_file && timeouts_tuple(timeouts) == timeouts_tuple(other.timeouts) &&
         heartbeat_ms == other.heartbeat_ms && block_bytes_max == other.block_bytes_max &&
         mempool_txs_max == other.mempool_txs_max && mempool_bytes_max == other.mempool_bytes_max &&
         mempool_txs_per_signer_max == other.mempool_txs_per_signer_max;
}

std::string PeerAddress::ToString() const { return StrCat(member_id, "@", address.ToString()); }

std::string_view LogLevelName(LogLevel level) {
  for (const auto& [value, name] : kLogLevelNames) {
    if (value == level) return name;
  }
  LADING_CHECK_MSG(false, "LogLevel outside the enum");
}

absl::StatusOr<NodeConfig> ParseNodeConfig(std::string_view text, std::string_view source,
                                           const std::string& config_dir) {
  LADING_CHECK(std::filesystem::path(config_dir).is_absolute());
  if (text.size() > kNodeConfigBytesMax) {
    return absl::InvalidArgumentError(
        StrCat(source, ": ", text.size(), " bytes, over the limit of ", kNodeConfigBytesMax));
  }
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    const toml::source_position& at = error.source().begin;
    return absl::InvalidArgumentError(
        StrCat(source, ":", at.line, ":", at.column, ": ", error.description()));
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(StrCat(source, ": cannot parse: ", error.what()));
  }
  return ConfigReader(root, source, config_dir).Read();
}

absl::StatusOr<NodeConfig> LoadNodeConfig(const std::string& path) {
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) {
    return absl::InvalidArgumentError(StrCat("config file ", path, ": ", error.message()));
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(StrCat("config file ", path, " does not exist"));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(StrCat("config file ", path, " is not a regular file"));
  }
  if (static_cast<uint64_t>(info.st_size) > kNodeConfigBytesMax) {
    return absl::InvalidArgumentError(
        StrCat(path, ": ", info.st_size, " bytes, over the limit of ", kNodeConfigBytesMax));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot open config file ", path));
  // Read one byte past the cap so a file that grew after stat() is still refused.
  std::string text(kNodeConfigBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::DataLossError(StrCat("cannot read config file ", path));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseNodeConfig(text, path, absolute.parent_path().lexically_normal().string());
}

std::string FormatNodeConfig(const NodeConfig& config) {
  std::string out =
      "# Lading node configuration (see node/config.h). Relative paths are\n"
      "# relative to this file's directory.\n";
  out += "[node]\n";
  out += StrCat("member_id = ", Quote(config.member_id), "\n");
  AppendPath(out, "key_file", config.key_file);
  AppendPath(out, "key_passphrase_file", config.key_passphrase_file);
  AppendPath(out, "genesis_file", config.genesis_file);
  AppendPath(out, "data_dir", config.data_dir);

  out += "\n[p2p]\n";
  out += StrCat("listen = ", Quote(config.p2p_listen.ToString()), "\n");
  if (config.peers.empty()) {
    out += "peers = []\n";
  } else {
    out += "peers = [\n";
    for (const PeerAddress& peer : config.peers) out += StrCat("  ", Quote(peer.ToString()), ",\n");
    out += "]\n";
  }
  out += StrCat("\n[api]\nlisten = ", Quote(config.api_listen.ToString()), "\n");
  out += StrCat("\n[http]\nlisten = ", Quote(config.http_listen.ToString()), "\n");

  out += StrCat("\n[log]\nlevel = ", Quote(LogLevelName(config.log_level)), "\n");
  AppendPath(out, "file", config.log_file);

  out += "\n[consensus]\n";
  AppendUint(out, "timeout_propose_ms", config.timeouts.propose_ms);
  AppendUint(out, "timeout_propose_delta_ms", config.timeouts.propose_delta_ms);
  AppendUint(out, "timeout_prevote_ms", config.timeouts.prevote_ms);
  AppendUint(out, "timeout_prevote_delta_ms", config.timeouts.prevote_delta_ms);
  AppendUint(out, "timeout_precommit_ms", config.timeouts.precommit_ms);
  AppendUint(out, "timeout_precommit_delta_ms", config.timeouts.precommit_delta_ms);
  AppendUint(out, "heartbeat_ms", config.heartbeat_ms);
  AppendUint(out, "block_bytes_max", config.block_bytes_max);

  out += "\n[mempool]\n";
  AppendUint(out, "txs_max", config.mempool_txs_max);
  AppendUint(out, "bytes_max", config.mempool_bytes_max);
  AppendUint(out, "txs_per_signer_max", config.mempool_txs_per_signer_max);
  return out;
}

}  // namespace lading::node
