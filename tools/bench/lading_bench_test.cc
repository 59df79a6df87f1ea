// Smoke test of lading-bench against a real 4-node testnet of ladingd processes started with
// `lading testnet` (LADING_CLI_PATH, LADING_BENCH_PATH, LADING_LADINGD_PATH).
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/testing/ports.h"
#include "tests/testing/run_program.h"
#include "tests/testing/temp_files.h"


namespace lading::bench {
namespace {

using test_files::ReadText;
using test_files::TempDir;

constexpr int kValidators = 4;

using test_files::RunResult;

RunResult Run(const std::string& program, const std::vector<std::string>& args) {
  return test_files::RunProgram(program, args);
}

// A base port whose 4 nodes' ports are all free now (40000..49999: other suites use lower
// ranges).
int FreeBasePort() {
  const int base = test_files::FreeBasePort(kValidators, 40000, 49999);
  REQUIRE(base != 0);
  return base;
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
