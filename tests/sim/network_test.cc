#include "tests/sim/network.h"

#include <catch2/catch.hpp>
#include <set>
#include <vector>

namespace lading::sim {
namespace {

TEST_CASE("a network without faults delivers every message once within its delay bounds",
          "[unit][sim]") {
  Network network(4, NetworkConfig{.delay = {.min_ms = 5, .max_ms = 9}});
  Prng prng(1);
  std::vector<uint64_t> delays;
  for (int i = 0; i < 500; ++i) {
    network.Route(0, 3, &prng, &delays);
    REQUIRE(delays.size() == 1);
    REQUIRE(delays[0] >= 5);
    REQUIRE(delays[0] <= 9);
  }
  REQUIRE(network.stats().sent == 500);
  REQUIRE(network.stats().copies_delivered == 500);
  REQUIRE(network.stats().dropped_loss == 0);
}

TEST_CASE("loss and duplication follow their rates", "[unit][sim]") {
  Prng prng(2);
  std::vector<uint64_t> delays;
  Network lossy(2, NetworkConfig{.drop_permille = 1000});
  lossy.Route(0, 1, &prng, &delays);
  REQUIRE(delays.empty());
  REQUIRE(lossy.stats().dropped_loss == 1);

  Network doubling(2, NetworkConfig{.duplicate_permille = 1000});
  doubling.Route(0, 1, &prng, &delays);
  REQUIRE(delays.size() == 2);

  Network some(2, NetworkConfig{.drop_permille = 100});
  int lost = 0;
  for (int i = 0; i < 5000; ++i) {
    some.Route(1, 0, &prng, &delays);
    if (delays.empty()) ++lost;
  }
  // 5000 draws at p = 0.1: mean 500, standard deviation about 21.
  REQUIRE(lost > 420);
  REQUIRE(lost < 580);
}

TEST_CASE("long-tail delays exceed the base range for some messages only", "[unit][sim]") {
  Network network(
      2, NetworkConfig{
             .delay = {.min_ms = 1, .max_ms = 10, .tail_permille = 200, .tail_max_ms = 5000}});
  Prng prng(3);
  std::vector<uint64_t> delays;
  int late = 0;
  for (int i = 0; i < 2000; ++i) {
    network.Route(0, 1, &prng, &delays);
    REQUIRE(delays.size() == 1);
    REQUIRE(delays[0] <= 5010);
    if (delays[0] > 10) ++late;
  }
  REQUIRE(late > 250);
  REQUIRE(late < 450);
}

TEST_CASE("a partition cuts messages between its sides until it heals", "[unit][sim]") {
  Network network(4, NetworkConfig{});
  Prng prng(4);
  std::vector<uint64_t> delays;
  network.Partition({0, 0, 1, 1});
  REQUIRE(network.partitioned());
  REQUIRE(network.DescribePartition() == "{0,1}|{2,3}");
  network.Route(0, 1, &prng, &delays);
  REQUIRE(delays.size() == 1);
  network.Route(1, 2, &prng, &delays);
  REQUIRE(delays.empty());
  REQUIRE(network.stats().dropped_partition == 1);
  network.Heal();
  REQUIRE_FALSE(network.partitioned());
  REQUIRE(network.DescribePartition() == "none");
  network.Route(1, 2, &prng, &delays);
  REQUIRE(delays.size() == 1);
}

TEST_CASE("random partitions have non-empty sides and repeat for one seed", "[unit][sim]") {
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Network a(5, NetworkConfig{}), b(5, NetworkConfig{});
    Prng pa(seed), pb(seed);
    a.PartitionRandomly(&pa);
    b.PartitionRandomly(&pb);
    REQUIRE(a.partitioned());
    REQUIRE(a.DescribePartition() == b.DescribePartition());
    std::set<uint32_t> sides;
    for (EndpointId e = 0; e < 5; ++e) sides.insert(a.group(e));
    REQUIRE(sides.size() >= 2);
    REQUIRE(sides.size() <= 3);
    REQUIRE(*sides.rbegin() == sides.size() - 1);  // sides numbered 0.. without gaps
  }
  Network single(1, NetworkConfig{});
  Prng prng(1);
  single.PartitionRandomly(&prng);
  REQUIRE_FALSE(single.partitioned());
}

TEST_CASE("unlinked endpoints never reach each other, partition or not", "[unit][sim]") {
  Network network(3, NetworkConfig{});
  network.Unlink(0, 2);
  REQUIRE_FALSE(network.Linked(2, 0));
  REQUIRE(network.Linked(0, 1));
  Prng prng(5);
  std::vector<uint64_t> delays;
  network.Route(2, 0, &prng, &delays);
  REQUIRE(delays.empty());
  network.Heal();
  REQUIRE_FALSE(network.Reachable(0, 2));
  REQUIRE(network.Reachable(0, 1));
}

}  // namespace
}  // namespace lading::sim
