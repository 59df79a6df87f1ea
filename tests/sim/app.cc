#include "tests/sim/app.h"

#include <algorithm>
#include <string>

#include "crypto/hash.h"
#include "crypto/status.h"
#include "tests/sim/random.h"

namespace lading::sim {
namespace {

// Parses one unsigned decimal field; false on empty, non-digit or overflow.
bool ParseDecimal(std::string_view text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

}  // namespace

consensus::Value MakeValue(const ValueFields& fields) {
  const std::string text = std::to_string(fields.height) + ":" + std::to_string(fields.round) +
                           ":" + std::to_string(fields.proposer) + ":" +
                           std::to_string(fields.nonce);
  consensus::Value value;
  value.payload = ToBytes(text);
  value.hash = crypto::HashWithLabel(kLabelSimValue, value.payload);
  return value;
}

absl::StatusOr<ValueFields> ParseValuePayload(ByteSpan payload) {
  if (payload.size() > kValuePayloadBytesMax) {
    return absl::InvalidArgumentError("value payload of " + std::to_string(payload.size()) +
                                      " bytes exceeds the cap of " +
                                      std::to_string(kValuePayloadBytesMax));
  }
  const std::string_view text = AsStringView(payload);
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 4) {
    return absl::InvalidArgumentError("value payload \"" + std::string(text) +
                                      "\" is not height:round:proposer:nonce");
  }
  uint64_t height = 0, round = 0, proposer = 0, nonce = 0;
  if (!ParseDecimal(parts[0], UINT64_MAX, &height) ||
      !ParseDecimal(parts[1], static_cast<uint64_t>(consensus::kRoundMax), &round) ||
      !ParseDecimal(parts[2], UINT32_MAX, &proposer) ||
      !ParseDecimal(parts[3], UINT64_MAX, &nonce)) {
    return absl::InvalidArgumentError("value payload \"" + std::string(text) +
                                      "\" has a field that is not an unsigned decimal in range");
  }
  return ValueFields{height, static_cast<consensus::Round>(round), static_cast<KeyId>(proposer),
                     nonce};
}

absl::Status CheckValue(const consensus::Value& value, consensus::Height height, size_t key_count) {
  LADING_ASSIGN_OR_RETURN(const ValueFields fields, ParseValuePayload(value.payload));
  if (crypto::HashWithLabel(kLabelSimValue, value.payload) != value.hash) {
    return absl::InvalidArgumentError("value payload \"" + ToString(value.payload) +
                                      "\" does not hash to " + value.hash.ToHex());
  }
  if (fields.height != height) {
    return absl::InvalidArgumentError("value for height " + std::to_string(fields.height) +
                                      " proposed at height " + std::to_string(height));
  }
  if (fields.proposer >= key_count) {
    return absl::InvalidArgumentError("value names proposer key " +
                                      std::to_string(fields.proposer) + " of only " +
                                      std::to_string(key_count));
  }
  return absl::OkStatus();
}

CommitteePlan::CommitteePlan(const KeyRing* keys, CommitteePlanConfig config)
    : keys_(keys), config_(std::move(config)) {
  LADING_CHECK(keys_ != nullptr);
  LADING_CHECK(!config_.genesis.empty());
  for (KeyId k : config_.genesis) LADING_CHECK(k < keys_->size());
  for (KeyId k : config_.spares) LADING_CHECK(k < keys_->size());
}

bool CommitteePlan::IsByzantine(KeyId key) const {
  return std::find(config_.byzantine.begin(), config_.byzantine.end(), key) !=
         config_.byzantine.end();
}

consensus::ValidatorSet CommitteePlan::Build(
    const std::vector<std::pair<KeyId, consensus::VotingPower>>& members) const {
  std::vector<consensus::Validator> validators;
  consensus::VotingPower byzantine_power = 0, total_power = 0;
  for (const auto& [key, power] : members) {
    validators.push_back(
        consensus::Validator{"validator-" + std::to_string(key), keys_->public_key(key), power});
    total_power += power;
    if (IsByzantine(key)) byzantine_power += power;
  }
  LADING_CHECK_MSG(3 * byzantine_power < total_power || byzantine_power == 0,
                   "simulated committee gives Byzantine members a third of the power or more");
  absl::StatusOr<consensus::ValidatorSet> set =
      consensus::ValidatorSet::Create(std::move(validators));
  LADING_CHECK_MSG(set.ok(), "simulated committee rejected by ValidatorSet::Create");
  return std::move(set).value();
}

consensus::ValidatorSet CommitteePlan::Genesis() const {
  std::vector<std::pair<KeyId, consensus::VotingPower>> members;
  for (KeyId k : config_.genesis) members.emplace_back(k, 1);
  return Build(members);
}

std::optional<consensus::ValidatorSet> CommitteePlan::ChangeAfter(
    consensus::Height height, const consensus::BlockHash& block,
    const consensus::ValidatorSet& next) const {
  if (config_.change_period == 0 || height % config_.change_period != 0) return std::nullopt;
  // The decided block seeds the change, so every node that decided it makes the same one.
  Prng prng(ReadUint64BigEndian(block.span()) ^ height);
  std::vector<std::pair<KeyId, consensus::VotingPower>> members;
  std::vector<size_t> correct_positions;
  for (const consensus::Validator& v : next.validators()) {
    const std::optional<KeyId> key = keys_->Find(v.public_key);
    LADING_CHECK_MSG(key.has_value(), "simulated committee member without a key in the ring");
    if (!IsByzantine(*key)) correct_positions.push_back(members.size());
    members.emplace_back(*key, v.voting_power);
  }
  std::vector<KeyId> outside;
  for (KeyId spare : config_.spares) {
    if (!next.IndexOfKey(keys_->public_key(spare)).has_value()) outside.push_back(spare);
  }
  for (KeyId k : config_.genesis) {
    if (!IsByzantine(k) && !next.IndexOfKey(keys_->public_key(k)).has_value()) outside.push_back(k);
  }
  const bool swap = !outside.empty() && !correct_positions.empty() && prng.ChancePermille(500);
  if (swap) {
    const size_t position = correct_positions[prng.Below(correct_positions.size())];
    members[position] = {outside[prng.Below(outside.size())], 1};
  } else {
    for (size_t position : correct_positions) members[position].second = 1 + prng.Below(3);
  }
  return Build(members);
}

consensus::CommitteeSchedule CommitteePlan::ScheduleFor(
    const std::vector<std::pair<consensus::Height, consensus::BlockHash>>& decided) const {
  consensus::CommitteeSchedule schedule(Genesis());
  for (const auto& [height, block] : decided) {
    if (std::optional<consensus::ValidatorSet> change =
            ChangeAfter(height, block, schedule.At(height + 1))) {
      schedule.Set(height + 2, std::move(*change));
    }
  }
  return schedule;
}

}  // namespace lading::sim
