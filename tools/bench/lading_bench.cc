// lading-bench: end-to-end throughput and latency of a running local testnet.
//
//   lading-bench --testnet DIR [--clients K] [--duration-s S] [--warmup-s W] [--in-flight N]
//                [--note-bytes B] [--json]
//
// Reads DIR/testnet.json (written by `lading testnet init`), loads the first K client keys
// (unencrypted key files) and spreads the clients over the nodes round-robin. Each client signs
// Note transactions of B bytes of text with its own key, nonces counting up from its node's
// GetAccount pending_next_nonce, and keeps up to N of its transactions submitted and not yet
// committed (a closed loop: N bounds the client's share of the mempool), of which at most 8 are
// SubmitTx calls still unanswered (so that they reach the mempool nearly in nonce order). A
// submit the node refuses for a transient reason (RESOURCE_EXHAUSTED, UNAVAILABLE,
// DEADLINE_EXCEEDED) is resubmitted after 50 ms; any other refusal stops that client, since its
// later nonces cannot commit. All submits are asynchronous gRPC calls driven by one thread. One
// WatchBlocks stream on the first node reports committed blocks; a transaction's latency is the
// time from the start of its SubmitTx call to the arrival of its block on that stream.
//
// Timeline: W seconds of warm-up, then the measured window of S seconds, then no new
// transactions and up to 10 s for those still outstanding to commit. The report covers the
// window: committed tx/s (transactions whose block arrived in the window), latency percentiles
// over the transactions submitted in the window (including those that commit after it), blocks,
// CPU seconds per 1,000 committed transactions of the ladingd processes (DIR/<node>/ladingd.pid,
// /proc/PID/stat) and of the bench itself (getrusage), and each node's consensus and mempool
// counters from its HTTP /metrics. Human-readable by default, one JSON object with --json.
//
// Exit status: 0 after a report with at least one committed transaction; 1 with a one-line reason
// on stderr otherwise (bad testnet directory, unreachable node, nothing committed); 2 for a bad
// command line.
#include <arpa/inet.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "crypto/bytes.h"
#include "crypto/internal/strings.h"
#include "crypto/json_text.h"
#include "crypto/key_file.h"
#include "crypto/status.h"
#include "node/api/client.h"
#include "node/api/tx_builder.h"
#include "proto/api.grpc.pb.h"
#include "proto/ledger.h"

namespace lading::bench {
namespace {

using ::lading::internal::StrCat;
using ::lading::internal::ToStdView;
using SteadyClock = std::chrono::steady_clock;

// A mempool holds at most this many transactions per signer by default (node/mempool.h).
constexpr int kInFlightMax = 256;
constexpr int kClientsMax = 1024;
constexpr int kDurationSecondsMax = 24 * 3600;
// How long outstanding transactions may take to commit after the window.
constexpr std::chrono::seconds kStragglerWait{10};
// Deadline of one SubmitTx call.
constexpr std::chrono::seconds kSubmitDeadline{10};
// Delay before resubmitting a transaction the node refused for a transient reason.
constexpr std::chrono::milliseconds kRetryDelay{50};
constexpr int kSubmitAttemptsMax = 100;
// SubmitTx calls (and resubmissions waiting for their delay) one client keeps unanswered. The
// node handles concurrent calls on several threads, so they can reach the mempool out of nonce
// order; the mempool holds at most 16 of a signer's transactions behind a missing nonce
// (MempoolOptions::future_txs_per_signer_max) and refuses more. Up to 8 unanswered calls keep
// every reordering inside that bound.
constexpr int kCallsPerClientMax = 8;
constexpr size_t kTestnetFileBytesMax = 1u << 20;
constexpr size_t kMetricsBytesMax = 4u << 20;

struct Options {
  std::string testnet_dir;
  int clients = 8;
  int duration_s = 60;
  int warmup_s = 5;
  int in_flight = 64;
  int note_bytes = 256;
  bool json = false;
};

struct TestnetNode {
  std::string name;
  std::string dir;  // absolute
  std::string api;
  std::string http;
};

struct TestnetClient {
  std::string member_id;
  std::string key_file;  // absolute
};

struct Testnet {
  std::string chain_id;
  std::vector<TestnetNode> nodes;
  std::vector<TestnetClient> clients;
};

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path));
  std::string text(bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > bytes_max) {
    return absl::InvalidArgumentError(StrCat(path, " is larger than ", bytes_max, " bytes"));
  }
  return text;
}

absl::StatusOr<std::string> StringField(const google::protobuf::Struct& object,
                                        const std::string& key, const std::string& where) {
  const auto found = object.fields().find(key);
  if (found == object.fields().end() || !found->second.has_string_value() ||
      found->second.string_value().empty()) {
    return absl::InvalidArgumentError(StrCat(where, ": missing string \"", key, "\""));
  }
  return found->second.string_value();
}

