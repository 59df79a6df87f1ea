// The genesis file (proto/genesis.proto): loading it from JSON, writing it back, and checking it.
//
// A genesis is what every node of a chain must agree on before block 1, so a bad one is refused
// with an error that names the member and the field. Building the genesis state from it is the
// contracts' job (contracts/genesis_state.h).
//
// Pure functions over values the caller owns; thread-safe.
#ifndef LADING_PROTO_GENESIS_H_
#define LADING_PROTO_GENESIS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/genesis.pb.h"

namespace lading::proto {

// Largest genesis JSON text: a member takes about 300 bytes of JSON, so this holds thousands.
inline constexpr size_t kGenesisJsonBytesMax = 1u << 20;
// Most members a genesis may list.
inline constexpr size_t kGenesisMembersMax = 2048;
// Longest chain id.
inline constexpr size_t kChainIdLengthMax = 64;
// Ed25519 and X25519 public keys are both 32 bytes.
inline constexpr size_t kMemberPublicKeyBytes = 32;

// OK when `chain_id` is 1..64 characters of [A-Za-z0-9._-]; otherwise InvalidArgument naming the
// problem ("chain_id is empty", "chain_id is 70 characters, over the limit of 64", or the
// offending character and its position).
absl::Status ValidateChainId(std::string_view chain_id);

// OK when `genesis` can start a chain. InvalidArgument, naming the member (index and id) and the
// field, when: the chain id is invalid (ValidateChainId); genesis_time_unix_ms is negative; there
// are no members or more than kGenesisMembersMax; a member id is invalid
// (crypto::ValidateMemberId); a signing or encryption public key is not 32 bytes; a role is
// unspecified, unknown or repeated; a member has voting power without ROLE_VALIDATOR; two
// members share an id, a signing key or an encryption key; no member has ROLE_VALIDATOR with
// voting_power > 0. (Whether the committee's total power fits the consensus arithmetic is
// checked when the committee is built: contracts::GenesisWrites.)
absl::Status ValidateGenesis(const Genesis& genesis);

// Parses genesis JSON (protobuf's JSON mapping, unknown fields refused so a misspelt field is
// an error, not a silent default) and validates it (ValidateGenesis). InvalidArgument when the
// text is over kGenesisJsonBytesMax (checked before parsing), does not parse, or is invalid.
absl::StatusOr<Genesis> LoadGenesisJson(std::string_view text);

// The JSON form of `genesis`: indented, proto field names, default values included, ending in a
// newline. LoadGenesisJson(GenesisToJson(g)) == g for every valid g. Internal if protobuf
// refuses to print (a string field that is not valid UTF-8).
absl::StatusOr<std::string> GenesisToJson(const Genesis& genesis);

}  // namespace lading::proto

#endif  // LADING_PROTO_GENESIS_H_
