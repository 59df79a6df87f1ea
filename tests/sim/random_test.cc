#include "tests/sim/random.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <vector>

namespace lading::sim {
namespace {

TEST_CASE("splitmix64 from state 0 gives its published first outputs", "[unit][sim]") {
  uint64_t state = 0;
  REQUIRE(SplitMix64(&state) == 0xe220a8397b1dcdafULL);
  REQUIRE(SplitMix64(&state) == 0x6e789e6aa1b965f4ULL);
  REQUIRE(SplitMix64(&state) == 0x06c45d188009454fULL);
  uint64_t other = 1;
  REQUIRE(SplitMix64(&other) != 0xe220a8397b1dcdafULL);
}

TEST_CASE("xoshiro256** from state {1, 2, 3, 4} gives the reference outputs", "[unit][sim]") {
  Prng prng = Prng::FromState({1, 2, 3, 4});
  REQUIRE(prng.Next() == 11520ULL);
  REQUIRE(prng.Next() == 0ULL);
  REQUIRE(prng.Next() == 1509978240ULL);
  REQUIRE(prng.Next() == 1215971899390074240ULL);
  Prng shifted = Prng::FromState({1, 2, 3, 5});
  shifted.Next();
  shifted.Next();
  REQUIRE(shifted.Next() != 1509978240ULL);
}

TEST_CASE("one seed always gives one sequence and another seed a different one", "[unit][sim]") {
  Prng a(42), b(42), c(43);
  std::vector<uint64_t> from_a, from_b, from_c;
  for (int i = 0; i < 64; ++i) {
    from_a.push_back(a.Next());
    from_b.push_back(b.Next());
    from_c.push_back(c.Next());
  }
  REQUIRE(from_a == from_b);
  REQUIRE(from_a != from_c);
}

TEST_CASE("named streams of one seed are independent of each other", "[unit][sim]") {
  Prng network = Prng::ForStream(7, 1);
  Prng faults = Prng::ForStream(7, 2);
  Prng plain(7);
  const uint64_t n = network.Next();
  REQUIRE(n != faults.Next());
  REQUIRE(n != plain.Next());
  REQUIRE(Prng::ForStream(7, 1).Next() == n);
  // (seed, stream) and (seed + 1, stream - 1) must not collide.
  REQUIRE(Prng::ForStream(8, 0).Next() != n);
}

TEST_CASE("Below stays under its bound and reaches every value", "[unit][sim]") {
  Prng prng(1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t x = prng.Below(7);
    REQUIRE(x < 7);
    seen.insert(x);
  }
  REQUIRE(seen.size() == 7);
  for (int i = 0; i < 100; ++i) REQUIRE(prng.Below(1) == 0);
  // A bound just above 2^63 rejects almost half the raw outputs and still stays in range.
  const uint64_t big = (uint64_t{1} << 63) + 3;
  for (int i = 0; i < 100; ++i) REQUIRE(prng.Below(big) < big);
}

TEST_CASE("Between includes both ends and nothing outside", "[unit][sim]") {
  Prng prng(2);
  bool saw_low = false, saw_high = false;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t x = prng.Between(10, 13);
    REQUIRE(x >= 10);
    REQUIRE(x <= 13);
    saw_low = saw_low || x == 10;
    saw_high = saw_high || x == 13;
  }
  REQUIRE(saw_low);
  REQUIRE(saw_high);
  REQUIRE(prng.Between(5, 5) == 5);
  prng.Between(0, UINT64_MAX);  // the full range does not overflow
}

TEST_CASE("ChancePermille is never at 0, always at 1000, and near its rate between",
          "[unit][sim]") {
  Prng prng(3);
  int hits = 0;
  for (int i = 0; i < 10000; ++i) {
    REQUIRE_FALSE(prng.ChancePermille(0));
    REQUIRE(prng.ChancePermille(1000));
    if (prng.ChancePermille(250)) ++hits;
  }
  // 10000 draws at p = 0.25: mean 2500, standard deviation about 43.
  REQUIRE(hits > 2300);
  REQUIRE(hits < 2700);
}

TEST_CASE("Shuffle permutes deterministically", "[unit][sim]") {
  std::vector<int> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<int> a = items, b = items, c = items;
  Prng pa(9), pb(9), pc(10);
  pa.Shuffle(&a);
  pb.Shuffle(&b);
  pc.Shuffle(&c);
  REQUIRE(a == b);
  REQUIRE(a != c);
  std::sort(a.begin(), a.end());
  REQUIRE(a == items);
}

}  // namespace
}  // namespace lading::sim