absl::StatusOr<const google::protobuf::ListValue*> ListField(const google::protobuf::Struct& object,
                                                             const std::string& key,
                                                             const std::string& where) {
  const auto found = object.fields().find(key);
  if (found == object.fields().end() || !found->second.has_list_value()) {
    return absl::InvalidArgumentError(StrCat(where, ": missing list \"", key, "\""));
  }
  return &found->second.list_value();
}

// Parses DIR/testnet.json (the format `lading testnet init` writes).
absl::StatusOr<Testnet> ReadTestnet(const std::string& dir) {
  const std::string path = dir + "/testnet.json";
  LADING_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(path, kTestnetFileBytesMax));
  google::protobuf::Struct root;
  const auto parsed = google::protobuf::util::JsonStringToMessage(text, &root);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        StrCat(path, " is not a JSON object: ", std::string(parsed.message())));
  }
  const std::string absolute_dir = std::filesystem::absolute(dir).lexically_normal().string();
  Testnet testnet;
  LADING_ASSIGN_OR_RETURN(testnet.chain_id, StringField(root, "chain_id", path));
  LADING_ASSIGN_OR_RETURN(const google::protobuf::ListValue* nodes, ListField(root, "nodes", path));
  for (int i = 0; i < nodes->values_size(); ++i) {
    const std::string where = StrCat(path, " nodes[", i, "]");
    if (!nodes->values(i).has_struct_value()) {
      return absl::InvalidArgumentError(StrCat(where, " is not an object"));
    }
    const google::protobuf::Struct& object = nodes->values(i).struct_value();
    TestnetNode node;
    LADING_ASSIGN_OR_RETURN(node.name, StringField(object, "name", where));
    LADING_ASSIGN_OR_RETURN(const std::string node_dir, StringField(object, "dir", where));
    node.dir = absolute_dir + "/" + node_dir;
    LADING_ASSIGN_OR_RETURN(node.api, StringField(object, "api", where));
    LADING_ASSIGN_OR_RETURN(node.http, StringField(object, "http", where));
    testnet.nodes.push_back(std::move(node));
  }
  LADING_ASSIGN_OR_RETURN(const google::protobuf::ListValue* clients,
                          ListField(root, "clients", path));
  for (int i = 0; i < clients->values_size(); ++i) {
    const std::string where = StrCat(path, " clients[", i, "]");
    if (!clients->values(i).has_struct_value()) {
      return absl::InvalidArgumentError(StrCat(where, " is not an object"));
    }
    const google::protobuf::Struct& object = clients->values(i).struct_value();
    TestnetClient client;
    LADING_ASSIGN_OR_RETURN(client.member_id, StringField(object, "member_id", where));
    LADING_ASSIGN_OR_RETURN(const std::string key_file, StringField(object, "key_file", where));
    client.key_file = absolute_dir + "/" + key_file;
    testnet.clients.push_back(std::move(client));
  }
  if (testnet.nodes.empty()) return absl::InvalidArgumentError(StrCat(path, " lists no nodes"));
  return testnet;
}

// CPU seconds (user + system) a process has used, from /proc/PID/stat.
absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  const std::string path = StrCat("/proc/", pid, "/stat");
  LADING_ASSIGN_OR_RETURN(const std::string stat, ReadSmallFile(path, 64 * 1024));
  // The command name (field 2) may hold spaces and parentheses; the fields after it start
  // after the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return absl::DataLossError(StrCat(path, " has no ')'"));
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  // Fields 3..13 precede utime (14) and stime (15).
  for (int index = 3; index <= 15 && (fields >> field); ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  if (!fields) return absl::DataLossError(StrCat(path, " has fewer than 15 fields"));
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double OwnCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

absl::StatusOr<pid_t> ReadPidFile(const std::string& path) {
  LADING_ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(path, 64));
  try {
    const long pid = std::stol(text);
    if (pid > 1) return static_cast<pid_t>(pid);
  } catch (const std::exception&) {
  }
  return absl::InvalidArgumentError(StrCat(path, " does not hold a process id"));
}

// GET http://ADDRESS/metrics with a 2 s budget; the body. A plain HTTP/1.0 request keeps this
// independent of the node's HTTP stack: the server closes the connection after the response.
absl::StatusOr<std::string> FetchMetrics(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(StrCat("http address ", address, " has no port"));
  }
  sockaddr_in socket_address{};
  socket_address.sin_family = AF_INET;
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (port <= 0 || port > 65535 ||
      ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &socket_address.sin_addr) != 1) {
    return absl::InvalidArgumentError(StrCat("http address ", address, " is not IPv4 host:port"));
  }
  socket_address.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  const timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string response;
  absl::Status status = absl::OkStatus();
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&socket_address), sizeof(socket_address)) !=
      0) {
    status = absl::UnavailableError(StrCat("cannot connect to ", address));
  } else {
    const std::string request = StrCat("GET /metrics HTTP/1.0\r\nHost: ", address, "\r\n\r\n");
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      status = absl::UnavailableError(StrCat("cannot send to ", address));
    }
    char buffer[16384];
    while (status.ok()) {
      const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
      if (got < 0) status = absl::DeadlineExceededError(StrCat(address, " /metrics timed out"));
      if (got <= 0) break;
      response.append(buffer, static_cast<size_t>(got));
      if (response.size() > kMetricsBytesMax) {
        status = absl::ResourceExhaustedError(StrCat(address, " /metrics is over 4 MiB"));
      }
    }
  }
  ::close(fd);
  LADING_RETURN_IF_ERROR(status);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos ||
      response.find(" 200 ") > response.find("\r\n")) {
    return absl::UnavailableError(StrCat(address, " /metrics did not answer 200"));
  }
  return response.substr(body + 4);
}

