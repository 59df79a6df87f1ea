// Smoke test of lading-bench against a real 4-node testnet of ladingd processes started with
// `lading testnet` (LADING_CLI_PATH, LADING_BENCH_PATH, LADING_LADINGD_PATH).
#include <arpa/inet.h>
#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/testing/temp_files.h"

extern char** environ;

namespace lading::bench {
namespace {

using test_files::ReadText;
using test_files::TempDir;

constexpr int kValidators = 4;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult Run(const std::string& program, const std::vector<std::string>& args) {
  const TempDir capture;
  const std::string out_path = capture.File("stdout.txt");
  const std::string err_path = capture.File("stderr.txt");
  posix_spawn_file_actions_t actions;
  REQUIRE(posix_spawn_file_actions_init(&actions) == 0);
  REQUIRE(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                           O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
  REQUIRE(posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                           O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int wait_status = 0;
  REQUIRE(::waitpid(pid, &wait_status, 0) == pid);
  REQUIRE(WIFEXITED(wait_status));
  return RunResult{WEXITSTATUS(wait_status), ReadText(out_path), ReadText(err_path)};
}

bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return free;
}

// A base port whose 4 nodes' ports are all free now, from a per-process offset in 30000..49990
// so that tests running in parallel rarely probe the same ports.
int FreeBasePort() {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = 30000 + ((::getpid() * 53 + attempt * 97) % 2000) * 10;
    bool all_free = true;
    for (int k = 0; k < kValidators && all_free; ++k) {
      for (int offset = 0; offset < 3 && all_free; ++offset) {
        all_free = PortFree(base + 10 * k + offset);
      }
    }
    if (all_free) return base;
  }
  FAIL("no free ports");
  return 0;
}

// A testnet directory whose nodes are stopped when the test ends, whatever happened.
class Testnet {
 public:
  ~Testnet() {
    Run(LADING_CLI_PATH, {"testnet", "stop", "--dir", dir()});
    // Should stop have failed: kill what still runs from this directory, and only that.
    for (int k = 1; k <= kValidators; ++k) {
      const std::string text = ReadText(dir() + "/node" + std::to_string(k) + "/ladingd.pid");
      if (text.empty()) continue;
      const pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
      const std::string cmdline = ReadText("/proc/" + std::to_string(pid) + "/cmdline");
      if (pid > 1 && cmdline.find(dir()) != std::string::npos) ::kill(pid, SIGKILL);
    }
  }

  std::string dir() const { return root_.File("net"); }

  void Init(int clients) {
    const RunResult init =
        Run(LADING_CLI_PATH,
            {"testnet", "init", "--dir", dir(), "--validators", std::to_string(kValidators),
             "--clients", std::to_string(clients), "--base-port", std::to_string(FreeBasePort())});
    INFO(init.err);
    REQUIRE(init.exit_code == 0);
  }

 private:
  const TempDir root_;
};

TEST_CASE("lading-bench commits transactions on a live 4-node testnet and prints valid JSON",
          "[integration][bench]") {
  Testnet testnet;
  testnet.Init(2);
  const RunResult start =
      Run(LADING_CLI_PATH, {"testnet", "start", "--dir", testnet.dir(), "--ladingd",
                            LADING_LADINGD_PATH, "--timeout-s", "15"});
  INFO(start.out << start.err);
  REQUIRE(start.exit_code == 0);

  const RunResult bench =
      Run(LADING_BENCH_PATH, {"--testnet", testnet.dir(), "--clients", "2", "--duration-s", "3",
                              "--warmup-s", "1", "--in-flight", "16", "--json"});
  INFO(bench.out << bench.err);
  REQUIRE(bench.exit_code == 0);
  google::protobuf::Struct report;
  REQUIRE(google::protobuf::util::JsonStringToMessage(bench.out, &report).ok());
  const auto& fields = report.fields();
  REQUIRE(fields.count("committed") == 1);
  CHECK(fields.at("committed").number_value() > 0);
  CHECK(fields.at("committed_tx_per_s").number_value() > 0);
  REQUIRE(fields.count("latency_ms") == 1);
  const auto& latency = fields.at("latency_ms").struct_value().fields();
  CHECK(latency.at("p50").number_value() > 0);
  CHECK(latency.at("p50").number_value() <= latency.at("p99").number_value());
  CHECK(latency.at("p99").number_value() <= latency.at("max").number_value());
  CHECK(fields.at("stopped_clients").list_value().values_size() == 0);
}

TEST_CASE("lading-bench refuses a directory without testnet.json with a one-line reason",
          "[integration][bench]") {
  const TempDir empty;
  const RunResult bench = Run(LADING_BENCH_PATH, {"--testnet", empty.path(), "--duration-s", "1"});
  CHECK(bench.exit_code == 1);
  CHECK(bench.out.empty());
  CHECK_THAT(bench.err,
             Catch::StartsWith("lading-bench: cannot read " + empty.path() + "/testnet.json") &&
                 Catch::EndsWith("\n"));
  CHECK(bench.err.find('\n') == bench.err.size() - 1);
}

TEST_CASE("lading-bench refuses more clients than the testnet has keys for",
          "[integration][bench]") {
  Testnet testnet;
  testnet.Init(1);
  const RunResult bench =
      Run(LADING_BENCH_PATH, {"--testnet", testnet.dir(), "--clients", "2", "--duration-s", "1"});
  CHECK(bench.exit_code == 1);
  CHECK_THAT(bench.err,
             Catch::Contains("--clients 2 but") && Catch::Contains("testnet.json lists 1 clients"));
}

}  // namespace
}  // namespace lading::bench
