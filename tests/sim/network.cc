#include "tests/sim/network.h"

#include <algorithm>
#include <utility>

#include "crypto/status.h"

namespace lading::sim {

Network::Network(size_t endpoint_count, NetworkConfig config)
    : config_(config),
      groups_(endpoint_count, 0),
      unlinked_(endpoint_count, std::vector<bool>(endpoint_count, false)) {
  LADING_CHECK(endpoint_count >= 1);
  LADING_CHECK(config.delay.min_ms <= config.delay.max_ms);
}

void Network::set_config(NetworkConfig config) {
  LADING_CHECK(config.delay.min_ms <= config.delay.max_ms);
  config_ = config;
}

void Network::Unlink(EndpointId a, EndpointId b) {
  LADING_CHECK(a < endpoint_count() && b < endpoint_count());
  unlinked_[a][b] = true;
  unlinked_[b][a] = true;
}

bool Network::Linked(EndpointId a, EndpointId b) const {
  LADING_CHECK(a < endpoint_count() && b < endpoint_count());
  return !unlinked_[a][b];
}

void Network::Partition(std::vector<uint32_t> groups) {
  LADING_CHECK(groups.size() == endpoint_count());
  groups_ = std::move(groups);
  partitioned_ = false;
  for (uint32_t g : groups_) partitioned_ = partitioned_ || g != groups_[0];
}

void Network::PartitionRandomly(Prng* prng) {
  const size_t n = endpoint_count();
  if (n < 2) return;
  const uint32_t sides = (n >= 4 && prng->ChancePermille(250)) ? 3 : 2;
  // A shuffled order whose first `sides` endpoints each open a side keeps every side non-empty.
  std::vector<EndpointId> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<EndpointId>(i);
  prng->Shuffle(&order);
  std::vector<uint32_t> groups(n, 0);
  for (size_t i = 0; i < n; ++i) {
    groups[order[i]] =
        i < sides ? static_cast<uint32_t>(i) : static_cast<uint32_t>(prng->Below(sides));
  }
  Partition(std::move(groups));
}

void Network::Heal() {
  std::fill(groups_.begin(), groups_.end(), 0);
  partitioned_ = false;
}

std::string Network::DescribePartition() const {
  if (!partitioned_) return "none";
  uint32_t max_group = 0;
  for (uint32_t g : groups_) max_group = std::max(max_group, g);
  std::string out;
  for (uint32_t g = 0; g <= max_group; ++g) {
    std::string side;
    for (size_t e = 0; e < groups_.size(); ++e) {
      if (groups_[e] != g) continue;
      if (!side.empty()) side += ",";
      side += std::to_string(e);
    }
    if (side.empty()) continue;
    if (!out.empty()) out += "|";
    out += "{" + side + "}";
  }
  return out;
}

bool Network::Reachable(EndpointId from, EndpointId to) const {
  return Linked(from, to) && groups_[from] == groups_[to];
}

uint64_t Network::DrawDelay(Prng* prng) const {
  uint64_t delay = prng->Between(config_.delay.min_ms, config_.delay.max_ms);
  if (config_.delay.tail_max_ms > 0 && prng->ChancePermille(config_.delay.tail_permille)) {
    delay += prng->Between(0, config_.delay.tail_max_ms);
  }
  return delay;
}

void Network::Route(EndpointId from, EndpointId to, Prng* prng, std::vector<uint64_t>* delays_ms) {
  delays_ms->clear();
  ++stats_.sent;
  if (!Reachable(from, to)) {
    ++stats_.dropped_partition;
    return;
  }
  if (prng->ChancePermille(config_.drop_permille)) {
    ++stats_.dropped_loss;
    return;
  }
  delays_ms->push_back(DrawDelay(prng));
  if (prng->ChancePermille(config_.duplicate_permille)) {
    ++stats_.duplicated;
    delays_ms->push_back(DrawDelay(prng));
  }
  stats_.copies_delivered += delays_ms->size();
}

}  // namespace lading::sim
