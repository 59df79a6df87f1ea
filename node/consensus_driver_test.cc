// ConsensusDriver on real RocksDB stores, real sign-state files and real threads, with peers
// linked by an in-process bus (the socket transport has its own tests).
#include "node/consensus_driver.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "contracts/testing/test_chain.h"
#include "node/block_executor.h"
#include "node/rocksdb_block_store.h"
#include "proto/ledger.h"
#include "tests/testing/temp_files.h"

namespace lading::node {
namespace {

using contracts::testing::TestChain;
using namespace std::chrono_literals;

class ClusterMember;

// Delivers payloads between members that are up, asynchronously on the io_context.
class Bus {
 public:
  explicit Bus(boost::asio::io_context* io) : io_(io) {}
  // `member` joins; everyone up is told that the other connected.
  void Up(const std::string& id, ClusterMember* member);
  void Down(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    up_.erase(id);
  }
  void Send(const std::string& from, const std::string& to, Bytes payload);
  std::vector<std::string> UpIds() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> ids;
    for (const auto& [id, member] : up_) ids.push_back(id);
    return ids;
  }

 private:
  boost::asio::io_context* io_;
  std::mutex mutex_;
  std::map<std::string, ClusterMember*> up_;
};

class Endpoint final : public PeerNetwork {
 public:
  Endpoint(Bus* bus, std::string self) : bus_(bus), self_(std::move(self)) {}
  void Send(const std::string& member_id, Bytes payload) override {
    bus_->Send(self_, member_id, std::move(payload));
  }
  void Broadcast(Bytes payload) override {
    for (const std::string& id : bus_->UpIds()) {
      if (id != self_) bus_->Send(self_, id, payload);
    }
  }

 private:
  Bus* bus_;
  std::string self_;
};

ConsensusDriverOptions FastOptions(const std::string& chain_id, const std::string& member_id) {
  ConsensusDriverOptions options;
  options.chain_id = chain_id;
  options.member_id = member_id;
  options.timeouts = {.propose_ms = 600, .propose_delta_ms = 200, .prevote_ms = 200,
                      .prevote_delta_ms = 100, .precommit_ms = 200, .precommit_delta_ms = 100};
  options.regossip_interval = 500ms;
  options.status_interval = 200ms;
  options.sync_request_timeout = 1000ms;
  return options;
}

// One node: store, mempool, sign-state file and driver, in its own directory.
class ClusterMember {
 public:
  ClusterMember(const TestChain* chain, std::string id, std::string dir,
                boost::asio::io_context* io, boost::asio::thread_pool* pool, Bus* bus)
      : chain_(chain), id_(std::move(id)), dir_(std::move(dir)), io_(io), pool_(pool),
        bus_(bus), endpoint_(bus, id_) {}

  void Start() {
    std::filesystem::create_directories(dir_);
    absl::StatusOr<std::unique_ptr<RocksDbBlockStore>> store =
        RocksDbBlockStore::Open(dir_ + "/blocks", {.chain_id = chain_->chain_id()});
    REQUIRE(store.ok());
    store_ = *std::move(store);
    REQUIRE(InitializeStore(store_.get(), chain_->genesis()).ok());
    cache_ = std::make_unique<VerifiedSignatureCache>();
    mempool_ = std::make_unique<Mempool>(chain_->chain_id(), store_.get(), cache_.get());
    absl::StatusOr<std::unique_ptr<SignStateStore>> sign = SignStateStore::Open(dir_ + "/consensus");
    REQUIRE(sign.ok());
    sign_ = *std::move(sign);
    status_ = std::make_unique<StatusBoard>();
    status_->Update([&](NodeStatus* status) { status->height = store_->HeadHeight(); });
    driver_ = std::make_unique<ConsensusDriver>(
        *io_, *pool_, FastOptions(chain_->chain_id(), id_), &chain_->key(id_), store_.get(),
        mempool_.get(), cache_.get(), sign_.get(), &endpoint_, status_.get(),
        ConsensusDriverCallbacks{});
    bus_->Up(id_, this);
    REQUIRE(driver_->Start().ok());
  }

  // Like a crash: the node disappears from the network and its process state is lost; only
  // the files remain.
  void Crash() {
    bus_->Down(id_);
    driver_->StopAndDrain();
    driver_.reset();
    mempool_.reset();
    cache_.reset();
    sign_.reset();
    store_.reset();
  }