// The samples of `metrics` (Prometheus text) whose names start with one of `prefixes`, without
// labels, in the order served.
std::vector<std::pair<std::string, double>> SelectMetrics(
    const std::string& metrics, const std::vector<std::string>& prefixes) {
  std::vector<std::pair<std::string, double>> selected;
  std::istringstream lines(metrics);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    const std::string name = line.substr(0, space);
    if (name.find('{') != std::string::npos) continue;
    const bool wanted = std::any_of(prefixes.begin(), prefixes.end(),
                                    [&](const std::string& p) { return name.rfind(p, 0) == 0; });
    if (!wanted) continue;
    try {
      const double value = std::stod(line.substr(space + 1));
      if (std::isfinite(value)) selected.emplace_back(name, value);
    } catch (const std::exception&) {
    }
  }
  return selected;
}

// Latency histogram in 100 µs buckets up to 60 s; memory is fixed whatever the run's length.
class LatencyHistogram {
 public:
  static constexpr int64_t kBucketMicros = 100;
  static constexpr size_t kBuckets = 600'000;

  LatencyHistogram() : counts_(kBuckets + 1, 0) {}

  void Record(std::chrono::microseconds latency) {
    const int64_t micros = std::max<int64_t>(0, latency.count());
    const auto bucket = static_cast<size_t>(micros / kBucketMicros);
    ++counts_[std::min(bucket, kBuckets)];
    ++count_;
    max_micros_ = std::max(max_micros_, micros);
  }
  uint64_t count() const { return count_; }
  double MaxMs() const { return static_cast<double>(max_micros_) / 1000.0; }
  // The upper edge of the bucket holding the `fraction` quantile, in ms (the max when that is
  // lower, or when the quantile lies beyond the last bucket); 0 without samples.
  double PercentileMs(double fraction) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
    uint64_t seen = 0;
    for (size_t bucket = 0; bucket < kBuckets; ++bucket) {
      seen += counts_[bucket];
      if (seen >= std::max<uint64_t>(rank, 1)) {
        const auto edge_micros = static_cast<int64_t>(bucket + 1) * kBucketMicros;
        return static_cast<double>(std::min(edge_micros, max_micros_)) / 1000.0;
      }
    }
    return MaxMs();
  }

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t max_micros_ = 0;
};


std::string Fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN_CODE";
  }
}

// Codes after which resubmitting the same transaction can succeed: the node was full, or the
// call's fate is unknown.
bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

struct Client {
  crypto::MemberKeys keys;
  size_t node = 0;
  uint64_t next_nonce = 1;
  // Signed and not yet committed nor given up; guarded by Bench::mutex_.
  int outstanding = 0;
  // SubmitTx calls unanswered plus resubmissions waiting; touched by the submit thread only.
  int calls = 0;
  // Set when a transaction of this client was refused for good: its later nonces cannot commit,
  // so it submits nothing more. Touched by the submit thread only.
  std::string stopped_reason;
};

struct Pending {
  size_t client = 0;
  SteadyClock::time_point submitted;
};

// One SubmitTx call; owned by the submit thread from start to completion.
struct SubmitCall {
  size_t client = 0;
  Hash256 tx_id;
  int attempt = 1;
  grpc::ClientContext context;
  proto::SubmitTxRequest request;
  proto::SubmitTxResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<proto::SubmitTxResponse>> reader;
};

struct Rejections {
  uint64_t count = 0;
  std::string first_message;
};

struct NodeCpu {
  std::string name;
  pid_t pid = 0;
  double start_seconds = 0;
  double end_seconds = 0;
};

class Bench {
 public:
  Bench(Options options, Testnet testnet)
      : options_(std::move(options)), testnet_(std::move(testnet)) {}

  absl::Status Setup();
  // Runs warm-up, window and straggler wait; then Report.
  void Run();
  // Prints the report; non-OK when nothing committed.
  absl::Status Report();

 private:
  void SubmitLoop();
  void StartSubmit(size_t client_index, std::string signed_tx, const Hash256& tx_id, int attempt);
  void OnSubmitDone(std::unique_ptr<SubmitCall> call);
  void GiveUp(size_t client_index, const Hash256& tx_id);
  void WatchLoop();
  void OnBlock(const proto::WatchBlocksResponse& event);
  std::string NoteText(size_t client_index, uint64_t nonce) const;

