// The simulator's seeded pseudo-random generator: xoshiro256** (Blackman and Vigna, 2018) seeded
// through splitmix64, with integer-only helpers for the decisions a simulation draws.
//
// Written here rather than taken from <random> because the standard distributions are not
// specified bit-for-bit: the same seed must give the same run with any standard library. Every
// helper below uses integer arithmetic only.
//
// A Prng is a plain value; thread-compatible (one thread per generator).
#ifndef LADING_TESTS_SIM_RANDOM_H_
#define LADING_TESTS_SIM_RANDOM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace lading::sim {

// One step of splitmix64: advances *state and returns the next output.
uint64_t SplitMix64(uint64_t* state);

class Prng {
 public:
  // Seeds the four state words from splitmix64(seed), so that any seed, including 0, gives a
  // valid (not all-zero) state.
  explicit Prng(uint64_t seed);
  // A generator for one named purpose of one run ("network", "faults", ...): independent streams
  // mean that drawing more numbers for one purpose never shifts the numbers another one sees.
  static Prng ForStream(uint64_t seed, uint64_t stream);
  // Starts from an explicit state (known-answer tests). REQUIRES: not all four words zero.
  static Prng FromState(const std::array<uint64_t, 4>& state);

  uint64_t Next();
  // Uniform in [0, bound), without modulo bias. REQUIRES: bound > 0.
  uint64_t Below(uint64_t bound);
  // Uniform in [low, high], both included. REQUIRES: low <= high.
  uint64_t Between(uint64_t low, uint64_t high);
  // True with probability permille / 1000 (0 never, >= 1000 always).
  bool ChancePermille(uint64_t permille);

  // Fisher-Yates shuffle driven by Below().
  template <typename T>
  void Shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i) {
      std::swap((*items)[i - 1], (*items)[Below(i)]);
    }
  }

 private:
  Prng() = default;
  std::array<uint64_t, 4> state_{};
};

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_RANDOM_H_
