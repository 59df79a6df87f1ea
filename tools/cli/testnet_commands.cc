#include "tools/cli/testnet_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "crypto/internal/strings.h"
#include "crypto/key_file.h"
#include "crypto/status.h"
#include "node/config.h"
#include "proto/genesis.h"
#include "tools/cli/output.h"

extern char** environ;

namespace lading::cli {
namespace {

namespace fs = std::filesystem;
using ::lading::internal::StrCat;
using Clock = std::chrono::steady_clock;

constexpr int kValidatorsMax = 64;
constexpr int kClientsMax = 1000;
constexpr int kPortsPerNode = 10;
constexpr char kDefaultChainId[] = "lading-testnet";
constexpr char kTestnetFile[] = "testnet.json";
constexpr char kPidFile[] = "ladingd.pid";
constexpr char kLogFile[] = "ladingd.log";
constexpr char kLadingdName[] = "ladingd";
constexpr size_t kPidFileBytesMax = 32;
constexpr size_t kHealthBodyBytesMax = 64 * 1024;
constexpr size_t kLogTailBytes = 4096;
constexpr size_t kLogLineShownMax = 400;
constexpr auto kHealthRequestTimeout = std::chrono::milliseconds(1000);
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kStopGrace = std::chrono::seconds(10);
constexpr auto kKillWait = std::chrono::seconds(5);

struct InitOptions {
  std::string dir;
  int validators = 0;
  int clients = 8;
  int base_port = 26600;
  std::string chain_id = kDefaultChainId;
  bool json = false;
};

struct StartOptions {
  std::string dir;
  int node = 0;  // 0: every node
  std::string ladingd;
  int timeout_s = 60;
  bool json = false;
};

struct StopOptions {
  std::string dir;
  int node = 0;
  bool json = false;
};

struct StatusOptions {
  std::string dir;
  bool json = false;
};

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string ValidatorId(int k) { return StrCat("validator-", k); }
std::string ClientId(int k) { return StrCat("client-", k); }
std::string NodeName(int k) { return StrCat("node", k); }

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

// Writes `text` to a new file `path` (O_EXCL) with `mode`.
absl::Status WriteNewFile(const std::string& path, std::string_view text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::FailedPreconditionError(StrCat("cannot create ", path, ": ", ErrnoText(errno)));
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return absl::DataLossError(StrCat("cannot write ", path, ": ", ErrnoText(error)));
    }
    written += static_cast<size_t>(n);
  }
  // umask may have narrowed `mode`; the modes of a testnet's files are part of its contract.
  if (::fchmod(fd, mode) != 0 || ::close(fd) != 0) {
    return absl::DataLossError(StrCat("cannot finish ", path, ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status MakeDirectory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) {
    return absl::FailedPreconditionError(
        StrCat("cannot create directory ", path, ": ", ErrnoText(errno)));
  }
  if (::chmod(path.c_str(), mode) != 0) {
    return absl::FailedPreconditionError(
        StrCat("cannot chmod directory ", path, ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

// Reads a small file whole; NotFound when absent, InvalidArgument when larger than `bytes_max`.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat(path, " does not exist"));
    return absl::FailedPreconditionError(StrCat("cannot open ", path, ": ", ErrnoText(errno)));
  }
  std::string text(bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::DataLossError(StrCat("cannot read ", path));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > bytes_max) {
    return absl::InvalidArgumentError(StrCat(path, " is larger than ", bytes_max, " bytes"));
  }
  return text;
}

// The last non-empty line of a log file, shortened, or a note saying why there is none.
std::string LastLogLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return StrCat("(no log at ", path, ")");
  const std::streamoff size = in.tellg();
  if (size < 0) return StrCat("(cannot read ", path, ")");
  const std::streamoff start =
      std::max<std::streamoff>(0, size - static_cast<std::streamoff>(kLogTailBytes));
  in.seekg(start);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  if (tail.empty()) return StrCat("(", path, " is empty)");
  const size_t newline = tail.rfind('\n');
  std::string line = newline == std::string::npos ? tail : tail.substr(newline + 1);
  if (line.size() > kLogLineShownMax) line = line.substr(0, kLogLineShownMax) + "...";
  return StrCat("last line of ", path, ": ", line);
}

// ---------------------------------------------------------------------------------------------
// The testnet directory
// ---------------------------------------------------------------------------------------------

struct TestnetNode {
  int index = 0;
  std::string name;         // "nodeK"
  std::string dir;          // absolute
  std::string config_path;  // absolute
  node::NodeConfig config;

  std::string pid_path() const { return dir + "/" + kPidFile; }
  std::string log_path() const { return dir + "/" + kLogFile; }
  std::string Label() const { return StrCat(name, " (", config.member_id, ")"); }
};

std::string AbsoluteDir(const std::string& dir) {
  std::error_code error;
  const fs::path absolute = fs::absolute(dir, error);
  return (error ? fs::path(dir) : absolute).lexically_normal().string();
}

// The nodes of the testnet in `dir` in index order, or only node `only` when it is not 0.
absl::StatusOr<std::vector<TestnetNode>> LoadTestnet(const std::string& dir_arg, int only) {
  const std::string dir = AbsoluteDir(dir_arg);
  std::error_code error;
  if (!fs::exists(fs::path(dir) / kTestnetFile, error)) {
    return absl::FailedPreconditionError(
        StrCat(dir_arg, " is not a testnet directory (no ", kTestnetFile,
               "); create one with: lading testnet init --dir ", dir_arg, " --validators 4"));
  }
  std::vector<int> indexes;
  if (only != 0) {
    indexes.push_back(only);
  } else {
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
      const std::string name = entry.path().filename().string();
      if (name.size() < 5 || name.compare(0, 4, "node") != 0) continue;
      int k = 0;
      const char* first = name.data() + 4;
      const char* last = name.data() + name.size();
      const auto [end, parse_error] = std::from_chars(first, last, k);
      if (parse_error != std::errc() || end != last || k < 1 || name[4] == '0') continue;
      if (fs::exists(entry.path() / "node.toml")) indexes.push_back(k);
    }
    if (error) {
      return absl::FailedPreconditionError(StrCat("cannot list ", dir, ": ", error.message()));
    }
    std::sort(indexes.begin(), indexes.end());
    if (indexes.empty()) {
      return absl::FailedPreconditionError(StrCat(dir_arg, " has no nodeK/node.toml"));
    }
  }
  std::vector<TestnetNode> nodes;
  for (const int k : indexes) {
    TestnetNode node;
    node.index = k;
    node.name = NodeName(k);
    node.dir = dir + "/" + node.name;
    node.config_path = node.dir + "/node.toml";
    if (!fs::exists(node.config_path, error)) {
      return absl::NotFoundError(
          StrCat("the testnet in ", dir_arg, " has no node ", k, " (no ", node.config_path, ")"));
    }
    LADING_ASSIGN_OR_RETURN(node.config, node::LoadNodeConfig(node.config_path));
    nodes.push_back(std::move(node));
  }
  return nodes;
}

// ---------------------------------------------------------------------------------------------
// testnet init
// ---------------------------------------------------------------------------------------------

struct InitPlan {
  std::vector<node::NodeConfig> configs;
  std::vector<std::string> clients;
  std::string chain_id;
};

node::HostPort Local(int port) { return node::HostPort{"127.0.0.1", static_cast<uint16_t>(port)}; }

std::string TestnetJson(const InitPlan& plan) {
  std::string out = StrCat("{\"chain_id\":", JsonString(plan.chain_id), ",\"nodes\":[");
  for (size_t i = 0; i < plan.configs.size(); ++i) {
    const node::NodeConfig& config = plan.configs[i];
    const std::string name = NodeName(static_cast<int>(i) + 1);
    out += StrCat(i == 0 ? "\n " : ",\n ", "{\"name\":", JsonString(name),
                  ",\"member_id\":", JsonString(config.member_id), ",\"dir\":", JsonString(name),
                  ",\"config\":", JsonString(name + "/node.toml"),
                  ",\"p2p\":", JsonString(config.p2p_listen.ToString()),
                  ",\"api\":", JsonString(config.api_listen.ToString()),
                  ",\"http\":", JsonString(config.http_listen.ToString()), "}");
  }
  out += "],\"clients\":[";
  for (size_t i = 0; i < plan.clients.size(); ++i) {
    out += StrCat(i == 0 ? "\n " : ",\n ", "{\"member_id\":", JsonString(plan.clients[i]),
                  ",\"key_file\":", JsonString("keys/" + plan.clients[i] + ".key"), "}");
  }
  out += "]}\n";
  return out;
}

absl::StatusOr<proto::Member> GenerateMember(const std::string& keys_dir, const std::string& id,
                                             proto::Role role, uint64_t voting_power) {
  LADING_ASSIGN_OR_RETURN(const crypto::MemberKeys keys, crypto::MemberKeys::Generate(id));
  LADING_RETURN_IF_ERROR(crypto::WriteMemberKeyFiles(keys_dir, keys, std::nullopt).status());
  const crypto::MemberPublicKeys public_keys = keys.public_keys();
  proto::Member member;
  member.set_id(id);
  member.set_signing_public_key(ToString(public_keys.signing_public_key.span()));
  member.set_encryption_public_key(ToString(public_keys.encryption_public_key.span()));
  member.add_roles(role);
  member.set_voting_power(voting_power);
  return member;
}

// Writes everything into `dir`, which exists and is empty.
absl::Status WriteTestnet(const std::string& dir, const InitPlan& plan) {
  const std::string keys_dir = dir + "/keys";
  LADING_RETURN_IF_ERROR(MakeDirectory(keys_dir, 0700));

  proto::Genesis genesis;
  genesis.set_chain_id(plan.chain_id);
  genesis.set_genesis_time_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  for (const node::NodeConfig& config : plan.configs) {
    LADING_ASSIGN_OR_RETURN(*genesis.add_members(),
                            GenerateMember(keys_dir, config.member_id, proto::ROLE_VALIDATOR, 1));
  }
  for (const std::string& client : plan.clients) {
    LADING_ASSIGN_OR_RETURN(*genesis.add_members(),
                            GenerateMember(keys_dir, client, proto::ROLE_EXPORTER, 0));
  }
  LADING_RETURN_IF_ERROR(proto::ValidateGenesis(genesis));
  LADING_ASSIGN_OR_RETURN(const std::string genesis_json, proto::GenesisToJson(genesis));
  LADING_RETURN_IF_ERROR(WriteNewFile(dir + "/genesis.json", genesis_json, 0644));

  for (size_t i = 0; i < plan.configs.size(); ++i) {
    const std::string node_dir = dir + "/" + NodeName(static_cast<int>(i) + 1);
    LADING_RETURN_IF_ERROR(MakeDirectory(node_dir, 0755));
    const std::string path = node_dir + "/node.toml";
    const std::string text = node::FormatNodeConfig(plan.configs[i]);
    // What we write must be what ladingd will read: parse it back before going on.
    LADING_ASSIGN_OR_RETURN(const node::NodeConfig reread,
                            node::ParseNodeConfig(text, path, node_dir));
    LADING_CHECK_MSG(reread == plan.configs[i], "FormatNodeConfig did not round-trip");
    LADING_RETURN_IF_ERROR(WriteNewFile(path, text, 0644));
  }
  return WriteNewFile(dir + "/" + kTestnetFile, TestnetJson(plan), 0644);
}

absl::Status RunInit(const InitOptions& options) {
  LADING_RETURN_IF_ERROR(proto::ValidateChainId(options.chain_id));
  const int last_port = options.base_port + kPortsPerNode * (options.validators - 1) + 2;
  if (last_port > 65535) {
    return absl::InvalidArgumentError(StrCat(
        "--base-port ", options.base_port, " with ", options.validators,
        " validators needs ports up to ", last_port, ", above 65535; use a --base-port of at most ",
        65535 - kPortsPerNode * (options.validators - 1) - 2));
  }

  const std::string dir = AbsoluteDir(options.dir);
  std::error_code error;
  const fs::file_status status = fs::status(dir, error);
  bool created = false;
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return absl::FailedPreconditionError(
          StrCat(options.dir, " exists and is not a directory; choose another --dir"));
    }
    if (!fs::is_empty(dir, error) || error) {
      return absl::FailedPreconditionError(
          StrCat(options.dir, " exists and is not empty; choose another --dir"));
    }
  } else {
    fs::create_directories(dir, error);
    if (error) {
      return absl::FailedPreconditionError(
          StrCat("cannot create directory ", options.dir, ": ", error.message()));
    }
    created = true;
  }

