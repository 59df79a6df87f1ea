#include "node/mempool.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "contracts/testing/test_chain.h"
#include "node/testing/chain_fixture.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

using contracts::testing::CountingSignatureCheck;
using contracts::testing::TestChain;
using testing::TestNode;

const std::vector<std::string> kMembers = {"val-a", "val-b", "val-c", "val-d",
                                           "alpha", "bravo", "charlie"};

struct Fixture {
  explicit Fixture(MempoolOptions options = {}) : chain(kMembers, 4) {
    auto created = TestNode::Create(&chain, &counter);
    REQUIRE(created.ok());
    node = std::move(created).value();
    mempool = std::make_unique<Mempool>(chain.chain_id(), &node->store(), &node->signatures(),
                                        options);
  }

  Hash256 Add(const Bytes& tx) {
    auto id = mempool->Add(tx);
    REQUIRE(id.ok());
    return *id;
  }

  // Commits a block of `txs` (which must all execute) and tells the mempool.
  void Commit(const std::vector<Bytes>& txs) {
    auto built = node->Build(txs);
    REQUIRE(built.ok());
    REQUIRE(built->rejected.empty());
    const proto::Block block = *proto::DecodeBlock(built->prepared.append.block);
    REQUIRE(node->Apply(std::move(built->prepared)).ok());
    REQUIRE(mempool->RemoveCommitted(block).ok());
  }

  static Hash256 IdOf(const Bytes& tx) {
    return proto::TxId(AsBytes(proto::DecodeSignedTx(tx)->body()));
  }

  TestChain chain;
  CountingSignatureCheck counter;
  std::unique_ptr<TestNode> node;
  std::unique_ptr<Mempool> mempool;
};

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST_CASE("the mempool accepts a valid transaction once", "[unit][node][mempool]") {
  Fixture f;
  const Bytes tx = f.chain.NoteTx("alpha", 1, "hello");
  const Hash256 id = f.Add(tx);
  CHECK(id == Fixture::IdOf(tx));
  CHECK(f.mempool->Contains(id));
  CHECK(f.mempool->size() == 1);
  CHECK(f.mempool->bytes() == tx.size());

  auto again = f.mempool->Add(tx);
  CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(Message(again.status()) == "transaction " + id.ToHex() + " is already in mempool");
  CHECK(f.counter.calls() == 1);  // the duplicate cost no signature check
  CHECK(f.mempool->size() == 1);
}

