#include "tests/sim/checker.h"

#include <set>
#include <utility>
#include <variant>

#include "tests/sim/app.h"

namespace lading::sim {
namespace {

std::string Describe(const consensus::ConsensusMessage& message) {
  if (const auto* p = std::get_if<consensus::Proposal>(&message)) {
    return "proposal h=" + std::to_string(p->height) + " r=" + std::to_string(p->round) +
           " pol=" + std::to_string(p->pol_round) + " block=" + ShortBlock(p->value.hash);
  }
  const auto& v = std::get<consensus::Vote>(message);
  return std::string(v.type == consensus::VoteType::kPrevote ? "prevote" : "precommit") +
         " h=" + std::to_string(v.height) + " r=" + std::to_string(v.round) +
         " block=" + ShortBlock(v.block_hash);
}

}  // namespace

std::string ShortBlock(const std::optional<consensus::BlockHash>& block) {
  if (!block.has_value()) return "nil";
  return block->ToHex().substr(0, 8);
}

Checker::Checker(std::string chain_id, KeyRing* keys)
    : chain_id_(std::move(chain_id)), keys_(keys) {}

void Checker::Add(uint64_t time_ms, std::string kind, std::string description) {
  violations_.push_back(Violation{time_ms, std::move(kind), std::move(description)});
}

std::optional<consensus::BlockHash> Checker::DecidedAt(consensus::Height height) const {
  const auto it = decided_.find(height);
  if (it == decided_.end()) return std::nullopt;
  return it->second.block;
}

void Checker::OnProposal(const consensus::Proposal& proposal) {
  proposed_.try_emplace(proposal.value.hash, proposal.value);
}

void Checker::OnCorrectSigned(uint64_t time_ms, KeyId signer, std::string_view who,
                              const consensus::ConsensusMessage& message) {
  Signed record;
  record.who = std::string(who);
  record.time_ms = time_ms;
  SignedKey key;
  if (const auto* p = std::get_if<consensus::Proposal>(&message)) {
    key = {signer, p->height, p->round, 1};
    record.block = p->value.hash;
    record.pol_round = p->pol_round;
  } else {
    const auto& v = std::get<consensus::Vote>(message);
    key = {signer, v.height, v.round,
           v.type == consensus::VoteType::kPrevote ? uint8_t{2} : uint8_t{3}};
    record.block = v.block_hash;
  }
  const auto [it, inserted] = signed_.try_emplace(key, record);
  if (inserted) return;
  const Signed& first = it->second;
  if (first.block == record.block && first.pol_round == record.pol_round) return;
  static constexpr const char* kTypeNames[] = {"", "proposals", "prevotes", "precommits"};
  Add(time_ms, "double-sign",
      "correct validator key " + std::to_string(signer) + " signed two different " +
          kTypeNames[std::get<3>(key)] + " for h=" + std::to_string(std::get<1>(key)) +
          " r=" + std::to_string(std::get<2>(key)) + ": first " + first.who +
          " at t=" + std::to_string(first.time_ms) + "ms block=" + ShortBlock(first.block) +
          (std::get<3>(key) == 1 ? " pol=" + std::to_string(first.pol_round) : "") + ", then " +
          std::string(who) + " " + Describe(message));
}

void Checker::OnCorrectDecide(uint64_t time_ms, std::string_view who,
                              const consensus::Decide& decide,
                              const consensus::ValidatorSet& committee) {
  const consensus::BlockHash& block = decide.value.hash;
  const auto [it, inserted] =
      decided_.try_emplace(decide.height, Decided{block, std::string(who), time_ms});
  if (!inserted && it->second.block != block) {
    Add(time_ms, "agreement",
        "height " + std::to_string(decide.height) + ": " + it->second.who + " decided " +
            ShortBlock(it->second.block) + " at t=" + std::to_string(it->second.time_ms) + "ms, " +
            std::string(who) + " decided " + ShortBlock(block));
  }
  const auto proposed = proposed_.find(block);
  if (proposed == proposed_.end()) {
    Add(time_ms, "validity",
        std::string(who) + " decided block " + ShortBlock(block) + " at height " +
            std::to_string(decide.height) + " that nobody proposed");
  } else if (proposed->second.payload != decide.value.payload) {
    Add(time_ms, "validity",
        std::string(who) + " decided block " + ShortBlock(block) + " at height " +
            std::to_string(decide.height) + " with payload \"" + ToString(decide.value.payload) +
            "\", proposed as \"" + ToString(proposed->second.payload) + "\"");
  }
  if (absl::Status valid = CheckValue(decide.value, decide.height, keys_->size()); !valid.ok()) {
    Add(time_ms, "validity",
        std::string(who) + " decided an invalid value at height " + std::to_string(decide.height) +
            ": " + std::string(valid.message()));
  }
  CheckCommit(time_ms, who, decide, committee);
}

void Checker::CheckCommit(uint64_t time_ms, std::string_view who, const consensus::Decide& decide,
                          const consensus::ValidatorSet& committee) {
  const consensus::Commit& commit = decide.commit;
  const std::string prefix =
      std::string(who) + " decided height " + std::to_string(decide.height) + " with a commit ";
  if (commit.height != decide.height || commit.block_hash != decide.value.hash) {
    Add(time_ms, "commit",
        prefix + "for height " + std::to_string(commit.height) + " block " +
            ShortBlock(commit.block_hash) + " instead of block " + ShortBlock(decide.value.hash));
  }
  auto verify = [this](const auto& public_key, const auto& message, const auto& signature) {
    return keys_->Verify(ByteSpan(public_key), ByteSpan(message), ByteSpan(signature));
  };
  if (absl::Status status = consensus::VerifyCommit(chain_id_, committee, commit, verify);
      !status.ok()) {
    Add(time_ms, "commit", prefix + "that VerifyCommit rejects: " + std::string(status.message()));
  }
  // An independent recount, so that a fault in VerifyCommit itself cannot hide a bad commit.
  std::set<consensus::ValidatorIndex> signers;
  consensus::VotingPower power = 0;
  for (const consensus::CommitSignature& s : commit.signatures) {
    if (!committee.Contains(s.validator) || !signers.insert(s.validator).second) {
      Add(time_ms, "commit",
          prefix + "naming validator " + std::to_string(s.validator) +
              " twice or outside the committee of " + std::to_string(committee.size()));
      return;
    }
    consensus::Vote precommit;
    precommit.type = consensus::VoteType::kPrecommit;
    precommit.height = commit.height;
    precommit.round = commit.round;
    precommit.block_hash = commit.block_hash;
    precommit.validator = s.validator;
    if (!keys_->Verify(committee.at(s.validator).public_key,
                       consensus::VoteSignBytes(chain_id_, precommit), s.signature)) {
      Add(time_ms, "commit",
          prefix + "carrying an invalid precommit signature of validator " +
              std::to_string(s.validator));
      return;
    }
    power += committee.at(s.validator).voting_power;
  }
  if (!committee.IsQuorum(power)) {
    Add(time_ms, "commit",
        prefix + "of power " + std::to_string(power) + " of " +
            std::to_string(committee.total_power()) + ", not more than two thirds");
  }
}

void Checker::OnEvidence(uint64_t time_ms, std::string_view who,
                         const consensus::Evidence& evidence,
                         const consensus::ValidatorSet& committee) {
  const consensus::Vote& a = evidence.first;
  const consensus::Vote& b = evidence.second;
  const std::string prefix = std::string(who) + " reported evidence against validator " +
                             std::to_string(a.validator) + " at h=" + std::to_string(a.height) +
                             " r=" + std::to_string(a.round) + " that ";
  if (a.validator != b.validator || a.height != b.height || a.round != b.round ||
      a.type != b.type || a.block_hash == b.block_hash) {
    Add(time_ms, "evidence", prefix + "does not pair two conflicting votes of one step");
    return;
  }
  if (!committee.Contains(a.validator)) {
    Add(time_ms, "evidence", prefix + "names a validator outside the committee");
    return;
  }
  const Bytes& key = committee.at(a.validator).public_key;
  if (!keys_->Verify(key, consensus::VoteSignBytes(chain_id_, a), a.signature) ||
      !keys_->Verify(key, consensus::VoteSignBytes(chain_id_, b), b.signature)) {
    Add(time_ms, "evidence", prefix + "carries a vote with an invalid signature");
  }
}

}  // namespace lading::sim
