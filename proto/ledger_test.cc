#include "proto/ledger.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "crypto/hash.h"
#include "crypto/merkle.h"

namespace lading::proto {
namespace {

Bytes Filled(size_t size, uint8_t value) { return Bytes(size, value); }

size_t VarintBytes(size_t value) {
  size_t bytes = 1;
  for (value >>= 7; value != 0; value >>= 7) ++bytes;
  return bytes;
}

// Exactly `size` bytes holding one length-delimited unknown field (number 15): valid input for
// every message type, so only a size check can refuse it.
Bytes UnknownFieldOfSize(size_t size) {
  size_t length_bytes = 1;
  while (length_bytes < 10 && VarintBytes(size - 1 - length_bytes) != length_bytes) ++length_bytes;
  Bytes out = {0x7a};  // field 15, wire type 2
  for (size_t v = size - 1 - length_bytes; ; v >>= 7) {
    if (v < 0x80) {
      out.push_back(static_cast<uint8_t>(v));
      break;
    }
    out.push_back(static_cast<uint8_t>((v & 0x7f) | 0x80));
  }
  out.resize(size, 0x20);
  return out;
}

TxBody SampleBody(uint64_t nonce) {
  TxBody body;
  body.set_chain_id("lading-test");
  body.set_signer("milchpulver-gmbh");
  body.set_nonce(nonce);
  body.set_expires_at_height(1000);
  body.mutable_note()->set_text("1,000 cans of milk powder");
  return body;
}

Bytes SampleSignedTx(uint64_t nonce) {
  SignedTx tx;
  tx.set_body(ToString(Serialize(SampleBody(nonce))));
  tx.set_signature(std::string(64, '\x5a'));
  return Serialize(tx);
}

BlockHeader SampleHeader() {
  BlockHeader header;
  header.set_chain_id("lading-test");
  header.set_height(7);
  header.set_time_unix_ms(1'700'000'000'000);
  header.set_prev_block_hash(std::string(32, '\x01'));
  header.set_proposer("validator-1");
  header.set_txs_root(std::string(32, '\x02'));
  header.set_state_root(std::string(32, '\x03'));
  header.set_committee_hash(std::string(32, '\x04'));
  header.set_last_commit_hash(std::string(32, '\x05'));
  return header;
}

Commit SampleCommit() {
  Commit commit;
  commit.set_height(6);
  commit.set_round(2);
  commit.set_block_hash(std::string(32, '\x06'));
  for (uint32_t i = 0; i < 3; ++i) {
    CommitSignature* signature = commit.add_signatures();
    signature->set_validator_index(i);
    signature->set_signature(std::string(64, static_cast<char>('a' + i)));
  }
  return commit;
}

TEST_CASE("a signed transaction and its body survive a round trip", "[unit][proto]") {
  const Bytes tx_bytes = SampleSignedTx(3);
  auto tx = DecodeSignedTx(tx_bytes);
  REQUIRE(tx.ok());
  REQUIRE(tx->signature() == std::string(64, '\x5a'));
  auto body = DecodeTxBody(AsBytes(tx->body()));
  REQUIRE(body.ok());
  REQUIRE(body->chain_id() == "lading-test");
  REQUIRE(body->signer() == "milchpulver-gmbh");
  REQUIRE(body->nonce() == 3);
  REQUIRE(body->expires_at_height() == 1000);
  REQUIRE(body->has_note());
  REQUIRE(body->note().text() == "1,000 cans of milk powder");
}

TEST_CASE("a block, its header and a commit survive a round trip", "[unit][proto]") {
  Block block;
  block.set_header(ToString(Serialize(SampleHeader())));
  block.add_txs(ToString(SampleSignedTx(1)));
  block.add_txs(ToString(SampleSignedTx(2)));
  block.set_last_commit(ToString(Serialize(SampleCommit())));

  auto decoded = DecodeBlock(Serialize(block));
  REQUIRE(decoded.ok());
  REQUIRE(decoded->txs_size() == 2);
  auto header = DecodeBlockHeader(AsBytes(decoded->header()));
  REQUIRE(header.ok());
  REQUIRE(header->height() == 7);
  REQUIRE(header->time_unix_ms() == 1'700'000'000'000);
  REQUIRE(header->proposer() == "validator-1");
  REQUIRE(header->last_commit_hash() == std::string(32, '\x05'));
  auto commit = DecodeCommit(AsBytes(decoded->last_commit()));
  REQUIRE(commit.ok());
  REQUIRE(commit->height() == 6);
  REQUIRE(commit->round() == 2);
  REQUIRE(commit->signatures_size() == 3);
  REQUIRE(commit->signatures(2).validator_index() == 2);
}

TEST_CASE("a peer message carrying a vote survives a round trip", "[unit][proto]") {
  PeerMessage message;
  Vote* vote = message.mutable_vote();
  vote->set_type(VOTE_TYPE_PRECOMMIT);
  vote->set_height(9);
  vote->set_round(1);
  vote->set_validator_index(3);
  auto decoded = DecodePeerMessage(Serialize(message));
  REQUIRE(decoded.ok());
  REQUIRE(decoded->body_case() == PeerMessage::kVote);
  REQUIRE(decoded->vote().type() == VOTE_TYPE_PRECOMMIT);
  REQUIRE(decoded->vote().block_hash().empty());  // a vote for nil
  REQUIRE(decoded->vote().validator_index() == 3);
}

TEST_CASE("each decoder accepts input at its cap and refuses one byte more, naming the cap",
          "[unit][proto]") {
  struct Case {
    const char* type;
    size_t cap;
    std::function<absl::Status(ByteSpan)> decode;
  };
  const Case cases[] = {
      {"SignedTx", kTxBytesMax, [](ByteSpan b) { return DecodeSignedTx(b).status(); }},
      {"TxBody", kTxBytesMax, [](ByteSpan b) { return DecodeTxBody(b).status(); }},
      {"Block", kBlockBytesMax, [](ByteSpan b) { return DecodeBlock(b).status(); }},
      {"BlockHeader", kBlockHeaderBytesMax,
       [](ByteSpan b) { return DecodeBlockHeader(b).status(); }},
      {"Commit", kCommitBytesMax, [](ByteSpan b) { return DecodeCommit(b).status(); }},
      {"PeerMessage", kPeerMessageBytesMax,
       [](ByteSpan b) { return DecodePeerMessage(b).status(); }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.type);
    const Bytes at_cap = UnknownFieldOfSize(c.cap);
    REQUIRE(at_cap.size() == c.cap);
    REQUIRE(c.decode(at_cap).ok());
    const Bytes over = Filled(c.cap + 1, 0);
    const absl::Status status = c.decode(over);
    REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
    const std::string message(status.message());
    REQUIRE_THAT(message, Catch::Contains(c.type));
    REQUIRE_THAT(message, Catch::Contains(std::to_string(c.cap + 1) + " bytes"));
    REQUIRE_THAT(message, Catch::Contains("cap of " + std::to_string(c.cap)));
  }
}

TEST_CASE("garbage is refused by every decoder with the type in the message", "[unit][proto]") {
  // Field 1 claims 5 bytes but only 1 follows; a zero tag is never valid.
  const Bytes truncated = {0x0a, 0x05, 0x41};
  const Bytes zero_tag = {0x00, 0x00};
  for (const Bytes& garbage : {truncated, zero_tag}) {
    REQUIRE_THAT(std::string(DecodeSignedTx(garbage).status().message()),
                 Catch::Contains("SignedTx of"));
    REQUIRE_THAT(std::string(DecodeTxBody(garbage).status().message()),
                 Catch::Contains("TxBody of"));
    REQUIRE_THAT(std::string(DecodeBlock(garbage).status().message()),
                 Catch::Contains("Block of"));
    REQUIRE_THAT(std::string(DecodeBlockHeader(garbage).status().message()),
                 Catch::Contains("BlockHeader of"));
    REQUIRE_THAT(std::string(DecodeCommit(garbage).status().message()),
                 Catch::Contains("Commit of"));
    REQUIRE_THAT(std::string(DecodePeerMessage(garbage).status().message()),
                 Catch::Contains("PeerMessage of"));
  }
}

TEST_CASE("a note of 4 KiB is accepted and one byte longer is refused", "[unit][proto]") {
  TxBody body = SampleBody(1);
  body.mutable_note()->set_text(std::string(kNoteTextBytesMax, 'n'));
  REQUIRE(DecodeTxBody(Serialize(body)).ok());
  body.mutable_note()->set_text(std::string(kNoteTextBytesMax + 1, 'n'));
  const absl::Status status = DecodeTxBody(Serialize(body)).status();
  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE_THAT(std::string(status.message()), Catch::Contains("note text is 4097 bytes"));
}

TEST_CASE("tx id, block hash and commit hash are labelled hashes that differ for equal bytes",
          "[unit][proto]") {
  const Bytes data = ToBytes("the same bytes");
  REQUIRE(TxId(data) == crypto::HashWithLabel(crypto::kLabelTx, data));
  REQUIRE(BlockHash(data) == crypto::HashWithLabel(crypto::kLabelBlock, data));
  REQUIRE(CommitHash(data) == crypto::HashWithLabel(crypto::kLabelCommit, data));
  REQUIRE(TxId(data) != BlockHash(data));
  REQUIRE(TxId(data) != CommitHash(data));
  REQUIRE(BlockHash(data) != CommitHash(data));
  REQUIRE(TxId(data) != TxId(ToBytes("other bytes")));
}

TEST_CASE("the txs root is the merkle root over the whole signed transactions",
          "[unit][proto]") {
  Block block;
  auto empty_root = TxsRoot(block);
  REQUIRE(empty_root.ok());
  REQUIRE(*empty_root == crypto::MerkleRoot({}));

  std::vector<Hash256> leaves;
  for (uint64_t nonce = 1; nonce <= 5; ++nonce) {
    const Bytes tx = SampleSignedTx(nonce);
    block.add_txs(ToString(tx));
    leaves.push_back(crypto::HashWithLabel(crypto::kLabelSignedTx, tx));
  }
  auto root = TxsRoot(block);
  REQUIRE(root.ok());
  REQUIRE(*root == crypto::MerkleRoot(leaves));

  // Swapping two transactions changes the root: the order is committed to.
  Block swapped = block;
  std::swap(*swapped.mutable_txs(1), *swapped.mutable_txs(2));
  REQUIRE(*TxsRoot(swapped) != *root);

  // So is every signature byte, although the tx id does not change.
  SignedTx tx = *DecodeSignedTx(AsBytes(block.txs(3)));
  tx.mutable_signature()->front() ^= 1;
  REQUIRE(TxId(AsBytes(tx.body())) == TxId(AsBytes(DecodeSignedTx(AsBytes(block.txs(3)))->body())));
  block.set_txs(3, ToString(Serialize(tx)));
  REQUIRE(*TxsRoot(block) != *root);
}

TEST_CASE("the txs root of a block with an undecodable transaction is an error naming it",
          "[unit][proto]") {
  Block block;
  block.add_txs(ToString(SampleSignedTx(1)));
  block.add_txs(std::string("\x0a\x05\x41", 3));
  const absl::Status status = TxsRoot(block).status();
  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE_THAT(std::string(status.message()), Catch::Contains("block transaction 1"));
}

}  // namespace
}  // namespace lading::proto
