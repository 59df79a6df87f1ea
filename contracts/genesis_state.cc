#include "contracts/genesis_state.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "contracts/records.h"
#include "crypto/status.h"
#include "proto/genesis.h"

namespace lading::contracts {
namespace {

bool IsValidator(const proto::Member& member) {
  return member.voting_power() > 0 &&
         std::find(member.roles().begin(), member.roles().end(), proto::ROLE_VALIDATOR) !=
             member.roles().end();
}

consensus::Validator ToValidator(const proto::Member& member) {
  return consensus::Validator{.id = member.id(),
                              .public_key = ToBytes(member.signing_public_key()),
                              .voting_power = member.voting_power()};
}

}  // namespace

absl::StatusOr<std::vector<StateWrite>> GenesisWrites(const proto::Genesis& genesis) {
  LADING_RETURN_IF_ERROR(proto::ValidateGenesis(genesis));
  std::vector<consensus::Validator> validators;
  proto::CommitteeState committee;
  for (const proto::Member& member : genesis.members()) {
    if (!IsValidator(member)) continue;
    validators.push_back(ToValidator(member));
    committee.add_member_ids(member.id());
  }
  auto set = consensus::ValidatorSet::Create(std::move(validators));
  if (!set.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("genesis committee is invalid: ", set.status().message()));
  }

  const MemoryState empty;
  StateOverlay overlay(&empty);
  for (const proto::Member& member : genesis.members()) {
    // Unknown fields would make the record's bytes depend on who wrote the genesis.
    proto::Member record = member;
    record.DiscardUnknownFields();
    WriteMember(&overlay, record);
  }
  WriteCommittee(&overlay, committee);
  proto::ChainState chain;
  chain.set_chain_id(genesis.chain_id());
  chain.set_genesis_time_unix_ms(genesis.genesis_time_unix_ms());
  WriteChain(&overlay, chain);
  return overlay.Writes();
}

absl::StatusOr<consensus::ValidatorSet> CommitteeFromState(const StateReader& state) {
  LADING_ASSIGN_OR_RETURN(std::optional<proto::CommitteeState> committee, ReadCommittee(state));
  if (!committee) {
    return absl::FailedPreconditionError(
        "the state has no committee record; was the genesis state written?");
  }
  std::vector<consensus::Validator> validators;
  validators.reserve(committee->member_ids_size());
  for (const std::string& id : committee->member_ids()) {
    LADING_ASSIGN_OR_RETURN(std::optional<proto::Member> member, ReadMember(state, id));
    if (!member) {
      return absl::DataLossError(
          absl::StrCat("committee member ", id, " has no member record in the state"));
    }
    if (!IsValidator(*member)) {
      return absl::FailedPreconditionError(
          absl::StrCat("committee member ", id, " has voting power ", member->voting_power(),
                       " and needs ROLE_VALIDATOR with voting power > 0"));
    }
    validators.push_back(ToValidator(*member));
  }
  auto set = consensus::ValidatorSet::Create(std::move(validators));
  if (!set.ok()) {
    return absl::DataLossError(
        absl::StrCat("the state's committee is invalid: ", set.status().message()));
  }
  return std::move(set).value();
}

}  // namespace lading::contracts