  InitPlan plan;
  plan.chain_id = options.chain_id;
  for (int k = 1; k <= options.validators; ++k) {
    const int port = options.base_port + kPortsPerNode * (k - 1);
    node::NodeConfig config;
    const std::string node_dir = dir + "/" + NodeName(k);
    const auto path = [&](const std::string& as_written) {
      return node::ConfigPath{as_written,
                              (fs::path(node_dir) / as_written).lexically_normal().string()};
    };
    config.config_dir = node_dir;
    config.member_id = ValidatorId(k);
    config.key_file = path("../keys/" + ValidatorId(k) + ".key");
    config.genesis_file = path("../genesis.json");
    config.data_dir = path("data");
    config.p2p_listen = Local(port);
    config.api_listen = Local(port + 1);
    config.http_listen = Local(port + 2);
    for (int j = 1; j <= options.validators; ++j) {
      if (j != k) {
        config.peers.push_back(
            {ValidatorId(j), Local(options.base_port + kPortsPerNode * (j - 1))});
      }
    }
    plan.configs.push_back(std::move(config));
  }
  for (int k = 1; k <= options.clients; ++k) plan.clients.push_back(ClientId(k));

  if (const absl::Status written = WriteTestnet(dir, plan); !written.ok()) {
    // Nothing half-made is left behind: the directory was new or empty, so all of it is ours.
    if (created) {
      fs::remove_all(dir, error);
    } else {
      for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
        fs::remove_all(entry.path(), error);
      }
    }
    return written;
  }

  if (options.json) {
    std::cout << TestnetJson(plan);
    return absl::OkStatus();
  }
  std::cout << "testnet " << plan.chain_id << " in " << options.dir << ": " << options.validators
            << " validators, " << options.clients << " clients\n";
  std::cout << StrCat("  ", "node     ", "member           ", "p2p              ",
                      "api              ", "http\n");
  for (size_t i = 0; i < plan.configs.size(); ++i) {
    const node::NodeConfig& config = plan.configs[i];
    std::string line = "  ";
    const auto column = [&line](const std::string& text, size_t width) {
      line += text;
      line.append(text.size() < width ? width - text.size() : 1, ' ');
    };
    column(NodeName(static_cast<int>(i) + 1), 9);
    column(config.member_id, 17);
    column(config.p2p_listen.ToString(), 17);
    column(config.api_listen.ToString(), 17);
    line += config.http_listen.ToString();
    std::cout << line << "\n";
  }
  if (options.clients > 0) {
    std::cout << "client keys: " << options.dir << "/keys/client-1.key .. client-"
              << options.clients << ".key\n";
  }
  std::cout << "start it with: lading testnet start --dir " << options.dir << "\n";
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

