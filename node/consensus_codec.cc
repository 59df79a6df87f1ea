#include "node/consensus_codec.h"

#include <utility>

#include "crypto/internal/strings.h"
#include "crypto/signing.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::node {
namespace {

using internal::StrCat;

constexpr size_t kSignatureBytes = crypto::Signature::kSize;

absl::Status CheckRound(const char* what, uint32_t round) {
  if (round > static_cast<uint32_t>(consensus::kRoundMax)) {
    return absl::InvalidArgumentError(
        StrCat(what, " round ", round, " is above the largest round ", consensus::kRoundMax));
  }
  return absl::OkStatus();
}

absl::Status CheckSignatureSize(const char* what, const std::string& signature) {
  if (signature.size() != kSignatureBytes) {
    return absl::InvalidArgumentError(StrCat(what, " signature has ", signature.size(),
                                             " bytes; an Ed25519 signature has 64"));
  }
  return absl::OkStatus();
}

bool VerifyEd25519(const Bytes& public_key, const Bytes& message, const Bytes& signature) {
  absl::StatusOr<crypto::SigningPublicKey> key = crypto::SigningPublicKey::FromBytes(public_key);
  return key.ok() && crypto::VerifySignature(*key, message, signature).ok();
}

absl::Status VerifyBy(const consensus::ValidatorSet& committee, consensus::ValidatorIndex index,
                      const Bytes& message, const Bytes& signature, const std::string& what) {
  if (!committee.Contains(index)) {
    return absl::InvalidArgumentError(StrCat(what, " names validator index ", index,
                                             " but the committee has ", committee.size(),
                                             " validators"));
  }
  const consensus::Validator& validator = committee.at(index);
  if (!VerifyEd25519(validator.public_key, message, signature)) {
    return absl::InvalidArgumentError(
        StrCat(what, ": signature of validator ", index, " (", validator.id, ") is invalid"));
  }
  return absl::OkStatus();
}

std::string Describe(const consensus::Vote& vote) {
  return StrCat(vote.type == consensus::VoteType::kPrevote ? "prevote" : "precommit",
                " for height ", vote.height, " round ", vote.round);
}

}  // namespace

proto::Vote VoteToProto(const consensus::Vote& vote) {
  proto::Vote out;
  out.set_type(vote.type == consensus::VoteType::kPrevote ? proto::VOTE_TYPE_PREVOTE
                                                          : proto::VOTE_TYPE_PRECOMMIT);
  out.set_height(vote.height);
  out.set_round(static_cast<uint32_t>(vote.round));
  if (vote.block_hash.has_value()) out.set_block_hash(ToString(vote.block_hash->span()));
  out.set_validator_index(vote.validator);
  out.set_signature(ToString(vote.signature));
  return out;
}

absl::StatusOr<consensus::Vote> VoteFromProto(const proto::Vote& vote) {
  consensus::Vote out;
  switch (vote.type()) {
    case proto::VOTE_TYPE_PREVOTE:
      out.type = consensus::VoteType::kPrevote;
      break;
    case proto::VOTE_TYPE_PRECOMMIT:
      out.type = consensus::VoteType::kPrecommit;
      break;
    default:
      return absl::InvalidArgumentError(
          StrCat("vote for height ", vote.height(), " has type ", static_cast<int>(vote.type()),
                 "; expected prevote (1) or precommit (2)"));
  }
  LADING_RETURN_IF_ERROR(CheckRound("vote", vote.round()));
  out.height = vote.height();
  out.round = static_cast<consensus::Round>(vote.round());
  if (!vote.block_hash().empty()) {
    absl::StatusOr<Hash256> hash = Hash256::FromBytes(AsBytes(vote.block_hash()));
    if (!hash.ok()) {
      return absl::InvalidArgumentError(StrCat("vote for height ", vote.height(),
                                               " has a block hash of ", vote.block_hash().size(),
                                               " bytes; expected 32 or none (nil)"));
    }
    out.block_hash = *hash;
  }
  LADING_RETURN_IF_ERROR(CheckSignatureSize("vote", vote.signature()));
  out.validator = vote.validator_index();
  const ByteSpan signature = AsBytes(vote.signature());
  out.signature.assign(signature.begin(), signature.end());
  return out;
}

proto::Proposal ProposalToProto(const consensus::Proposal& proposal) {
  proto::Proposal out;
  out.set_height(proposal.height);
  out.set_round(static_cast<uint32_t>(proposal.round));
  out.set_pol_round(proposal.pol_round);
  out.set_block(ToString(proposal.value.payload));
  out.set_proposer_index(proposal.proposer);
  out.set_signature(ToString(proposal.signature));
  return out;
}

