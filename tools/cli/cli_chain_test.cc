// Runs the built `lading` binary (LADING_CLI_PATH) against an in-process ApiServer over a
// TestBackend (real RocksDB store, real mempool), as a user would against a node.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_file.h"
#include "node/api/api_server.h"
#include "node/api/testing/test_backend.h"
#include "proto/ledger.h"
#include "tests/testing/run_program.h"
#include "tests/testing/temp_files.h"

extern char** environ;

namespace lading::cli {
namespace {

using contracts::testing::TestChain;
using node::api::testing::TestBackend;
using node::api::testing::TestMemberKeys;
using test_files::ReadText;
using test_files::TempDir;

using test_files::RunResult;

// Runs `lading args...` with the test's environment minus LADING_NODE, plus `extra_environment`
// ("NAME=value" entries).
RunResult RunLading(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_environment = {}) {
  return test_files::RunProgram(LADING_CLI_PATH, args, extra_environment, {"LADING_NODE"});
}

// A node for the CLI: backend, API server, key files for client-1 and validator-1, and a block
// producer that commits a block whenever the mempool holds transactions (what consensus does).
struct Node {
  TempDir dir;
  TestChain chain{{"validator-1", "validator-2", "validator-3", "client-1"}, 3};
  std::unique_ptr<TestBackend> backend;
  std::unique_ptr<node::api::ApiServer> server;
  std::string client_key;
  std::atomic<bool> producing{false};
  std::atomic<bool> stop{false};
  std::thread producer;