  const Options options_;
  const Testnet testnet_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<proto::Node::Stub>> stubs_;
  std::vector<Client> clients_;
  std::unique_ptr<node::api::ApiClient> watch_client_;
  std::string note_padding_;
  grpc::CompletionQueue queue_;

  SteadyClock::time_point start_;
  SteadyClock::time_point window_start_;
  SteadyClock::time_point window_end_;
  std::atomic<bool> watch_stop_{false};

  // Submit-thread state.
  struct Retry {
    SteadyClock::time_point due;
    size_t client = 0;
    std::string signed_tx;
    Hash256 tx_id;
    int attempt = 0;
  };
  std::deque<Retry> retries_;
  // Calls started and not yet answered (owned through the completion queue's tags).
  std::unordered_set<SubmitCall*> calls_;
  // Copies of outstanding transactions for resubmission, by tx id (bounded by clients x N).
  std::unordered_map<Hash256, std::string, Hash256Hasher> signed_txs_;
  uint64_t submitted_txs_ = 0;
  uint64_t submit_calls_ = 0;
  uint64_t accepted_txs_ = 0;
  uint64_t resubmits_ = 0;
  uint64_t given_up_txs_ = 0;
  std::map<std::string, Rejections> rejections_;

  // Shared between the submit and watch threads.
  std::mutex mutex_;
  std::unordered_map<Hash256, Pending, Hash256Hasher> pending_;  // guarded by mutex_
  // Watch-thread results, guarded by mutex_.
  LatencyHistogram latency_;
  uint64_t committed_total_ = 0;
  uint64_t committed_in_window_ = 0;
  uint64_t blocks_in_window_ = 0;
  uint64_t block_txs_in_window_ = 0;
  uint64_t blocks_total_ = 0;
  uint64_t watch_next_height_ = 0;
  std::string watch_error_;

  std::vector<NodeCpu> node_cpu_;
  double bench_cpu_start_ = 0;
  double bench_cpu_end_ = 0;
  double window_seconds_ = 0;
  std::vector<std::vector<std::pair<std::string, double>>> node_metrics_;
  std::vector<std::string> node_metrics_errors_;
};

absl::Status Bench::Setup() {
  if (static_cast<size_t>(options_.clients) > testnet_.clients.size()) {
    return absl::InvalidArgumentError(StrCat("--clients ", options_.clients, " but ",
                                             options_.testnet_dir, "/testnet.json lists ",
                                             testnet_.clients.size(), " clients"));
  }
  grpc::ChannelArguments arguments;
  for (const TestnetNode& node : testnet_.nodes) {
    channels_.push_back(
        grpc::CreateCustomChannel(node.api, grpc::InsecureChannelCredentials(), arguments));
    stubs_.push_back(proto::Node::NewStub(channels_.back()));
  }
  for (int i = 0; i < options_.clients; ++i) {
    const TestnetClient& entry = testnet_.clients[static_cast<size_t>(i)];
    LADING_ASSIGN_OR_RETURN(crypto::MemberKeys keys,
                            crypto::ReadPrivateKeyFile(entry.key_file, std::nullopt));
    if (keys.member_id != entry.member_id) {
      return absl::InvalidArgumentError(StrCat("key file ", entry.key_file, " is for member ",
                                               keys.member_id, ", not ", entry.member_id));
    }
    clients_.push_back(
        Client{.keys = std::move(keys), .node = static_cast<size_t>(i) % testnet_.nodes.size()});
  }
  // Nonces come from the node each client submits to: its pending_next_nonce counts the
  // client's transactions already waiting there.
  for (Client& client : clients_) {
    const std::string& address = testnet_.nodes[client.node].api;
    LADING_ASSIGN_OR_RETURN(std::unique_ptr<node::api::ApiClient> api,
                            node::api::ApiClient::Connect(address, &client.keys));
    if (api->chain_id() != testnet_.chain_id) {
      return absl::FailedPreconditionError(StrCat("node ", address, " serves chain ",
                                                  api->chain_id(), ", testnet.json says ",
                                                  testnet_.chain_id));
    }
    LADING_ASSIGN_OR_RETURN(const proto::GetAccountResponse account,
                            api->GetAccount(client.keys.member_id));
    client.next_nonce = account.pending_next_nonce();
  }
  LADING_ASSIGN_OR_RETURN(watch_client_,
                          node::api::ApiClient::Connect(testnet_.nodes[0].api, &clients_[0].keys));
  LADING_ASSIGN_OR_RETURN(const proto::GetStatusResponse status, watch_client_->GetStatus());
  watch_next_height_ = status.height() + 1;

  for (const TestnetNode& node : testnet_.nodes) {
    LADING_ASSIGN_OR_RETURN(const pid_t pid, ReadPidFile(node.dir + "/ladingd.pid"));
    LADING_RETURN_IF_ERROR(ProcessCpuSeconds(pid).status());
    node_cpu_.push_back(NodeCpu{.name = node.name, .pid = pid});
  }

  // Printable filler, varied so that notes do not compress to nothing anywhere on the way.
  note_padding_.resize(static_cast<size_t>(options_.note_bytes));
  uint32_t state = 0x9e3779b9u;
  for (char& c : note_padding_) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>('a' + (state >> 24) % 26);
  }
  return absl::OkStatus();
}