  void Deliver(const std::string& from, const Bytes& payload) {
    driver_->OnPeerMessage(from, payload);
  }

  bool WaitForHeight(uint64_t height, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (store_->HeadHeight() < height) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  ConsensusDriver& driver() { return *driver_; }
  RocksDbBlockStore& store() { return *store_; }
  const SignStateStore& sign_state() const { return *sign_; }
  const std::string& id() const { return id_; }

 private:
  const TestChain* chain_;
  std::string id_;
  std::string dir_;
  boost::asio::io_context* io_;
  boost::asio::thread_pool* pool_;
  Bus* bus_;
  Endpoint endpoint_;
  std::unique_ptr<RocksDbBlockStore> store_;
  std::unique_ptr<VerifiedSignatureCache> cache_;
  std::unique_ptr<Mempool> mempool_;
  std::unique_ptr<SignStateStore> sign_;
  std::unique_ptr<StatusBoard> status_;
  std::unique_ptr<ConsensusDriver> driver_;
};

void Bus::Up(const std::string& id, ClusterMember* member) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [other_id, other] : up_) {
    other->driver().OnPeerConnected(id);
    member->driver().OnPeerConnected(other_id);
  }
  up_[id] = member;
}

void Bus::Send(const std::string& from, const std::string& to, Bytes payload) {
  boost::asio::post(*io_, [this, from, to, payload = std::move(payload)] {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = up_.find(to);
    if (it != up_.end() && up_.count(from) > 0) it->second->Deliver(from, payload);
  });
}

