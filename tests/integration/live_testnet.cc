#include "tests/integration/live_testnet.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// For the listener below (Catch2 v2 exposes its reporter interfaces only on request).
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <exception>
#include <iostream>
#include <sstream>
#include <thread>

#include "node/api/tx_builder.h"
#include "node/config.h"
#include "proto/genesis.h"
#include "tests/testing/ports.h"
#include "tests/testing/run_program.h"

extern char** environ;

namespace lading::integration {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Runs `args` (program first) to completion; returns {exit code, stdout and stderr}.
std::pair<int, std::string> RunToCompletion(const std::vector<std::string>& args) {
  const test_files::RunResult result =
      test_files::RunProgram(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
  return {result.exit_code, result.out + result.err};
}

// A base port whose three ports per node are free now.
int FreeBasePort(int validators) {
  const int base = test_files::FreeBasePort(validators, kPortRangeFirst, kPortRangeLast);
  if (base == 0) FAIL("no free ports in " << kPortRangeFirst << ".." << kPortRangeLast);
  return base;
}

// Failed assertions of the whole run, so that a testnet can tell whether its test failed (a
// failed CHECK throws nothing) and print its nodes' logs then.
std::atomic<uint64_t> failed_assertions{0};

class FailureCounter : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) failed_assertions.fetch_add(1);
    return true;
  }
};
CATCH_REGISTER_LISTENER(FailureCounter)

ExitStatus FromWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return ExitStatus{true, WEXITSTATUS(wait_status)};
  return ExitStatus{false, WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : -1};
}

std::string Describe(const ExitStatus& status) {
  return status.exited ? "exited with code " + std::to_string(status.code)
                       : "killed by signal " + std::to_string(status.code);
}

std::string LastLines(const std::string& text, size_t count) {
  std::deque<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > count) lines.pop_front();
  }
  std::string out;
  for (const std::string& line : lines) out += "    " + line + "\n";
  return out;
}

}  // namespace

LiveTestnet::LiveTestnet(TestnetOptions options)
    : options_(options),
      dir_(root_.File("net")),
      nodes_(options.validators),
      failed_assertions_at_start_(failed_assertions.load()) {
  base_port_ = FreeBasePort(options_.validators);
  const auto [code, output] = RunToCompletion(
      {LADING_CLI_PATH, "testnet", "init", "--dir", dir_, "--validators",
       std::to_string(options_.validators), "--clients", std::to_string(options_.clients),
       "--base-port", std::to_string(base_port_)});
  INFO("lading testnet init: " << output);
  REQUIRE(code == 0);

  absl::StatusOr<proto::Genesis> genesis =
      proto::LoadGenesisJson(test_files::ReadText(dir_ + "/genesis.json"));
  INFO(genesis.status().ToString());
  REQUIRE(genesis.ok());
  chain_id_ = genesis->chain_id();
  committee_index_.assign(options_.validators, 0);
  uint32_t index = 0;
  for (const proto::Member& member : genesis->members()) {
    if (member.voting_power() == 0) continue;
    REQUIRE(member.id().rfind("validator-", 0) == 0);
    const int k = std::stoi(member.id().substr(10));
    REQUIRE((k >= 1 && k <= options_.validators));
    committee_index_[k - 1] = index++;
  }
  REQUIRE(index == static_cast<uint32_t>(options_.validators));

  for (int i = 1; i <= options_.clients; ++i) {
    const std::string path = dir_ + "/keys/client-" + std::to_string(i) + ".key";
    absl::StatusOr<crypto::MemberKeys> keys = crypto::ReadPrivateKeyFile(path, std::nullopt);
    INFO(path << ": " << keys.status().ToString());
    REQUIRE(keys.ok());
    client_keys_.push_back(std::make_unique<crypto::MemberKeys>(std::move(keys).value()));
  }
  for (int k = 1; k <= options_.validators; ++k) WriteShortTimeouts(k);
}

LiveTestnet::~LiveTestnet() {
  if (std::uncaught_exceptions() > 0 || failed_assertions.load() != failed_assertions_at_start_) {
    std::cerr << "---- node logs of the failed test (" << dir_ << ") ----\n" << LogTails(40);
  }
  for (NodeProcess& node : nodes_) {
    if (node.pid == 0) continue;
    ::kill(node.pid, SIGKILL);
    int wait_status = 0;
    ::waitpid(node.pid, &wait_status, 0);
    node.pid = 0;
  }
}

