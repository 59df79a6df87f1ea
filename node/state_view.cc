#include "node/state_view.h"

#include <utility>

#include "crypto/status.h"

namespace lading::node {

StoreStateView::StoreStateView(const BlockStore* store) : store_(store) {
  LADING_CHECK(store_ != nullptr);
}

absl::StatusOr<std::optional<Bytes>> StoreStateView::Get(const Hash256& key_hash) const {
  absl::StatusOr<Bytes> value = store_->GetStateValue(key_hash);
  if (value.ok()) return std::optional<Bytes>(std::move(value).value());
  if (absl::IsNotFound(value.status())) return std::optional<Bytes>();
  return value.status();
}

}  // namespace lading::node
