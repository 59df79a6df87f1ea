#include "contracts/records.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::contracts {
namespace {

template <typename Record>
absl::StatusOr<std::optional<Record>> ReadRecord(const StateReader& state,
                                                 const std::string& state_key,
                                                 const char* type) {
  LADING_ASSIGN_OR_RETURN(std::optional<Bytes> value, state.Get(StateKeyHash(state_key)));
  if (!value) return std::optional<Record>();
  if (value->size() > kStateValueBytesMax) {
    return absl::DataLossError(absl::StrCat("state record ", state_key, " is ", value->size(),
                                            " bytes, over the cap of ", kStateValueBytesMax));
  }
  Record record;
  if (!record.ParseFromArray(value->data(), static_cast<int>(value->size()))) {
    return absl::DataLossError(absl::StrCat("state record ", state_key, " (", value->size(),
                                            " bytes) does not parse as ", type));
  }
  return std::optional<Record>(std::move(record));
}

void WriteRecord(StateOverlay* overlay, const std::string& state_key,
                 const google::protobuf::MessageLite& record) {
  LADING_CHECK(overlay != nullptr);
  overlay->Put(StateKeyHash(state_key), proto::Serialize(record));
}

}  // namespace

std::string MemberStateKey(std::string_view member_id) {
  return std::string("member/").append(member_id);
}

std::string AccountStateKey(std::string_view member_id) {
  return std::string("account/").append(member_id);
}


absl::StatusOr<std::optional<proto::Member>> ReadMember(const StateReader& state,
                                                        std::string_view member_id) {
  return ReadRecord<proto::Member>(state, MemberStateKey(member_id), "Member");
}

absl::StatusOr<std::optional<proto::ChainState>> ReadChain(const StateReader& state) {
  return ReadRecord<proto::ChainState>(state, std::string(kChainStateKey), "ChainState");
}

absl::StatusOr<std::optional<proto::CommitteeState>> ReadCommittee(const StateReader& state) {
  return ReadRecord<proto::CommitteeState>(state, std::string(kCommitteeStateKey),
                                           "CommitteeState");
}

absl::StatusOr<uint64_t> ReadNextNonce(const StateReader& state, std::string_view member_id) {
  LADING_ASSIGN_OR_RETURN(
      std::optional<proto::AccountState> account,
      ReadRecord<proto::AccountState>(state, AccountStateKey(member_id), "AccountState"));
  if (!account) return uint64_t{1};
  return account->next_nonce();
}

void WriteMember(StateOverlay* overlay, const proto::Member& member) {
  WriteRecord(overlay, MemberStateKey(member.id()), member);
}

void WriteChain(StateOverlay* overlay, const proto::ChainState& chain) {
  WriteRecord(overlay, std::string(kChainStateKey), chain);
}

void WriteCommittee(StateOverlay* overlay, const proto::CommitteeState& committee) {
  WriteRecord(overlay, std::string(kCommitteeStateKey), committee);
}

void WriteNextNonce(StateOverlay* overlay, std::string_view member_id, uint64_t next_nonce) {
  proto::AccountState account;
  account.set_next_nonce(next_nonce);
  WriteRecord(overlay, AccountStateKey(member_id), account);
}

}  // namespace lading::contracts