void LiveTestnet::WriteShortTimeouts(int k) const {
  const std::string path = NodeDir(k) + "/node.toml";
  absl::StatusOr<node::NodeConfig> config = node::LoadNodeConfig(path);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  config->timeouts.propose_ms = options_.timeout_propose_ms;
  config->timeouts.propose_delta_ms = options_.timeout_propose_delta_ms;
  config->timeouts.prevote_ms = options_.timeout_prevote_ms;
  config->timeouts.prevote_delta_ms = options_.timeout_prevote_delta_ms;
  config->timeouts.precommit_ms = options_.timeout_precommit_ms;
  config->timeouts.precommit_delta_ms = options_.timeout_precommit_delta_ms;
  test_files::WriteText(path, node::FormatNodeConfig(*config), 0644);
  absl::StatusOr<node::NodeConfig> reread = node::LoadNodeConfig(path);
  REQUIRE(reread.ok());
  REQUIRE(reread->timeouts.propose_ms == options_.timeout_propose_ms);
}

std::string LiveTestnet::NodeDir(int k) const { return dir_ + "/node" + std::to_string(k); }
std::string LiveTestnet::LogPath(int k) const { return NodeDir(k) + "/ladingd.log"; }
std::string LiveTestnet::StorePath(int k) const { return NodeDir(k) + "/data/blocks"; }
std::string LiveTestnet::ApiAddress(int k) const {
  return "127.0.0.1:" + std::to_string(base_port_ + 10 * (k - 1) + 1);
}
uint32_t LiveTestnet::CommitteeIndex(int k) const { return committee_index_.at(k - 1); }
const crypto::MemberKeys& LiveTestnet::ClientKeys(int i) const { return *client_keys_.at(i - 1); }

void LiveTestnet::Start(int k) {
  NodeProcess& node = nodes_.at(k - 1);
  REQUIRE(node.pid == 0);
  posix_spawn_file_actions_t actions;
  REQUIRE(posix_spawn_file_actions_init(&actions) == 0);
  const std::string log = LogPath(k);
  REQUIRE(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0);
  REQUIRE(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                           O_WRONLY | O_CREAT | O_APPEND, 0644) == 0);
  REQUIRE(posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO) == 0);
  // The node must not hold our sockets (a hostile-peer test's connection, gRPC channels).
  REQUIRE(posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1) == 0);
  std::vector<std::string> arg_strings = {LADINGD_PATH, "--config", NodeDir(k) + "/node.toml"};
  std::vector<char*> argv;
  for (std::string& arg : arg_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, LADINGD_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  node.pid = pid;
  node.last_exit.reset();
}

