// The simulator's stand-in application: the values validators propose and the committee changes
// the chain makes.
//
// A value's payload is the ASCII text "height:round:proposer:nonce" (proposer is a KeyId) and its
// hash is H("lading/sim/value", payload). A value is valid for a height when its payload is well
// formed, names that height and a known key, and hashes to the value's hash.
//
// Committee changes: every `change_period` heights, the decision of height h sets the committee
// of h + 2 (DESIGN §4) by a pure function of (h, decided block, committee of h + 1): either the
// correct members' voting powers are redrawn, or a correct member is swapped for a spare key.
// Byzantine members always keep power 1 and are never swapped out, so the Byzantine share of
// power only shrinks and n >= 3f + 1 holds by power. Every node derives the same schedule from its
// own decided chain, and a restarted node rebuilds it the same way.
//
// Pure functions and an immutable plan; thread-compatible.
#ifndef LADING_TESTS_SIM_APP_H_
#define LADING_TESTS_SIM_APP_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consensus/state_machine.h"
#include "consensus/types.h"
#include "consensus/validator_set.h"
#include "tests/sim/keys.h"

namespace lading::sim {

// Domain label of simulated values (used only by the simulator).
inline constexpr std::string_view kLabelSimValue = "lading/sim/value";
// Payloads longer than this are rejected before parsing.
inline constexpr size_t kValuePayloadBytesMax = 96;

struct ValueFields {
  consensus::Height height = 0;
  consensus::Round round = 0;
  KeyId proposer = 0;
  uint64_t nonce = 0;
};

// The value for these fields: payload text and its labelled hash.
consensus::Value MakeValue(const ValueFields& fields);
// Parses "height:round:proposer:nonce" (unsigned decimals without leading '+' or spaces; round
// also unsigned). Fails on oversize or malformed payloads, naming what is wrong.
absl::StatusOr<ValueFields> ParseValuePayload(ByteSpan payload);
// OK when `value` is valid at `height` among `key_count` keys; otherwise says why.
absl::Status CheckValue(const consensus::Value& value, consensus::Height height, size_t key_count);

struct CommitteePlanConfig {
  std::vector<KeyId> genesis;    // members of the height-1 committee, in index order, power 1
  std::vector<KeyId> spares;     // correct keys that may be swapped in
  std::vector<KeyId> byzantine;  // members that are Byzantine (never swapped, always power 1)
  uint64_t change_period = 0;    // 0: the committee never changes
};

class CommitteePlan {
 public:
  // REQUIRES: keys outlives the plan; genesis non-empty; every listed key < keys->size().
  CommitteePlan(const KeyRing* keys, CommitteePlanConfig config);

  consensus::ValidatorSet Genesis() const;
  // The committee the application sets for height + 2 after deciding `height` with `block`,
  // given `next` (the committee already scheduled for height + 1); nullopt for no change.
  std::optional<consensus::ValidatorSet> ChangeAfter(consensus::Height height,
                                                     const consensus::BlockHash& block,
                                                     const consensus::ValidatorSet& next) const;
  // The schedule after deciding `decided` (ascending heights 1, 2, ...): genesis plus every
  // change those decisions made.
  consensus::CommitteeSchedule ScheduleFor(
      const std::vector<std::pair<consensus::Height, consensus::BlockHash>>& decided) const;

  const CommitteePlanConfig& config() const { return config_; }
  bool IsByzantine(KeyId key) const;

 private:
  consensus::ValidatorSet Build(
      const std::vector<std::pair<KeyId, consensus::VotingPower>>& members) const;

  const KeyRing* keys_;
  CommitteePlanConfig config_;
};

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_APP_H_
