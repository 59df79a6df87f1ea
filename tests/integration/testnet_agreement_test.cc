// A live 4-validator testnet of real ladingd processes: clients on several nodes, a validator
// killed and restarted under load, and a lost quorum restored. Every node must hold the same
// blocks, and no transaction acknowledged as committed may be lost.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "node/api/tx_builder.h"
#include "proto/ledger.h"
#include "tests/integration/live_testnet.h"

namespace lading::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Hash256 ToHash(const std::string& bytes) {
  absl::StatusOr<Hash256> hash = Hash256::FromBytes(AsBytes(bytes));
  REQUIRE(hash.ok());
  return *hash;
}

struct BlockSummary {
  Hash256 block_hash;
  Hash256 state_root;
  proto::Block block;
};

BlockSummary ReadBlock(node::api::ApiClient& client, uint64_t height) {
  absl::StatusOr<proto::GetBlockResponse> response = client.GetBlock(height);
  INFO(client.address() << " GetBlock(" << height << "): " << response.status().ToString());
  REQUIRE(response.ok());
  REQUIRE(response->height() == height);
  absl::StatusOr<proto::Block> block = proto::DecodeBlock(AsBytes(response->block()));
  REQUIRE(block.ok());
  absl::StatusOr<proto::BlockHeader> header = proto::DecodeBlockHeader(AsBytes(block->header()));
  REQUIRE(header.ok());
  REQUIRE(header->height() == height);
  return BlockSummary{ToHash(response->block_hash()), ToHash(header->state_root()), *block};
}

// Block hashes 1..`up_to` as every node in `nodes` reports them, REQUIRE'd identical (block
// hash, state root and the block bytes themselves) and hash-linked.
std::vector<Hash256> RequireSameChain(const LiveTestnet& net, const std::vector<int>& nodes,
                                      uint64_t up_to) {
  std::vector<std::unique_ptr<node::api::ApiClient>> clients;
  for (int k : nodes) clients.push_back(net.Connect(k));
  std::vector<Hash256> hashes;
  for (uint64_t height = 1; height <= up_to; ++height) {
    const BlockSummary first = ReadBlock(*clients[0], height);
    const proto::BlockHeader header = *proto::DecodeBlockHeader(AsBytes(first.block.header()));
    if (height > 1) REQUIRE(ToHash(header.prev_block_hash()) == hashes.back());
    for (size_t i = 1; i < clients.size(); ++i) {
      CAPTURE(height, nodes[i]);
      const BlockSummary other = ReadBlock(*clients[i], height);
      REQUIRE(other.block_hash == first.block_hash);
      REQUIRE(other.state_root == first.state_root);
      REQUIRE(other.block.SerializeAsString() == first.block.SerializeAsString());
    }
    hashes.push_back(first.block_hash);
  }
  return hashes;
}

uint64_t MinHeight(const LiveTestnet& net, const std::vector<int>& nodes) {
  uint64_t min = UINT64_MAX;
  for (int k : nodes) min = std::min(min, net.Height(k).value_or(0));
  return min;
}

uint64_t MaxHeight(const LiveTestnet& net, const std::vector<int>& nodes) {
  uint64_t max = 0;
  for (int k : nodes) max = std::max(max, net.Height(k).value_or(0));
  return max;
}

// Every tx id in `tx_ids` is found by GetTx on every node in `nodes`, at the same height.
void RequireTxsOnEveryNode(const LiveTestnet& net, const std::vector<int>& nodes,
                           const std::vector<Hash256>& tx_ids) {
  for (int k : nodes) {
    const std::unique_ptr<node::api::ApiClient> client = net.Connect(k);
    for (const Hash256& tx_id : tx_ids) {
      absl::StatusOr<proto::GetTxResponse> found = client->GetTx(tx_id);
      INFO("node" << k << " GetTx(" << tx_id.ToHex() << "): " << found.status().ToString());
      REQUIRE(found.ok());
    }
  }
}

