#include "contracts/executor.h"

#include <catch2/catch.hpp>
#include <string>

#include "contracts/genesis_state.h"
#include "contracts/records.h"
#include "contracts/testing/test_chain.h"
#include "crypto/hash.h"
#include "proto/ledger.h"

namespace lading::contracts {
namespace {

using testing::TestChain;

const VerifyingSignatureCheck kVerify;

struct Fixture {
  Fixture() : chain({"val-a", "val-b", "milchpulver", "fangxin"}, 2) {
    auto writes = GenesisWrites(chain.genesis());
    REQUIRE(writes.ok());
    genesis_state.Apply(*writes);
  }

  absl::Status Execute(StateOverlay* overlay, const Bytes& tx, uint64_t height = 1) const {
    return ExecuteTx(overlay, chain.chain_id(), height, tx, kVerify);
  }

  // Executes milchpulver's nonces 1..count into `overlay`.
  void Advance(StateOverlay* overlay, uint64_t count) const {
    for (uint64_t nonce = 1; nonce <= count; ++nonce) {
      REQUIRE(Execute(overlay, chain.NoteTx("milchpulver", nonce, "note")).ok());
    }
  }

  // Expects `tx` to fail with `code` and exactly `message`, leaving `overlay` unchanged.
  void ExpectRejected(StateOverlay* overlay, const Bytes& tx, absl::StatusCode code,
                      const std::string& message, uint64_t height = 1) const {
    const std::vector<StateWrite> before = overlay->Writes();
    const absl::Status status = Execute(overlay, tx, height);
    CHECK(status.code() == code);
    CHECK(std::string(status.message()) == message);
    CHECK(overlay->Writes() == before);
  }