  Node() {
    absl::StatusOr<std::unique_ptr<TestBackend>> created = TestBackend::Create(&chain);
    REQUIRE(created.ok());
    backend = std::move(*created);
    absl::StatusOr<std::unique_ptr<node::api::ApiServer>> started =
        node::api::ApiServer::Start(backend.get(), {});
    REQUIRE(started.ok());
    server = std::move(*started);
    client_key = dir.File("client-1.key");
    REQUIRE(crypto::WritePrivateKeyFile(client_key, TestMemberKeys(chain, "client-1"),
                                        std::nullopt)
                .ok());
    producer = std::thread([this] {
      while (!stop.load()) {
        if (producing.load() && backend->mempool().size() > 0) {
          LADING_CHECK(backend->AppendBlock().ok());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  ~Node() {
    stop.store(true);
    producer.join();
  }

  const std::string& address() const { return server->address(); }
};

TEST_CASE("lading status prints the node's status, and --json one object", "[integration][cli]") {
  Node node;
  REQUIRE(node.backend->AppendBlock().ok());
  const RunResult human = RunLading({"status", "--node", node.address()});
  INFO(human.err);
  REQUIRE(human.exit_code == 0);
  CHECK(human.err.empty());
  CHECK_THAT(human.out, Catch::Contains("chain id:") && Catch::Contains("lading-test") &&
                            Catch::Contains("height:") &&
                            Catch::Contains(node.backend->store().HeadBlockHash().ToHex()) &&
                            Catch::Contains("validator-1 (validator)"));

  const RunResult json = RunLading({"status", "--json"},
                                   {"LADING_NODE=" + node.address()});
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  CHECK_THAT(json.out, Catch::StartsWith("{\"node\": \"" + node.address() + "\"") &&
                           Catch::Contains("\"chain_id\": \"lading-test\"") &&
                           Catch::Contains("\"height\": 1,") && Catch::EndsWith("}\n"));
}

TEST_CASE("chain commands without a node say how to give one, with exit code 1",
          "[integration][cli]") {
  Node node;
  const RunResult status = RunLading({"status"});
  CHECK(status.exit_code == 1);
  CHECK(status.out.empty());
  CHECK(status.err == "lading: no node given: pass --node HOST:PORT or set LADING_NODE\n");

  const RunResult note = RunLading({"note", "--key", node.client_key, "--text", "x"});
  CHECK(note.exit_code == 1);
  CHECK(note.err == "lading: no node given: pass --node HOST:PORT or set LADING_NODE\n");
}

TEST_CASE("lading fails with one line when the node does not answer", "[integration][cli]") {
  Node node;
  const std::string address = node.address();
  node.server->Shutdown();
  const RunResult status = RunLading({"status", "--node", address});
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.err, Catch::StartsWith("lading: node " + address + " unavailable: "));
  CHECK(std::count(status.err.begin(), status.err.end(), '\n') == 1);
}

TEST_CASE("lading note --wait commits a note that tx get and block get then show",
          "[integration][cli]") {
  Node node;
  node.producing.store(true);
  const RunResult note = RunLading({"note", "--key", node.client_key, "--text",
                                              "secret note text", "--wait", "--node",
                                              node.address(), "--json"});
  INFO(note.err);
  REQUIRE(note.exit_code == 0);
  CHECK_THAT(note.out, Catch::Contains("\"signer\": \"client-1\"") &&
                           Catch::Contains("\"nonce\": 1") &&
                           Catch::Contains("\"committed\": true") &&
                           Catch::Contains("\"height\": 1, \"index\": 0"));
  const std::string marker = "\"tx_id\": \"";
  const size_t at = note.out.find(marker);
  REQUIRE(at != std::string::npos);
  const std::string tx_id = note.out.substr(at + marker.size(), 64);
  REQUIRE(node.backend->store().GetTxLocation(*Hash256::FromHex(tx_id)).ok());

  // The next note takes the next nonce, without waiting.
  node.producing.store(false);
  const RunResult second = RunLading(
      {"note", "--key", node.client_key, "--text", "two", "--node", node.address()});
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains("nonce:") && Catch::Contains("2") &&
                             Catch::Contains("accepted into the mempool"));
  CHECK(node.backend->mempool().size() == 1);

  const RunResult tx = RunLading({"tx", "get", tx_id, "--key", node.client_key,
                                            "--node", node.address()});
  INFO(tx.err);
  REQUIRE(tx.exit_code == 0);
  CHECK_THAT(tx.out, Catch::Contains("signer:") && Catch::Contains("client-1") &&
                         Catch::Contains("payload:") && Catch::Contains("note") &&
                         Catch::Contains("note size:") && Catch::Contains("16 bytes"));
  CHECK_THAT(tx.out, !Catch::Contains("secret note text"));

  const RunResult shown = RunLading({"tx", "get", tx_id, "--key", node.client_key,
                                               "--node", node.address(), "--show-text", "--json"});
  REQUIRE(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains("\"note_text\": \"secret note text\"") &&
                            Catch::Contains("\"nonce\": 1") && Catch::Contains("\"height\": 1"));

  const RunResult block = RunLading({"block", "get", "1", "--key", node.client_key,
                                               "--node", node.address()});
  INFO(block.err);
  REQUIRE(block.exit_code == 0);
  const std::string block_hash = node.backend->store().HeadBlockHash().ToHex();
  CHECK_THAT(block.out, Catch::Contains(block_hash) && Catch::Contains("proposer:") &&
                            Catch::Contains("validator-1") && Catch::Contains(tx_id) &&
                            Catch::Contains("txs:") &&
                            Catch::Contains("3 validators in round 0 (committee indexes 0, 1, 2)"));
  CHECK_THAT(block.out, !Catch::Contains("secret note text"));

  const RunResult head_json = RunLading({"block", "get", "head", "--key",
                                                   node.client_key, "--node", node.address(),
                                                   "--json"});
  REQUIRE(head_json.exit_code == 0);
  CHECK_THAT(head_json.out, Catch::StartsWith("{\"height\": 1, \"block_hash\": \"" + block_hash) &&
                                Catch::Contains("\"tx_ids\": [\"" + tx_id + "\"]") &&
                                Catch::Contains("\"commit_signers\": [0, 1, 2]"));
}

TEST_CASE("chain commands report bad input and the node's refusals in one line",
          "[integration][cli]") {
  Node node;
  SECTION("a tx id that is not hex") {
    const RunResult result = RunLading({"tx", "get", "xyz", "--key", node.client_key,
                                                  "--node", node.address()});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "lading: tx id \"xyz\" is not 64 hex characters\n");
  }
  SECTION("a transaction the chain does not hold") {
    const std::string unknown(64, 'a');
    const RunResult result = RunLading({"tx", "get", unknown, "--key",
                                                  node.client_key, "--node", node.address()});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "lading: no transaction with id " + unknown + "\n");
  }
  SECTION("a height past the head") {
    const RunResult result = RunLading({"block", "get", "5", "--key", node.client_key,
                                                  "--node", node.address()});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "lading: no block at height 5 (head height 0)\n");
  }
  SECTION("a height that is not a number") {
    const RunResult result = RunLading({"block", "get", "-1x", "--key",
                                                  node.client_key, "--node", node.address()});
    CHECK(result.exit_code != 0);
  }
  SECTION("a note too long") {
    const RunResult result =
        RunLading({"note", "--key", node.client_key, "--text",
                             std::string(proto::kNoteTextBytesMax + 1, 'n'), "--node",
                             node.address()});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "lading: note text is 4097 bytes, more than the 4096 allowed\n");
  }
  SECTION("a key of someone who is not a member") {
    absl::StatusOr<crypto::MemberKeys> stranger = crypto::MemberKeys::Generate("stranger");
    REQUIRE(stranger.ok());
    const std::string key = node.dir.File("stranger.key");
    REQUIRE(crypto::WritePrivateKeyFile(key, *stranger, std::nullopt).ok());
    const RunResult result =
        RunLading({"block", "get", "head", "--key", key, "--node", node.address()});
    CHECK(result.exit_code == 1);
    CHECK(result.err == "lading: member stranger is not a member of chain lading-test\n");
  }
  SECTION("a key file readable by others") {
    REQUIRE(::chmod(node.client_key.c_str(), 0644) == 0);
    const RunResult result = RunLading({"note", "--key", node.client_key, "--text",
                                                  "x", "--node", node.address()});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::StartsWith("lading: key file ") &&
                               Catch::Contains("is readable by group or others (mode 0644)"));
    CHECK(node.backend->mempool().size() == 0);
  }
  SECTION("a missing --key") {
    const RunResult result = RunLading({"block", "get", "1", "--node", node.address()});
    CHECK(result.exit_code == 2);
  }
}

}  // namespace
}  // namespace lading::cli