TEST_CASE("the mempool refuses what execution would refuse", "[unit][node][mempool]") {
  Fixture f;
  const TestChain outsiders({"ghost"}, 0);
  CHECK(f.mempool->Add(outsiders.NoteTx("ghost", 1, "boo")).status().code() ==
        absl::StatusCode::kPermissionDenied);
  proto::TxBody body = f.chain.NoteBody("alpha", 1, "x");
  CHECK(f.mempool->Add(f.chain.Sign("bravo", body)).status().code() ==
        absl::StatusCode::kUnauthenticated);
  body.set_chain_id("other-chain");
  CHECK(Message(f.mempool->Add(f.chain.Sign("alpha", body)).status()) ==
        "transaction is for chain 'other-chain', this chain is 'lading-test'");
  CHECK(f.mempool->Add(Bytes{0xff}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(f.mempool->size() == 0);
}

TEST_CASE("the mempool refuses nonces used by committed state and taken nonces",
          "[unit][node][mempool]") {
  Fixture f;
  f.Commit({f.chain.NoteTx("alpha", 1, "one"), f.chain.NoteTx("alpha", 2, "two")});
  auto used = f.mempool->Add(f.chain.NoteTx("alpha", 2, "two again, reworded"));
  CHECK(used.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(Message(used.status()) == "nonce 2 already used by alpha (next is 3)");

  const Hash256 first = f.Add(f.chain.NoteTx("alpha", 3, "three"));
  auto taken = f.mempool->Add(f.chain.NoteTx("alpha", 3, "three, another version"));
  CHECK(taken.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(Message(taken.status()) ==
        "nonce 3 of alpha is already taken by transaction " + first.ToHex() + " in mempool");
}

TEST_CASE("the mempool refuses a transaction already expired for the next block",
          "[unit][node][mempool]") {
  Fixture f;
  f.Commit({});
  f.Commit({});
  auto expired = f.mempool->Add(f.chain.NoteTx("alpha", 1, "late", 2));
  CHECK(expired.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Message(expired.status()) == "transaction expired at height 2; this block is at height 3");
  CHECK(f.mempool->Add(f.chain.NoteTx("alpha", 1, "in time", 3)).ok());
}

TEST_CASE("a transaction with a nonce gap waits until the gap is filled",
          "[unit][node][mempool]") {
  Fixture f;
  const Bytes third = f.chain.NoteTx("alpha", 3, "3");
  const Bytes second = f.chain.NoteTx("alpha", 2, "2");
  const Bytes first = f.chain.NoteTx("alpha", 1, "1");
  f.Add(third);
  f.Add(second);
  CHECK(f.mempool->Reap(1u << 20).empty());
  f.Add(first);
  CHECK(f.mempool->Reap(1u << 20) == std::vector<Bytes>{first, second, third});
}

TEST_CASE("the number of transactions waiting for a nonce is bounded per signer",
          "[unit][node][mempool]") {
  Fixture f(MempoolOptions{.future_txs_per_signer_max = 2});
  f.Add(f.chain.NoteTx("alpha", 3, "3"));
  f.Add(f.chain.NoteTx("alpha", 5, "5"));
  auto refused = f.mempool->Add(f.chain.NoteTx("alpha", 4, "4"));
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(Message(refused.status()) ==
        "alpha already has 2 transactions waiting for nonce 1, the limit; nonce 4 must wait "
        "until that one arrives");
  // The missing nonces are always welcome, and make room.
  f.Add(f.chain.NoteTx("alpha", 1, "1"));
  f.Add(f.chain.NoteTx("alpha", 2, "2"));
  f.Add(f.chain.NoteTx("alpha", 4, "4"));
  CHECK(f.mempool->Reap(1u << 20).size() == 5);
  // Other signers have their own allowance.
  f.Add(f.chain.NoteTx("bravo", 7, "7"));
}

TEST_CASE("the mempool is bounded per signer, by count and by bytes", "[unit][node][mempool]") {
  SECTION("per signer") {
    Fixture f(MempoolOptions{.txs_per_signer_max = 2});
    f.Add(f.chain.NoteTx("alpha", 1, "1"));
    f.Add(f.chain.NoteTx("alpha", 2, "2"));
    auto refused = f.mempool->Add(f.chain.NoteTx("alpha", 3, "3"));
    CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK(Message(refused.status()) == "alpha has 2 transactions in mempool, the per-signer limit");
    f.Add(f.chain.NoteTx("bravo", 1, "1"));
  }
  SECTION("by count") {
    Fixture f(MempoolOptions{.txs_max = 3});
    size_t bytes = 0;
    for (const char* signer : {"alpha", "bravo", "charlie"}) {
      bytes += f.chain.NoteTx(signer, 1, "x").size();
      f.Add(f.chain.NoteTx(signer, 1, "x"));
    }
    auto full = f.mempool->Add(f.chain.NoteTx("alpha", 2, "x"));
    CHECK(full.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK(Message(full.status()) == "mempool full (3 txs, " + std::to_string(bytes) + " bytes)");
    CHECK(f.mempool->size() == 3);
  }
  SECTION("by bytes") {
    Fixture f;
    const Bytes tx = f.chain.NoteTx("alpha", 1, std::string(1000, 'x'));
    Fixture small(MempoolOptions{.bytes_max = 2 * tx.size()});
    small.Add(small.chain.NoteTx("alpha", 1, std::string(1000, 'x')));
    small.Add(small.chain.NoteTx("bravo", 1, std::string(1000, 'x')));
    auto full = small.mempool->Add(small.chain.NoteTx("charlie", 1, "tiny"));
    CHECK(Message(full.status()) ==
          "mempool full (2 txs, " + std::to_string(2 * tx.size()) + " bytes)");
  }
}

TEST_CASE("reaping interleaves signers fairly in arrival order, each in nonce order",
          "[unit][node][mempool]") {
  Fixture f;
  const Bytes a1 = f.chain.NoteTx("charlie", 1, "c1");
  const Bytes a2 = f.chain.NoteTx("charlie", 2, "c2");
  const Bytes b1 = f.chain.NoteTx("alpha", 1, "a1");
  const Bytes c1 = f.chain.NoteTx("bravo", 1, "b1");
  const Bytes c2 = f.chain.NoteTx("bravo", 2, "b2");
  const Bytes c3 = f.chain.NoteTx("bravo", 3, "b3");
  const Bytes b2 = f.chain.NoteTx("alpha", 2, "a2");
  for (const Bytes* tx : {&c3, &a1, &a2, &b1, &c1, &c2, &b2}) f.Add(*tx);
  // charlie's first ready tx arrived first, then alpha's, then bravo's (its nonce 3 arrived
  // earlier but was not ready).
  const std::vector<Bytes> expected = {a1, b1, c1, a2, b2, c2, c3};
  CHECK(f.mempool->Reap(1u << 20) == expected);
  CHECK(f.mempool->Reap(1u << 20) == expected);  // reaping removes nothing

  // A budget that fits three: the first round.
  const size_t three = a1.size() + b1.size() + c1.size();
  CHECK(f.mempool->Reap(three) == std::vector<Bytes>{a1, b1, c1});
  CHECK(f.mempool->Reap(0).empty());
}

TEST_CASE("reaping skips a signer whose next transaction does not fit and serves the others",
          "[unit][node][mempool]") {
  Fixture f;
  const Bytes big = f.chain.NoteTx("alpha", 1, std::string(3000, 'x'));
  const Bytes big_next = f.chain.NoteTx("alpha", 2, "small but after big");
  const Bytes small1 = f.chain.NoteTx("bravo", 1, "s1");
  const Bytes small2 = f.chain.NoteTx("bravo", 2, "s2");
  for (const Bytes* tx : {&big, &big_next, &small1, &small2}) f.Add(*tx);
  CHECK(f.mempool->Reap(1000) == std::vector<Bytes>{small1, small2});
}

TEST_CASE("committed, stale and expired transactions leave the mempool", "[unit][node][mempool]") {
  Fixture f;
  const Bytes a1 = f.chain.NoteTx("alpha", 1, "a1");
  const Bytes a2 = f.chain.NoteTx("alpha", 2, "a2");
  const Bytes b1 = f.chain.NoteTx("bravo", 1, "b1 pending");
  const Bytes c1 = f.chain.NoteTx("charlie", 1, "c1 expiring", 1);
  for (const Bytes* tx : {&a1, &a2, &b1, &c1}) f.Add(*tx);
  CHECK(f.node->signatures().size() == 4);

  // Another proposer's block commits a1 and a different bravo nonce 1 (b1 becomes stale), and
  // moves the chain to height 1, after which c1 (expiring at 1) cannot be included any more.
  f.Commit({a1, f.chain.NoteTx("bravo", 1, "b1 from another node")});
  CHECK(f.mempool->size() == 1);
  CHECK(f.mempool->Contains(Fixture::IdOf(a2)));
  CHECK(!f.mempool->Contains(Fixture::IdOf(b1)));
  CHECK(!f.mempool->Contains(Fixture::IdOf(c1)));
  CHECK(f.mempool->bytes() == a2.size());
  CHECK(f.mempool->Reap(1u << 20) == std::vector<Bytes>{a2});
  // Only a2's verified signature is still remembered (plus the one checked while building).
  CHECK(f.node->signatures().size() == 1);
}

TEST_CASE("the verified signature cache is bounded and keyed by signer key too",
          "[unit][node][mempool]") {
  const TestChain chain({"val-a", "alpha", "bravo"}, 1);
  const CountingSignatureCheck counter;
  VerifiedSignatureCache cache(2, &counter);
  auto check = [&](const Bytes& tx_bytes, const std::string& key_of) {
    const proto::SignedTx tx = *proto::DecodeSignedTx(tx_bytes);
    return cache.Check(proto::SignedTxHash(tx_bytes), chain.key(key_of).public_key(),
                       AsBytes(tx.body()), AsBytes(tx.signature()));
  };
  const Bytes t1 = chain.NoteTx("alpha", 1, "1");
  const Bytes t2 = chain.NoteTx("alpha", 2, "2");
  const Bytes t3 = chain.NoteTx("alpha", 3, "3");
  REQUIRE(check(t1, "alpha").ok());
  REQUIRE(check(t1, "alpha").ok());
  CHECK(counter.calls() == 1);
  CHECK(cache.verifications() == 1);
  // Under another key the signature is checked again, and fails.
  CHECK(check(t1, "bravo").code() == absl::StatusCode::kUnauthenticated);
  CHECK(counter.calls() == 2);
  CHECK(cache.verifications() == 2);
  REQUIRE(check(t2, "alpha").ok());
  REQUIRE(check(t3, "alpha").ok());
  CHECK(cache.size() == 2);
  CHECK(counter.calls() == 4);
  REQUIRE(check(t1, "alpha").ok());  // t1 was the oldest and was forgotten
  CHECK(counter.calls() == 5);
  REQUIRE(check(t3, "alpha").ok());
  CHECK(counter.calls() == 5);
  cache.Forget(proto::SignedTxHash(t3));
  REQUIRE(check(t3, "alpha").ok());
  CHECK(counter.calls() == 6);
}

TEST_CASE("concurrent additions from many threads are all accounted for",
          "[unit][node][mempool]") {
  Fixture f;
  const std::vector<std::string> signers = {"alpha", "bravo", "charlie", "val-a"};
  std::vector<std::vector<Bytes>> txs(signers.size());
  for (size_t s = 0; s < signers.size(); ++s) {
    for (uint64_t nonce = 1; nonce <= 10; ++nonce) {
      txs[s].push_back(f.chain.NoteTx(signers[s], nonce, "n" + std::to_string(nonce)));
    }
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (size_t s = 0; s < signers.size(); ++s) {
    threads.emplace_back([&, s] {
      for (const Bytes& tx : txs[s]) {
        if (!f.mempool->Add(tx).ok()) failures.fetch_add(1);
        f.mempool->Reap(4096);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures.load() == 0);
  CHECK(f.mempool->size() == 40);
  CHECK(f.mempool->Reap(1u << 24).size() == 40);
}

}  // namespace
}  // namespace lading::node

namespace lading::node {
namespace {

TEST_CASE("the pending next nonce skips the signer's gap-free pending transactions",
          "[unit][node][mempool]") {
  Fixture f;
  CHECK(f.mempool->PendingNextNonce("alpha", 1) == 1);
  f.Add(f.chain.NoteTx("alpha", 1, "a"));
  f.Add(f.chain.NoteTx("alpha", 2, "b"));
  f.Add(f.chain.NoteTx("alpha", 4, "d"));  // waits behind the missing 3
  CHECK(f.mempool->PendingNextNonce("alpha", 1) == 3);
  CHECK(f.mempool->PendingNextNonce("beta", 1) == 1);
  f.Commit({f.chain.NoteTx("alpha", 1, "a")});
  CHECK(f.mempool->PendingNextNonce("alpha", 2) == 3);
}

}  // namespace
}  // namespace lading::node

namespace lading::node {
namespace {

TEST_CASE("a transaction arriving after its block is refused without a second signature check",
          "[unit][node][mempool]") {
  Fixture f;
  const Bytes tx = f.chain.NoteTx("alpha", 1, "late gossip");
  f.Add(tx);
  f.Commit({tx});
  const uint64_t verified = f.counter.calls();
  const absl::StatusOr<Hash256> again = f.mempool->Add(tx);
  CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(Message(again.status()) == "nonce 1 already used by alpha (next is 2)");
  CHECK(f.counter.calls() == verified);
}

}  // namespace
}  // namespace lading::node
