#include "contracts/genesis_state.h"

#include <catch2/catch.hpp>

#include "contracts/records.h"
#include "contracts/testing/test_chain.h"

namespace lading::contracts {
namespace {

using testing::TestChain;

MemoryState GenesisState(const proto::Genesis& genesis) {
  auto writes = GenesisWrites(genesis);
  REQUIRE(writes.ok());
  MemoryState state;
  state.Apply(*writes);
  return state;
}

TEST_CASE("the genesis state holds every member and the committee of its validators",
          "[unit][contracts]") {
  const TestChain chain({"val-a", "val-b", "val-c", "milchpulver", "fangxin"}, 3);
  auto writes = GenesisWrites(chain.genesis());
  REQUIRE(writes.ok());
  CHECK(writes->size() == 7);  // the chain, five members and the committee
  for (size_t i = 1; i < writes->size(); ++i) {
    CHECK((*writes)[i - 1].key_hash < (*writes)[i].key_hash);
  }

  const MemoryState state = GenesisState(chain.genesis());
  auto member = ReadMember(state, "fangxin");
  REQUIRE(member.ok());
  REQUIRE(member->has_value());
  CHECK((*member)->signing_public_key() == chain.genesis().members(4).signing_public_key());

  auto chain_record = ReadChain(state);
  REQUIRE(chain_record.ok());
  REQUIRE(chain_record->has_value());
  CHECK((*chain_record)->chain_id() == "lading-test");
  CHECK((*chain_record)->genesis_time_unix_ms() == testing::kTestGenesisTimeUnixMs);

  auto committee = CommitteeFromState(state);
  REQUIRE(committee.ok());
  REQUIRE(committee->size() == 3);
  CHECK(committee->at(0).id == "val-a");
  CHECK(committee->at(2).id == "val-c");
  CHECK(committee->at(1).public_key == ToBytes(chain.genesis().members(1).signing_public_key()));
  CHECK(committee->total_power() == 3 * testing::kTestVotingPower);
}

TEST_CASE("the same genesis always gives the same writes", "[unit][contracts]") {
  const TestChain first({"val-a", "val-b", "fangxin"}, 2);
  const TestChain second({"val-a", "val-b", "fangxin"}, 2);
  CHECK(*GenesisWrites(first.genesis()) == *GenesisWrites(second.genesis()));
  const TestChain other({"val-a", "val-b", "fangxin"}, 1);
  CHECK(*GenesisWrites(first.genesis()) != *GenesisWrites(other.genesis()));
}

TEST_CASE("an invalid genesis gives no state", "[unit][contracts]") {
  TestChain chain({"val-a", "fangxin"}, 1);
  proto::Genesis genesis = chain.genesis();
  genesis.mutable_members(0)->set_voting_power(0);
  auto writes = GenesisWrites(genesis);
  REQUIRE(writes.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(writes.status().message()), Catch::StartsWith("genesis has no validator"));

  genesis = chain.genesis();
  genesis.mutable_members(0)->set_voting_power(uint64_t{1} << 61);
  writes = GenesisWrites(genesis);
  REQUIRE(writes.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(writes.status().message()),
             Catch::StartsWith("genesis committee is invalid: total voting power exceeds 2^60"));
}

TEST_CASE("a state without a consistent committee record gives no committee",
          "[unit][contracts]") {
  const MemoryState empty;
  auto none = CommitteeFromState(empty);
  REQUIRE(none.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(none.status().message()) ==
        "the state has no committee record; was the genesis state written?");

  const TestChain chain({"val-a", "fangxin"}, 1);
  MemoryState state = GenesisState(chain.genesis());
  StateOverlay overlay(&state);
  proto::CommitteeState committee;
  committee.add_member_ids("val-a");
  committee.add_member_ids("ghost");
  WriteCommittee(&overlay, committee);
  auto missing = CommitteeFromState(overlay);
  REQUIRE(missing.status().code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(missing.status().message()) ==
        "committee member ghost has no member record in the state");

  committee.set_member_ids(1, "fangxin");
  WriteCommittee(&overlay, committee);
  auto not_validator = CommitteeFromState(overlay);
  REQUIRE(not_validator.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(not_validator.status().message()) ==
        "committee member fangxin has voting power 0 and needs ROLE_VALIDATOR with voting power "
        "> 0");
}

}  // namespace
}  // namespace lading::contracts