// True when `pid` is a live (not zombie) process running `... --config <config_path> ...`.
bool IsNodeProcess(pid_t pid, const std::string& config_path) {
  const std::string proc = StrCat("/proc/", pid);
  absl::StatusOr<std::string> stat = ReadSmallFile(proc + "/stat", 4096);
  if (!stat.ok()) return false;
  // The state letter follows the command name, which is in parentheses and may contain any byte.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return false;
  const char state = (*stat)[close + 2];
  if (state == 'Z' || state == 'X') return false;

  absl::StatusOr<std::string> cmdline = ReadSmallFile(proc + "/cmdline", 64 * 1024);
  if (!cmdline.ok()) return false;
  std::vector<std::string> args;
  std::string current;
  for (const char c : *cmdline) {
    if (c == '\0') {
      args.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  std::optional<std::string> config;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) config = args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) config = args[i].substr(9);
  }
  if (!config.has_value()) return false;
  fs::path path(*config);
  std::error_code error;
  if (path.is_relative()) path = fs::read_symlink(proc + "/cwd", error) / path;
  if (error) return false;
  return fs::weakly_canonical(path, error) == fs::weakly_canonical(config_path, error) && !error;
}

enum class PidState { kNone, kRunning, kStale };

struct PidInfo {
  PidState state = PidState::kNone;
  pid_t pid = 0;
};

