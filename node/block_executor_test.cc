#include "node/block_executor.h"

#include <catch2/catch.hpp>
#include <string>

#include "contracts/records.h"
#include "contracts/testing/test_chain.h"
#include "node/state_view.h"
#include "node/testing/chain_builder.h"
#include "node/testing/chain_fixture.h"
#include "node/testing/store_files.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

using contracts::testing::CountingSignatureCheck;
using contracts::testing::TestChain;
using testing::TestNode;

const std::vector<std::string> kMembers = {"val-a", "val-b", "val-c", "val-d",
                                           "milchpulver", "fangxin", "mrt-logistics"};

std::unique_ptr<TestNode> MakeNode(const TestChain& chain,
                                   const contracts::SignatureCheck* verifier = nullptr) {
  auto node = TestNode::Create(&chain, verifier);
  REQUIRE(node.ok());
  return std::move(node).value();
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// `block_bytes` with its header replaced by `edit(header)`.
template <typename Edit>
Bytes WithHeader(const Bytes& block_bytes, Edit edit) {
  proto::Block block = *proto::DecodeBlock(block_bytes);
  proto::BlockHeader header = *proto::DecodeBlockHeader(AsBytes(block.header()));
  edit(header);
  block.set_header(ToString(proto::Serialize(header)));
  return proto::Serialize(block);
}

std::string Hex(const std::string& bytes) { return HexEncode(AsBytes(bytes)); }

TEST_CASE("a built block applies, advancing the state and the chain", "[unit][node]") {
  const TestChain chain(kMembers, 4);
  auto node = MakeNode(chain);
  const Hash256 genesis_root = *node->store().GenesisStateRoot();

  auto built = node->Build({chain.NoteTx("milchpulver", 1, "contract"),
                            chain.NoteTx("fangxin", 1, "counter-signature")});
  REQUIRE(built.ok());
  CHECK(built->included_count == 2);
  CHECK(built->rejected.empty());
  const proto::BlockHeader header = built->prepared.append.header;
  CHECK(header.height() == 1);
  CHECK(header.proposer() == "val-a");
  CHECK(header.prev_block_hash().empty());
  CHECK(header.last_commit_hash().empty());
  CHECK(header.committee_hash() == ToString(node->committee_hash().span()));
  CHECK(header.state_root() != ToString(genesis_root.span()));
  CHECK(built->prepared.append.commit.empty());

  const Hash256 block_hash = built->prepared.block_hash;
  REQUIRE(node->Apply(std::move(built->prepared)).ok());
  CHECK(node->store().HeadHeight() == 1);
  CHECK(node->store().HeadBlockHash() == block_hash);
  const StoreStateView view(&node->store());
  CHECK(*contracts::ReadNextNonce(view, "milchpulver") == 2);
  CHECK(*contracts::ReadNextNonce(view, "fangxin") == 2);
  CHECK(ToString(HeadStateRoot(node->store())->span()) == header.state_root());

  // Block 2 links to block 1 and carries its commit.
  auto second = node->Build({chain.NoteTx("milchpulver", 2, "invoice")});
  REQUIRE(second.ok());
  const proto::BlockHeader header2 = second->prepared.append.header;
  CHECK(header2.prev_block_hash() == ToString(block_hash.span()));
  CHECK(header2.last_commit_hash() ==
        ToString(proto::CommitHash(*node->store().GetCommit(1)).span()));
  REQUIRE(node->Apply(std::move(second->prepared)).ok());
  CHECK(node->store().Verify().ok());
}

TEST_CASE("building skips invalid candidates and reports why", "[unit][node]") {
  const TestChain chain(kMembers, 4);
  const TestChain outsiders({"ghost"}, 0);
  auto node = MakeNode(chain);
  auto built = node->Build({chain.NoteTx("milchpulver", 1, "ok"),
                            chain.NoteTx("milchpulver", 1, "replay"),
                            outsiders.NoteTx("ghost", 1, "boo"),
                            chain.NoteTx("fangxin", 2, "gap"),
                            chain.NoteTx("fangxin", 1, "ok")});
  REQUIRE(built.ok());
  CHECK(built->included_count == 2);
  REQUIRE(built->rejected.size() == 3);
  CHECK(built->rejected[0].index == 1);
  CHECK(Message(built->rejected[0].reason) == "nonce 1 already used by milchpulver (next is 2)");
  CHECK(built->rejected[1].index == 2);
  CHECK(built->rejected[1].reason.code() == absl::StatusCode::kPermissionDenied);
  CHECK(built->rejected[2].index == 3);
  CHECK(Message(built->rejected[2].reason) == "nonce 2 is ahead of fangxin's next nonce 1");
  auto block = proto::DecodeBlock(built->prepared.append.block);
  REQUIRE(block.ok());
  CHECK(block->txs_size() == 2);
  CHECK(node->Validate(built->prepared.append.block).ok());
}

TEST_CASE("building stops at the byte budget", "[unit][node]") {
  const TestChain chain(kMembers, 4);
  auto node = MakeNode(chain);
  std::vector<Bytes> txs;
  for (uint64_t nonce = 1; nonce <= 10; ++nonce) {
    txs.push_back(chain.NoteTx("milchpulver", nonce, std::string(1000, 'x')));
  }
  auto empty = node->Build({});
  REQUIRE(empty.ok());
  const size_t empty_bytes = empty->prepared.append.block.size();

  auto params = node->NextBlockParams();
  REQUIRE(params.ok());
  params->block_bytes_max = empty_bytes + 3 * (txs[0].size() + 3) + 10;
  auto built = BuildBlock(node->store(), *params, txs, node->signatures());
  REQUIRE(built.ok());
  CHECK(built->included_count == 3);
  CHECK(built->not_tried_count == 7);
  CHECK(built->prepared.append.block.size() <= params->block_bytes_max);

  params->block_bytes_max = empty_bytes - 1;
  auto too_small = BuildBlock(node->store(), *params, txs, node->signatures());
  CHECK(too_small.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(Message(too_small.status()), Catch::Contains("is below the empty block's"));
}

TEST_CASE("building needs a genesis state and the right last commit", "[unit][node]") {
  const TestChain chain(kMembers, 4);
  testing::TempDir dir;
  auto store = RocksDbBlockStore::Open(dir.Sub("store"), {.chain_id = "lading-test"});
  REQUIRE(store.ok());
  BuildBlockParams params{.chain_id = "lading-test", .proposer = "val-a"};
  const contracts::VerifyingSignatureCheck verify;
  auto no_genesis = BuildBlock(**store, params, {}, verify);
  CHECK(no_genesis.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(Message(no_genesis.status()), Catch::Contains("initialise it from the genesis"));

  auto node = MakeNode(chain);
  params = *node->NextBlockParams();
  params.last_commit = Bytes{1, 2, 3};
  CHECK(BuildBlock(node->store(), params, {}, node->signatures()).status().code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(node->Apply(std::move(node->Build({})->prepared)).ok());
  params = *node->NextBlockParams();
  params.last_commit.clear();
  auto missing = BuildBlock(node->store(), params, {}, node->signatures());
  CHECK(Message(missing.status()) == "block 2 needs the commit of block 1");
}

TEST_CASE("block times never go backwards", "[unit][node]") {
  const TestChain chain(kMembers, 4);
  auto node = MakeNode(chain);
  auto params = *node->NextBlockParams();
  params.time_unix_ms = chain.genesis().genesis_time_unix_ms() - 5000;
  auto built = BuildBlock(node->store(), params, {}, node->signatures());
  REQUIRE(built.ok());
  CHECK(built->prepared.append.header.time_unix_ms() == chain.genesis().genesis_time_unix_ms());

  const Bytes early = WithHeader(built->prepared.append.block, [](proto::BlockHeader& header) {
    header.set_time_unix_ms(header.time_unix_ms() - 1);
  });
  auto validated = node->Validate(early);
  CHECK(Message(validated.status()) ==
        "block 1: time_unix_ms 1699999999999 is before the genesis time 1700000000000");
}

TEST_CASE("two nodes from one genesis fed the same blocks agree at every height",
          "[unit][node]") {
  const TestChain chain(kMembers, 4);
  auto proposer = MakeNode(chain);
  auto validator = MakeNode(chain);
  REQUIRE(*proposer->store().GenesisStateRoot() == *validator->store().GenesisStateRoot());
  REQUIRE(proposer->committee_hash() == validator->committee_hash());

  const std::vector<std::string> signers = {"milchpulver", "fangxin", "mrt-logistics"};
  for (uint64_t height = 1; height <= 8; ++height) {
    CAPTURE(height);
    std::vector<Bytes> txs;
    for (size_t i = 0; i < height % 4; ++i) {
      const std::string& signer = signers[(height + i) % signers.size()];
      const uint64_t nonce = *contracts::ReadNextNonce(StoreStateView(&proposer->store()), signer);
      txs.push_back(chain.NoteTx(signer, nonce, "height " + std::to_string(height)));
      if (i == 0 && height % 3 == 0) {
        txs.push_back(chain.NoteTx(signer, nonce + 1, "second of the same signer"));
      }
    }
    auto built = proposer->Build(txs);
    REQUIRE(built.ok());
    REQUIRE(built->rejected.empty());
    const Bytes block = built->prepared.append.block;

    auto validated = validator->Validate(block);
    REQUIRE(validated.ok());
    CHECK(validated->block_hash == built->prepared.block_hash);
    CHECK(validated->append.block == block);
    CHECK(validated->append.state_puts == built->prepared.append.state_puts);
    CHECK(validated->append.state_deletes == built->prepared.append.state_deletes);

    REQUIRE(proposer->Apply(std::move(built->prepared)).ok());
    REQUIRE(validator->Apply(std::move(validated).value()).ok());
    CHECK(proposer->store().HeadBlockHash() == validator->store().HeadBlockHash());
    CHECK(*HeadStateRoot(proposer->store()) == *HeadStateRoot(validator->store()));
    CHECK(*proposer->store().GetBlock(height) == *validator->store().GetBlock(height));
  }
  CHECK(proposer->store().HeadHeight() == 8);
  CHECK(proposer->store().Verify().ok());
  CHECK(validator->store().Verify().ok());
}

struct TamperFixture {
  TamperFixture() : chain(kMembers, 4), proposer(MakeNode(chain)), validator(MakeNode(chain)) {
    // Height 2, so that links and the last commit are exercised too.
    auto first = proposer->Build({chain.NoteTx("milchpulver", 1, "first")});
    REQUIRE(first.ok());
    auto first_validated = validator->Validate(first->prepared.append.block);
    REQUIRE(first_validated.ok());
    REQUIRE(proposer->Apply(std::move(first->prepared)).ok());
    REQUIRE(validator->Apply(std::move(first_validated).value()).ok());
    auto built = proposer->Build({chain.NoteTx("milchpulver", 2, "second"),
                                  chain.NoteTx("fangxin", 1, "third")});
    REQUIRE(built.ok());
    block = built->prepared.append.block;
    header = built->prepared.append.header;
    REQUIRE(validator->Validate(block).ok());
  }

  std::string Error(const Bytes& tampered) const {
    auto result = validator->Validate(tampered);
    REQUIRE(!result.ok());
    return Message(result.status());
  }

  TestChain chain;
  std::unique_ptr<TestNode> proposer;
  std::unique_ptr<TestNode> validator;
  Bytes block;
  proto::BlockHeader header;
};

TEST_CASE("a block with a changed state root fails validation naming the mismatch",
          "[unit][node]") {
  const TamperFixture f;
  std::string bad_root = f.header.state_root();
  bad_root[0] ^= 0x01;
  const Bytes tampered =
      WithHeader(f.block, [&](proto::BlockHeader& header) { header.set_state_root(bad_root); });
  CHECK(f.Error(tampered) == "block 2: state_root " + Hex(bad_root) + " != recomputed " +
                                 Hex(f.header.state_root()));
}

TEST_CASE("a block with a changed transaction fails validation", "[unit][node]") {
  const TamperFixture f;
  proto::Block block = *proto::DecodeBlock(f.block);
  proto::SignedTx tx = *proto::DecodeSignedTx(AsBytes(block.txs(1)));
  proto::TxBody body = *proto::DecodeTxBody(AsBytes(tx.body()));
  body.mutable_note()->set_text("third, altered");
  tx.set_body(ToString(proto::Serialize(body)));
  block.set_txs(1, ToString(proto::Serialize(tx)));
  const Bytes changed = proto::Serialize(block);
  const Hash256 recomputed = *proto::TxsRoot(block);
  CHECK(f.Error(changed) == "block 2: txs_root " + Hex(f.header.txs_root()) + " != recomputed " +
                                recomputed.ToHex());

  // With the txs_root fixed up as well, the signature gives the change away.
  const Bytes resealed = WithHeader(changed, [&](proto::BlockHeader& header) {
    header.set_txs_root(ToString(recomputed.span()));
  });
  const std::string error = f.Error(resealed);
  CHECK_THAT(error, Catch::StartsWith("block 2: block transaction 1: signature of fangxin on "
                                      "transaction "));
  auto status = f.validator->Validate(resealed).status();
  CHECK(status.code() == absl::StatusCode::kUnauthenticated);
}

TEST_CASE("a block whose header does not fit the chain fails validation naming the field",
          "[unit][node]") {
  const TamperFixture f;
  const std::string zero(32, '\0');
  CHECK(f.Error(WithHeader(f.block, [](proto::BlockHeader& h) { h.set_height(3); })) ==
        "block 3: height 3 != expected 2");
  CHECK(f.Error(WithHeader(f.block, [](proto::BlockHeader& h) { h.set_chain_id("other"); })) ==
        "block 2: chain id 'other' != this chain's 'lading-test'");
  CHECK_THAT(f.Error(WithHeader(f.block, [&](proto::BlockHeader& h) { h.set_prev_block_hash(zero); })),
             Catch::StartsWith("block 2: prev_block_hash " + Hex(zero) + " != head block hash "));
  CHECK(f.Error(WithHeader(f.block, [&](proto::BlockHeader& h) { h.set_committee_hash(zero); })) ==
        "block 2: committee_hash " + Hex(zero) + " != expected " +
            f.validator->committee_hash().ToHex());
  CHECK_THAT(f.Error(WithHeader(f.block, [&](proto::BlockHeader& h) { h.set_last_commit_hash(zero); })),
             Catch::StartsWith("block 2: last_commit_hash " + Hex(zero) + " != recomputed "));
  CHECK_THAT(f.Error(Bytes{0xff, 0xff}), Catch::StartsWith("Block of 2 bytes does not parse"));
}

TEST_CASE("a block whose last commit is for another block fails validation", "[unit][node]") {
  const TamperFixture f;
  proto::Block block = *proto::DecodeBlock(f.block);
  const Hash256 other_hash = proto::BlockHash(AsBytes("not block 1"));
  const Bytes other_commit = testing::SignedCommit(f.chain, 1, other_hash);
  block.set_last_commit(ToString(other_commit));
  const Bytes tampered =
      WithHeader(proto::Serialize(block), [&](proto::BlockHeader& header) {
        header.set_last_commit_hash(ToString(proto::CommitHash(other_commit).span()));
      });
  CHECK_THAT(f.Error(tampered),
             Catch::StartsWith("block 2: last_commit is for height 1 block " + other_hash.ToHex()));
}

TEST_CASE("a block with one bad transaction is invalid as a whole", "[unit][node]") {
  const TamperFixture f;
  // A third transaction replaying nonce 2 of milchpulver, with a correct txs_root.
  proto::Block block = *proto::DecodeBlock(f.block);
  block.add_txs(ToString(f.chain.NoteTx("milchpulver", 2, "double")));
  const Hash256 txs_root = *proto::TxsRoot(block);
  const Bytes tampered = WithHeader(proto::Serialize(block), [&](proto::BlockHeader& header) {
    header.set_txs_root(ToString(txs_root.span()));
  });
  auto result = f.validator->Validate(tampered);
  CHECK(result.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(Message(result.status()) ==
        "block 2: block transaction 2: nonce 2 already used by milchpulver (next is 3)");
  // The validator's state is untouched: the original block still validates and applies.
  auto validated = f.validator->Validate(f.block);
  REQUIRE(validated.ok());
}

TEST_CASE("a prepared block for an old head is refused by the store", "[unit][node]") {
  const TestChain chain(kMembers, 4);
  auto node = MakeNode(chain);
  auto first = node->Build({chain.NoteTx("milchpulver", 1, "a")});
  auto rival = node->Build({chain.NoteTx("fangxin", 1, "b")});
  REQUIRE(first.ok());
  REQUIRE(rival.ok());
  REQUIRE(node->Apply(std::move(first->prepared)).ok());
  const absl::Status status = node->Apply(std::move(rival->prepared));
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(node->store().HeadHeight() == 1);
}

TEST_CASE("a store holding blocks refuses a genesis state", "[unit][node]") {
  testing::TempDir dir;
  auto store = RocksDbBlockStore::Open(dir.Sub("store"), {.chain_id = "lading-test"});
  REQUIRE(store.ok());
  testing::ChainBuilder builder(testing::ChainBuilderOptions{});
  REQUIRE((*store)->Append(builder.Next()).ok());
  const TestChain chain(kMembers, 4);
  const absl::Status status = InitializeStore(store->get(), chain.genesis());
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(Message(status), Catch::Contains("already holds blocks up to height 1"));
}

TEST_CASE("each signature is verified once per node across mempool, build and validation",
          "[unit][node]") {
  const TestChain chain(kMembers, 4);
  const CountingSignatureCheck proposer_counter;
  const CountingSignatureCheck validator_counter;
  auto proposer = MakeNode(chain, &proposer_counter);
  auto validator = MakeNode(chain, &validator_counter);
  Mempool mempool(chain.chain_id(), &proposer->store(), &proposer->signatures());

  const std::vector<Bytes> txs = {chain.NoteTx("milchpulver", 1, "a"),
                                  chain.NoteTx("fangxin", 1, "b"),
                                  chain.NoteTx("milchpulver", 2, "c")};
  for (const Bytes& tx : txs) REQUIRE(mempool.Add(tx).ok());
  CHECK(proposer_counter.calls() == 3);

  auto built = proposer->Build(mempool.Reap(proto::kBlockBytesMax));
  REQUIRE(built.ok());
  REQUIRE(built->included_count == 3);
  CHECK(proposer_counter.calls() == 3);  // build: all hits
  CHECK(proposer->Validate(built->prepared.append.block).ok());
  CHECK(proposer_counter.calls() == 3);  // the proposer validating its own block: hits

  // A validator that never saw the transactions verifies each once, then remembers them
  // through a re-proposal of the same block.
  REQUIRE(validator->Validate(built->prepared.append.block).ok());
  CHECK(validator_counter.calls() == 3);
  auto validated = validator->Validate(built->prepared.append.block);
  REQUIRE(validated.ok());
  CHECK(validator_counter.calls() == 3);

  const proto::Block block = *proto::DecodeBlock(built->prepared.append.block);
  REQUIRE(proposer->Apply(std::move(built->prepared)).ok());
  REQUIRE(validator->Apply(std::move(validated).value()).ok());
  REQUIRE(mempool.RemoveCommitted(block).ok());
  CHECK(mempool.size() == 0);
  CHECK(proposer->signatures().size() == 0);  // committed: forgotten
  CHECK(proposer_counter.calls() == 3);
}

}  // namespace
}  // namespace lading::node