void LiveTestnet::StartAll() {
  for (int k = 1; k <= options_.validators; ++k) Start(k);
  for (int k = 1; k <= options_.validators; ++k) WaitServing(k);
  // A new chain commits block 1 by itself once a quorum is connected.
  for (int k = 1; k <= options_.validators; ++k) {
    INFO("node" << k << " did not commit block 1");
    REQUIRE(WaitFor([&] { return Height(k).value_or(0) >= 1; }, milliseconds(30'000)));
  }
}

void LiveTestnet::WaitServing(int k, milliseconds timeout) {
  const bool serving = WaitFor(
      [&] { return !Running(k) || HttpGet(HttpPort(k), "/healthz").status == 200; }, timeout);
  INFO("node" << k << ": " << LastLines(LogText(k), 40));
  REQUIRE(Running(k));
  REQUIRE(serving);
}

ExitStatus LiveTestnet::Stop(int k, int signal) {
  NodeProcess& node = nodes_.at(k - 1);
  REQUIRE(node.pid != 0);
  REQUIRE(::kill(node.pid, signal) == 0);
  std::optional<ExitStatus> status = WaitExit(k, milliseconds(15'000));
  if (!status.has_value()) {
    ::kill(node.pid, SIGKILL);
    status = WaitExit(k, milliseconds(15'000));
    FAIL("node" << k << " did not end within 15 s of signal " << signal);
  }
  return *status;
}

std::optional<ExitStatus> LiveTestnet::WaitExit(int k, milliseconds timeout) {
  WaitFor([&] { return !Running(k); }, timeout, milliseconds(20));
  if (Running(k)) return std::nullopt;
  return nodes_.at(k - 1).last_exit;
}

bool LiveTestnet::Running(int k) {
  NodeProcess& node = nodes_.at(k - 1);
  if (node.pid == 0) return false;
  int wait_status = 0;
  const pid_t reaped = ::waitpid(node.pid, &wait_status, WNOHANG);
  if (reaped == 0) return true;
  REQUIRE(reaped == node.pid);
  node.last_exit = FromWaitStatus(wait_status);
  node.pid = 0;
  return false;
}

std::optional<uint64_t> LiveTestnet::Height(int k) const {
  const HttpResponse response = HttpGet(HttpPort(k), "/healthz");
  if (response.status != 200) return std::nullopt;
  const std::string key = "\"height\":";
  const size_t at = response.body.find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::strtoull(response.body.c_str() + at + key.size(), nullptr, 10);
}

std::optional<double> LiveTestnet::Metric(int k, std::string_view name) const {
  const HttpResponse response = HttpGet(HttpPort(k), "/metrics");
  if (response.status != 200) return std::nullopt;
  return MetricValue(response.body, name);
}

std::unique_ptr<node::api::ApiClient> LiveTestnet::Connect(int k, int client) const {
  absl::StatusOr<std::unique_ptr<node::api::ApiClient>> connected =
      node::api::ApiClient::Connect(ApiAddress(k), &ClientKeys(client));
  INFO(connected.status().ToString());
  REQUIRE(connected.ok());
  return std::move(connected).value();
}

std::string LiveTestnet::LogText(int k) const { return test_files::ReadText(LogPath(k)); }

std::string LiveTestnet::LogTails(size_t lines) const {
  std::string out;
  for (int k = 1; k <= options_.validators; ++k) {
    const NodeProcess& node = nodes_[k - 1];
    out += "  node" + std::to_string(k) + " (" +
           (node.pid != 0 ? "running, pid " + std::to_string(node.pid)
            : node.last_exit.has_value() ? Describe(*node.last_exit)
                                         : std::string("not started")) +
           "), " + LogPath(k) + ":\n" + LastLines(LogText(k), lines);
  }
  return out;
}

absl::StatusOr<proto::SubmitTxResponse> SubmitNote(node::api::ApiClient& client,
                                                   const crypto::MemberKeys& keys,
                                                   std::string_view text, bool wait_for_commit,
                                                   milliseconds wait) {
  absl::StatusOr<proto::GetAccountResponse> account = client.GetAccount(keys.member_id);
  if (!account.ok()) return account.status();
  absl::StatusOr<Bytes> tx =
      node::api::BuildNoteTx(keys, client.chain_id(), account->pending_next_nonce(), text);
  if (!tx.ok()) return tx.status();
  return client.SubmitTx(*tx, wait_for_commit, wait);
}

bool WaitFor(const std::function<bool()>& condition, milliseconds timeout, milliseconds poll) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

namespace {

// A connected loopback socket, or -1 when nothing accepted within `timeout`.
int ConnectLoopback(int port, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd entry{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof(error);
    if (::poll(&entry, 1, static_cast<int>(timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

bool SendAll(int fd, ByteSpan bytes, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      pollfd entry{fd, POLLOUT, 0};
      if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) != 1) {
        return false;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

// Reads until EOF, a reset or the deadline; *closed says whether the peer closed.
Bytes ReadAll(int fd, Clock::time_point deadline, bool* closed) {
  Bytes data;
  *closed = false;
  uint8_t buffer[16384];
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return data;
    pollfd entry{fd, POLLIN, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready != 1) return data;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      data.insert(data.end(), buffer, buffer + n);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      *closed = true;
      return data;
    }
  }
}

}  // namespace

HttpResponse HttpGet(int port, std::string_view path, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const int fd = ConnectLoopback(port, timeout);
  if (fd < 0) return {};
  const std::string request =
      "GET " + std::string(path) + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  HttpResponse response;
  bool closed = false;
  if (SendAll(fd, AsBytes(request), deadline)) {
    const Bytes reply = ReadAll(fd, deadline, &closed);
    const std::string text(reply.begin(), reply.end());
    const size_t header_end = text.find("\r\n\r\n");
    if (closed && text.rfind("HTTP/1.", 0) == 0 && header_end != std::string::npos &&
        text.size() > 12) {
      response.status = std::atoi(text.c_str() + 9);
      response.body = text.substr(header_end + 4);
    }
  }
  ::close(fd);
  return response;
}

std::optional<double> MetricValue(std::string_view metrics, std::string_view name) {
  size_t line_start = 0;
  while (line_start < metrics.size()) {
    size_t line_end = metrics.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = metrics.size();
    const std::string_view line = metrics.substr(line_start, line_end - line_start);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ' ') {
      return std::strtod(std::string(line.substr(name.size() + 1)).c_str(), nullptr);
    }
    line_start = line_end + 1;
  }
  return std::nullopt;
}

RawConnection::RawConnection(int port) {
  fd_ = ConnectLoopback(port, milliseconds(3000));
  REQUIRE(fd_ >= 0);
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length) == 0);
  local_port_ = ntohs(local.sin_port);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(ByteSpan bytes) {
  return SendAll(fd_, bytes, Clock::now() + milliseconds(5000));
}

Bytes RawConnection::ReadUntilClosed(milliseconds timeout, bool* closed) {
  return ReadAll(fd_, Clock::now() + timeout, closed);
}

}  // namespace lading::integration
