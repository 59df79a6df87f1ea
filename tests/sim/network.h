// The simulated network between the endpoints of one run (validators, their twins, spares):
// per-message delay, loss, duplication, permanent wiring (twins see only part of the network)
// and partitions that form and heal. Reordering follows from independent random delays.
//
// The network decides the fate of each message when it is sent (Route); the caller schedules
// the arrivals. Every random draw comes from the Prng the caller passes, so a run is a pure
// function of its seed. Owns no messages. Thread-compatible.
#ifndef LADING_TESTS_SIM_NETWORK_H_
#define LADING_TESTS_SIM_NETWORK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/sim/random.h"

namespace lading::sim {

using EndpointId = uint32_t;

// Delay of one message: uniform in [min_ms, max_ms], and for tail_permille of the messages an
// extra uniform [0, tail_max_ms] (a long tail, so that late messages overtake nothing but a
// few arrive very late). Integer arithmetic only.
struct DelayConfig {
  uint64_t min_ms = 1;
  uint64_t max_ms = 20;
  uint64_t tail_permille = 0;
  uint64_t tail_max_ms = 0;
};

struct NetworkConfig {
  DelayConfig delay;
  uint64_t drop_permille = 0;       // share of messages lost
  uint64_t duplicate_permille = 0;  // share of delivered messages that arrive twice
};

class Network {
 public:
  struct Stats {
    uint64_t sent = 0;               // Route calls
    uint64_t copies_delivered = 0;   // arrivals scheduled (duplicates included)
    uint64_t dropped_loss = 0;       // lost to drop_permille
    uint64_t dropped_partition = 0;  // unreachable: partition or no link
    uint64_t duplicated = 0;
  };

  // REQUIRES: endpoint_count >= 1 and config.delay.min_ms <= config.delay.max_ms.
  Network(size_t endpoint_count, NetworkConfig config);

  size_t endpoint_count() const { return groups_.size(); }
  const NetworkConfig& config() const { return config_; }
  // Replaces the delay / loss / duplication settings (the driver stops losses when faults stop).
  // REQUIRES: config.delay.min_ms <= config.delay.max_ms.
  void set_config(NetworkConfig config);

  // Removes the link a <-> b for the whole run (twins are wired to part of the network).
  // REQUIRES: a, b < endpoint_count().
  void Unlink(EndpointId a, EndpointId b);
  bool Linked(EndpointId a, EndpointId b) const;

  // Splits the endpoints: groups[e] is the side of endpoint e. Messages between sides are lost
  // until Heal(). REQUIRES: groups.size() == endpoint_count().
  void Partition(std::vector<uint32_t> groups);
  // Splits the endpoints at random into two (or, with four or more endpoints, sometimes three)
  // non-empty sides. Does nothing with a single endpoint.
  void PartitionRandomly(Prng* prng);
  void Heal();
  bool partitioned() const { return partitioned_; }
  uint32_t group(EndpointId endpoint) const { return groups_.at(endpoint); }
  // The partition as "{0,2}|{1,3}", or "none".
  std::string DescribePartition() const;

  // True when a message from `from` can reach `to` now: linked, and on the same side.
  bool Reachable(EndpointId from, EndpointId to) const;

  // Decides the fate of one message from `from` to `to`: fills *delays_ms with the delay of each
  // copy that will arrive (none when it is lost, two when duplicated). Unreachable endpoints
  // lose it without drawing from prng.
  void Route(EndpointId from, EndpointId to, Prng* prng, std::vector<uint64_t>* delays_ms);

  const Stats& stats() const { return stats_; }

 private:
  uint64_t DrawDelay(Prng* prng) const;

  NetworkConfig config_;
  std::vector<uint32_t> groups_;
  std::vector<std::vector<bool>> unlinked_;
  bool partitioned_ = false;
  Stats stats_;
};

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_NETWORK_H_
