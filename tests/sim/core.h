// The consensus core as the simulator drives it: the real consensus::StateMachine by default, or
// a test's own core (a wrapper that misbehaves on purpose shows that the checkers catch it).
//
// A Core is owned by the simulated node that runs it and is destroyed when that node crashes.
// Not thread-safe (the simulator is single-threaded).
#ifndef LADING_TESTS_SIM_CORE_H_
#define LADING_TESTS_SIM_CORE_H_

#include <functional>
#include <memory>
#include <vector>

#include "consensus/state_machine.h"
#include "consensus/types.h"
#include "consensus/validator_set.h"

namespace lading::sim {

class Core {
 public:
  virtual ~Core() = default;
  virtual void Start(std::vector<consensus::Output>* outputs) = 0;
  virtual void Handle(const consensus::Input& input, std::vector<consensus::Output>* outputs) = 0;
  virtual void SetCommittee(consensus::Height effective_height, consensus::ValidatorSet set) = 0;
  // The first undecided height.
  virtual consensus::Height height() const = 0;
};

// What a node passes to a new core (at start and at every restart).
struct CoreParams {
  consensus::StateMachine::Options options;
  const consensus::Signer* signer = nullptr;  // outlives the core
  consensus::CommitteeSchedule committees;
  consensus::Height height = 1;
  consensus::SignState last_signed;
  bool break_locking = false;  // --break locking: ignore the lock rule
};

using CoreFactory = std::function<std::unique_ptr<Core>(CoreParams params)>;

// The real state machine (with StateMachine::Options::break_locking_for_testing set from
// params.break_locking).
std::unique_ptr<Core> MakeStateMachineCore(CoreParams params);

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_CORE_H_