absl::StatusOr<PidInfo> InspectPidFile(const TestnetNode& node) {
  absl::StatusOr<std::string> text = ReadSmallFile(node.pid_path(), kPidFileBytesMax);
  if (absl::IsNotFound(text.status())) return PidInfo{};
  if (!text.ok()) return text.status();
  std::string digits = *text;
  while (!digits.empty() && (digits.back() == '\n' || digits.back() == ' ')) digits.pop_back();
  int64_t pid = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || pid < 2 ||
      pid > INT32_MAX) {
    return absl::InvalidArgumentError(StrCat(
        node.name, ": pid file ", node.pid_path(), " does not hold a process id (",
        JsonString(digits.substr(0, 16)), "); remove it if no ladingd runs for ", node.name));
  }
  const pid_t process = static_cast<pid_t>(pid);
  return PidInfo{IsNodeProcess(process, node.config_path) ? PidState::kRunning : PidState::kStale,
                 process};
}

absl::Status WritePidFile(const TestnetNode& node, pid_t pid) {
  const std::string temporary = node.pid_path() + ".tmp";
  ::unlink(temporary.c_str());
  LADING_RETURN_IF_ERROR(WriteNewFile(temporary, StrCat(pid, "\n"), 0644));
  if (::rename(temporary.c_str(), node.pid_path().c_str()) != 0) {
    return absl::DataLossError(StrCat("cannot write ", node.pid_path(), ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

bool IsExecutableFile(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

absl::StatusOr<std::string> FindLadingd(const std::string& given) {
  if (!given.empty()) {
    if (!IsExecutableFile(given)) {
      return absl::NotFoundError(StrCat("--ladingd ", given, " is not an executable file"));
    }
    return AbsoluteDir(given);
  }
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  std::string beside;
  if (!error) {
    beside = (self.parent_path() / kLadingdName).string();
    if (IsExecutableFile(beside)) return beside;
  }
  const char* path_env = std::getenv("PATH");
  std::string_view search = path_env != nullptr ? path_env : "";
  while (!search.empty()) {
    const size_t colon = search.find(':');
    const std::string_view entry = search.substr(0, colon);
    if (!entry.empty()) {
      const std::string candidate = StrCat(entry, "/", kLadingdName);
      if (IsExecutableFile(candidate)) return AbsoluteDir(candidate);
    }
    if (colon == std::string_view::npos) break;
    search.remove_prefix(colon + 1);
  }
  return absl::NotFoundError(StrCat("cannot find ladingd: not beside this lading binary (",
                                    beside.empty() ? std::string("unknown location") : beside,
                                    ") nor on PATH; build it or pass --ladingd PATH"));
}

// Starts `ladingd --config <config>` in its own session with its output appended to the log.
absl::StatusOr<pid_t> SpawnLadingd(const std::string& ladingd, const TestnetNode& node) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  if (posix_spawn_file_actions_init(&actions) != 0) {
    return absl::ResourceExhaustedError("posix_spawn_file_actions_init failed");
  }
  if (posix_spawnattr_init(&attributes) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return absl::ResourceExhaustedError("posix_spawnattr_init failed");
  }
  sigset_t no_signals;
  sigset_t all_signals;
  sigemptyset(&no_signals);
  sigfillset(&all_signals);
  const std::string log = node.log_path();
  int setup = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (setup == 0) {
    setup = posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                             O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (setup == 0) setup = posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // The daemon outlives us: it must not hold our other descriptors (pipes of whoever ran us).
  if (setup == 0) setup = posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  if (setup == 0) {
    setup = posix_spawnattr_setflags(
        &attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (setup == 0) setup = posix_spawnattr_setsigmask(&attributes, &no_signals);
  if (setup == 0) setup = posix_spawnattr_setsigdefault(&attributes, &all_signals);

  std::vector<std::string> arg_strings = {ladingd, "--config", node.config_path};
  std::vector<char*> argv;
  for (std::string& arg : arg_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (setup == 0)
    setup = posix_spawn(&pid, ladingd.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (setup != 0) {
    return absl::FailedPreconditionError(
        StrCat(node.name, ": cannot start ", ladingd, ": ", ErrnoText(setup)));
  }
  return pid;
}

// ---------------------------------------------------------------------------------------------
// /healthz
// ---------------------------------------------------------------------------------------------

struct HttpResponse {
  unsigned status = 0;
  std::string body;
};

// GET http://address/target with one deadline for the whole exchange.
absl::StatusOr<HttpResponse> HttpGet(const node::HostPort& address, const std::string& target,
                                     std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  // A node listening on every interface is reached on loopback.
  std::string host = address.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";

  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, address.ToString());
  request.set(http::field::user_agent, "lading-cli");
  request.set(http::field::connection, "close");
  http::response_parser<http::string_body> parser;
  parser.body_limit(kHealthBodyBytesMax);

  boost::system::error_code failure;
  std::string stage = "resolve";
  bool done = false;
  stream.expires_after(timeout);
  resolver.async_resolve(
      host, std::to_string(address.port),
      [&](const boost::system::error_code& error, asio::ip::tcp::resolver::results_type results) {
        if (error) {
          failure = error;
          return;
        }
        stage = "connect";
        stream.async_connect(results, [&](const boost::system::error_code& error,
                                          const asio::ip::tcp::endpoint&) {
          if (error) {
            failure = error;
            return;
          }
          stage = "send";
          http::async_write(stream, request, [&](const boost::system::error_code& error, size_t) {
            if (error) {
              failure = error;
              return;
            }
            stage = "read";
            http::async_read(stream, buffer, parser,
                             [&](const boost::system::error_code& error, size_t) {
                               failure = error;
                               done = !error;
                             });
          });
        });
      });
  io.run_for(timeout + std::chrono::milliseconds(200));
  const std::string where = StrCat("http://", address.ToString(), target);
  if (!done) {
    const std::string reason = failure ? failure.message() : std::string("timed out");
    return absl::UnavailableError(StrCat(where, ": ", stage, " failed: ", reason));
  }
  return HttpResponse{parser.get().result_int(), parser.get().body()};
}

// A flat JSON object of strings, numbers, booleans and nulls (what /healthz returns).
class FlatJson {
 public:
  static absl::StatusOr<FlatJson> Parse(std::string_view text) {
    FlatJson json;
    size_t i = 0;
    const auto skip = [&] {
      while (i < text.size() &&
             (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        ++i;
    };
    const auto fail = [&](std::string_view what) {
      return absl::InvalidArgumentError(StrCat("bad JSON at byte ", i, ": ", what));
    };
    const auto read_string = [&](std::string* out) -> bool {
      if (i >= text.size() || text[i] != '"') return false;
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\') {
          if (i + 1 >= text.size()) return false;
          const char escaped = text[i + 1];
          if (escaped == 'u') {
            // /healthz strings are ids and status words; a \u escape is kept as written.
            out->append(text.substr(i, 2));
          } else {
            out->push_back(escaped == 'n' ? '\n' : escaped == 't' ? '\t' : escaped);
          }
          i += 2;
        } else {
          out->push_back(text[i++]);
        }
      }
      if (i >= text.size()) return false;
      ++i;
      return true;
    };
    skip();
    if (i >= text.size() || text[i] != '{') return fail("expected '{'");
    ++i;
    skip();
    if (i < text.size() && text[i] == '}') {
      ++i;
    } else {
      while (true) {
        skip();
        std::string key;
        if (!read_string(&key)) return fail("expected a string key");
        skip();
        if (i >= text.size() || text[i] != ':') return fail("expected ':'");
        ++i;
        skip();
        if (i >= text.size()) return fail("expected a value");
        if (text[i] == '"') {
          std::string value;
          if (!read_string(&value)) return fail("unterminated string");
          json.strings_[key] = value;
        } else if (text[i] == '{' || text[i] == '[') {
          return fail(StrCat("nested value for ", key));
        } else {
          const size_t start = i;
          while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ' ' &&
                 text[i] != '\n' && text[i] != '\r' && text[i] != '\t') {
            ++i;
          }
          const std::string_view word = text.substr(start, i - start);
          if (word == "true" || word == "false") {
            json.bools_[key] = word == "true";
          } else if (word != "null") {
            int64_t number = 0;
            const auto [end, error] =
                std::from_chars(word.data(), word.data() + word.size(), number);
            if (error != std::errc() || end != word.data() + word.size()) {
              return fail(StrCat("value of ", key, " is not an integer"));
            }
            json.numbers_[key] = number;
          }
        }
        skip();
        if (i < text.size() && text[i] == ',') {
          ++i;
          continue;
        }
        if (i < text.size() && text[i] == '}') {
          ++i;
          break;
        }
        return fail("expected ',' or '}'");
      }
    }
    skip();
    if (i != text.size()) return fail("text after the object");
    return json;
  }

  std::optional<std::string> String(const std::string& key) const {
    const auto it = strings_.find(key);
    return it == strings_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::optional<int64_t> Number(const std::string& key) const {
    const auto it = numbers_.find(key);
    return it == numbers_.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }

 private:
  std::map<std::string, std::string> strings_;
  std::map<std::string, int64_t> numbers_;
  std::map<std::string, bool> bools_;
};

struct Health {
  unsigned http_status = 0;
  std::string status;  // "serving", "starting", ...
  int64_t height = 0;
  int64_t round = 0;
  int64_t peers_connected = 0;
  int64_t peers_configured = 0;
  std::string body;

  bool Ready() const {
    return http_status == 200 && status == "serving" && peers_connected == peers_configured &&
           height >= 1;
  }
  std::string Summary() const {
    return StrCat("status ", status.empty() ? std::string("?") : status, ", height ", height,
                  ", peers ", peers_connected, "/", peers_configured);
  }
};

absl::StatusOr<Health> FetchHealth(const TestnetNode& node) {
  LADING_ASSIGN_OR_RETURN(const HttpResponse response,
                          HttpGet(node.config.http_listen, "/healthz", kHealthRequestTimeout));
  absl::StatusOr<FlatJson> json = FlatJson::Parse(response.body);
  if (!json.ok()) {
    return absl::InvalidArgumentError(StrCat("/healthz of ", node.name, " (HTTP ", response.status,
                                             "): ", json.status().message()));
  }
  Health health;
  health.http_status = response.status;
  health.status = json->String("status").value_or("");
  health.height = json->Number("height").value_or(0);
  health.round = json->Number("round").value_or(0);
  health.peers_connected = json->Number("peers_connected").value_or(0);
  health.peers_configured = json->Number("peers_configured").value_or(0);
  health.body = response.body;
  while (!health.body.empty() && (health.body.back() == '\n' || health.body.back() == '\r')) {
    health.body.pop_back();
  }
  return health;
}

// ---------------------------------------------------------------------------------------------
// testnet start / stop / status
// ---------------------------------------------------------------------------------------------

struct StartedNode {
  const TestnetNode* node = nullptr;
  pid_t pid = 0;
  bool spawned = false;  // by this command (so it is our child and waitpid works)
  std::optional<Health> health;
};

// Fails when the node's process is gone, saying how it ended.
absl::Status CheckAlive(const StartedNode& started) {
  const TestnetNode& node = *started.node;
  if (started.spawned) {
    int wait_status = 0;
    const pid_t waited = ::waitpid(started.pid, &wait_status, WNOHANG);
    if (waited == started.pid) {
      const std::string how = WIFEXITED(wait_status)
                                  ? StrCat("exited with status ", WEXITSTATUS(wait_status))
                                  : StrCat("was killed by signal ", WTERMSIG(wait_status));
      return absl::FailedPreconditionError(StrCat(node.Label(), ": ladingd (pid ", started.pid,
                                                  ") ", how, " before it was ready; ",
                                                  LastLogLine(node.log_path())));
    }
    return absl::OkStatus();
  }
  if (!IsNodeProcess(started.pid, node.config_path)) {
    return absl::FailedPreconditionError(StrCat(node.Label(), ": ladingd (pid ", started.pid,
                                                ") is gone before it was ready; ",
                                                LastLogLine(node.log_path())));
  }
  return absl::OkStatus();
}

absl::Status RunStart(const StartOptions& options) {
  LADING_ASSIGN_OR_RETURN(const std::vector<TestnetNode> nodes,
                          LoadTestnet(options.dir, options.node));
  std::vector<StartedNode> started;
  std::optional<std::string> ladingd;
  for (const TestnetNode& node : nodes) {
    LADING_ASSIGN_OR_RETURN(const PidInfo pid, InspectPidFile(node));
    if (pid.state == PidState::kRunning) {
      started.push_back({&node, pid.pid, false, std::nullopt});
      if (!options.json) std::cout << node.Label() << ": already running (pid " << pid.pid << ")\n";
      continue;
    }
    if (!ladingd.has_value()) {
      LADING_ASSIGN_OR_RETURN(ladingd, FindLadingd(options.ladingd));
    }
    LADING_ASSIGN_OR_RETURN(const pid_t child, SpawnLadingd(*ladingd, node));
    LADING_RETURN_IF_ERROR(WritePidFile(node, child));
    started.push_back({&node, child, true, std::nullopt});
    if (!options.json) std::cout << node.Label() << ": started ladingd (pid " << child << ")\n";
  }
  std::cout.flush();

  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(options.timeout_s);
  std::map<const TestnetNode*, std::string> last_seen;
  while (true) {
    bool all_ready = true;
    for (StartedNode& entry : started) {
      if (entry.health.has_value() && entry.health->Ready()) continue;
      LADING_RETURN_IF_ERROR(CheckAlive(entry));
      absl::StatusOr<Health> health = FetchHealth(*entry.node);
      if (health.ok() && health->Ready()) {
        entry.health = *std::move(health);
        continue;
      }
      all_ready = false;
      last_seen[entry.node] =
          health.ok() ? health->Summary() : std::string(health.status().message());
    }
    if (all_ready) break;
    if (Clock::now() >= deadline) {
      for (const StartedNode& entry : started) {
        if (entry.health.has_value() && entry.health->Ready()) continue;
        return absl::DeadlineExceededError(StrCat(entry.node->Label(), ": not ready after ",
                                                  options.timeout_s,
                                                  " s (last /healthz: ", last_seen[entry.node],
                                                  "); ", LastLogLine(entry.node->log_path())));
      }
    }
    std::this_thread::sleep_for(kPollInterval);
  }

  if (options.json) {
    std::string out = "{\"nodes\":[";
    for (size_t i = 0; i < started.size(); ++i) {
      const StartedNode& entry = started[i];
      out += StrCat(i == 0 ? "" : ",", "{\"name\":", JsonString(entry.node->name),
                    ",\"member_id\":", JsonString(entry.node->config.member_id),
                    ",\"pid\":", entry.pid, ",\"started\":", entry.spawned ? "true" : "false",
                    ",\"http\":", JsonString(entry.node->config.http_listen.ToString()),
                    ",\"height\":", entry.health->height,
                    ",\"peers_connected\":", entry.health->peers_connected,
                    ",\"peers_configured\":", entry.health->peers_configured, "}");
    }
    std::cout << out << "]}\n";
  } else {
    for (const StartedNode& entry : started) {
      std::cout << entry.node->Label() << ": serving at height " << entry.health->height
                << ", peers " << entry.health->peers_connected << "/"
                << entry.health->peers_configured << ", http "
                << entry.node->config.http_listen.ToString() << "\n";
    }
  }
  return absl::OkStatus();
}

// Waits until `pid` no longer runs this node (or the time is up); true when it is gone.
bool WaitGone(pid_t pid, const TestnetNode& node, Clock::duration wait) {
  const Clock::time_point deadline = Clock::now() + wait;
  while (IsNodeProcess(pid, node.config_path)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

absl::Status RunStop(const StopOptions& options) {
  LADING_ASSIGN_OR_RETURN(const std::vector<TestnetNode> nodes,
                          LoadTestnet(options.dir, options.node));
  std::string json = "{\"nodes\":[";
  bool first = true;
  for (const TestnetNode& node : nodes) {
    LADING_ASSIGN_OR_RETURN(const PidInfo pid, InspectPidFile(node));
    std::string result;
    switch (pid.state) {
      case PidState::kNone:
        result = "not running";
        break;
      case PidState::kStale:
        result = "stale pid file removed";
        break;
      case PidState::kRunning:
        if (::kill(pid.pid, SIGTERM) != 0 && errno != ESRCH) {
          return absl::PermissionDeniedError(
              StrCat(node.Label(), ": cannot signal pid ", pid.pid, ": ", ErrnoText(errno)));
        }
        if (WaitGone(pid.pid, node, kStopGrace)) {
          result = "stopped";
        } else {
          ::kill(pid.pid, SIGKILL);
          if (!WaitGone(pid.pid, node, kKillWait)) {
            return absl::DeadlineExceededError(
                StrCat(node.Label(), ": pid ", pid.pid, " survived SIGKILL; pid file kept"));
          }
          result = "killed after 10 s";
        }
        break;
    }
    if (pid.state != PidState::kNone && ::unlink(node.pid_path().c_str()) != 0 && errno != ENOENT) {
      return absl::PermissionDeniedError(
          StrCat("cannot remove ", node.pid_path(), ": ", ErrnoText(errno)));
    }
    if (options.json) {
      json +=
          StrCat(first ? "" : ",", "{\"name\":", JsonString(node.name),
                 ",\"member_id\":", JsonString(node.config.member_id),
                 ",\"pid\":", pid.state == PidState::kNone ? std::string("null") : StrCat(pid.pid),
                 ",\"result\":", JsonString(result), "}");
      first = false;
    } else {
      std::cout << node.Label() << ": " << result
                << (pid.state == PidState::kNone ? std::string() : StrCat(" (pid ", pid.pid, ")"))
                << "\n";
    }
  }
  if (options.json) std::cout << json << "]}\n";
  return absl::OkStatus();
}

absl::Status RunStatus(const StatusOptions& options) {
  LADING_ASSIGN_OR_RETURN(const std::vector<TestnetNode> nodes, LoadTestnet(options.dir, 0));
  std::vector<std::vector<std::string>> rows = {
      {"node", "member", "pid", "process", "http", "status", "height", "round", "peers"}};
  std::string json = "{\"nodes\":[";
  for (size_t i = 0; i < nodes.size(); ++i) {
    const TestnetNode& node = nodes[i];
    const absl::StatusOr<PidInfo> pid = InspectPidFile(node);
    std::string process = "stopped";
    std::string pid_text = "-";
    if (!pid.ok()) {
      process = "bad pid file";
    } else if (pid->state == PidState::kRunning) {
      process = "running";
      pid_text = StrCat(pid->pid);
    } else if (pid->state == PidState::kStale) {
      process = "stale pid file";
    }
    const absl::StatusOr<Health> health = FetchHealth(node);
    std::vector<std::string> row = {node.name, node.config.member_id, pid_text, process,
                                    node.config.http_listen.ToString()};
    if (health.ok()) {
      row.insert(row.end(), {health->status, StrCat(health->height), StrCat(health->round),
                             StrCat(health->peers_connected, "/", health->peers_configured)});
    } else {
      row.insert(row.end(), {"unreachable", "-", "-", "-"});
    }
    rows.push_back(std::move(row));
    json += StrCat(i == 0 ? "" : ",", "{\"name\":", JsonString(node.name),
                   ",\"member_id\":", JsonString(node.config.member_id),
                   ",\"pid\":", pid_text == "-" ? std::string("null") : pid_text,
                   ",\"process\":", JsonString(process),
                   ",\"http\":", JsonString(node.config.http_listen.ToString()),
                   ",\"healthz\":", health.ok() ? health->body : std::string("null"), ",\"error\":",
                   health.ok() ? std::string("null")
                               : JsonString(internal::ToStdView(health.status().message())),
                   "}");
  }
  if (options.json) {
    std::cout << json << "]}\n";
    return absl::OkStatus();
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddTestnetCommands(CLI::App& app, CommandRunner* runner) {
  CLI::App* testnet = app.add_subcommand("testnet", "Create and run a local test network");
  testnet->require_subcommand(1);

  auto init_options = std::make_shared<InitOptions>();
  CLI::App* init = testnet->add_subcommand("init", "Write genesis, keys and node configs");
  init->add_option("--dir", init_options->dir, "New (or empty) directory for the testnet")
      ->required();
  init->add_option("--validators", init_options->validators, "Number of validator nodes")
      ->required()
      ->check(CLI::Range(1, kValidatorsMax));
  init->add_option("--clients", init_options->clients, "Number of client members (exporters)")
      ->check(CLI::Range(0, kClientsMax))
      ->capture_default_str();
  init->add_option("--base-port", init_options->base_port,
                   "First port; node K uses base+10*(K-1) .. +2")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  init->add_option("--chain-id", init_options->chain_id, "Chain id")->capture_default_str();
  init->add_flag("--json", init_options->json, "Print testnet.json");
  init->callback(
      [runner, init_options] { *runner = [init_options] { return RunInit(*init_options); }; });

  auto start_options = std::make_shared<StartOptions>();
  CLI::App* start = testnet->add_subcommand("start", "Start the nodes and wait until they serve");
  start->add_option("--dir", start_options->dir, "Testnet directory")->required();
  start->add_option("--node", start_options->node, "Only node K")
      ->check(CLI::Range(1, kValidatorsMax));
  start->add_option("--ladingd", start_options->ladingd,
                    "ladingd binary (default: beside lading, else on PATH)");
  start->add_option("--timeout-s", start_options->timeout_s, "Seconds to wait for /healthz")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  start->add_flag("--json", start_options->json, "Print one JSON object");
  start->callback(
      [runner, start_options] { *runner = [start_options] { return RunStart(*start_options); }; });

  auto stop_options = std::make_shared<StopOptions>();
  CLI::App* stop = testnet->add_subcommand("stop", "Stop the nodes (SIGTERM, SIGKILL after 10 s)");
  stop->add_option("--dir", stop_options->dir, "Testnet directory")->required();
  stop->add_option("--node", stop_options->node, "Only node K")
      ->check(CLI::Range(1, kValidatorsMax));
  stop->add_flag("--json", stop_options->json, "Print one JSON object");
  stop->callback(
      [runner, stop_options] { *runner = [stop_options] { return RunStop(*stop_options); }; });

  auto status_options = std::make_shared<StatusOptions>();
  CLI::App* status = testnet->add_subcommand("status", "Process and /healthz of every node");
  status->add_option("--dir", status_options->dir, "Testnet directory")->required();
  status->add_flag("--json", status_options->json, "Print one JSON object");
  status->callback([runner, status_options] {
    *runner = [status_options] { return RunStatus(*status_options); };
  });
}

}  // namespace lading::cli
