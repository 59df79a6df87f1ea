// Runs the built `lading testnet` commands (LADING_CLI_PATH) against the fake ladingd
// (LADING_FAKE_LADINGD_PATH), as an operator would.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_file.h"
#include "node/config.h"
#include "proto/genesis.h"
#include "tests/testing/ports.h"
#include "tests/testing/run_program.h"
#include "tests/testing/temp_files.h"

extern char** environ;

namespace lading::cli {
namespace {

using test_files::ModeOf;
using test_files::ReadText;
using test_files::TempDir;
using test_files::WriteText;

using test_files::RunResult;

// Runs `lading args...` with `extra_env` ("NAME=value") added to our environment.
RunResult RunLading(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env = {}) {
  return test_files::RunProgram(LADING_CLI_PATH, args, extra_env);
}


// A base port whose ports for `validators` nodes are free now.
int FreeBasePort(int validators) {
  const int base = test_files::FreeBasePort(validators, 20000, 39999);
  REQUIRE(base != 0);
  return base;
}

// True while `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

bool WaitDead(pid_t pid) {
  for (int i = 0; i < 200 && Alive(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !Alive(pid);
}

pid_t PidIn(const std::string& pid_file) {
  const std::string text = ReadText(pid_file);
  REQUIRE_FALSE(text.empty());
  return static_cast<pid_t>(std::stol(text));
}

// A testnet directory whose nodes are killed when the test ends, whatever happened.
class Testnet {
 public:
  explicit Testnet(int validators) : validators_(validators) {}
  ~Testnet() {
    for (int k = 1; k <= validators_; ++k) {
      const std::string text = ReadText(PidFile(k));
      if (text.empty()) continue;
      const pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
      // Only a process of ours: the fake serving this directory's node.
      const std::string cmdline = ReadText("/proc/" + std::to_string(pid) + "/cmdline");
      if (pid > 1 && cmdline.find(dir()) != std::string::npos) ::kill(pid, SIGKILL);
    }
  }

  std::string dir() const { return root_.File("net"); }
  std::string PidFile(int k) const { return dir() + "/node" + std::to_string(k) + "/ladingd.pid"; }
  std::string LogFile(int k) const { return dir() + "/node" + std::to_string(k) + "/ladingd.log"; }

  void Init() {
    base_port_ = FreeBasePort(validators_);
    const RunResult init =
        RunLading({"testnet", "init", "--dir", dir(), "--validators", std::to_string(validators_),
                   "--clients", "1", "--base-port", std::to_string(base_port_)});
    INFO(init.err);
    REQUIRE(init.exit_code == 0);
  }
  int base_port() const { return base_port_; }

 private:
  const TempDir root_;
  const int validators_;
  int base_port_ = 0;
};

std::vector<std::string> StartArgs(const Testnet& testnet, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"testnet",     "start",     "--dir",
                                   testnet.dir(), "--ladingd", LADING_FAKE_LADINGD_PATH,
                                   "--timeout-s", "20"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_CASE("testnet init writes genesis, keys, node configs and testnet.json with safe modes",
          "[integration][cli][testnet]") {
  const TempDir root;
  const std::string dir = root.File("net");
  const int base = FreeBasePort(3);
  const auto started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  const RunResult init =
      RunLading({"testnet", "init", "--dir", dir, "--validators", "3", "--clients", "2",
                 "--base-port", std::to_string(base), "--chain-id", "trade-test"});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  CHECK(init.err.empty());
  CHECK_THAT(init.out, Catch::Contains("validator-3") && Catch::Contains("node3") &&
                           Catch::Contains("127.0.0.1:" + std::to_string(base + 22)));

  CHECK(ModeOf(dir + "/keys") == 0700);
  absl::StatusOr<proto::Genesis> genesis = proto::LoadGenesisJson(ReadText(dir + "/genesis.json"));
  INFO(genesis.status().ToString());
  REQUIRE(genesis.ok());
  CHECK(ModeOf(dir + "/genesis.json") == 0644);
  CHECK(genesis->chain_id() == "trade-test");
  CHECK(genesis->genesis_time_unix_ms() >= started_ms - 1000);
  CHECK(genesis->genesis_time_unix_ms() <= started_ms + 60'000);
  REQUIRE(genesis->members_size() == 5);
  const std::vector<std::string> ids = {"validator-1", "validator-2", "validator-3", "client-1",
                                        "client-2"};
  for (int i = 0; i < 5; ++i) {
    const proto::Member& member = genesis->members(i);
    CAPTURE(member.id());
    CHECK(member.id() == ids[i]);
    const bool validator = i < 3;
    REQUIRE(member.roles_size() == 1);
    CHECK(member.roles(0) == (validator ? proto::ROLE_VALIDATOR : proto::ROLE_EXPORTER));
    CHECK(member.voting_power() == (validator ? 1u : 0u));
    const std::string key_file = dir + "/keys/" + member.id() + ".key";
    CHECK(ModeOf(key_file) == 0600);
    CHECK(ModeOf(dir + "/keys/" + member.id() + ".pub.json") == 0644);
    absl::StatusOr<crypto::MemberKeys> keys = crypto::ReadPrivateKeyFile(key_file, std::nullopt);
    REQUIRE(keys.ok());
    CHECK(ToString(keys->public_keys().signing_public_key.span()) == member.signing_public_key());
  }

  for (int k = 1; k <= 3; ++k) {
    CAPTURE(k);
    const std::string node_dir = dir + "/node" + std::to_string(k);
    absl::StatusOr<node::NodeConfig> config = node::LoadNodeConfig(node_dir + "/node.toml");
    INFO(config.status().ToString());
    REQUIRE(config.ok());
    const int port = base + 10 * (k - 1);
    CHECK(config->member_id == "validator-" + std::to_string(k));
    CHECK(config->key_file.resolved == dir + "/keys/validator-" + std::to_string(k) + ".key");
    CHECK(config->genesis_file.resolved == dir + "/genesis.json");
    CHECK(config->data_dir.resolved == node_dir + "/data");
    CHECK(config->p2p_listen == node::HostPort{"127.0.0.1", static_cast<uint16_t>(port)});
    CHECK(config->api_listen.port == port + 1);
    CHECK(config->http_listen.port == port + 2);
    REQUIRE(config->peers.size() == 2);
    for (const node::PeerAddress& peer : config->peers) {
      CHECK(peer.member_id != config->member_id);
      const int j = std::stoi(peer.member_id.substr(10));
      CHECK(peer.address.port == base + 10 * (j - 1));
    }
    CHECK_FALSE(std::filesystem::exists(node_dir + "/ladingd.pid"));
  }
  CHECK_FALSE(std::filesystem::exists(dir + "/node4"));

  const std::string testnet_json = ReadText(dir + "/testnet.json");
  CHECK_THAT(
      testnet_json,
      Catch::StartsWith("{\"chain_id\":\"trade-test\",\"nodes\":[") &&
          Catch::Contains("{\"name\":\"node2\",\"member_id\":\"validator-2\",\"dir\":"
                          "\"node2\",\"config\":\"node2/node.toml\",\"p2p\":\"127.0.0.1:" +
                          std::to_string(base + 10) + "\"") &&
          Catch::Contains("{\"member_id\":\"client-2\",\"key_file\":\"keys/client-2.key\"}"));
}

TEST_CASE("testnet init --json prints testnet.json and accepts an empty existing directory",
          "[integration][cli][testnet]") {
  const TempDir root;
  const RunResult init = RunLading({"testnet", "init", "--dir", root.path(), "--validators", "1",
                                    "--clients", "0", "--base-port", "30000", "--json"});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  CHECK(init.out == ReadText(root.File("testnet.json")));
  CHECK_THAT(init.out, Catch::Contains("\"clients\":[]"));
  absl::StatusOr<node::NodeConfig> config = node::LoadNodeConfig(root.File("node1/node.toml"));
  REQUIRE(config.ok());
  CHECK(config->peers.empty());
}

TEST_CASE("testnet init refuses a used directory, bad counts, ports and chain ids",
          "[integration][cli][testnet]") {
  const TempDir root;
  WriteText(root.File("keep.txt"), "mine", 0644);
  const RunResult used = RunLading({"testnet", "init", "--dir", root.path(), "--validators", "2"});
  CHECK(used.exit_code == 1);
  CHECK(used.err == "lading: " + root.path() + " exists and is not empty; choose another --dir\n");
  CHECK(ReadText(root.File("keep.txt")) == "mine");
  CHECK_FALSE(std::filesystem::exists(root.File("genesis.json")));

  const RunResult file =
      RunLading({"testnet", "init", "--dir", root.File("keep.txt"), "--validators", "2"});
  CHECK(file.exit_code == 1);
  CHECK_THAT(file.err, Catch::Contains("exists and is not a directory"));

  const std::string fresh = root.File("fresh");
  for (const char* count : {"0", "65", "-1"}) {
    CAPTURE(count);
    const RunResult bad = RunLading({"testnet", "init", "--dir", fresh, "--validators", count});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("--validators"));
  }
  const RunResult ports =
      RunLading({"testnet", "init", "--dir", fresh, "--validators", "3", "--base-port", "65520"});
  CHECK(ports.exit_code == 1);
  CHECK_THAT(ports.err, Catch::Contains("needs ports up to 65542, above 65535") &&
                            Catch::Contains("at most 65513"));
  const RunResult port_zero =
      RunLading({"testnet", "init", "--dir", fresh, "--validators", "1", "--base-port", "0"});
  CHECK(port_zero.exit_code == 2);
  const RunResult chain = RunLading(
      {"testnet", "init", "--dir", fresh, "--validators", "1", "--chain-id", "trade test"});
  CHECK(chain.exit_code == 1);
  CHECK_THAT(chain.err, Catch::Contains("chain_id"));
  CHECK_FALSE(std::filesystem::exists(fresh));

  const RunResult edge =
      RunLading({"testnet", "init", "--dir", fresh, "--validators", "3", "--base-port", "65513"});
  INFO(edge.err);
  CHECK(edge.exit_code == 0);
}

TEST_CASE(
    "testnet start runs every node until /healthz serves, skips running ones, and stop "
    "ends them",
    "[integration][cli][testnet]") {
  Testnet testnet(3);
  testnet.Init();
  const RunResult start = RunLading(StartArgs(testnet));
  INFO(start.out << start.err);
  REQUIRE(start.exit_code == 0);
  std::vector<pid_t> pids;
  for (int k = 1; k <= 3; ++k) {
    CAPTURE(k);
    REQUIRE(std::filesystem::exists(testnet.PidFile(k)));
    CHECK(ModeOf(testnet.PidFile(k)) == 0644);
    pids.push_back(PidIn(testnet.PidFile(k)));
    CHECK(Alive(pids.back()));
    CHECK_THAT(start.out, Catch::Contains("node" + std::to_string(k) + " (validator-" +
                                          std::to_string(k) + "): serving at height 1, peers 2/2"));
    CHECK_THAT(ReadText(testnet.LogFile(k)), Catch::Contains("serving /healthz"));
  }

  const RunResult again = RunLading(StartArgs(testnet, {"--json"}));
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  for (int k = 1; k <= 3; ++k) {
    CHECK(PidIn(testnet.PidFile(k)) == pids[k - 1]);
    CHECK_THAT(again.out,
               Catch::Contains("\"name\":\"node" + std::to_string(k) +
                               "\",\"member_id\":\"validator-" + std::to_string(k) +
                               "\",\"pid\":" + std::to_string(pids[k - 1]) + ",\"started\":false"));
  }

  const RunResult status = RunLading({"testnet", "status", "--dir", testnet.dir()});
  INFO(status.err);
  REQUIRE(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("running") && Catch::Contains("serving") &&
                             Catch::Contains(std::to_string(pids[2])));

  const RunResult stop = RunLading({"testnet", "stop", "--dir", testnet.dir()});
  INFO(stop.err);
  REQUIRE(stop.exit_code == 0);
  for (int k = 1; k <= 3; ++k) {
    CHECK_THAT(stop.out,
               Catch::Contains("node" + std::to_string(k) + " (validator-" + std::to_string(k) +
                               "): stopped (pid " + std::to_string(pids[k - 1]) + ")"));
    CHECK(WaitDead(pids[k - 1]));
    CHECK_FALSE(std::filesystem::exists(testnet.PidFile(k)));
    CHECK_THAT(ReadText(testnet.LogFile(k)), Catch::Contains("got signal 15"));
  }

  const RunResult stopped = RunLading({"testnet", "status", "--dir", testnet.dir(), "--json"});
  REQUIRE(stopped.exit_code == 0);
  CHECK_THAT(stopped.out, Catch::Contains("\"process\":\"stopped\"") &&
                              Catch::Contains("\"healthz\":null") && !Catch::Contains("running"));
}

TEST_CASE("testnet start --node and stop --node touch only that node",
          "[integration][cli][testnet]") {
  Testnet testnet(2);
  testnet.Init();
  const RunResult start = RunLading(StartArgs(testnet, {"--node", "2"}));
  INFO(start.err);
  REQUIRE(start.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(testnet.PidFile(1)));
  REQUIRE(std::filesystem::exists(testnet.PidFile(2)));
  const pid_t pid = PidIn(testnet.PidFile(2));

  const RunResult stop_other =
      RunLading({"testnet", "stop", "--dir", testnet.dir(), "--node", "1"});
  REQUIRE(stop_other.exit_code == 0);
  CHECK_THAT(stop_other.out, Catch::Contains("node1 (validator-1): not running"));
  CHECK(Alive(pid));

  const RunResult stop = RunLading({"testnet", "stop", "--dir", testnet.dir(), "--node", "2"});
  REQUIRE(stop.exit_code == 0);
  CHECK(WaitDead(pid));

  const RunResult missing = RunLading({"testnet", "start", "--dir", testnet.dir(), "--node", "3"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("has no node 3"));
}

TEST_CASE("testnet stop removes a stale pid file and never signals an unrelated process",
          "[integration][cli][testnet]") {
  Testnet testnet(1);
  testnet.Init();
  // A pid that no longer exists: a child we reaped.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);
  WriteText(testnet.PidFile(1), std::to_string(child) + "\n", 0644);
  const RunResult stale = RunLading({"testnet", "stop", "--dir", testnet.dir(), "--json"});
  INFO(stale.err);
  REQUIRE(stale.exit_code == 0);
  CHECK_THAT(stale.out, Catch::Contains("\"result\":\"stale pid file removed\""));
  CHECK_FALSE(std::filesystem::exists(testnet.PidFile(1)));

  // A live process that is not this node's ladingd: us.
  WriteText(testnet.PidFile(1), std::to_string(::getpid()) + "\n", 0644);
  const RunResult unrelated = RunLading({"testnet", "stop", "--dir", testnet.dir()});
  REQUIRE(unrelated.exit_code == 0);
  CHECK_THAT(unrelated.out, Catch::Contains("stale pid file removed"));
  CHECK_FALSE(std::filesystem::exists(testnet.PidFile(1)));

  const RunResult none = RunLading({"testnet", "stop", "--dir", testnet.dir()});
  REQUIRE(none.exit_code == 0);
  CHECK_THAT(none.out, Catch::Contains("not running"));
}

TEST_CASE("testnet start replaces a stale pid file and refuses a malformed one",
          "[integration][cli][testnet]") {
  Testnet testnet(1);
  testnet.Init();
  WriteText(testnet.PidFile(1), "not a pid\n", 0644);
  const RunResult malformed = RunLading(StartArgs(testnet));
  CHECK(malformed.exit_code == 1);
  CHECK_THAT(malformed.err, Catch::Contains("does not hold a process id"));
  CHECK_FALSE(std::filesystem::exists(testnet.LogFile(1)));

  WriteText(testnet.PidFile(1), std::to_string(::getpid()) + "\n", 0644);
  const RunResult start = RunLading(StartArgs(testnet));
  INFO(start.err);
  REQUIRE(start.exit_code == 0);
  const pid_t pid = PidIn(testnet.PidFile(1));
  CHECK(pid != ::getpid());
  CHECK(Alive(pid));
  REQUIRE(RunLading({"testnet", "stop", "--dir", testnet.dir()}).exit_code == 0);
  CHECK(WaitDead(pid));
}

TEST_CASE("testnet start fails naming the node whose ladingd exits at once",
          "[integration][cli][testnet]") {
  Testnet testnet(3);
  testnet.Init();
  const RunResult start = RunLading(StartArgs(testnet), {"LADING_FAKE_LADINGD_EXIT=validator-2"});
  CHECK(start.exit_code == 1);
  CHECK_THAT(start.err, Catch::StartsWith("lading: node2 (validator-2): ladingd (pid ") &&
                            Catch::Contains("exited with status 3 before it was ready") &&
                            Catch::Contains("last line of " + testnet.LogFile(2) +
                                            ": fake ladingd: validator-2 exits at once"));
  REQUIRE(RunLading({"testnet", "stop", "--dir", testnet.dir()}).exit_code == 0);
}

TEST_CASE("testnet start fails naming a node that never becomes ready",
          "[integration][cli][testnet]") {
  Testnet testnet(1);
  testnet.Init();
  const RunResult start = RunLading({"testnet", "start", "--dir", testnet.dir(), "--ladingd",
                                     LADING_FAKE_LADINGD_PATH, "--timeout-s", "1"},
                                    {"LADING_FAKE_LADINGD_STARTING=1"});
  CHECK(start.exit_code == 1);
  CHECK_THAT(start.err,
             Catch::StartsWith("lading: node1 (validator-1): not ready after 1 s (last /healthz: "
                               "status starting, height 0, peers 0/0)") &&
                 Catch::Contains("fake ladingd: validator-1 serving /healthz"));
  REQUIRE(RunLading({"testnet", "stop", "--dir", testnet.dir()}).exit_code == 0);
}

TEST_CASE("testnet commands refuse a missing ladingd and a directory that is no testnet",
          "[integration][cli][testnet]") {
  Testnet testnet(1);
  testnet.Init();
  const RunResult missing = RunLading({"testnet", "start", "--dir", testnet.dir(), "--ladingd",
                                       testnet.dir() + "/no-such-ladingd"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("no-such-ladingd is not an executable file"));
  CHECK_FALSE(std::filesystem::exists(testnet.PidFile(1)));

  const TempDir empty;
  for (const char* command : {"start", "stop", "status"}) {
    const RunResult result = RunLading({"testnet", command, "--dir", empty.path()});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("is not a testnet directory"));
  }
}

}  // namespace
}  // namespace lading::cli
