#include "consensus/types.h"

#include <catch2/catch.hpp>

#include "crypto/hash.h"

namespace lading::consensus {
namespace {

const std::string kChain = "trade-net-1";

Vote SampleVote() {
  Vote vote;
  vote.type = VoteType::kPrecommit;
  vote.height = 0x0102030405060708;
  vote.round = 3;
  vote.block_hash = crypto::HashWithLabel("lading/test/value", AsBytes("v"));
  vote.validator = 0x0a0b0c0d;
  vote.signature = Bytes(64, 1);
  return vote;
}

Proposal SampleProposal() {
  Proposal proposal;
  proposal.height = 42;
  proposal.round = 2;
  proposal.pol_round = kNoRound;
  proposal.value.hash = crypto::HashWithLabel("lading/test/value", AsBytes("v"));
  proposal.value.payload = ToBytes("block bytes");
  proposal.proposer = 1;
  proposal.signature = Bytes(64, 2);
  return proposal;
}

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

TEST_CASE("vote sign bytes follow the documented layout", "[unit][consensus]") {
  const Vote vote = SampleVote();
  const Bytes expected = Concat({
      Bytes{21}, ToBytes("lading/consensus/vote"), Bytes{11}, ToBytes(kChain),
      Bytes{0x02},                                            // precommit
      Bytes{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08},  // height
      Bytes{0x00, 0x00, 0x00, 0x03},                          // round
      Bytes{0x01}, vote.block_hash->ToBytes(),                // block present
      Bytes{0x0a, 0x0b, 0x0c, 0x0d},                          // validator
  });
  CHECK(VoteSignBytes(kChain, vote) == expected);
}

TEST_CASE("proposal sign bytes follow the documented layout", "[unit][consensus]") {
  const Proposal proposal = SampleProposal();
  const Bytes expected = Concat({
      Bytes{25}, ToBytes("lading/consensus/proposal"), Bytes{11}, ToBytes(kChain),
      Bytes{0x20},                     // proposal
      Bytes{0, 0, 0, 0, 0, 0, 0, 42},  // height
      Bytes{0, 0, 0, 2},               // round
      Bytes{0xff, 0xff, 0xff, 0xff},   // pol_round -1
      proposal.value.hash.ToBytes(),   // value hash
      Bytes{0, 0, 0, 1},               // proposer
  });
  CHECK(ProposalSignBytes(kChain, proposal) == expected);
}

TEST_CASE("every signed vote field changes the sign bytes; the signature does not",
          "[unit][consensus]") {
  const Vote base = SampleVote();
  const Bytes base_bytes = VoteSignBytes(kChain, base);
  std::vector<Vote> variants(7, base);
  variants[0].type = VoteType::kPrevote;
  variants[1].height += 1;
  variants[2].round += 1;
  variants[3].block_hash = std::nullopt;
  variants[4].block_hash = BlockHash{};  // the zero hash is not nil
  variants[5].validator += 1;
  variants[6].block_hash->bytes[31] ^= 1;
  for (size_t i = 0; i < variants.size(); ++i) {
    CAPTURE(i);
    CHECK(VoteSignBytes(kChain, variants[i]) != base_bytes);
  }
  CHECK(VoteSignBytes(kChain, variants[3]) != VoteSignBytes(kChain, variants[4]));
  CHECK(VoteSignBytes("trade-net-2", base) != base_bytes);

  Vote resigned = base;
  resigned.signature = Bytes(64, 9);
  CHECK(VoteSignBytes(kChain, resigned) == base_bytes);
}

TEST_CASE("proposal sign bytes cover the value hash but not the payload", "[unit][consensus]") {
  const Proposal base = SampleProposal();
  const Bytes base_bytes = ProposalSignBytes(kChain, base);
  Proposal other_payload = base;
  other_payload.value.payload = ToBytes("different block bytes");
  CHECK(ProposalSignBytes(kChain, other_payload) == base_bytes);

  std::vector<Proposal> variants(5, base);
  variants[0].height += 1;
  variants[1].round += 1;
  variants[2].pol_round = 1;
  variants[3].value.hash.bytes[0] ^= 1;
  variants[4].proposer += 1;
  for (size_t i = 0; i < variants.size(); ++i) {
    CAPTURE(i);
    CHECK(ProposalSignBytes(kChain, variants[i]) != base_bytes);
  }
}

TEST_CASE("a proposal's sign bytes never equal a vote's", "[unit][consensus]") {
  const Bytes proposal = ProposalSignBytes(kChain, SampleProposal());
  const Bytes vote = VoteSignBytes(kChain, SampleVote());
  CHECK(proposal != vote);
  CHECK(!std::equal(vote.begin(), vote.begin() + 8, proposal.begin()));
}

}  // namespace
}  // namespace lading::consensus