  TestChain chain;
  MemoryState genesis_state;
};

TEST_CASE("a note transaction advances the signer's nonce and writes nothing else",
          "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  const Bytes tx = f.chain.NoteTx("milchpulver", 1, "1,000 cans of milk powder");
  REQUIRE(f.Execute(&overlay, tx, 7).ok());
  CHECK(*ReadNextNonce(overlay, "milchpulver") == 2);
  CHECK(*ReadNextNonce(overlay, "fangxin") == 1);
  CHECK(overlay.Writes().size() == 1);  // the account
}

TEST_CASE("a replayed nonce is refused naming the signer and the next nonce",
          "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  f.Advance(&overlay, 4);
  f.ExpectRejected(&overlay, f.chain.NoteTx("milchpulver", 3, "again"),
                   absl::StatusCode::kAlreadyExists,
                   "nonce 3 already used by milchpulver (next is 5)");
  // The same transaction bytes a second time are a replay too.
  StateOverlay fresh(&f.genesis_state);
  const Bytes tx = f.chain.NoteTx("fangxin", 1, "once");
  REQUIRE(f.Execute(&fresh, tx).ok());
  f.ExpectRejected(&fresh, tx, absl::StatusCode::kAlreadyExists,
                   "nonce 1 already used by fangxin (next is 2)");
}

TEST_CASE("a nonce gap is refused naming the signer's next nonce", "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  f.Advance(&overlay, 4);
  f.ExpectRejected(&overlay, f.chain.NoteTx("milchpulver", 7, "early"),
                   absl::StatusCode::kFailedPrecondition,
                   "nonce 7 is ahead of milchpulver's next nonce 5");
  CHECK(f.Execute(&overlay, f.chain.NoteTx("milchpulver", 5, "in order")).ok());
}

TEST_CASE("a transaction for another chain is refused", "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  proto::TxBody body = f.chain.NoteBody("milchpulver", 1, "x");
  body.set_chain_id("other-chain");
  f.ExpectRejected(&overlay, f.chain.Sign("milchpulver", body),
                   absl::StatusCode::kInvalidArgument,
                   "transaction is for chain 'other-chain', this chain is 'lading-test'");
}

TEST_CASE("a transaction by a signer who is not a member is refused", "[unit][contracts]") {
  const Fixture f;
  const TestChain outsiders({"ghost"}, 0);
  StateOverlay overlay(&f.genesis_state);
  f.ExpectRejected(&overlay, outsiders.NoteTx("ghost", 1, "boo"),
                   absl::StatusCode::kPermissionDenied,
                   "signer 'ghost' is not a member of chain 'lading-test'");
}

TEST_CASE("a transaction whose signature does not verify is refused", "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  const proto::TxBody body = f.chain.NoteBody("milchpulver", 1, "x");
  const Bytes body_bytes = proto::Serialize(body);
  const Hash256 tx_id = proto::TxId(body_bytes);

  // Signed by another member's key.
  const Bytes forged = f.chain.Sign("fangxin", body);
  f.ExpectRejected(&overlay, forged, absl::StatusCode::kUnauthenticated,
                   "signature of milchpulver on transaction " + tx_id.ToHex() +
                       " is invalid: " +
                       std::string(crypto::VerifySignature(
                                       f.chain.key("milchpulver").public_key(), body_bytes,
                                       AsBytes(proto::DecodeSignedTx(forged)->signature()))
                                       .message()));

  // One flipped bit in a genuine signature.
  proto::SignedTx tx = *proto::DecodeSignedTx(f.chain.Sign("milchpulver", body));
  std::string signature = tx.signature();
  signature[10] ^= 0x01;
  tx.set_signature(signature);
  const absl::Status flipped = f.Execute(&overlay, proto::Serialize(tx));
  CHECK(flipped.code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(std::string(flipped.message()),
             Catch::StartsWith("signature of milchpulver on transaction " + tx_id.ToHex()));

  // A signature of the wrong length.
  tx.set_signature(signature.substr(0, 63));
  CHECK(f.Execute(&overlay, proto::Serialize(tx)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(overlay.empty());
}

TEST_CASE("an expired transaction is refused; one expiring at this height is not",
          "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  f.ExpectRejected(&overlay, f.chain.NoteTx("milchpulver", 1, "late", 9),
                   absl::StatusCode::kFailedPrecondition,
                   "transaction expired at height 9; this block is at height 10", 10);
  CHECK(f.Execute(&overlay, f.chain.NoteTx("milchpulver", 1, "just in time", 10), 10).ok());
  CHECK(f.Execute(&overlay, f.chain.NoteTx("milchpulver", 2, "never expires", 0), 1000).ok());
}

TEST_CASE("a note over 4 KiB is refused; one of exactly 4 KiB is accepted", "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  f.ExpectRejected(&overlay,
                   f.chain.NoteTx("milchpulver", 1, std::string(proto::kNoteTextBytesMax + 1, 'n')),
                   absl::StatusCode::kInvalidArgument,
                   "TxBody note text is 4097 bytes, over the cap of 4096 bytes");
  CHECK(f.Execute(&overlay,
                  f.chain.NoteTx("milchpulver", 1, std::string(proto::kNoteTextBytesMax, 'n')))
            .ok());
}

TEST_CASE("undecodable and payload-less transactions are refused", "[unit][contracts]") {
  const Fixture f;
  StateOverlay overlay(&f.genesis_state);
  f.ExpectRejected(&overlay, Bytes{0xff, 0x01}, absl::StatusCode::kInvalidArgument,
                   "SignedTx of 2 bytes does not parse");
  proto::TxBody body = f.chain.NoteBody("milchpulver", 1, "x");
  body.clear_note();
  f.ExpectRejected(&overlay, f.chain.Sign("milchpulver", body), absl::StatusCode::kInvalidArgument,
                   "transaction by milchpulver nonce 1 has no payload (or one this node does not "
                   "know)");
}

TEST_CASE("a block of valid transactions yields its writes in key order, the same every time",
          "[unit][contracts]") {
  const Fixture f;
  std::vector<Bytes> txs = {f.chain.NoteTx("milchpulver", 1, "a"),
                            f.chain.NoteTx("fangxin", 1, "b"),
                            f.chain.NoteTx("milchpulver", 2, "c")};
  const std::vector<ByteSpan> spans(txs.begin(), txs.end());
  auto first = ExecuteBlock(f.genesis_state, f.chain.chain_id(), 1, spans, kVerify);
  auto second = ExecuteBlock(f.genesis_state, f.chain.chain_id(), 1, spans, kVerify);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->writes == second->writes);
  CHECK(first->writes.size() == 2);  // two accounts (notes write nothing)
  for (size_t i = 1; i < first->writes.size(); ++i) {
    CHECK(first->writes[i - 1].key_hash < first->writes[i].key_hash);
  }
  const std::vector<crypto::SmtUpdate> updates = SmtUpdates(first->writes);
  REQUIRE(updates.size() == 2);
  CHECK(updates[0].key == first->writes[0].key_hash);
  CHECK(*updates[0].value_hash == StateValueHash(*first->writes[0].value));
}

TEST_CASE("a block with one bad transaction is invalid as a whole", "[unit][contracts]") {
  const Fixture f;
  std::vector<Bytes> txs = {f.chain.NoteTx("milchpulver", 1, "a"),
                            f.chain.NoteTx("fangxin", 1, "b"),
                            f.chain.NoteTx("milchpulver", 1, "replay of nonce 1")};
  std::vector<ByteSpan> spans(txs.begin(), txs.end());
  auto result = ExecuteBlock(f.genesis_state, f.chain.chain_id(), 1, spans, kVerify);
  REQUIRE(result.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(std::string(result.status().message()) ==
        "block transaction 2: nonce 1 already used by milchpulver (next is 2)");

  txs[2] = f.chain.NoteTx("milchpulver", 2, "fine");
  spans.assign(txs.begin(), txs.end());
  CHECK(ExecuteBlock(f.genesis_state, f.chain.chain_id(), 1, spans, kVerify).ok());
}

TEST_CASE("an empty block changes nothing", "[unit][contracts]") {
  const Fixture f;
  auto result = ExecuteBlock(f.genesis_state, f.chain.chain_id(), 1, {}, kVerify);
  REQUIRE(result.ok());
  CHECK(result->writes.empty());
}

}  // namespace
}  // namespace lading::contracts
