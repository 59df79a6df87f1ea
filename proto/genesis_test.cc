#include "proto/genesis.h"

#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <string>

#include "crypto/bytes.h"

namespace lading::proto {
namespace {

Member SampleMember(const std::string& id, uint8_t key_byte, uint64_t voting_power) {
  Member member;
  member.set_id(id);
  member.set_signing_public_key(std::string(32, static_cast<char>(key_byte)));
  member.set_encryption_public_key(std::string(32, static_cast<char>(key_byte + 100)));
  if (voting_power > 0) member.add_roles(ROLE_VALIDATOR);
  member.add_roles(ROLE_EXPORTER);
  member.set_voting_power(voting_power);
  return member;
}

Genesis SampleGenesis() {
  Genesis genesis;
  genesis.set_chain_id("lading-test");
  genesis.set_genesis_time_unix_ms(1'700'000'000'000);
  *genesis.add_members() = SampleMember("milchpulver", 1, 10);
  *genesis.add_members() = SampleMember("fangxin", 2, 10);
  *genesis.add_members() = SampleMember("bank-of-china", 3, 0);
  return genesis;
}

std::string ErrorOf(const Genesis& genesis) {
  const absl::Status status = ValidateGenesis(genesis);
  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

TEST_CASE("a valid genesis round-trips through JSON", "[unit][proto][genesis]") {
  const Genesis genesis = SampleGenesis();
  REQUIRE(ValidateGenesis(genesis).ok());
  auto json = GenesisToJson(genesis);
  REQUIRE(json.ok());
  CHECK_THAT(*json, Catch::Contains("\"chain_id\": \"lading-test\""));
  CHECK_THAT(*json, Catch::Contains("\"ROLE_VALIDATOR\""));
  auto loaded = LoadGenesisJson(*json);
  REQUIRE(loaded.ok());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(*loaded, genesis));
}

TEST_CASE("genesis JSON with an unknown field, bad syntax or over the cap is refused",
          "[unit][proto][genesis]") {
  auto json = GenesisToJson(SampleGenesis());
  REQUIRE(json.ok());
  std::string misspelt = *json;
  misspelt.replace(misspelt.find("\"chain_id\""), 10, "\"chainid_x\"");
  auto unknown = LoadGenesisJson(misspelt);
  REQUIRE(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(unknown.status().message()),
             Catch::StartsWith("genesis JSON does not parse"));

  CHECK(LoadGenesisJson("{\"chain_id\": ").status().code() ==
        absl::StatusCode::kInvalidArgument);

  const std::string huge(kGenesisJsonBytesMax + 1, ' ');
  auto oversize = LoadGenesisJson(huge);
  REQUIRE(!oversize.ok());
  CHECK(std::string(oversize.status().message()) ==
        "genesis JSON is 1048577 bytes, over the cap of 1048576 bytes");
}

TEST_CASE("a parseable but invalid genesis JSON is refused by validation",
          "[unit][proto][genesis]") {
  Genesis genesis = SampleGenesis();
  genesis.set_chain_id("");
  auto json = GenesisToJson(genesis);
  REQUIRE(json.ok());
  auto loaded = LoadGenesisJson(*json);
  REQUIRE(!loaded.ok());
  CHECK(std::string(loaded.status().message()) == "genesis chain_id is empty");
}

TEST_CASE("genesis validation names the bad chain id", "[unit][proto][genesis]") {
  Genesis genesis = SampleGenesis();
  genesis.set_chain_id(std::string(65, 'a'));
  CHECK(ErrorOf(genesis) == "genesis chain_id is 65 characters, over the limit of 64");
  genesis.set_chain_id(std::string(64, 'a'));
  CHECK(ValidateGenesis(genesis).ok());
  genesis.set_chain_id("lading test");
  CHECK_THAT(ErrorOf(genesis), Catch::Contains("0x20 at position 6"));
  genesis.set_chain_id("lading-test");
  genesis.set_genesis_time_unix_ms(-1);
  CHECK(ErrorOf(genesis) == "genesis genesis_time_unix_ms is -1, before 1970");
}

TEST_CASE("genesis validation refuses duplicate ids and keys", "[unit][proto][genesis]") {
  Genesis genesis = SampleGenesis();
  genesis.mutable_members(2)->set_id("milchpulver");
  CHECK(ErrorOf(genesis) == "genesis member 2 repeats the member id milchpulver");

  genesis = SampleGenesis();
  genesis.mutable_members(2)->set_signing_public_key(genesis.members(0).signing_public_key());
  CHECK(ErrorOf(genesis) == "genesis member 2 (bank-of-china) repeats the signing_public_key " +
                                HexEncode(AsBytes(std::string(32, '\x01'))));

  genesis = SampleGenesis();
  genesis.mutable_members(1)->set_encryption_public_key(
      genesis.members(0).encryption_public_key());
  CHECK_THAT(ErrorOf(genesis),
             Catch::StartsWith("genesis member 1 (fangxin) repeats the encryption_public_key "));
}

TEST_CASE("genesis validation refuses bad member ids, key lengths and roles",
          "[unit][proto][genesis]") {
  Genesis genesis = SampleGenesis();
  genesis.mutable_members(1)->set_id("Fangxin!");
  CHECK_THAT(ErrorOf(genesis), Catch::StartsWith("genesis member 1: "));

  genesis = SampleGenesis();
  genesis.mutable_members(1)->set_signing_public_key(std::string(31, 'k'));
  CHECK(ErrorOf(genesis) ==
        "genesis member 1 (fangxin) signing_public_key is 31 bytes, expected 32");

  genesis = SampleGenesis();
  genesis.mutable_members(0)->set_encryption_public_key("");
  CHECK(ErrorOf(genesis) ==
        "genesis member 0 (milchpulver) encryption_public_key is 0 bytes, expected 32");

  genesis = SampleGenesis();
  genesis.mutable_members(2)->add_roles(ROLE_UNSPECIFIED);
  CHECK(ErrorOf(genesis) == "genesis member 2 (bank-of-china) has an unspecified or unknown role 0");

  genesis = SampleGenesis();
  genesis.mutable_members(2)->add_roles(static_cast<Role>(99));
  CHECK(ErrorOf(genesis) ==
        "genesis member 2 (bank-of-china) has an unspecified or unknown role 99");

  genesis = SampleGenesis();
  genesis.mutable_members(2)->add_roles(ROLE_EXPORTER);
  CHECK(ErrorOf(genesis) == "genesis member 2 (bank-of-china) lists role ROLE_EXPORTER twice");

  genesis = SampleGenesis();
  genesis.mutable_members(2)->set_voting_power(5);
  CHECK(ErrorOf(genesis) ==
        "genesis member 2 (bank-of-china) has voting power 5 but not the role ROLE_VALIDATOR");
}

TEST_CASE("a genesis without a validator with voting power is refused", "[unit][proto][genesis]") {
  Genesis genesis = SampleGenesis();
  genesis.mutable_members(0)->set_voting_power(0);
  genesis.mutable_members(1)->set_voting_power(0);
  CHECK(ErrorOf(genesis) ==
        "genesis has no validator: at least one member needs ROLE_VALIDATOR and voting_power > 0");
  genesis.clear_members();
  CHECK(ErrorOf(genesis) == "genesis has no members");
}

}  // namespace
}  // namespace lading::proto
