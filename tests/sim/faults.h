// The simulator's fault menu and broken modes, and their command-line spelling.
//
//   network:   drop, duplicate, delay (long-tailed delays), partition (form and heal)
//   nodes:     crash (crash and restart from the persisted state), skew (per-node timer skew)
//   Byzantine: equivocate, double-vote, silent, unknown-block, out-of-range, bad-signature,
//              twins (two state machines sharing one key, each wired to part of the network)
//
// Value types; thread-compatible.
#ifndef LADING_TESTS_SIM_FAULTS_H_
#define LADING_TESTS_SIM_FAULTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lading::sim {

enum class Fault : uint8_t {
  kDrop,
  kDuplicate,
  kDelay,
  kPartition,
  kCrash,
  kSkew,
  kEquivocate,
  kDoubleVote,
  kSilent,
  kUnknownBlock,
  kOutOfRange,
  kBadSignature,
  kTwins,
};
inline constexpr int kFaultCount = 13;

// The command-line name of a fault ("double-vote").
std::string_view FaultName(Fault fault);
bool IsByzantine(Fault fault);

class FaultSet {
 public:
  static FaultSet None() { return FaultSet(); }
  static FaultSet All() {
    FaultSet set;
    set.bits_ = (1u << kFaultCount) - 1;
    return set;
  }
  bool Has(Fault fault) const { return bits_ & Bit(fault); }
  FaultSet& Add(Fault fault) {
    bits_ |= Bit(fault);
    return *this;
  }
  FaultSet& Remove(Fault fault) {
    bits_ &= ~Bit(fault);
    return *this;
  }
  bool empty() const { return bits_ == 0; }
  // The Byzantine behaviours in the set, in menu order.
  std::vector<Fault> Byzantine() const;
  // "all", "none", or the comma list in menu order.
  std::string ToString() const;
  bool operator==(const FaultSet&) const = default;

 private:
  static uint32_t Bit(Fault fault) { return 1u << static_cast<uint32_t>(fault); }
  uint32_t bits_ = 0;
};

// Parses a comma list of fault names, "all" or "none" (spaces around names are ignored). Fails
// on an unknown or empty name, listing the valid ones.
absl::StatusOr<FaultSet> ParseFaults(std::string_view list);

// Broken modes: deliberately unsafe runs that the checkers must catch.
//   locking:    the state machine ignores the lock rule (needs the consensus core's test hook);
//   sign-state: the driver sends before the sign state is durable, so a crash can lose it.
enum class BreakMode : uint8_t { kNone, kLocking, kSignState };
std::string_view BreakModeName(BreakMode mode);
absl::StatusOr<BreakMode> ParseBreakMode(std::string_view name);

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_FAULTS_H_