const std::vector<int> kAllNodes = {1, 2, 3, 4};

TEST_CASE("four validators commit notes from three clients on three nodes and agree on every "
          "block",
          "[integration][node]") {
  LiveTestnet net({.validators = 4, .clients = 3});
  net.StartAll();

  constexpr int kNotesPerClient = 4;
  std::vector<std::unique_ptr<node::api::ApiClient>> clients;
  for (int i = 1; i <= 3; ++i) clients.push_back(net.Connect(i, i));
  std::vector<std::vector<proto::SubmitTxResponse>> committed(3);
  std::vector<std::string> errors(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 1; n <= kNotesPerClient; ++n) {
        absl::StatusOr<proto::SubmitTxResponse> response =
            SubmitNote(*clients[i], net.ClientKeys(i + 1),
                       "client " + std::to_string(i + 1) + " note " + std::to_string(n), true,
                       seconds(20));
        if (!response.ok() || !response->committed()) {
          errors[i] = response.ok() ? "not committed" : response.status().ToString();
          return;
        }
        committed[i].push_back(*response);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  uint64_t top = 0;
  std::vector<Hash256> tx_ids;
  for (int i = 0; i < 3; ++i) {
    INFO("client-" << i + 1 << " through node" << i + 1 << ": " << errors[i]);
    REQUIRE(errors[i].empty());
    REQUIRE(committed[i].size() == kNotesPerClient);
    for (const proto::SubmitTxResponse& response : committed[i]) {
      top = std::max(top, response.height());
      tx_ids.push_back(ToHash(response.tx_id()));
    }
  }
  REQUIRE(WaitFor([&] { return MinHeight(net, kAllNodes) >= top; }, seconds(30)));
  const std::vector<Hash256> hashes = RequireSameChain(net, kAllNodes, top);
  REQUIRE(hashes.size() == top);
  RequireTxsOnEveryNode(net, kAllNodes, tx_ids);

  // Each note sits where its submitter was told, on every node, and an unknown id is absent.
  for (int k : kAllNodes) {
    const std::unique_ptr<node::api::ApiClient> client = net.Connect(k);
    for (int i = 0; i < 3; ++i) {
      for (const proto::SubmitTxResponse& response : committed[i]) {
        const absl::StatusOr<proto::GetTxResponse> found = client->GetTx(ToHash(response.tx_id()));
        REQUIRE(found.ok());
        CHECK(found->height() == response.height());
        CHECK(found->index() == response.index());
        CHECK(ToHash(found->block_hash()) == hashes[response.height() - 1]);
      }
    }
    Hash256 unknown;
    unknown.bytes.fill(0x5a);
    CHECK(client->GetTx(unknown).status().code() == absl::StatusCode::kNotFound);
  }
  for (int k : kAllNodes) CHECK(net.Running(k));
}

// Background clients: client-i submits a note through node i, waits for its commit, and records
// every transaction the node acknowledged as committed.
class NoteLoad {
 public:
  NoteLoad(const LiveTestnet& net, const std::vector<int>& nodes) {
    for (int k : nodes) clients_.push_back({k, net.Connect(k, k), &net.ClientKeys(k)});
    for (size_t i = 0; i < clients_.size(); ++i) {
      threads_.emplace_back([this, i] { Run(clients_[i]); });
    }
  }
  ~NoteLoad() { Stop(); }

  void Stop() {
    stop_.store(true);
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  std::vector<Hash256> acknowledged() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return acknowledged_;
  }
  size_t acknowledged_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return acknowledged_.size();
  }
  std::map<std::string, int> errors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }

 private:
  struct Client {
    int node;
    std::unique_ptr<node::api::ApiClient> api;
    const crypto::MemberKeys* keys;
  };

  void Run(Client& client) {
    for (int n = 0; !stop_.load(); ++n) {
      absl::StatusOr<proto::SubmitTxResponse> response =
          SubmitNote(*client.api, *client.keys,
                     client.keys->member_id + " load " + std::to_string(n), true, seconds(8));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (response.ok() && response->committed()) {
          acknowledged_.push_back(*Hash256::FromBytes(AsBytes(response->tx_id())));
        } else {
          ++errors_["node" + std::to_string(client.node) + ": " +
                    (response.ok() ? std::string("accepted, not committed")
                                   : std::string(absl::StatusCodeToString(
                                         response.status().code())))];
        }
      }
      std::this_thread::sleep_for(milliseconds(150));
    }
  }

  std::vector<Client> clients_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Hash256> acknowledged_;  // guarded by mutex_
  std::map<std::string, int> errors_;  // guarded by mutex_
};

