// A simulated committee: N validators (plus spares and Byzantine twins) running consensus in one
// process on a virtual clock, over a faulty simulated network, driven deterministically by one
// 64-bit seed.
//
// Each simulated node has a driver that does what node/consensus_driver will do in production:
// it verifies every delivered message's Ed25519 signature against the committee of the message's
// height (dropping bad ones before the core sees them), executes the core's outputs in order
// (PersistSignState becomes durable before any later Broadcast leaves, except under
// --break sign-state, and each signed message joins the sign log on disk before it is sent),
// answers the application requests, relays the messages of its current
// height when it stalls (gossip), and helps peers that are behind with the decided proposal and
// its commit (block sync). A node's "disk" holds its durable sign state, its sign log and its
// decided chain; a crash loses everything else, and a restart builds a new core at the height
// after the last decided one and sends its sign log again.
//
// The run: faults are active until the fault window drawn from the seed ends or a correct node
// has decided `heights` heights, whichever comes first; then partitions heal, crashed nodes
// restart and losses stop ("faults stop"), while Byzantine validators keep misbehaving. Checkers
// run as events happen (see checker.h); after faults stop, every correct node must decide
// `liveness_heights` more heights within the liveness window. The run ends when every correct
// node has decided `heights` heights and its liveness target, at the first violation, or at the
// deadline.
//
// Owns everything it simulates. Not thread-safe; independent clusters may run in parallel.
#ifndef LADING_TESTS_SIM_CLUSTER_H_
#define LADING_TESTS_SIM_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "consensus/state_machine.h"
#include "consensus/types.h"
#include "tests/sim/app.h"
#include "tests/sim/checker.h"
#include "tests/sim/core.h"
#include "tests/sim/faults.h"
#include "tests/sim/keys.h"
#include "tests/sim/network.h"
#include "tests/sim/trace.h"

namespace lading::sim {

inline constexpr char kSimChainId[] = "lading-sim";
// Committee sizes the simulator accepts (DESIGN §8 plans committees up to about 100).
inline constexpr size_t kValidatorsMax = 100;

struct ClusterConfig {
  uint64_t seed = 1;
  size_t validators = 4;  // genesis committee size
  size_t byzantine = 0;   // how many of them are Byzantine (n >= 3f + 1)
  FaultSet faults;
  BreakMode break_mode = BreakMode::kNone;
  consensus::Height heights = 20;  // faults stop by this height; every correct node reaches it
  uint64_t liveness_heights = 5;   // ... and this many more after faults stop
  uint64_t liveness_window_ms = 60'000;
  bool committee_changes = true;  // the application changes the committee now and then
  // The driver keeps the messages it signed at its latest height with its sign state, and a
  // restarted node sends them again (false: restart from the sign state alone).
  bool sign_log = true;
  size_t trace_capacity = 400;           // entries kept for printing on failure
  std::ostream* trace_stream = nullptr;  // when set, every event is written here as it happens
  CoreFactory core_factory;              // empty: the real consensus::StateMachine
};

// Checks a configuration before a run: n >= 1, n >= 3f + 1, Byzantine nodes need Byzantine
// behaviours, a broken mode needs what it relies on.
absl::Status ValidateClusterConfig(const ClusterConfig& config);

class Cluster {
 public:
  // What the seed drew for this run.
  struct Scenario {
    NetworkConfig network;                   // while faults are active
    uint64_t fault_window_ms = 0;            // faults stop at this time
    uint64_t partition_permille = 0;         // per fault tick, when no partition is active
    uint64_t crash_permille = 0;             // per fault tick
    uint64_t crash_after_send_permille = 0;  // per Broadcast by a correct node
  };

  // A node as the tests see it.
  struct NodeView {
    std::string name;
    KeyId key = 0;
    bool correct = true;
    bool up = true;
    uint64_t incarnation = 0;              // restarts so far
    consensus::Height decided_height = 0;  // last decided height on its disk
    consensus::SignState durable_sign_state;
  };

  // What the drivers did, summed over the nodes.
  struct DriverStats {
    uint64_t rejected_messages = 0;  // dropped before the core: bad signature, signer, height
    uint64_t synced_blocks = 0;      // decisions applied by block sync
    uint64_t restarts = 0;
    uint64_t evidence = 0;  // EvidenceFound outputs
  };

  // REQUIRES: ValidateClusterConfig(config).ok().
  explicit Cluster(ClusterConfig config);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Runs to the end (see above). Returns after the first violation, too.
  void Run();
  // Processes events due up to `time_ms` (or until a violation). For tests.
  void RunUntil(uint64_t time_ms);
  // Crashes / restarts one node now (tests; the fault schedule does this at random).
  // REQUIRES: endpoint < nodes().size().
  void Crash(EndpointId endpoint);
  void Restart(EndpointId endpoint);

  uint64_t now_ms() const { return now_ms_; }
  bool finished() const { return finished_; }
  bool faults_stopped() const { return faults_stopped_; }
  const std::vector<Violation>& violations() const { return checker_.violations(); }
  std::vector<NodeView> nodes() const;
  // Lowest / highest decided height over the correct nodes.
  consensus::Height MinCorrectHeight() const;
  consensus::Height MaxCorrectHeight() const;
  const Scenario& scenario() const { return scenario_; }
  // One line describing the drawn scenario (network, faults, Byzantine roles).
  std::string DescribeScenario() const;
  const Trace& trace() const { return trace_; }
  const Network::Stats& network_stats() const { return network_->stats(); }
  const KeyRing& keys() const { return *keys_; }
  const DriverStats& driver_stats() const { return driver_stats_; }

 private:
  struct Node;
  struct Events;

  void Process();
  void Execute(Node& node, std::vector<consensus::Output>* outputs);
  void OnBroadcast(Node& node, const consensus::ConsensusMessage& message);
  void OnDecide(Node& node, const consensus::Decide& decide, bool synced);
  void OnSyncResponse(Node& node, EndpointId from, const consensus::Value& value,
                      const consensus::Commit& commit);
  void SendMessage(Node& from, EndpointId to, const consensus::ConsensusMessage& message);
  void SendSyncRequest(Node& from, EndpointId to, consensus::Height height);
  void SendSyncResponse(Node& from, EndpointId to, consensus::Height height);
  void ByzantineBroadcast(Node& node, const consensus::ConsensusMessage& message);
  void Deliver(Node& node, EndpointId from, const consensus::ConsensusMessage& message);
  void Hold(Node& node, const consensus::ConsensusMessage& message);
  void Gossip(Node& node);
  void FaultTick();
  void StopFaults();
  void CheckLiveness(bool final_deadline);
  void StartCore(Node& node, bool replay_sign_log);
  void AppendSignLog(Node& node, const consensus::ConsensusMessage& message);
  uint64_t Skewed(const Node& node, uint64_t after_ms) const;
  bool IsDone() const;
  void Record(TraceEntry entry);

  ClusterConfig config_;
  Scenario scenario_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<CommitteePlan> plan_;
  Checker checker_;
  std::unique_ptr<Network> network_;
  Trace trace_;
  Prng network_prng_;
  Prng fault_prng_;
  Prng app_prng_;
  Prng byzantine_prng_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unique_ptr<Events> events_;
  uint64_t now_ms_ = 0;
  bool faults_stopped_ = false;
  bool finished_ = false;
  DriverStats driver_stats_;
};

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_CLUSTER_H_
