#include "tests/sim/core.h"

#include <utility>

#include "crypto/status.h"

namespace lading::sim {
namespace {

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
    consensus::StateMachine::Options options = params.options;
    options.break_locking_for_testing = params.break_locking;
    return options;
  }

  consensus::StateMachine machine_;
};

}  // namespace

std::unique_ptr<Core> MakeStateMachineCore(CoreParams params) {
  return std::make_unique<StateMachineCore>(std::move(params));
}

}  // namespace lading::sim
