#include "tests/sim/core.h"

#include <utility>

#include "crypto/status.h"

namespace lading::sim {
namespace {

// The hook belongs to the consensus core (Task D's area); detecting it here lets the simulator
// build against a core with or without it, and --break locking report plainly when it is absent.
template <typename Options>
constexpr bool kHasBreakLockingHook = requires(Options options) {
  options.break_locking_for_testing = true;
};

// A template so that the branch naming the hook is only compiled when the hook exists.
template <typename Options>
Options WithBreakLocking(Options options, bool break_locking) {
  if constexpr (kHasBreakLockingHook<Options>) {
    options.break_locking_for_testing = break_locking;
  } else {
    LADING_CHECK_MSG(!break_locking,
                     "--break locking needs StateMachine::Options::break_locking_for_testing");
  }
  return options;
}

class StateMachineCore : public Core {
 public:
  explicit StateMachineCore(CoreParams params)
      : machine_(MakeOptions(params), params.signer, std::move(params.committees), params.height,
                 params.last_signed) {}

  void Start(std::vector<consensus::Output>* outputs) override { machine_.Start(outputs); }
  void Handle(const consensus::Input& input, std::vector<consensus::Output>* outputs) override {
    machine_.Handle(input, outputs);
  }
  void SetCommittee(consensus::Height effective_height, consensus::ValidatorSet set) override {
    machine_.SetCommittee(effective_height, std::move(set));
  }
  consensus::Height height() const override { return machine_.height(); }

 private:
  static consensus::StateMachine::Options MakeOptions(const CoreParams& params) {
    return WithBreakLocking(params.options, params.break_locking);
  }

  consensus::StateMachine machine_;
};

}  // namespace

bool StateMachineCanBreakLocking() {
  return kHasBreakLockingHook<consensus::StateMachine::Options>;
}

std::unique_ptr<Core> MakeStateMachineCore(CoreParams params) {
  return std::make_unique<StateMachineCore>(std::move(params));
}

}  // namespace lading::sim