std::string Bench::NoteText(size_t client_index, uint64_t nonce) const {
  std::string text = note_padding_;
  const std::string prefix =
      StrCat("bench ", clients_[client_index].keys.member_id, " ", nonce, " ");
  text.replace(0, std::min(prefix.size(), text.size()), prefix, 0,
               std::min(prefix.size(), text.size()));
  return text;
}

void Bench::StartSubmit(size_t client_index, std::string signed_tx, const Hash256& tx_id,
                        int attempt) {
  auto call = std::make_unique<SubmitCall>();
  call->client = client_index;
  call->tx_id = tx_id;
  call->attempt = attempt;
  call->request.set_signed_tx(std::move(signed_tx));
  call->context.set_deadline(std::chrono::system_clock::now() + kSubmitDeadline);
  call->reader = stubs_[clients_[client_index].node]->PrepareAsyncSubmitTx(&call->context,
                                                                           call->request, &queue_);
  call->reader->StartCall();
  SubmitCall* tag = call.release();
  tag->reader->Finish(&tag->response, &tag->status, tag);
  calls_.insert(tag);
  ++submit_calls_;
}

void Bench::GiveUp(size_t client_index, const Hash256& tx_id) {
  signed_txs_.erase(tx_id);
  ++given_up_txs_;
  std::lock_guard<std::mutex> lock(mutex_);
  // The watcher may have seen it commit already (a lost answer to an accepted submit).
  if (pending_.erase(tx_id) > 0) --clients_[client_index].outstanding;
}

void Bench::OnSubmitDone(std::unique_ptr<SubmitCall> call) {
  calls_.erase(call.get());
  Client& client = clients_[call->client];
  const grpc::StatusCode code = call->status.error_code();
  // A resubmitted transaction the node already holds, or has committed, was accepted earlier.
  const bool accepted = code == grpc::StatusCode::OK ||
                        (call->attempt > 1 && code == grpc::StatusCode::ALREADY_EXISTS);
  if (accepted) {
    --client.calls;
    ++accepted_txs_;
    signed_txs_.erase(call->tx_id);
    return;
  }
  Rejections& rejections = rejections_[CodeName(code)];
  if (rejections.count++ == 0) rejections.first_message = call->status.error_message();
  const auto signed_tx = signed_txs_.find(call->tx_id);
  if (Transient(code) && call->attempt < kSubmitAttemptsMax && signed_tx != signed_txs_.end()) {
    retries_.push_back(Retry{.due = SteadyClock::now() + kRetryDelay,
                             .client = call->client,
                             .signed_tx = signed_tx->second,
                             .tx_id = call->tx_id,
                             .attempt = call->attempt + 1});
    return;
  }
  --client.calls;
  if (client.stopped_reason.empty()) {
    client.stopped_reason = StrCat(CodeName(code), ": ", call->status.error_message());
  }
  GiveUp(call->client, call->tx_id);
}

