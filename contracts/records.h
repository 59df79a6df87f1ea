// The state's records: which state key holds what, and typed access to them.
//
//   "chain"                proto::ChainState      chain id and genesis time
//   "member/<member id>"   proto::Member          a consortium member, as registered
//   "account/<member id>"  proto::AccountState    the member's next nonce (absent = 1)
//   "committee"            proto::CommitteeState  the validators of the next block, in order
//
// Records are serialized with proto::Serialize from messages built field by field (see
// proto/state.proto for why that gives every node the same bytes).
//
// Pure functions over a reader or overlay the caller owns; as thread-safe as those.
#ifndef LADING_CONTRACTS_RECORDS_H_
#define LADING_CONTRACTS_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "contracts/state.h"
#include "crypto/bytes.h"
#include "proto/ledger.pb.h"
#include "proto/state.pb.h"

namespace lading::contracts {

inline constexpr std::string_view kChainStateKey = "chain";
inline constexpr std::string_view kCommitteeStateKey = "committee";

std::string MemberStateKey(std::string_view member_id);
std::string AccountStateKey(std::string_view member_id);

// Each Read: the record, std::nullopt when the key is absent, the reader's error as is, or
// DataLoss naming the state key when the stored value is over kStateValueBytesMax or does not
// parse as the record type (the state is corrupt: a node never writes such a value).
absl::StatusOr<std::optional<proto::Member>> ReadMember(const StateReader& state,
                                                        std::string_view member_id);
absl::StatusOr<std::optional<proto::ChainState>> ReadChain(const StateReader& state);
absl::StatusOr<std::optional<proto::CommitteeState>> ReadCommittee(const StateReader& state);
// The nonce `member_id`'s next transaction must carry: the account's next_nonce, or 1 when the
// member has no account record yet. Errors as for the Reads.
absl::StatusOr<uint64_t> ReadNextNonce(const StateReader& state, std::string_view member_id);

// Each Write puts the serialized record under its key in `overlay`.
// REQUIRES: overlay is non-null.
void WriteMember(StateOverlay* overlay, const proto::Member& member);
void WriteChain(StateOverlay* overlay, const proto::ChainState& chain);
void WriteCommittee(StateOverlay* overlay, const proto::CommitteeState& committee);
void WriteNextNonce(StateOverlay* overlay, std::string_view member_id, uint64_t next_nonce);

}  // namespace lading::contracts

#endif  // LADING_CONTRACTS_RECORDS_H_