std::string Describe(const std::map<std::string, int>& errors) {
  std::string out;
  for (const auto& [what, count] : errors) out += what + " x" + std::to_string(count) + "; ";
  return out.empty() ? "none" : out;
}

// True when a commit of a block above `above` (its own, as node `k` stores it, or the last_commit
// carried by the next block) holds a signature from committee index `index`.
bool SignedAbove(const LiveTestnet& net, int k, uint64_t above, uint32_t index) {
  const std::unique_ptr<node::api::ApiClient> client = net.Connect(k);
  const uint64_t head = net.Height(k).value_or(0);
  for (uint64_t height = above + 1; height <= head; ++height) {
    absl::StatusOr<proto::GetBlockResponse> response = client->GetBlock(height);
    if (!response.ok()) return false;
    absl::StatusOr<proto::Block> block = proto::DecodeBlock(AsBytes(response->block()));
    REQUIRE(block.ok());
    std::vector<std::string> commits = {response->commit()};
    if (height > above + 1) commits.push_back(block->last_commit());
    for (const std::string& bytes : commits) {
      absl::StatusOr<proto::Commit> commit = proto::DecodeCommit(AsBytes(bytes));
      REQUIRE(commit.ok());
      for (const proto::CommitSignature& signature : commit->signatures()) {
        if (signature.validator_index() == index) return true;
      }
    }
  }
  return false;
}

TEST_CASE("a validator killed under load is not missed and once restarted it syncs and signs "
          "again while no acknowledged transaction is lost",
          "[integration][node]") {
  LiveTestnet net({.validators = 4, .clients = 4});
  net.StartAll();
  NoteLoad load(net, {1, 2, 3});
  {
    REQUIRE(WaitFor([&] { return load.acknowledged_count() >= 3; }, seconds(30)));
  }

  REQUIRE(net.Stop(4, SIGKILL).code == SIGKILL);
  const uint64_t at_kill = MaxHeight(net, {1, 2, 3});
  const size_t acknowledged_at_kill = load.acknowledged_count();
  {
    INFO("the three others stopped committing after node4 was killed at height "
         << at_kill);
    REQUIRE(WaitFor([&] { return MinHeight(net, {1, 2, 3}) >= at_kill + 5; }, seconds(40)));
    REQUIRE(load.acknowledged_count() > acknowledged_at_kill);
  }
  // Down for a while under load, so that it restarts well behind and must sync.
  std::this_thread::sleep_for(seconds(2));

  // Same config, same data directory: it verifies its store, syncs the missed blocks and votes.
  net.Start(4);
  net.WaitServing(4);
  const uint64_t at_restart = MaxHeight(net, {1, 2, 3});
  {
    INFO("node4 did not catch up from height " << at_restart);
    REQUIRE(WaitFor([&] { return net.Height(4).value_or(0) >= at_restart + 1; }, seconds(40)));
  }
  const uint64_t rejoined = net.Height(4).value_or(0);
  const uint32_t index = net.CommitteeIndex(4);
  {
    INFO("no commit above height " << rejoined << " carries node4's signature (committee index "
                                   << index << ")");
    REQUIRE(WaitFor([&] { return SignedAbove(net, 1, rejoined, index); }, seconds(40),
                    milliseconds(500)));
  }

  load.Stop();
  const std::vector<Hash256> acknowledged = load.acknowledged();
  INFO("acknowledged " << acknowledged.size() << ", failed submissions: "
                       << Describe(load.errors()));
  REQUIRE(acknowledged.size() > acknowledged_at_kill);
  // Clients of nodes 1..3 never lost their node; a submit that was not committed within its
  // wait is a liveness hiccup, not a loss, but rejections would be a bug.
  for (const auto& [what, count] : load.errors()) {
    CHECK_THAT(what, Catch::EndsWith("DEADLINE_EXCEEDED") ||
                         Catch::EndsWith("accepted, not committed"));
  }
  const uint64_t top = MaxHeight(net, kAllNodes);
  REQUIRE(WaitFor([&] { return MinHeight(net, kAllNodes) >= top; }, seconds(30)));
  RequireSameChain(net, kAllNodes, top);
  RequireTxsOnEveryNode(net, kAllNodes, acknowledged);
  CHECK(net.Metric(4, "lading_sync_blocks_total").value_or(0) >= 1);
  for (int k : kAllNodes) CHECK(net.Running(k));
}