void Bench::SubmitLoop() {
  const auto in_flight_max = options_.in_flight;
  for (;;) {
    const SteadyClock::time_point now = SteadyClock::now();
    if (now < window_end_) {
      // Fill each client's window. `outstanding` only shrinks elsewhere, so reading it under
      // the lock and adding after signing keeps it at most N.
      for (size_t i = 0; i < clients_.size(); ++i) {
        Client& client = clients_[i];
        if (!client.stopped_reason.empty()) continue;
        int free_slots = 0;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          free_slots = in_flight_max - client.outstanding;
        }
        free_slots = std::min(free_slots, kCallsPerClientMax - client.calls);
        for (; free_slots > 0; --free_slots) {
          const uint64_t nonce = client.next_nonce;
          absl::StatusOr<Bytes> signed_tx =
              node::api::BuildNoteTx(client.keys, testnet_.chain_id, nonce, NoteText(i, nonce));
          absl::StatusOr<proto::SignedTx> decoded =
              signed_tx.ok() ? proto::DecodeSignedTx(*signed_tx)
                             : absl::StatusOr<proto::SignedTx>(signed_tx.status());
          if (!decoded.ok()) {
            client.stopped_reason =
                StrCat("cannot build a transaction: ", ToStdView(decoded.status().message()));
            break;
          }
          ++client.next_nonce;
          const Hash256 tx_id = proto::TxId(AsBytes(decoded->body()));
          std::string bytes = ToString(*signed_tx);
          signed_txs_.emplace(tx_id, bytes);
          {
            std::lock_guard<std::mutex> lock(mutex_);
            pending_.emplace(tx_id, Pending{.client = i, .submitted = SteadyClock::now()});
            ++client.outstanding;
          }
          ++submitted_txs_;
          ++client.calls;
          StartSubmit(i, std::move(bytes), tx_id, 1);
        }
      }
    } else {
      bool idle = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        idle = pending_.empty();
      }
      if ((idle && calls_.empty()) || now >= window_end_ + kStragglerWait) break;
    }
    while (!retries_.empty() && retries_.front().due <= now) {
      Retry retry = std::move(retries_.front());
      retries_.pop_front();
      ++resubmits_;
      StartSubmit(retry.client, std::move(retry.signed_tx), retry.tx_id, retry.attempt);
    }

    // Wait briefly for answers: freed slots (commits seen by the watcher) are picked up on the
    // next pass, so 2 ms of polling bounds the added latency without busy-waiting.
    void* tag = nullptr;
    bool ok = false;
    auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(2);
    while (queue_.AsyncNext(&tag, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
      OnSubmitDone(std::unique_ptr<SubmitCall>(static_cast<SubmitCall*>(tag)));
      deadline = std::chrono::system_clock::now();
    }
  }
  // Calls still unanswered after the straggler wait are cancelled and drained.
  for (SubmitCall* call : calls_) call->context.TryCancel();
  queue_.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue_.Next(&tag, &ok)) {
    std::unique_ptr<SubmitCall> call(static_cast<SubmitCall*>(tag));
    calls_.erase(call.get());
  }
}

void Bench::OnBlock(const proto::WatchBlocksResponse& event) {
  const SteadyClock::time_point now = SteadyClock::now();
  absl::StatusOr<proto::Block> block = proto::DecodeBlock(AsBytes(event.block()));
  absl::StatusOr<std::vector<Hash256>> tx_ids =
      block.ok() ? proto::TxIds(*block) : absl::StatusOr<std::vector<Hash256>>(block.status());
  std::lock_guard<std::mutex> lock(mutex_);
  watch_next_height_ = event.height() + 1;
  ++blocks_total_;
  if (!tx_ids.ok()) {
    watch_error_ = StrCat("block ", event.height(), ": ", ToStdView(tx_ids.status().message()));
    return;
  }
  const bool in_window = now >= window_start_ && now < window_end_;
  if (in_window) {
    ++blocks_in_window_;
    block_txs_in_window_ += tx_ids->size();
  }
  for (const Hash256& tx_id : *tx_ids) {
    const auto found = pending_.find(tx_id);
    if (found == pending_.end()) continue;
    ++committed_total_;
    if (in_window) ++committed_in_window_;
    if (found->second.submitted >= window_start_ && found->second.submitted < window_end_) {
      latency_.Record(
          std::chrono::duration_cast<std::chrono::microseconds>(now - found->second.submitted));
    }
    --clients_[found->second.client].outstanding;
    pending_.erase(found);
  }
}