absl::StatusOr<consensus::Proposal> ProposalFromProto(const proto::Proposal& proposal) {
  LADING_RETURN_IF_ERROR(CheckRound("proposal", proposal.round()));
  const auto round = static_cast<consensus::Round>(proposal.round());
  if (proposal.pol_round() < consensus::kNoRound || proposal.pol_round() >= round) {
    return absl::InvalidArgumentError(StrCat("proposal for height ", proposal.height(), " round ",
                                             round, " has pol_round ", proposal.pol_round(),
                                             "; expected -1 .. ", round - 1));
  }
  LADING_RETURN_IF_ERROR(CheckSignatureSize("proposal", proposal.signature()));
  absl::StatusOr<proto::Block> block = proto::DecodeBlock(AsBytes(proposal.block()));
  if (!block.ok()) {
    return absl::InvalidArgumentError(StrCat("proposal for height ", proposal.height(), " round ",
                                             round, ": ", block.status().message()));
  }
  consensus::Proposal out;
  out.height = proposal.height();
  out.round = round;
  out.pol_round = proposal.pol_round();
  out.value.hash = proto::BlockHash(AsBytes(block->header()));
  const ByteSpan payload = AsBytes(proposal.block());
  out.value.payload.assign(payload.begin(), payload.end());
  out.proposer = proposal.proposer_index();
  const ByteSpan signature = AsBytes(proposal.signature());
  out.signature.assign(signature.begin(), signature.end());
  return out;
}

proto::Commit CommitToProto(const consensus::Commit& commit) {
  proto::Commit out;
  out.set_height(commit.height);
  out.set_round(static_cast<uint32_t>(commit.round));
  out.set_block_hash(ToString(commit.block_hash.span()));
  for (const consensus::CommitSignature& entry : commit.signatures) {
    proto::CommitSignature* signature = out.add_signatures();
    signature->set_validator_index(entry.validator);
    signature->set_signature(ToString(entry.signature));
  }
  return out;
}

absl::StatusOr<consensus::Commit> CommitFromProto(const proto::Commit& commit) {
  LADING_RETURN_IF_ERROR(CheckRound("commit", commit.round()));
  absl::StatusOr<Hash256> hash = Hash256::FromBytes(AsBytes(commit.block_hash()));
  if (!hash.ok()) {
    return absl::InvalidArgumentError(StrCat("commit for height ", commit.height(),
                                             " has a block hash of ",
                                             commit.block_hash().size(), " bytes; expected 32"));
  }
  consensus::Commit out;
  out.height = commit.height();
  out.round = static_cast<consensus::Round>(commit.round());
  out.block_hash = *hash;
  out.signatures.reserve(commit.signatures_size());
  for (const proto::CommitSignature& entry : commit.signatures()) {
    LADING_RETURN_IF_ERROR(CheckSignatureSize("commit", entry.signature()));
    const ByteSpan signature = AsBytes(entry.signature());
    out.signatures.push_back(
        {entry.validator_index(), Bytes(signature.begin(), signature.end())});
  }
  return out;
}

proto::Evidence EvidenceToProto(const consensus::Evidence& evidence) {
  proto::Evidence out;
  *out.mutable_first() = VoteToProto(evidence.first);
  *out.mutable_second() = VoteToProto(evidence.second);
  return out;
}

absl::StatusOr<consensus::Evidence> EvidenceFromProto(const proto::Evidence& evidence) {
  LADING_ASSIGN_OR_RETURN(consensus::Vote first, VoteFromProto(evidence.first()));
  LADING_ASSIGN_OR_RETURN(consensus::Vote second, VoteFromProto(evidence.second()));
  return consensus::Evidence{std::move(first), std::move(second)};
}

absl::Status VerifyVoteSignature(const std::string& chain_id,
                                 const consensus::ValidatorSet& committee,
                                 const consensus::Vote& vote) {
  return VerifyBy(committee, vote.validator, consensus::VoteSignBytes(chain_id, vote),
                  vote.signature, Describe(vote));
}

absl::Status VerifyProposalSignature(const std::string& chain_id,
                                     const consensus::ValidatorSet& committee,
                                     const consensus::Proposal& proposal) {
  return VerifyBy(committee, proposal.proposer, consensus::ProposalSignBytes(chain_id, proposal),
                  proposal.signature,
                  StrCat("proposal for height ", proposal.height, " round ", proposal.round));
}

absl::Status VerifyEvidence(const std::string& chain_id, const consensus::ValidatorSet& committee,
                            const consensus::Evidence& evidence) {
  const consensus::Vote& a = evidence.first;
  const consensus::Vote& b = evidence.second;
  if (a.validator != b.validator || a.height != b.height || a.round != b.round ||
      a.type != b.type) {
    return absl::InvalidArgumentError(
        StrCat("evidence pairs ", Describe(a), " by validator ", a.validator, " with ",
               Describe(b), " by validator ", b.validator,
               "; both votes must share validator, height, round and type"));
  }
  if (a.block_hash == b.block_hash) {
    return absl::InvalidArgumentError(
        StrCat("evidence for ", Describe(a), ": both votes are for the same block"));
  }
  LADING_RETURN_IF_ERROR(VerifyVoteSignature(chain_id, committee, a));
  return VerifyVoteSignature(chain_id, committee, b);
}

absl::Status VerifyCommitSignatures(const std::string& chain_id,
                                    const consensus::ValidatorSet& committee,
                                    const consensus::Commit& commit) {
  return consensus::VerifyCommit(chain_id, committee, commit, VerifyEd25519);
}

}  // namespace lading::node
