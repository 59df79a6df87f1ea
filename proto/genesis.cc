#include "proto/genesis.h"

#include <google/protobuf/util/json_util.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/bytes.h"
#include "crypto/key_file.h"

namespace lading::proto {
namespace {

bool IsChainIdCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string MemberName(int index, const Member& member) {
  return absl::StrCat("genesis member ", index, " (", member.id(), ")");
}

absl::Status ValidateMember(int index, const Member& member) {
  const absl::Status id_status = crypto::ValidateMemberId(member.id());
  if (!id_status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("genesis member ", index, ": ", id_status.message()));
  }
  if (member.signing_public_key().size() != kMemberPublicKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(MemberName(index, member),
                                                   " signing_public_key is ",
                                                   member.signing_public_key().size(),
                                                   " bytes, expected ", kMemberPublicKeyBytes));
  }
  if (member.encryption_public_key().size() != kMemberPublicKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(MemberName(index, member),
                                                   " encryption_public_key is ",
                                                   member.encryption_public_key().size(),
                                                   " bytes, expected ", kMemberPublicKeyBytes));
  }
  std::set<int> roles;
  bool validator = false;
  for (const int role : member.roles()) {
    if (role == ROLE_UNSPECIFIED || !Role_IsValid(role)) {
      return absl::InvalidArgumentError(
          absl::StrCat(MemberName(index, member), " has an unspecified or unknown role ", role));
    }
    if (!roles.insert(role).second) {
      return absl::InvalidArgumentError(absl::StrCat(MemberName(index, member), " lists role ",
                                                     Role_Name(role), " twice"));
    }
    validator = validator || role == ROLE_VALIDATOR;
  }
  if (member.voting_power() > 0 && !validator) {
    return absl::InvalidArgumentError(absl::StrCat(MemberName(index, member), " has voting power ",
                                                   member.voting_power(),
                                                   " but not the role ROLE_VALIDATOR"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateChainId(std::string_view chain_id) {
  if (chain_id.empty()) return absl::InvalidArgumentError("chain_id is empty");
  if (chain_id.size() > kChainIdLengthMax) {
    return absl::InvalidArgumentError(absl::StrCat("chain_id is ", chain_id.size(),
                                                   " characters, over the limit of ",
                                                   kChainIdLengthMax));
  }
  for (size_t i = 0; i < chain_id.size(); ++i) {
    if (!IsChainIdCharacter(chain_id[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("chain_id '", std::string(chain_id), "' has the character 0x",
                       HexEncode(AsBytes(chain_id.substr(i, 1))), " at position ", i,
                       "; allowed are A-Z a-z 0-9 . _ -"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGenesis(const Genesis& genesis) {
  const absl::Status chain_status = ValidateChainId(genesis.chain_id());
  if (!chain_status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("genesis ", chain_status.message()));
  }
  if (genesis.genesis_time_unix_ms() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "genesis genesis_time_unix_ms is ", genesis.genesis_time_unix_ms(), ", before 1970"));
  }
  if (genesis.members().empty()) return absl::InvalidArgumentError("genesis has no members");
  if (static_cast<size_t>(genesis.members_size()) > kGenesisMembersMax) {
    return absl::InvalidArgumentError(absl::StrCat("genesis has ", genesis.members_size(),
                                                   " members, over the limit of ",
                                                   kGenesisMembersMax));
  }
  std::set<std::string> ids;
  std::set<std::string> signing_keys;
  std::set<std::string> encryption_keys;
  bool has_validator = false;
  for (int i = 0; i < genesis.members_size(); ++i) {
    const Member& member = genesis.members(i);
    const absl::Status member_status = ValidateMember(i, member);
    if (!member_status.ok()) return member_status;
    if (!ids.insert(member.id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("genesis member ", i, " repeats the member id ", member.id()));
    }
    if (!signing_keys.insert(member.signing_public_key()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(MemberName(i, member), " repeats the signing_public_key ",
                       HexEncode(AsBytes(member.signing_public_key()))));
    }
    if (!encryption_keys.insert(member.encryption_public_key()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(MemberName(i, member), " repeats the encryption_public_key ",
                       HexEncode(AsBytes(member.encryption_public_key()))));
    }
    for (const int role : member.roles()) {
      if (role == ROLE_VALIDATOR && member.voting_power() > 0) has_validator = true;
    }
  }
  if (!has_validator) {
    return absl::InvalidArgumentError(
        "genesis has no validator: at least one member needs ROLE_VALIDATOR and voting_power > "
        "0");
  }
  return absl::OkStatus();
}

absl::StatusOr<Genesis> LoadGenesisJson(std::string_view text) {
  if (text.size() > kGenesisJsonBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("genesis JSON is ", text.size(),
                                                   " bytes, over the cap of ",
                                                   kGenesisJsonBytesMax, " bytes"));
  }
  Genesis genesis;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &genesis, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("genesis JSON does not parse: ", std::string(status.message())));
  }
  const absl::Status valid = ValidateGenesis(genesis);
  if (!valid.ok()) return valid;
  return genesis;
}

absl::StatusOr<std::string> GenesisToJson(const Genesis& genesis) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(genesis, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("genesis does not print as JSON: ", std::string(status.message())));
  }
  if (json.empty() || json.back() != '\n') json += '\n';
  return json;
}

}  // namespace lading::proto