void Bench::WatchLoop() {
  while (!watch_stop_) {
    uint64_t from = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      from = watch_next_height_;
    }
    const absl::Status status =
        watch_client_->WatchBlocks(from, [this](const proto::WatchBlocksResponse& event) {
          OnBlock(event);
          return !watch_stop_;
        });
    if (watch_stop_) break;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      watch_error_ = status.ok() ? "block stream ended" : std::string(status.message());
    }
    // The node may be restarting; resume from the next height so no block is missed.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void Bench::Run() {
  start_ = SteadyClock::now();
  window_start_ = start_ + std::chrono::seconds(options_.warmup_s);
  window_end_ = window_start_ + std::chrono::seconds(options_.duration_s);

  std::thread watcher([this] { WatchLoop(); });
  std::thread submitter([this] { SubmitLoop(); });

  std::this_thread::sleep_until(window_start_);
  for (NodeCpu& node : node_cpu_) node.start_seconds = ProcessCpuSeconds(node.pid).value_or(0);
  bench_cpu_start_ = OwnCpuSeconds();
  std::this_thread::sleep_until(window_end_);
  for (NodeCpu& node : node_cpu_) node.end_seconds = ProcessCpuSeconds(node.pid).value_or(0);
  bench_cpu_end_ = OwnCpuSeconds();
  window_seconds_ = std::chrono::duration<double>(SteadyClock::now() - window_start_).count();

  submitter.join();
  watch_stop_ = true;
  // CancelWatch may come before the stream is registered; repeat until the watcher is done.
  std::atomic<bool> watcher_done{false};
  std::thread canceller([this, &watcher_done] {
    while (!watcher_done) {
      watch_client_->CancelWatch();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  watcher.join();
  watcher_done = true;
  canceller.join();

  for (const TestnetNode& node : testnet_.nodes) {
    absl::StatusOr<std::string> metrics = FetchMetrics(node.http);
    node_metrics_errors_.push_back(metrics.ok() ? "" : std::string(metrics.status().message()));
    node_metrics_.push_back(metrics.ok()
                                ? SelectMetrics(*metrics, {"lading_consensus_", "lading_mempool"})
                                : std::vector<std::pair<std::string, double>>{});
  }
}

absl::Status Bench::Report() {
  std::lock_guard<std::mutex> lock(mutex_);
  const double tx_per_s =
      window_seconds_ > 0 ? static_cast<double>(committed_in_window_) / window_seconds_ : 0;
  double nodes_cpu = 0;
  for (const NodeCpu& node : node_cpu_) nodes_cpu += node.end_seconds - node.start_seconds;
  const double bench_cpu = bench_cpu_end_ - bench_cpu_start_;
  const double per_1000 =
      committed_in_window_ > 0 ? 1000.0 / static_cast<double>(committed_in_window_) : 0;
  const double mean_block_txs = blocks_in_window_ > 0 ? static_cast<double>(block_txs_in_window_) /
                                                            static_cast<double>(blocks_in_window_)
                                                      : 0;
  const uint64_t uncommitted = pending_.size();
  std::vector<std::string> stopped;
  for (const Client& client : clients_) {
    if (!client.stopped_reason.empty()) {
      stopped.push_back(StrCat(client.keys.member_id, " (", client.stopped_reason, ")"));
    }
  }

  if (options_.json) {
    std::string out = StrCat(
        "{\"clients\":", options_.clients, ",\"nodes\":", testnet_.nodes.size(),
        ",\"in_flight_per_client\":", options_.in_flight, ",\"note_bytes\":", options_.note_bytes,
        ",\"warmup_s\":", options_.warmup_s, ",\"duration_s\":", options_.duration_s,
        ",\"window_s\":", Fixed(window_seconds_, 3), ",\"committed_tx_per_s\":", Fixed(tx_per_s, 1),
        ",\"submitted\":", submitted_txs_, ",\"submit_calls\":", submit_calls_,
        ",\"accepted\":", accepted_txs_, ",\"resubmits\":", resubmits_,
        ",\"committed\":", committed_total_, ",\"committed_in_window\":", committed_in_window_,
        ",\"uncommitted\":", uncommitted, ",\"given_up\":", given_up_txs_, ",\"rejected\":{");
    bool first = true;
    for (const auto& [code, rejections] : rejections_) {
      out += StrCat(first ? "" : ",", JsonString(code), ":{\"count\":", rejections.count,
                    ",\"first_message\":", JsonString(rejections.first_message), "}");
      first = false;
    }
    out += StrCat("},\"latency_ms\":{\"samples\":", latency_.count(),
                  ",\"p50\":", Fixed(latency_.PercentileMs(0.50), 1),
                  ",\"p95\":", Fixed(latency_.PercentileMs(0.95), 1),
                  ",\"p99\":", Fixed(latency_.PercentileMs(0.99), 1),
                  ",\"max\":", Fixed(latency_.MaxMs(), 1), "}",
                  ",\"blocks_in_window\":", blocks_in_window_,
                  ",\"mean_txs_per_block\":", Fixed(mean_block_txs, 1),
                  ",\"cpu_s_per_1000_tx\":{\"ladingd_total\":", Fixed(nodes_cpu * per_1000, 3),
                  ",\"bench\":", Fixed(bench_cpu * per_1000, 3), ",\"nodes\":{");
    for (size_t i = 0; i < node_cpu_.size(); ++i) {
      out += StrCat(i == 0 ? "" : ",", JsonString(node_cpu_[i].name), ":",
                    Fixed((node_cpu_[i].end_seconds - node_cpu_[i].start_seconds) * per_1000, 3));
    }
    out += StrCat("}},\"cpu_s_in_window\":{\"ladingd_total\":", Fixed(nodes_cpu, 2),
                  ",\"bench\":", Fixed(bench_cpu, 2), "},\"stopped_clients\":[");
    for (size_t i = 0; i < stopped.size(); ++i) {
      out += StrCat(i == 0 ? "" : ",", JsonString(stopped[i]));
    }
    out += StrCat("],\"watch_error\":", JsonString(watch_error_), ",\"node_metrics\":{");
    for (size_t i = 0; i < node_metrics_.size(); ++i) {
      out += StrCat(i == 0 ? "" : ",", JsonString(testnet_.nodes[i].name), ":{");
      for (size_t j = 0; j < node_metrics_[i].size(); ++j) {
        out += StrCat(j == 0 ? "" : ",", JsonString(node_metrics_[i][j].first), ":",
                      Fixed(node_metrics_[i][j].second, 0));
      }
      out += "}";
    }
    out += "}}\n";
    std::cout << out;
  } else {
    std::cout << "lading-bench: " << options_.clients << " clients over " << testnet_.nodes.size()
              << " nodes, " << options_.in_flight << " in flight per client, "
              << options_.note_bytes << "-byte notes, " << options_.warmup_s << " s warm-up, "
              << Fixed(window_seconds_, 1) << " s measured\n";
    std::cout << "  throughput   " << Fixed(tx_per_s, 1) << " committed tx/s ("
              << committed_in_window_ << " tx in the window)\n";
    std::cout << "  txs          submitted " << submitted_txs_ << ", accepted " << accepted_txs_
              << ", committed " << committed_total_ << ", uncommitted after "
              << kStragglerWait.count() << " s " << uncommitted << ", given up " << given_up_txs_
              << ", resubmits " << resubmits_ << "\n";
    for (const auto& [code, rejections] : rejections_) {
      std::cout << "  rejected     " << code << " x" << rejections.count
                << " (first: " << rejections.first_message << ")\n";
    }
    std::cout << "  latency      submit->commit p50 " << Fixed(latency_.PercentileMs(0.50), 1)
              << " ms, p95 " << Fixed(latency_.PercentileMs(0.95), 1) << " ms, p99 "
              << Fixed(latency_.PercentileMs(0.99), 1) << " ms, max " << Fixed(latency_.MaxMs(), 1)
              << " ms (" << latency_.count() << " txs)\n";
    std::cout << "  blocks       " << blocks_in_window_ << " in the window, "
              << Fixed(mean_block_txs, 1) << " tx per block\n";
    std::cout << "  cpu          ladingd " << Fixed(nodes_cpu * per_1000, 3) << " s per 1000 tx (";
    for (size_t i = 0; i < node_cpu_.size(); ++i) {
      std::cout << (i == 0 ? "" : ", ") << node_cpu_[i].name << " "
                << Fixed(node_cpu_[i].end_seconds - node_cpu_[i].start_seconds, 1) << " s";
    }
    std::cout << " in the window), bench " << Fixed(bench_cpu * per_1000, 3) << " s per 1000 tx ("
              << Fixed(bench_cpu, 1) << " s)\n";
    for (const std::string& client : stopped) std::cout << "  stopped      " << client << "\n";
    if (!watch_error_.empty()) std::cout << "  watch        " << watch_error_ << "\n";
    for (size_t i = 0; i < node_metrics_.size(); ++i) {
      std::cout << "  " << testnet_.nodes[i].name << "        ";
      if (!node_metrics_errors_[i].empty()) std::cout << node_metrics_errors_[i];
      for (size_t j = 0; j < node_metrics_[i].size(); ++j) {
        std::string name = node_metrics_[i][j].first;
        for (const char* prefix : {"lading_consensus_", "lading_"}) {
          if (name.rfind(prefix, 0) == 0) {
            name = name.substr(std::string_view(prefix).size());
            break;
          }
        }
        std::cout << (j == 0 ? "" : " ") << name << "=" << Fixed(node_metrics_[i][j].second, 0);
      }
      std::cout << "\n";
    }
  }
  std::cout.flush();
  if (committed_total_ == 0) {
    return absl::UnavailableError(StrCat(
        "nothing committed in ", options_.warmup_s + options_.duration_s, " s (", submitted_txs_,
        " submitted, ", accepted_txs_, " accepted",
        watch_error_.empty() ? std::string() : StrCat("; block stream: ", watch_error_), ")"));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace lading::bench

int main(int argc, char** argv) {
  using lading::bench::Options;
  CLI::App app{"lading-bench: committed tx/s and submit-to-commit latency of a local testnet"};
  Options options;
  app.add_option("--testnet", options.testnet_dir, "testnet directory (lading testnet init)")
      ->required();
  app.add_option("--clients", options.clients, "concurrent clients, each with its own key")
      ->check(CLI::Range(1, lading::bench::kClientsMax));
  app.add_option("--duration-s", options.duration_s, "measured window in seconds")
      ->check(CLI::Range(1, lading::bench::kDurationSecondsMax));
  app.add_option("--warmup-s", options.warmup_s, "warm-up before the window in seconds")
      ->check(CLI::Range(0, 3600));
  app.add_option("--in-flight", options.in_flight,
                 "transactions per client submitted and not yet committed")
      ->check(CLI::Range(1, lading::bench::kInFlightMax));
  app.add_option("--note-bytes", options.note_bytes, "note text bytes per transaction")
      ->check(CLI::Range(1, static_cast<int>(lading::proto::kNoteTextBytesMax)));
  app.add_flag("--json", options.json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<lading::bench::Testnet> testnet = lading::bench::ReadTestnet(options.testnet_dir);
  if (!testnet.ok()) {
    std::cerr << "lading-bench: " << testnet.status().message() << "\n";
    return 1;
  }
  lading::bench::Bench bench(options, *std::move(testnet));
  if (absl::Status status = bench.Setup(); !status.ok()) {
    std::cerr << "lading-bench: " << status.message() << "\n";
    return 1;
  }
  bench.Run();
  if (absl::Status status = bench.Report(); !status.ok()) {
    std::cerr << "lading-bench: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
