// LiveTestnet: a testnet of real ladingd processes on loopback, for the multi-process integration
// tests (ctest label "integration").
//
// The constructor runs the real `lading testnet init` (LADING_CLI_PATH) in a fresh temporary
// directory, on a base port in kPortRangeFirst .. kPortRangeLast whose ports bind-test free, and
// rewrites every node.toml with short consensus timeouts so that a round takes about a second.
// Nodes are spawned with posix_spawn (LADINGD_PATH), each with stdout and stderr appended to
// nodeK/ladingd.log, which therefore keeps the log of every run of the node, including the
// "ladingd: <reason>" line of a run that refused to start.
//
// Every wait has a deadline. The destructor SIGKILLs and reaps every node still running, so no
// process outlives a test, whatever assertion failed; when an assertion of the test failed (a
// CHECK, or a REQUIRE that threw), it first prints the tail of every node's log to stderr, so
// the failure output says what the nodes saw.
//
// Helpers REQUIRE (Catch2) on failures of the test machine or harness: they are for tests only.
// Ownership: the testnet owns its directory (removed on destruction), the client keys and its
// child processes. Thread-safety: not thread-safe, except the const accessors (ApiAddress,
// ClientKeys, chain_id, ...), which load generators on other threads may call.
#ifndef LADING_TESTS_INTEGRATION_LIVE_TESTNET_H_
#define LADING_TESTS_INTEGRATION_LIVE_TESTNET_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/key_file.h"
#include "node/api/client.h"
#include "tests/testing/temp_files.h"

namespace lading::integration {

// Ports the integration tests may use (other suites on the machine use other ranges).
inline constexpr int kPortRangeFirst = 31000;
inline constexpr int kPortRangeLast = 39999;

struct TestnetOptions {
  int validators = 4;
  int clients = 3;
  // [consensus] of every node: short rounds, so a lost proposer costs about a second.
  uint64_t timeout_propose_ms = 1000;
  uint64_t timeout_propose_delta_ms = 200;
  uint64_t timeout_prevote_ms = 500;
  uint64_t timeout_prevote_delta_ms = 200;
  uint64_t timeout_precommit_ms = 500;
  uint64_t timeout_precommit_delta_ms = 200;
};

// How a node process ended.
struct ExitStatus {
  bool exited = false;  // exited by itself (exit code in `code`), not killed by a signal
  int code = -1;        // exit code when `exited`, the signal number otherwise
};

class LiveTestnet {
 public:
  explicit LiveTestnet(TestnetOptions options = {});
  ~LiveTestnet();
  LiveTestnet(const LiveTestnet&) = delete;
  LiveTestnet& operator=(const LiveTestnet&) = delete;

  int validators() const { return options_.validators; }
  const std::string& dir() const { return dir_; }
  const std::string& chain_id() const { return chain_id_; }
  std::string NodeDir(int k) const;
  std::string LogPath(int k) const;
  // The block store directory of node k (nodeK/data/blocks).
  std::string StorePath(int k) const;
  // "127.0.0.1:PORT" of node k's gRPC API.
  std::string ApiAddress(int k) const;
  int P2pPort(int k) const { return base_port_ + 10 * (k - 1); }
  int HttpPort(int k) const { return base_port_ + 10 * (k - 1) + 2; }
  // The committee index of validator-k (its position among the genesis validators).
  uint32_t CommitteeIndex(int k) const;
  // Keys of client-i, i = 1 .. options.clients.
  const crypto::MemberKeys& ClientKeys(int i) const;

  // Spawns node k. REQUIRES: node k is not running.
  void Start(int k);
  // Starts every node, then waits until each serves (/healthz 200) and reaches height >= 1.
  void StartAll();
  // Waits until node k's /healthz answers 200; REQUIRE fails after `timeout` or when the node
  // exits first (the failure message has its log).
  void WaitServing(int k, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends `signal` to node k and waits for it to end (SIGKILL after 15 s and REQUIRE fails).
  ExitStatus Stop(int k, int signal);
  // Waits for node k to end by itself within `timeout`; nullopt when it is still running then.
  std::optional<ExitStatus> WaitExit(int k, std::chrono::milliseconds timeout);
  // True while node k's process runs (reaps it, and remembers how it ended, when it has exited).
  bool Running(int k);
  // How node k's last run ended; nullopt while it runs or before it was started.
  std::optional<ExitStatus> LastExit(int k) const { return nodes_[k - 1].last_exit; }

  // Node k's /healthz height, or nullopt when it does not answer.
  std::optional<uint64_t> Height(int k) const;
  // Node k's /metrics value of `name` (a counter or gauge without labels); nullopt when the
  // node does not answer or has no such sample.
  std::optional<double> Metric(int k, std::string_view name) const;
  // A client of node k's API that signs queries as client-`client`.
  std::unique_ptr<node::api::ApiClient> Connect(int k, int client = 1) const;

  std::string LogText(int k) const;
  // The last `lines` lines of every node's log, headed by the node name.
  std::string LogTails(size_t lines = 25) const;

 private:
  struct NodeProcess {
    pid_t pid = 0;  // 0 when not running
    std::optional<ExitStatus> last_exit;
  };

  void WriteShortTimeouts(int k) const;

  TestnetOptions options_;
  test_files::TempDir root_;
  std::string dir_;
  std::string chain_id_;
  int base_port_ = 0;
  std::vector<uint32_t> committee_index_;
  std::vector<std::unique_ptr<crypto::MemberKeys>> client_keys_;
  std::vector<NodeProcess> nodes_;
  uint64_t failed_assertions_at_start_;
};

// Submits a Note from `keys` with the nonce the node reports as next (GetAccount's
// pending_next_nonce) and returns the node's answer.
absl::StatusOr<proto::SubmitTxResponse> SubmitNote(
    node::api::ApiClient& client, const crypto::MemberKeys& keys, std::string_view text,
    bool wait_for_commit, std::chrono::milliseconds wait = std::chrono::seconds(10));

// Polls `condition` every `poll` until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds poll = std::chrono::milliseconds(100));

// A plain HTTP/1.0 GET of `path` on 127.0.0.1:`port`, bounded by `timeout`.
struct HttpResponse {
  int status = 0;  // 0 when no complete response arrived
  std::string body;
};
HttpResponse HttpGet(int port, std::string_view path,
                     std::chrono::milliseconds timeout = std::chrono::seconds(3));

// The value of the sample `name` in Prometheus text `metrics`; nullopt when absent.
std::optional<double> MetricValue(std::string_view metrics, std::string_view name);

// A TCP connection to 127.0.0.1:`port` that speaks raw bytes, for hostile-peer tests. Closed on
// destruction.
class RawConnection {
 public:
  // REQUIRE fails when the connection cannot be made within 3 s.
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Our local port: the node logs the connection as "from 127.0.0.1:<local_port>".
  int local_port() const { return local_port_; }
  // Writes all of `bytes`; false when the peer closed the connection first.
  bool Send(ByteSpan bytes);
  // Reads until the peer closes the connection (EOF or reset) or `timeout` passes. Returns the
  // bytes read; *closed says whether the peer closed.
  Bytes ReadUntilClosed(std::chrono::milliseconds timeout, bool* closed);

 private:
  int fd_ = -1;
  int local_port_ = 0;
};

}  // namespace lading::integration

#endif  // LADING_TESTS_INTEGRATION_LIVE_TESTNET_H_
