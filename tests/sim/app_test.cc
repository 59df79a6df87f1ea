#include "tests/sim/app.h"

#include <catch2/catch.hpp>

#include "crypto/hash.h"

namespace lading::sim {
namespace {

TEST_CASE("a value's payload names its fields and hashes to the value hash", "[unit][sim]") {
  const consensus::Value value = MakeValue({.height = 12, .round = 3, .proposer = 2, .nonce = 99});
  REQUIRE(ToString(value.payload) == "12:3:2:99");
  REQUIRE(value.hash == crypto::HashWithLabel(kLabelSimValue, value.payload));
  absl::StatusOr<ValueFields> fields = ParseValuePayload(value.payload);
  REQUIRE(fields.ok());
  REQUIRE(fields->height == 12);
  REQUIRE(fields->round == 3);
  REQUIRE(fields->proposer == 2);
  REQUIRE(fields->nonce == 99);
  REQUIRE(CheckValue(value, 12, 4).ok());
}

TEST_CASE("invalid values are rejected with the reason", "[unit][sim]") {
  const consensus::Value good = MakeValue({.height = 5, .round = 0, .proposer = 1, .nonce = 7});
  SECTION("wrong height") {
    const absl::Status status = CheckValue(good, 6, 4);
    REQUIRE_FALSE(status.ok());
    REQUIRE(std::string(status.message()).find("height 5 proposed at height 6") !=
            std::string::npos);
  }
  SECTION("payload that does not hash to the hash") {
    consensus::Value bad = good;
    bad.payload = ToBytes("5:0:1:8");
    REQUIRE_FALSE(CheckValue(bad, 5, 4).ok());
  }
  SECTION("unknown proposer key") { REQUIRE_FALSE(CheckValue(good, 5, 1).ok()); }
  SECTION("malformed payloads") {
    for (const char* text : {"", "1:2:3", "1:2:3:4:5", "a:0:0:0", "1:-1:0:0", "1::0:0",
                             "99999999999999999999999:0:0:0", "1:2000000:0:0"}) {
      CAPTURE(text);
      REQUIRE_FALSE(ParseValuePayload(AsBytes(text)).ok());
    }
  }
  SECTION("oversize payload") {
    const std::string big(kValuePayloadBytesMax + 1, '1');
    const absl::StatusOr<ValueFields> parsed = ParseValuePayload(AsBytes(big));
    REQUIRE_FALSE(parsed.ok());
    REQUIRE(std::string(parsed.status().message()).find("exceeds the cap") != std::string::npos);
  }
}

TEST_CASE("committee changes keep Byzantine power under a third and repeat for one chain",
          "[unit][sim]") {
  KeyRing keys(5, 8);
  CommitteePlan plan(&keys, CommitteePlanConfig{.genesis = {0, 1, 2, 3, 4, 5, 6},
                                                .spares = {7},
                                                .byzantine = {2, 5},
                                                .change_period = 3});
  REQUIRE(plan.Genesis().size() == 7);
  REQUIRE(plan.Genesis().total_power() == 7);
  std::vector<std::pair<consensus::Height, consensus::BlockHash>> chain;
  for (consensus::Height h = 1; h <= 60; ++h) {
    chain.emplace_back(h, MakeValue({.height = h, .round = 0, .proposer = 0, .nonce = h}).hash);
  }
  const consensus::CommitteeSchedule schedule = plan.ScheduleFor(chain);
  const consensus::CommitteeSchedule again = plan.ScheduleFor(chain);
  bool changed = false, swapped = false;
  for (consensus::Height h = 1; h <= 62; ++h) {
    const consensus::ValidatorSet& set = schedule.At(h);
    REQUIRE(set == again.At(h));
    REQUIRE(set.size() == 7);
    consensus::VotingPower byzantine = 0;
    for (KeyId k : {2u, 5u}) {
      const auto index = set.IndexOfKey(keys.public_key(k));
      REQUIRE(index.has_value());  // Byzantine members are never swapped out
      byzantine += set.at(*index).voting_power;
    }
    REQUIRE(3 * byzantine < set.total_power());
    changed = changed || !(set == plan.Genesis());
    swapped = swapped || set.IndexOfKey(keys.public_key(7)).has_value();
    if (h % 3 != 2 && h > 2) REQUIRE(set == schedule.At(h - 1));  // changes land at h = 3k + 2
  }
  REQUIRE(changed);
  REQUIRE(swapped);
  // Without a period the committee never changes.
  CommitteePlan fixed(&keys, CommitteePlanConfig{.genesis = {0, 1, 2, 3}});
  REQUIRE_FALSE(fixed.ChangeAfter(3, chain[2].second, fixed.Genesis()).has_value());
}

}  // namespace
}  // namespace lading::sim