TEST_CASE("with two of four validators killed the chain halts without diverging and resumes "
          "where it was once they restart",
          "[integration][node]") {
  LiveTestnet net({.validators = 4, .clients = 1});
  net.StartAll();
  const std::unique_ptr<node::api::ApiClient> client = net.Connect(1);
  for (int n = 0; n < 2; ++n) {
    const absl::StatusOr<proto::SubmitTxResponse> response =
        SubmitNote(*client, net.ClientKeys(1), "before " + std::to_string(n), true, seconds(20));
    INFO(response.status().ToString());
    REQUIRE(response.ok());
    REQUIRE(response->committed());
  }

  REQUIRE(net.Stop(3, SIGKILL).code == SIGKILL);
  REQUIRE(net.Stop(4, SIGKILL).code == SIGKILL);
  // A block in flight when they died may still commit; then the height must stay put.
  std::this_thread::sleep_for(milliseconds(1500));
  const absl::StatusOr<proto::SubmitTxResponse> pending =
      SubmitNote(*client, net.ClientKeys(1), "pending while the quorum is lost", false);
  INFO(pending.status().ToString());
  REQUIRE(pending.ok());
  REQUIRE_FALSE(pending->committed());
  const Hash256 pending_id = ToHash(pending->tx_id());

  const uint64_t halted = *net.Height(1);
  REQUIRE(net.Height(2) == halted);
  // No progress for 6 s while a transaction waits: two of four is no quorum.
  const bool moved = WaitFor(
      [&] {
        return net.Height(1).value_or(0) != halted || net.Height(2).value_or(0) != halted;
      },
      seconds(6), milliseconds(250));
  REQUIRE_FALSE(moved);
  REQUIRE(client->GetTx(pending_id).status().code() == absl::StatusCode::kNotFound);
  const std::vector<Hash256> before = RequireSameChain(net, {1, 2}, halted);

  net.Start(3);
  net.Start(4);
  net.WaitServing(3);
  net.WaitServing(4);
  uint64_t pending_height = 0;
  REQUIRE(WaitFor(
      [&] {
        const absl::StatusOr<proto::GetTxResponse> found = client->GetTx(pending_id);
        if (found.ok()) pending_height = found->height();
        return found.ok();
      },
      seconds(60), milliseconds(250)));
  REQUIRE(pending_height > halted);
  REQUIRE(WaitFor([&] { return MinHeight(net, kAllNodes) >= pending_height; }, seconds(30)));
  const std::vector<Hash256> after = RequireSameChain(net, kAllNodes, pending_height);
  // The chain went on from where it stopped: the blocks below are the same ones.
  REQUIRE(std::equal(before.begin(), before.end(), after.begin()));
  RequireTxsOnEveryNode(net, kAllNodes, {pending_id});
  for (int k : kAllNodes) CHECK(net.Running(k));
}

}  // namespace
}  // namespace lading::integration
