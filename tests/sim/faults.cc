#include "tests/sim/faults.h"

#include <algorithm>
#include <array>

namespace lading::sim {
namespace {

constexpr std::array<std::string_view, kFaultCount> kFaultNames = {
    "drop",         "duplicate",     "delay",       "partition", "crash",
    "skew",         "equivocate",    "double-vote", "silent",    "unknown-block",
    "out-of-range", "bad-signature", "twins"};

std::string_view StripSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string ValidNames() {
  std::string out = "all, none";
  for (std::string_view name : kFaultNames) out += ", " + std::string(name);
  return out;
}

}  // namespace

std::string_view FaultName(Fault fault) { return kFaultNames[static_cast<size_t>(fault)]; }

bool IsByzantine(Fault fault) { return fault >= Fault::kEquivocate; }

std::vector<Fault> FaultSet::Byzantine() const {
  std::vector<Fault> out;
  for (int i = 0; i < kFaultCount; ++i) {
    const Fault fault = static_cast<Fault>(i);
    if (IsByzantine(fault) && Has(fault)) out.push_back(fault);
  }
  return out;
}

std::string FaultSet::ToString() const {
  if (*this == All()) return "all";
  if (empty()) return "none";
  std::string out;
  for (int i = 0; i < kFaultCount; ++i) {
    const Fault fault = static_cast<Fault>(i);
    if (!Has(fault)) continue;
    if (!out.empty()) out += ",";
    out += std::string(FaultName(fault));
  }
  return out;
}

absl::StatusOr<FaultSet> ParseFaults(std::string_view list) {
  FaultSet set;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view name = StripSpaces(list.substr(start, comma - start));
    start = comma + 1;
    if (name == "all") {
      set = FaultSet::All();
      continue;
    }
    if (name == "none") continue;
    bool found = false;
    for (int i = 0; i < kFaultCount; ++i) {
      if (kFaultNames[i] == name) {
        set.Add(static_cast<Fault>(i));
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError("unknown fault \"" + std::string(name) + "\" in --faults " +
                                        std::string(list) + "; valid: " + ValidNames());
    }
  }
  return set;
}

std::string_view BreakModeName(BreakMode mode) {
  switch (mode) {
    case BreakMode::kNone:
      return "none";
    case BreakMode::kLocking:
      return "locking";
    case BreakMode::kSignState:
      return "sign-state";
  }
  return "none";
}

absl::StatusOr<BreakMode> ParseBreakMode(std::string_view name) {
  if (name == "none") return BreakMode::kNone;
  if (name == "locking") return BreakMode::kLocking;
  if (name == "sign-state") return BreakMode::kSignState;
  return absl::InvalidArgumentError("unknown --break mode \"" + std::string(name) +
                                    "\"; valid: locking, sign-state");
}

}  // namespace lading::sim