class Cluster {
 public:
  explicit Cluster(size_t validators)
      : chain_(MemberIds(validators), validators), work_(io_.get_executor()), bus_(&io_) {
    for (size_t i = 1; i <= validators; ++i) {
      const std::string id = "v" + std::to_string(i);
      members_.push_back(std::make_unique<Slot>(std::make_unique<ClusterMember>(
          &chain_, id, dir_.File(id), &io_, &pool_, &bus_)));
    }
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~Cluster() {
    for (auto& member : members_) {
      if (member->running) member->value->Crash();
    }
    work_.reset();
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
    pool_.join();
  }

  static std::vector<std::string> MemberIds(size_t validators) {
    std::vector<std::string> ids;
    for (size_t i = 1; i <= validators; ++i) ids.push_back("v" + std::to_string(i));
    ids.push_back("client");
    return ids;
  }

  ClusterMember& member(size_t i) { return *members_[i]->value; }
  void Start(size_t i) {
    members_[i]->value->Start();
    members_[i]->running = true;
  }
  void Crash(size_t i) {
    members_[i]->value->Crash();
    members_[i]->running = false;
  }
  Bytes Note(uint64_t nonce) const { return chain_.NoteTx("client", nonce, "note " + std::to_string(nonce)); }
  const TestChain& chain() const { return chain_; }

 private:
  struct Slot {
    explicit Slot(std::unique_ptr<ClusterMember> member) : value(std::move(member)) {}
    std::unique_ptr<ClusterMember> value;
    bool running = false;
  };
  TestChain chain_;
  test_files::TempDir dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::thread_pool pool_{2};
  Bus bus_;
  std::vector<std::unique_ptr<Slot>> members_;
  std::vector<std::thread> threads_;
};

// Every running member holds the same blocks up to `height`.
void RequireSameChain(Cluster& cluster, const std::vector<size_t>& members, uint64_t height) {
  for (uint64_t h = 1; h <= height; ++h) {
    const absl::StatusOr<Bytes> reference = cluster.member(members[0]).store().GetBlock(h);
    REQUIRE(reference.ok());
    for (size_t i : members) {
      const absl::StatusOr<Bytes> block = cluster.member(i).store().GetBlock(h);
      REQUIRE(block.ok());
      REQUIRE(*block == *reference);
    }
  }
}

bool AllCommitted(Cluster& cluster, const std::vector<size_t>& members, uint64_t nonce_max,
                  std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (size_t i : members) {
      for (uint64_t nonce = 1; nonce <= nonce_max && all; ++nonce) {
        const Bytes tx = cluster.Note(nonce);
        const proto::SignedTx signed_tx = *proto::DecodeSignedTx(tx);
        all = cluster.member(i).store().GetTxLocation(proto::TxId(AsBytes(signed_tx.body()))).ok();
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST_CASE("Four drivers commit block 1, idle on an empty mempool, then commit submitted notes",
          "[integration][driver]") {
  Cluster cluster(4);
  for (size_t i = 0; i < 4; ++i) cluster.Start(i);
  for (size_t i = 0; i < 4; ++i) REQUIRE(cluster.member(i).WaitForHeight(1, 10s));
  // No transactions: no block 2, even across several propose timeouts.
  std::this_thread::sleep_for(1500ms);
  for (size_t i = 0; i < 4; ++i) REQUIRE(cluster.member(i).store().HeadHeight() == 1);

  for (uint64_t nonce = 1; nonce <= 30; ++nonce) {
    REQUIRE(cluster.member(nonce % 4).driver().SubmitTx(cluster.Note(nonce)).ok());
  }
  REQUIRE(AllCommitted(cluster, {0, 1, 2, 3}, 30, 15s));
  const uint64_t height = cluster.member(0).store().HeadHeight();
  for (size_t i = 0; i < 4; ++i) REQUIRE(cluster.member(i).WaitForHeight(height, 5s));
  RequireSameChain(cluster, {0, 1, 2, 3}, height);
  for (size_t i = 0; i < 4; ++i) REQUIRE(cluster.member(i).store().Verify().ok());
  // Every validator signed something, and its sign state is at or past the last height.
  for (size_t i = 0; i < 4; ++i) {
    REQUIRE(cluster.member(i).sign_state().last().state.height >= height);
  }
}

TEST_CASE("A crashed validator restarts, catches up by block sync and votes again",
          "[integration][driver]") {
  Cluster cluster(4);
  for (size_t i = 0; i < 4; ++i) cluster.Start(i);
  for (size_t i = 0; i < 4; ++i) REQUIRE(cluster.member(i).WaitForHeight(1, 10s));
  cluster.Crash(3);
  // Three of four (30 of 40 power) still make a quorum.
  for (uint64_t nonce = 1; nonce <= 20; ++nonce) {
    REQUIRE(cluster.member(nonce % 3).driver().SubmitTx(cluster.Note(nonce)).ok());
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(AllCommitted(cluster, {0, 1, 2}, 20, 20s));
  const uint64_t height = cluster.member(0).store().HeadHeight();
  REQUIRE(height >= 2);

  cluster.Start(3);
  REQUIRE(cluster.member(3).WaitForHeight(height, 15s));
  RequireSameChain(cluster, {0, 1, 2, 3}, height);

  // With v3 down, the remaining three need v4's vote: the chain moves only if v4 votes again.
  cluster.Crash(2);
  for (uint64_t nonce = 21; nonce <= 25; ++nonce) {
    REQUIRE(cluster.member(nonce % 2).driver().SubmitTx(cluster.Note(nonce)).ok());
  }
  REQUIRE(AllCommitted(cluster, {0, 1, 3}, 25, 20s));
  const uint64_t later = cluster.member(0).store().HeadHeight();
  REQUIRE(cluster.member(3).WaitForHeight(later, 5s));
  RequireSameChain(cluster, {0, 1, 3}, later);
}

TEST_CASE("With two of four validators down nothing commits; restarted, the chain resumes",
          "[integration][driver]") {
  Cluster cluster(4);
  for (size_t i = 0; i < 4; ++i) cluster.Start(i);
  for (size_t i = 0; i < 4; ++i) REQUIRE(cluster.member(i).WaitForHeight(1, 10s));
  cluster.Crash(2);
  cluster.Crash(3);
  REQUIRE(cluster.member(0).driver().SubmitTx(cluster.Note(1)).ok());
  std::this_thread::sleep_for(2s);
  REQUIRE(cluster.member(0).store().HeadHeight() == 1);
  REQUIRE(cluster.member(1).store().HeadHeight() == 1);
  cluster.Start(2);
  cluster.Start(3);
  REQUIRE(AllCommitted(cluster, {0, 1, 2, 3}, 1, 20s));
  const uint64_t height = cluster.member(0).store().HeadHeight();
  for (size_t i = 0; i < 4; ++i) REQUIRE(cluster.member(i).WaitForHeight(height, 5s));
  RequireSameChain(cluster, {0, 1, 2, 3}, height);
}

}  // namespace
}  // namespace lading::node
