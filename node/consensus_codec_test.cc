#include "node/consensus_codec.h"

#include <catch2/catch.hpp>

#include "crypto/signing.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

// Four validators with fresh keys, power 1 each.
struct Committee {
  static consensus::ValidatorSet MakeSet(const crypto::SigningKey (&keys)[4]) {
    std::vector<consensus::Validator> validators;
    for (int i = 0; i < 4; ++i) {
      const ByteSpan key = keys[i].public_key().span();
      validators.push_back({"v" + std::to_string(i), Bytes(key.begin(), key.end()), 1});
    }
    return *consensus::ValidatorSet::Create(std::move(validators));
  }
  crypto::SigningKey keys[4] = {crypto::SigningKey::Generate(), crypto::SigningKey::Generate(),
                                crypto::SigningKey::Generate(), crypto::SigningKey::Generate()};
  consensus::ValidatorSet set = MakeSet(keys);
};

consensus::Vote SignedVote(const Committee& committee, uint32_t validator,
                           std::optional<Hash256> block) {
  consensus::Vote vote{consensus::VoteType::kPrecommit, 5, 1, block, validator, {}};
  vote.signature = committee.keys[validator].Sign(consensus::VoteSignBytes("c", vote)).ToBytes();
  return vote;
}

Bytes SampleBlock() {
  proto::BlockHeader header;
  header.set_chain_id("c");
  header.set_height(5);
  proto::Block block;
  block.set_header(header.SerializeAsString());
  return proto::Serialize(block);
}

TEST_CASE("Votes round-trip through their wire form and keep their signature valid",
          "[unit][codec]") {
  Committee committee;
  Hash256 block;
  block.bytes[3] = 7;
  for (const auto& hash : {std::optional<Hash256>(block), std::optional<Hash256>()}) {
    const consensus::Vote vote = SignedVote(committee, 2, hash);
    absl::StatusOr<consensus::Vote> back = VoteFromProto(VoteToProto(vote));
    REQUIRE(back.ok());
    REQUIRE(*back == vote);
    REQUIRE(VerifyVoteSignature("c", committee.set, *back).ok());
    REQUIRE_FALSE(VerifyVoteSignature("other-chain", committee.set, *back).ok());
  }
}

TEST_CASE("Malformed votes are rejected with the bad field named", "[unit][codec]") {
  Committee committee;
  proto::Vote vote = VoteToProto(SignedVote(committee, 1, std::nullopt));
  proto::Vote bad = vote;
  bad.set_type(proto::VOTE_TYPE_UNSPECIFIED);
  REQUIRE(VoteFromProto(bad).status().message().find("type 0") != std::string::npos);
  bad = vote;
  bad.set_round(static_cast<uint32_t>(consensus::kRoundMax) + 1);
  REQUIRE(VoteFromProto(bad).status().message().find("above the largest round") !=
          std::string::npos);
  bad = vote;
  bad.set_block_hash("short");
  REQUIRE(VoteFromProto(bad).status().message().find("block hash of 5 bytes") !=
          std::string::npos);
  bad = vote;
  bad.set_signature("x");
  REQUIRE(VoteFromProto(bad).status().message().find("1 bytes") != std::string::npos);
  // An index outside the committee, and a signature by another validator.
  consensus::Vote wrong = SignedVote(committee, 1, std::nullopt);
  wrong.validator = 9;
  REQUIRE(VerifyVoteSignature("c", committee.set, wrong).message().find("index 9") !=
          std::string::npos);
  wrong.validator = 0;
  REQUIRE(VerifyVoteSignature("c", committee.set, wrong).message().find("invalid") !=
          std::string::npos);
}

TEST_CASE("A proposal's value hash is computed from the block it carries", "[unit][codec]") {
  Committee committee;
  consensus::Proposal proposal;
  proposal.height = 5;
  proposal.round = 2;
  proposal.pol_round = 0;
  proposal.value.payload = SampleBlock();
  proposal.value.hash =
      proto::BlockHash(AsBytes(proto::DecodeBlock(proposal.value.payload)->header()));
  proposal.proposer = 3;
  proposal.signature =
      committee.keys[3].Sign(consensus::ProposalSignBytes("c", proposal)).ToBytes();
  absl::StatusOr<consensus::Proposal> back = ProposalFromProto(ProposalToProto(proposal));
  REQUIRE(back.ok());
  REQUIRE(*back == proposal);
  REQUIRE(VerifyProposalSignature("c", committee.set, *back).ok());

  // Another block under the same signature: the computed hash differs, the signature fails.
  proto::Proposal swapped = ProposalToProto(proposal);
  proto::BlockHeader header;
  header.set_height(6);
  proto::Block other;
  other.set_header(header.SerializeAsString());
  swapped.set_block(other.SerializeAsString());
  back = ProposalFromProto(swapped);
  REQUIRE(back.ok());
  REQUIRE_FALSE(VerifyProposalSignature("c", committee.set, *back).ok());

  proto::Proposal bad = ProposalToProto(proposal);
  bad.set_pol_round(2);
  REQUIRE(ProposalFromProto(bad).status().message().find("pol_round 2") != std::string::npos);
  bad = ProposalToProto(proposal);
  bad.set_block("\xff\xff\xff");
  REQUIRE_FALSE(ProposalFromProto(bad).ok());
}

TEST_CASE("Commits and evidence are checked against the committee", "[unit][codec]") {
  Committee committee;
  Hash256 block;
  block.bytes[0] = 1;
  consensus::Commit commit{5, 1, block, {}};
  for (uint32_t i = 0; i < 3; ++i) {
    commit.signatures.push_back({i, SignedVote(committee, i, block).signature});
  }
  absl::StatusOr<consensus::Commit> back = CommitFromProto(CommitToProto(commit));
  REQUIRE(back.ok());
  REQUIRE(*back == commit);
  REQUIRE(VerifyCommitSignatures("c", committee.set, *back).ok());
  commit.signatures.pop_back();
  REQUIRE(VerifyCommitSignatures("c", committee.set, commit).message().find("more than 2/3") !=
          std::string::npos);

  Hash256 other = block;
  other.bytes[0] = 2;
  consensus::Evidence evidence{SignedVote(committee, 1, block), SignedVote(committee, 1, other)};
  absl::StatusOr<consensus::Evidence> decoded = EvidenceFromProto(EvidenceToProto(evidence));
  REQUIRE(decoded.ok());
  REQUIRE(VerifyEvidence("c", committee.set, *decoded).ok());
  evidence.second = SignedVote(committee, 1, block);
  REQUIRE(VerifyEvidence("c", committee.set, evidence).message().find("same block") !=
          std::string::npos);
  evidence.second = SignedVote(committee, 2, other);
  REQUIRE_FALSE(VerifyEvidence("c", committee.set, evidence).ok());
}

}  // namespace
}  // namespace lading::node
