#include "consensus/validator_set.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "consensus/internal/labels.h"
#include "crypto/hash.h"
#include "crypto/status.h"

namespace lading::consensus {
namespace {

constexpr VotingPower kTotalPowerMax = VotingPower{1} << 60;
constexpr size_t kPublicKeyBytes = 32;

using Uint128 = unsigned __int128;

// The k-th turn (k = 0 .. p-1) of a validator with power p sits at slot time
// floor((2k + 1) * T / (2p)) in [0, T): the midpoints of p equal slices of the cycle of length T,
// so each validator's turns are spread evenly. count_i(x) counts validator i's turns at times
// <= x: (2k + 1) * T < 2p(x + 1) holds for the odd numbers 2k + 1 <= (2p(x + 1) - 1) / T.
VotingPower TurnsUpTo(VotingPower power, VotingPower total, VotingPower time) {
  const Uint128 bound = (Uint128{2} * power * (Uint128{time} + 1) - 1) / total;
  const Uint128 odd_count = (bound + 1) / 2;
  return odd_count < power ? static_cast<VotingPower>(odd_count) : power;
}

}  // namespace

absl::StatusOr<ValidatorSet> ValidatorSet::Create(std::vector<Validator> validators) {
  if (validators.empty()) return absl::InvalidArgumentError("validator set is empty");
  ValidatorSet set;
  std::set<std::string> ids;
  std::set<Bytes> keys;
  for (size_t i = 0; i < validators.size(); ++i) {
    const Validator& v = validators[i];
    if (v.voting_power == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("validator ", i, " (", v.id, ") has zero voting power"));
    }
    if (v.public_key.size() != kPublicKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("validator ", i, " (", v.id, ") has a ", v.public_key.size(),
                       "-byte public key; Ed25519 keys are 32 bytes"));
    }
    if (!ids.insert(v.id).second) {
      return absl::InvalidArgumentError(absl::StrCat("validator ", i, " repeats the id ", v.id));
    }
    if (!keys.insert(v.public_key).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "validator ", i, " (", v.id, ") repeats the public key ", HexEncode(v.public_key)));
    }
    if (v.voting_power > kTotalPowerMax - set.total_power_) {
      return absl::InvalidArgumentError(
          absl::StrCat("total voting power exceeds 2^60 at validator ", i, " (", v.id, ", power ",
                       v.voting_power, ")"));
    }
    set.total_power_ += v.voting_power;
  }
  set.validators_ = std::move(validators);
  return set;
}

std::optional<ValidatorIndex> ValidatorSet::IndexOfKey(ByteSpan public_key) const {
  for (size_t i = 0; i < validators_.size(); ++i) {
    const Bytes& key = validators_[i].public_key;
    if (std::equal(key.begin(), key.end(), public_key.begin(), public_key.end())) {
      return static_cast<ValidatorIndex>(i);
    }
  }
  return std::nullopt;
}

ValidatorIndex ValidatorSet::Proposer(Height height, Round round) const {
  LADING_CHECK_MSG(round >= 0, "proposer asked for a negative round");
  LADING_CHECK(!validators_.empty());
  const VotingPower total = total_power_;
  const VotingPower slot = static_cast<VotingPower>(
      (Uint128{height % total} + static_cast<uint64_t>(round) % total) % total);
  const auto turns_up_to = [&](VotingPower time) {
    VotingPower turns = 0;
    for (const Validator& v : validators_) turns += TurnsUpTo(v.voting_power, total, time);
    return turns;
  };
  // The smallest time whose turns up to it include the slot.
  VotingPower low = 0;
  VotingPower high = total - 1;
  while (low < high) {
    const VotingPower middle = low + (high - low) / 2;
    if (turns_up_to(middle) > slot) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  const VotingPower time = low;
  // Turns that share one time go in index order: that is what makes equal powers alternate.
  VotingPower position = slot - (time == 0 ? 0 : turns_up_to(time - 1));
  for (size_t i = 0; i < validators_.size(); ++i) {
    const VotingPower power = validators_[i].voting_power;
    const VotingPower before = time == 0 ? 0 : TurnsUpTo(power, total, time - 1);
    if (TurnsUpTo(power, total, time) == before) continue;
    if (position == 0) return static_cast<ValidatorIndex>(i);
    --position;
  }
  LADING_CHECK_MSG(false, "proposer slot not found");
  return 0;
}

Hash256 ValidatorSet::Hash() const {
  Bytes encoded;
  AppendUint32BigEndian(static_cast<uint32_t>(validators_.size()), &encoded);
  for (const Validator& v : validators_) {
    AppendUint32BigEndian(static_cast<uint32_t>(v.id.size()), &encoded);
    encoded.insert(encoded.end(), v.id.begin(), v.id.end());
    AppendUint32BigEndian(static_cast<uint32_t>(v.public_key.size()), &encoded);
    encoded.insert(encoded.end(), v.public_key.begin(), v.public_key.end());
    AppendUint64BigEndian(v.voting_power, &encoded);
  }
  return crypto::HashWithLabel(internal::kLabelCommittee, encoded);
}

}  // namespace lading::consensus
