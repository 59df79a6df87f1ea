#include "contracts/state.h"

#include <utility>

#include "crypto/hash.h"
#include "crypto/status.h"

namespace lading::contracts {

Hash256 StateKeyHash(std::string_view state_key) {
  return crypto::HashWithLabel(crypto::kLabelStateKey, AsBytes(state_key));
}

Hash256 StateValueHash(ByteSpan value) {
  return crypto::HashWithLabel(crypto::kLabelStateValue, value);
}

StateOverlay::StateOverlay(const StateReader* base) : base_(base) {
  LADING_CHECK(base_ != nullptr);
}

absl::StatusOr<std::optional<Bytes>> StateOverlay::Get(const Hash256& key_hash) const {
  const auto it = changes_.find(key_hash);
  if (it != changes_.end()) return it->second;
  return base_->Get(key_hash);
}

void StateOverlay::Put(const Hash256& key_hash, Bytes value) {
  changes_.insert_or_assign(key_hash, std::optional<Bytes>(std::move(value)));
}

void StateOverlay::Delete(const Hash256& key_hash) {
  changes_.insert_or_assign(key_hash, std::optional<Bytes>());
}

void StateOverlay::Absorb(StateOverlay&& child) {
  LADING_CHECK_MSG(child.base_ == this, "absorbing an overlay built over another reader");
  for (auto& [key_hash, value] : child.changes_) {
    changes_.insert_or_assign(key_hash, std::move(value));
  }
  child.changes_.clear();
}

std::vector<StateWrite> StateOverlay::Writes() const {
  std::vector<StateWrite> writes;
  writes.reserve(changes_.size());
  for (const auto& [key_hash, value] : changes_) {
    writes.push_back(StateWrite{.key_hash = key_hash, .value = value});
  }
  return writes;
}

absl::StatusOr<std::optional<Bytes>> MemoryState::Get(const Hash256& key_hash) const {
  const auto it = values_.find(key_hash);
  if (it == values_.end()) return std::optional<Bytes>();
  return std::optional<Bytes>(it->second);
}

void MemoryState::Apply(const std::vector<StateWrite>& writes) {
  for (const StateWrite& write : writes) {
    if (write.value) {
      values_.insert_or_assign(write.key_hash, *write.value);
    } else {
      values_.erase(write.key_hash);
    }
  }
}

}  // namespace lading::contracts
