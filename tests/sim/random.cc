#include "tests/sim/random.h"

#include "crypto/status.h"

namespace lading::sim {
namespace {

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t SplitMix64(uint64_t* state) {
  *state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = *state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Prng::Prng(uint64_t seed) {
  uint64_t sm = seed;
  for (uint64_t& word : state_) word = SplitMix64(&sm);
}

Prng Prng::ForStream(uint64_t seed, uint64_t stream) {
  // Mixing the stream through splitmix64 first keeps (seed, stream) and (seed + 1, stream - 1)
  // apart, which a plain sum would not.
  uint64_t sm = stream;
  return Prng(seed ^ SplitMix64(&sm));
}

Prng Prng::FromState(const std::array<uint64_t, 4>& state) {
  LADING_CHECK_MSG(state[0] | state[1] | state[2] | state[3],
                   "xoshiro256** state must not be all zero");
  Prng prng;
  prng.state_ = state;
  return prng;
}

uint64_t Prng::Next() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

uint64_t Prng::Below(uint64_t bound) {
  LADING_CHECK(bound > 0);
  // Reject the lowest (2^64 mod bound) outputs so that every residue is equally likely.
  const uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const uint64_t x = Next();
    if (x >= threshold) return x % bound;
  }
}

uint64_t Prng::Between(uint64_t low, uint64_t high) {
  LADING_CHECK(low <= high);
  if (high - low == UINT64_MAX) return Next();
  return low + Below(high - low + 1);
}

bool Prng::ChancePermille(uint64_t permille) {
  if (permille == 0) return false;
  if (permille >= 1000) return true;
  return Below(1000) < permille;
}

}  // namespace lading::sim
