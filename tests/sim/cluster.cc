#include "tests/sim/cluster.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <variant>

#include "crypto/status.h"
#include "tests/sim/event_queue.h"

namespace lading::sim {
namespace {

using consensus::ConsensusMessage;
using consensus::Height;
using consensus::Proposal;
using consensus::Round;
using consensus::Vote;

// Independent random streams, so that one purpose drawing more numbers never shifts another.
constexpr uint64_t kStreamScenario = 1;
constexpr uint64_t kStreamNetwork = 2;
constexpr uint64_t kStreamFaults = 3;
constexpr uint64_t kStreamApp = 4;
constexpr uint64_t kStreamByzantine = 5;

constexpr uint64_t kFaultTickMs = 100;
constexpr uint64_t kGossipIntervalMs = 1000;
constexpr uint64_t kSyncResendMs = 500;
constexpr uint64_t kAppDelayMinMs = 1;
constexpr uint64_t kAppDelayMaxMs = 30;
constexpr uint64_t kCommitteeChangePeriod = 3;
constexpr uint64_t kProgressMsPerHeight = 5000;
// Timers longer than this are clamped before skewing (the core saturates huge timeouts).
constexpr uint64_t kTimerMsMax = 1'000'000'000;

consensus::TimeoutConfig SimTimeouts() {
  consensus::TimeoutConfig t;
  t.propose_ms = 1000;
  t.propose_delta_ms = 500;
  t.prevote_ms = 500;
  t.prevote_delta_ms = 250;
  t.precommit_ms = 500;
  t.precommit_delta_ms = 250;
  return t;
}

Height MessageHeight(const ConsensusMessage& message) {
  return std::visit([](const auto& m) { return m.height; }, message);
}

consensus::ValidatorIndex MessageSigner(const ConsensusMessage& message) {
  if (const auto* p = std::get_if<Proposal>(&message)) return p->proposer;
  return std::get<Vote>(message).validator;
}

consensus::SignState MessageStep(const ConsensusMessage& message) {
  if (const auto* p = std::get_if<Proposal>(&message)) {
    return {p->height, p->round, consensus::Step::kPropose};
  }
  const Vote& v = std::get<Vote>(message);
  return {v.height, v.round,
          v.type == consensus::VoteType::kPrevote ? consensus::Step::kPrevote
                                                  : consensus::Step::kPrecommit};
}

bool SignStateBefore(const consensus::SignState& a, const consensus::SignState& b) {
  return std::make_tuple(a.height, a.round, static_cast<uint8_t>(a.step)) <
         std::make_tuple(b.height, b.round, static_cast<uint8_t>(b.step));
}

std::string DescribeSignState(const consensus::SignState& s) {
  return "(h=" + std::to_string(s.height) + " r=" + std::to_string(s.round) +
         " step=" + std::to_string(static_cast<int>(s.step)) + ")";
}

Hash256 RandomHash(Prng* prng) {
  Hash256 hash;
  for (size_t i = 0; i < Hash256::kSize; i += 8) {
    uint64_t word = prng->Next();
    for (size_t j = 0; j < 8; ++j) hash.bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  return hash;
}

// Held-message identity: what makes two messages of one height the same message.
using HeldKey =
    std::tuple<size_t, Round, consensus::ValidatorIndex, std::optional<Hash256>, Round, uint8_t>;

HeldKey KeyOf(const ConsensusMessage& message) {
  if (const auto* p = std::get_if<Proposal>(&message)) {
    return {0, p->round, p->proposer, p->value.hash, p->pol_round, 0};
  }
  const Vote& v = std::get<Vote>(message);
  return {1, v.round, v.validator, v.block_hash, 0, static_cast<uint8_t>(v.type)};
}

// Block sync (DESIGN §4): a node that sees a peer ahead asks it for the block of its current
// height; the answer is the decided value with its commit, checked before it is applied.
struct SyncRequest {
  Height height = 0;
};
struct SyncResponse {
  consensus::Value value;
  consensus::Commit commit;
};
using Packet = std::variant<ConsensusMessage, SyncRequest, SyncResponse>;

struct DeliverEvent {
  EndpointId to;
  EndpointId from;
  Packet packet;
};
// Timers, application answers and gossip ticks belong to one core: a crash or a block-sync
// rebuild (a new generation) cancels them.
struct TimerEvent {
  EndpointId endpoint;
  uint64_t generation;
  consensus::TimeoutFired timeout;
};
struct AppEvent {
  EndpointId endpoint;
  uint64_t generation;
  consensus::Input input;
};
struct GossipEvent {
  EndpointId endpoint;
  uint64_t generation;
};
// A write reaching the disk late (--break sign-state): a sign state, or a sign-log message.
struct DiskEvent {
  EndpointId endpoint;
  uint64_t incarnation;
  std::variant<consensus::SignState, ConsensusMessage> write;
};
struct RestartEvent {
  EndpointId endpoint;
  uint64_t incarnation;  // the incarnation that crashed
};
struct FaultTickEvent {};
struct HealEvent {};
struct StopFaultsEvent {};
struct DeadlineEvent {
  bool final_deadline;
};
using Event = std::variant<DeliverEvent, TimerEvent, AppEvent, GossipEvent, DiskEvent, RestartEvent,
                           FaultTickEvent, HealEvent, StopFaultsEvent, DeadlineEvent>;

}  // namespace

struct Cluster::Events {
  EventQueue<Event> queue;
};

struct Cluster::Node {
  struct Decision {
    consensus::Value value;
    consensus::Commit commit;
  };
  struct Held {
    std::vector<ConsensusMessage> messages;
    std::set<HeldKey> keys;
  };

  EndpointId endpoint = 0;
  std::string name;
  KeyId key = 0;
  bool byzantine = false;
  bool twin = false;
  std::vector<Fault> behaviours;  // of a Byzantine node that is not a twin
  uint64_t skew_permille = 1000;
  uint64_t skew_offset_ms = 0;

  // Disk: survives crashes.
  consensus::SignState durable_sign_state;
  // The messages this node signed at the height of its latest one (the sign log): a restarted
  // node sends them again, because a vote lost with its sender can never be signed anew.
  std::vector<ConsensusMessage> sign_log;
  std::map<Height, Decision> chain;
  uint64_t disk_free_ms = 0;  // --break sign-state: when queued writes have all landed

  // Process: lost on a crash.
  bool up = true;
  uint64_t incarnation = 0;  // restarts so far
  uint64_t generation = 0;   // cores built so far (restarts and block-sync rebuilds)
  std::unique_ptr<Core> core;
  std::optional<consensus::CommitteeSchedule> committees;
  uint64_t values_built = 0;
  std::map<Height, Held> held;
  Height gossip_mark = 0;
  std::map<std::pair<EndpointId, Height>, uint64_t> sync_sent_ms;

  Height height_at_stop = 0;

  bool Has(Fault behaviour) const {
    return std::find(behaviours.begin(), behaviours.end(), behaviour) != behaviours.end();
  }
  bool correct() const { return !byzantine; }
  // Gossips, answers sync requests, serves decided blocks: correct nodes and twins (which run
  // correct code, only wired wrongly).
  bool helps() const { return !byzantine || twin; }
  bool silent() const { return Has(Fault::kSilent); }
  Height decided() const { return chain.empty() ? 0 : chain.rbegin()->first; }
};

absl::Status ValidateClusterConfig(const ClusterConfig& config) {
  if (config.validators < 1 || config.validators > kValidatorsMax) {
    return absl::InvalidArgumentError("--validators " + std::to_string(config.validators) +
                                      " outside 1.." + std::to_string(kValidatorsMax));
  }
  if (config.validators < 3 * config.byzantine + 1) {
    return absl::InvalidArgumentError("--byzantine " + std::to_string(config.byzantine) +
                                      " with --validators " + std::to_string(config.validators) +
                                      " breaks n >= 3f + 1 (needs at least " +
                                      std::to_string(3 * config.byzantine + 1) + " validators)");
  }
  if (config.byzantine > 0 && config.faults.Byzantine().empty()) {
    return absl::InvalidArgumentError(
        "--byzantine " + std::to_string(config.byzantine) +
        " needs at least one Byzantine behaviour in --faults (equivocate, double-vote, silent, "
        "unknown-block, out-of-range, bad-signature, twins)");
  }
  if (config.break_mode == BreakMode::kSignState && !config.faults.Has(Fault::kCrash)) {
    return absl::InvalidArgumentError(
        "--break sign-state shows only with crashes: add crash to --faults");
  }
  if (config.heights < 1) return absl::InvalidArgumentError("--heights must be at least 1");
  return absl::OkStatus();
}

Cluster::Cluster(ClusterConfig config)
    : config_(std::move(config)),
      keys_(std::make_unique<KeyRing>(config_.seed,
                                      config_.validators + (config_.committee_changes ? 1 : 0))),
      checker_(kSimChainId, keys_.get()),
      trace_(config_.trace_capacity, config_.trace_stream),
      network_prng_(Prng::ForStream(config_.seed, kStreamNetwork)),
      fault_prng_(Prng::ForStream(config_.seed, kStreamFaults)),
      app_prng_(Prng::ForStream(config_.seed, kStreamApp)),
      byzantine_prng_(Prng::ForStream(config_.seed, kStreamByzantine)),
      events_(std::make_unique<Events>()) {
  LADING_CHECK_MSG(ValidateClusterConfig(config_).ok(), "invalid simulator configuration");
  if (!config_.core_factory) config_.core_factory = MakeStateMachineCore;
  const FaultSet& faults = config_.faults;
  Prng draw = Prng::ForStream(config_.seed, kStreamScenario);

  // The scenario: how hostile the network and the fault schedule are for this seed.
  NetworkConfig& net = scenario_.network;
  if (faults.Has(Fault::kDelay)) {
    net.delay.min_ms = draw.Between(1, 10);
    net.delay.max_ms = draw.Between(net.delay.min_ms + 10, 400);
    net.delay.tail_permille = draw.Between(0, 100);
    net.delay.tail_max_ms = draw.Between(200, 3000);
  } else {
    net.delay.min_ms = 1;
    net.delay.max_ms = 20;
  }
  if (faults.Has(Fault::kDrop)) net.drop_permille = draw.Between(10, 250);
  if (faults.Has(Fault::kDuplicate)) net.duplicate_permille = draw.Between(10, 150);
  if (faults.Has(Fault::kPartition)) scenario_.partition_permille = draw.Between(20, 80);
  if (faults.Has(Fault::kCrash)) {
    scenario_.crash_permille = draw.Between(10, 40);
    scenario_.crash_after_send_permille =
        config_.break_mode == BreakMode::kSignState ? draw.Between(30, 80) : draw.Between(2, 10);
  }
  scenario_.fault_window_ms = draw.Between(3000, 15000);

  // Roles: which genesis members are Byzantine, and how each misbehaves.
  const size_t n = config_.validators;
  std::vector<KeyId> genesis(n);
  for (size_t k = 0; k < n; ++k) genesis[k] = static_cast<KeyId>(k);
  std::vector<KeyId> shuffled = genesis;
  draw.Shuffle(&shuffled);
  std::vector<KeyId> byzantine(shuffled.begin(), shuffled.begin() + config_.byzantine);
  std::sort(byzantine.begin(), byzantine.end());
  const std::vector<Fault> menu = faults.Byzantine();
  std::vector<Fault> non_twin;
  for (Fault f : menu) {
    if (f != Fault::kTwins) non_twin.push_back(f);
  }

  auto add_node = [this](KeyId key, std::string name) -> Node& {
    auto node = std::make_unique<Node>();
    node->endpoint = static_cast<EndpointId>(nodes_.size());
    node->key = key;
    node->name = std::move(name);
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  };
  for (KeyId k : genesis) add_node(k, "v" + std::to_string(k));
  std::vector<KeyId> spares;
  if (config_.committee_changes) {
    spares.push_back(static_cast<KeyId>(n));
    add_node(static_cast<KeyId>(n), "v" + std::to_string(n));
  }
  std::vector<std::pair<EndpointId, EndpointId>> twin_pairs;
  for (KeyId k : byzantine) {
    Node& node = *nodes_[k];
    node.byzantine = true;
    const bool only_twins = non_twin.empty();
    if (faults.Has(Fault::kTwins) && (only_twins || draw.ChancePermille(400))) {
      node.twin = true;
      node.name += "a";
      Node& second = add_node(k, "v" + std::to_string(k) + "b");
      second.byzantine = true;
      second.twin = true;
      twin_pairs.emplace_back(node.endpoint, second.endpoint);
      continue;
    }
    for (Fault f : non_twin) {
      if (draw.ChancePermille(500)) node.behaviours.push_back(f);
    }
    if (node.behaviours.empty()) node.behaviours.push_back(non_twin[draw.Below(non_twin.size())]);
  }
  for (auto& node : nodes_) {
    if (faults.Has(Fault::kSkew)) {
      node->skew_permille = draw.Between(700, 1400);
      node->skew_offset_ms = draw.Between(0, 300);
    }
  }

  network_ = std::make_unique<Network>(nodes_.size(), scenario_.network);
  // Twins: each instance talks to its own side of the other nodes only, and never to its twin.
  for (const auto& [a, b] : twin_pairs) {
    network_->Unlink(a, b);
    for (auto& node : nodes_) {
      const EndpointId e = node->endpoint;
      if (e == a || e == b) continue;
      network_->Unlink(draw.ChancePermille(500) ? a : b, e);
    }
  }

  plan_ = std::make_unique<CommitteePlan>(
      keys_.get(), CommitteePlanConfig{genesis, spares, byzantine,
                                       config_.committee_changes ? kCommitteeChangePeriod : 0});

  std::vector<std::string> names;
  for (const auto& node : nodes_) names.push_back(node->name);
  trace_.set_endpoint_names(std::move(names));

  for (auto& node : nodes_) StartCore(*node, /*replay_sign_log=*/false);
  events_->queue.Push(kFaultTickMs, FaultTickEvent{});
  events_->queue.Push(scenario_.fault_window_ms, StopFaultsEvent{});
}

Cluster::~Cluster() = default;

std::string Cluster::DescribeScenario() const {
  const NetworkConfig& net = scenario_.network;
  std::string out = "fault window " + std::to_string(scenario_.fault_window_ms) + "ms; delay " +
                    std::to_string(net.delay.min_ms) + ".." + std::to_string(net.delay.max_ms) +
                    "ms";
  if (net.delay.tail_permille > 0) {
    out += " (+0.." + std::to_string(net.delay.tail_max_ms) + "ms for " +
           std::to_string(net.delay.tail_permille) + " per mille)";
  }
  out += "; drop " + std::to_string(net.drop_permille) + " per mille; duplicate " +
         std::to_string(net.duplicate_permille) + " per mille; partition " +
         std::to_string(scenario_.partition_permille) + " per mille per tick; crash " +
         std::to_string(scenario_.crash_permille) + " per mille per tick, " +
         std::to_string(scenario_.crash_after_send_permille) + " per mille after a send";
  for (const auto& node : nodes_) {
    if (node->skew_permille != 1000 || node->skew_offset_ms != 0) {
      out += "; " + node->name + " timers x" + std::to_string(node->skew_permille) + "/1000 +" +
             std::to_string(node->skew_offset_ms) + "ms";
    }
  }
  for (const auto& node : nodes_) {
    if (!node->byzantine) continue;
    out += "; " + node->name + " Byzantine: ";
    if (node->twin) {
      out += "twin";
      continue;
    }
    for (size_t i = 0; i < node->behaviours.size(); ++i) {
      out += (i ? "," : "") + std::string(FaultName(node->behaviours[i]));
    }
  }
  return out;
}

std::vector<Cluster::NodeView> Cluster::nodes() const {
  std::vector<NodeView> out;
  for (const auto& node : nodes_) {
    out.push_back(NodeView{node->name, node->key, node->correct(), node->up, node->incarnation,
                           node->decided(), node->durable_sign_state});
  }
  return out;
}

consensus::Height Cluster::MinCorrectHeight() const {
  Height min_height = UINT64_MAX;
  for (const auto& node : nodes_) {
    if (node->correct()) min_height = std::min(min_height, node->decided());
  }
  return min_height == UINT64_MAX ? 0 : min_height;
}

consensus::Height Cluster::MaxCorrectHeight() const {
  Height max_height = 0;
  for (const auto& node : nodes_) {
    if (node->correct()) max_height = std::max(max_height, node->decided());
  }
  return max_height;
}

void Cluster::Record(TraceEntry entry) {
  entry.time_ms = now_ms_;
  trace_.Record(std::move(entry));
}

uint64_t Cluster::Skewed(const Node& node, uint64_t after_ms) const {
  return std::min(after_ms, kTimerMsMax) * node.skew_permille / 1000 + node.skew_offset_ms;
}

// ---- Running ----

void Cluster::Run() {
  while (!finished_) {
    if (events_->queue.empty()) {
      checker_.Add(now_ms_, "stall", "no events left before every correct node finished");
      finished_ = true;
      return;
    }
    Process();
  }
}

void Cluster::RunUntil(uint64_t time_ms) {
  while (!finished_ && !events_->queue.empty() && events_->queue.next_time_ms() <= time_ms) {
    Process();
  }
  now_ms_ = std::max(now_ms_, time_ms);
}

bool Cluster::IsDone() const {
  if (!faults_stopped_) return false;
  for (const auto& node : nodes_) {
    if (!node->correct()) continue;
    const Height target =
        std::max<Height>(config_.heights, node->height_at_stop + config_.liveness_heights);
    if (!node->up || node->decided() < target) return false;
  }
  return true;
}

void Cluster::Process() {
  EventQueue<Event>::Entry entry = events_->queue.Pop();
  now_ms_ = entry.time_ms;
  std::visit(
      [this](auto& event) {
        using T = std::decay_t<decltype(event)>;
        if constexpr (std::is_same_v<T, DeliverEvent>) {
          Node& node = *nodes_[event.to];
          if (const auto* request = std::get_if<SyncRequest>(&event.packet)) {
            if (node.up && node.helps() && node.chain.count(request->height)) {
              SendSyncResponse(node, event.from, request->height);
            }
            return;
          }
          if (const auto* response = std::get_if<SyncResponse>(&event.packet)) {
            if (node.up) OnSyncResponse(node, event.from, response->value, response->commit);
            return;
          }
          Deliver(node, event.from, std::get<ConsensusMessage>(event.packet));
        } else if constexpr (std::is_same_v<T, TimerEvent> || std::is_same_v<T, AppEvent>) {
          Node& node = *nodes_[event.endpoint];
          if (!node.up || node.generation != event.generation) return;
          TraceEntry trace{.endpoint = node.endpoint};
          consensus::Input input;
          if constexpr (std::is_same_v<T, TimerEvent>) {
            trace.kind = TraceKind::kTimeout;
            trace.height = event.timeout.height;
            trace.round = event.timeout.round;
            trace.extra = static_cast<int32_t>(event.timeout.step);
            input = event.timeout;
          } else {
            input = event.input;
            if (const auto* ready = std::get_if<consensus::ValueReady>(&input)) {
              trace.kind = TraceKind::kValueReady;
              trace.height = ready->height;
              trace.round = ready->round;
              DescribeMessage(Proposal{.value = ready->value}, &trace);
              trace.height = ready->height;
              trace.round = ready->round;
              trace.message_type = 0;
            } else {
              const auto& verdict = std::get<consensus::ProposalValidated>(input);
              trace.kind = TraceKind::kValidated;
              DescribeMessage(Proposal{.value = {.hash = verdict.block}}, &trace);
              trace.height = verdict.height;
              trace.round = verdict.round;
              trace.message_type = 0;
              trace.flag = verdict.valid;
            }
          }
          Record(std::move(trace));
          std::vector<consensus::Output> outputs;
          node.core->Handle(input, &outputs);
          Execute(node, &outputs);
        } else if constexpr (std::is_same_v<T, GossipEvent>) {
          Node& node = *nodes_[event.endpoint];
          if (!node.up || node.generation != event.generation) return;
          Gossip(node);
          events_->queue.Push(now_ms_ + Skewed(node, kGossipIntervalMs),
                              GossipEvent{node.endpoint, node.generation});
        } else if constexpr (std::is_same_v<T, DiskEvent>) {
          Node& node = *nodes_[event.endpoint];
          // A crash loses the writes still in flight.
          if (!node.up || node.incarnation != event.incarnation) return;
          if (const auto* state = std::get_if<consensus::SignState>(&event.write)) {
            node.durable_sign_state = *state;
            Record(TraceEntry{.kind = TraceKind::kSignState,
                              .endpoint = node.endpoint,
                              .height = state->height,
                              .round = state->round,
                              .extra = static_cast<int32_t>(state->step)});
          } else {
            AppendSignLog(node, std::get<ConsensusMessage>(event.write));
          }
        } else if constexpr (std::is_same_v<T, RestartEvent>) {
          Node& node = *nodes_[event.endpoint];
          if (!node.up && node.incarnation == event.incarnation) Restart(node.endpoint);
        } else if constexpr (std::is_same_v<T, FaultTickEvent>) {
          FaultTick();
        } else if constexpr (std::is_same_v<T, HealEvent>) {
          if (network_->partitioned()) {
            network_->Heal();
            Record(TraceEntry{.kind = TraceKind::kHeal});
          }
        } else if constexpr (std::is_same_v<T, StopFaultsEvent>) {
          StopFaults();
        } else {
          CheckLiveness(event.final_deadline);
        }
      },
      entry.payload);
  if (!faults_stopped_ && MaxCorrectHeight() >= config_.heights) StopFaults();
  if (!checker_.ok() || IsDone()) finished_ = true;
}

// ---- Faults ----

void Cluster::FaultTick() {
  if (faults_stopped_) return;
  if (scenario_.partition_permille > 0 && !network_->partitioned() &&
      fault_prng_.ChancePermille(scenario_.partition_permille)) {
    network_->PartitionRandomly(&fault_prng_);
    Record(TraceEntry{.kind = TraceKind::kPartition, .note = network_->DescribePartition()});
    events_->queue.Push(now_ms_ + fault_prng_.Between(300, 4000), HealEvent{});
  }
  if (scenario_.crash_permille > 0 && fault_prng_.ChancePermille(scenario_.crash_permille)) {
    std::vector<EndpointId> candidates;
    for (const auto& node : nodes_) {
      if (node->up && node->correct()) candidates.push_back(node->endpoint);
    }
    if (!candidates.empty()) Crash(candidates[fault_prng_.Below(candidates.size())]);
  }
  events_->queue.Push(now_ms_ + kFaultTickMs, FaultTickEvent{});
}

void Cluster::StopFaults() {
  if (faults_stopped_) return;
  faults_stopped_ = true;
  Record(TraceEntry{.kind = TraceKind::kFaultsStop});
  network_->Heal();
  NetworkConfig calm = network_->config();
  calm.drop_permille = 0;
  calm.duplicate_permille = 0;
  network_->set_config(calm);
  for (auto& node : nodes_) {
    if (!node->up) Restart(node->endpoint);
  }
  for (auto& node : nodes_) node->height_at_stop = node->decided();
  events_->queue.Push(now_ms_ + config_.liveness_window_ms, DeadlineEvent{false});
  events_->queue.Push(now_ms_ + config_.liveness_window_ms + kProgressMsPerHeight * config_.heights,
                      DeadlineEvent{true});
}

void Cluster::CheckLiveness(bool final_deadline) {
  for (const auto& node : nodes_) {
    if (!node->correct()) continue;
    if (!final_deadline) {
      const Height target = node->height_at_stop + config_.liveness_heights;
      if (node->decided() < target) {
        checker_.Add(now_ms_, "liveness",
                     node->name + " decided up to height " + std::to_string(node->decided()) +
                         " in the " + std::to_string(config_.liveness_window_ms) +
                         "ms after faults stopped (it was at height " +
                         std::to_string(node->height_at_stop) + ", needed " +
                         std::to_string(target) + ")");
      }
    } else if (node->decided() < config_.heights) {
      checker_.Add(now_ms_, "progress",
                   node->name + " decided only " + std::to_string(node->decided()) + " of " +
                       std::to_string(config_.heights) + " heights by the deadline");
    }
  }
}

void Cluster::Crash(EndpointId endpoint) {
  Node& node = *nodes_.at(endpoint);
  if (!node.up) return;
  node.up = false;
  node.core.reset();
  node.committees.reset();
  node.held.clear();
  node.sync_sent_ms.clear();
  node.values_built = 0;
  Record(TraceEntry{.kind = TraceKind::kCrash, .endpoint = endpoint});
  if (!faults_stopped_) {
    events_->queue.Push(now_ms_ + fault_prng_.Between(200, 4000),
                        RestartEvent{endpoint, node.incarnation});
  }
}

void Cluster::Restart(EndpointId endpoint) {
  Node& node = *nodes_.at(endpoint);
  if (node.up) return;
  node.up = true;
  ++node.incarnation;
  ++driver_stats_.restarts;
  node.disk_free_ms = now_ms_;
  Record(TraceEntry{.kind = TraceKind::kRestart,
                    .endpoint = endpoint,
                    .height = node.decided() + 1,
                    .note = DescribeSignState(node.durable_sign_state)});
  StartCore(node, /*replay_sign_log=*/true);
}

void Cluster::StartCore(Node& node, bool replay_sign_log) {
  ++node.generation;
  std::vector<std::pair<Height, consensus::BlockHash>> decided;
  for (const auto& [height, decision] : node.chain)
    decided.emplace_back(height, decision.value.hash);
  node.committees = plan_->ScheduleFor(decided);
  CoreParams params{
      .options = {.chain_id = kSimChainId,
                  .self_public_key = keys_->public_key(node.key),
                  .timeouts = SimTimeouts()},
      .signer = &keys_->signer(node.key),
      .committees = *node.committees,
      .height = node.decided() + 1,
      .last_signed = node.durable_sign_state,
      .break_locking = config_.break_mode == BreakMode::kLocking,
  };
  node.core = config_.core_factory(std::move(params));
  node.gossip_mark = 0;
  events_->queue.Push(now_ms_ + Skewed(node, kGossipIntervalMs),
                      GossipEvent{node.endpoint, node.generation});
  std::vector<consensus::Output> outputs;
  node.core->Start(&outputs);
  Execute(node, &outputs);
  if (!config_.sign_log || !replay_sign_log) return;
  // Replay the sign log: the others may never have received these messages, and the new core
  // counts its own votes of this height again.
  const std::vector<ConsensusMessage> log = node.sign_log;
  for (const ConsensusMessage& message : log) {
    if (!node.up || MessageHeight(message) != node.core->height()) continue;
    Hold(node, message);
    for (const auto& peer : nodes_) {
      if (peer->endpoint != node.endpoint) SendMessage(node, peer->endpoint, message);
    }
    outputs.clear();
    node.core->Handle(consensus::MessageReceived{message}, &outputs);
    Execute(node, &outputs);
  }
}

void Cluster::AppendSignLog(Node& node, const ConsensusMessage& message) {
  const Height height = MessageHeight(message);
  std::erase_if(node.sign_log,
                [height](const ConsensusMessage& m) { return MessageHeight(m) < height; });
  node.sign_log.push_back(message);
}

// ---- The driver: executing a core's outputs in order ----

void Cluster::Execute(Node& node, std::vector<consensus::Output>* outputs) {
  for (const consensus::Output& output : *outputs) {
    if (!node.up) return;  // crashed mid-way: the remaining outputs never happen
    if (const auto* broadcast = std::get_if<consensus::Broadcast>(&output)) {
      OnBroadcast(node, broadcast->message);
      if (!faults_stopped_ && node.correct() &&
          fault_prng_.ChancePermille(scenario_.crash_after_send_permille)) {
        Crash(node.endpoint);
      }
    } else if (const auto* timeout = std::get_if<consensus::ScheduleTimeout>(&output)) {
      events_->queue.Push(
          now_ms_ + Skewed(node, timeout->after_ms),
          TimerEvent{node.endpoint, node.generation,
                     consensus::TimeoutFired{timeout->height, timeout->round, timeout->step}});
    } else if (const auto* persist = std::get_if<consensus::PersistSignState>(&output)) {
      if (config_.break_mode == BreakMode::kSignState) {
        // Broken on purpose: the write is queued and the core's next Broadcast leaves at once.
        node.disk_free_ms = std::max(node.disk_free_ms, now_ms_) + fault_prng_.Between(30, 300);
        events_->queue.Push(node.disk_free_ms,
                            DiskEvent{node.endpoint, node.incarnation, {persist->state}});
      } else {
        if (!SignStateBefore(node.durable_sign_state, persist->state) && node.correct()) {
          checker_.Add(now_ms_, "sign-state",
                       node.name + " asked to persist sign state " +
                           DescribeSignState(persist->state) + " not after the durable " +
                           DescribeSignState(node.durable_sign_state));
        }
        node.durable_sign_state = persist->state;
      }
    } else if (const auto* request = std::get_if<consensus::RequestValue>(&output)) {
      const ValueFields fields{request->height, request->round, node.key,
                               (node.generation << 32) | node.values_built++};
      events_->queue.Push(
          now_ms_ + app_prng_.Between(kAppDelayMinMs, kAppDelayMaxMs),
          AppEvent{node.endpoint, node.generation,
                   consensus::ValueReady{request->height, request->round, MakeValue(fields)}});
    } else if (const auto* validate = std::get_if<consensus::ValidateValue>(&output)) {
      const bool valid = CheckValue(validate->value, validate->height, keys_->size()).ok();
      events_->queue.Push(now_ms_ + app_prng_.Between(kAppDelayMinMs, kAppDelayMaxMs),
                          AppEvent{node.endpoint, node.generation,
                                   consensus::ProposalValidated{validate->height, validate->round,
                                                                validate->value.hash, valid}});
    } else if (const auto* decide = std::get_if<consensus::Decide>(&output)) {
      OnDecide(node, *decide, /*synced=*/false);
    } else if (const auto* evidence = std::get_if<consensus::EvidenceFound>(&output)) {
      ++driver_stats_.evidence;
      TraceEntry trace{.kind = TraceKind::kEvidence, .endpoint = node.endpoint};
      DescribeMessage(evidence->evidence.first, &trace);
      trace.note = "blocks " + ShortBlock(evidence->evidence.first.block_hash) + " and " +
                   ShortBlock(evidence->evidence.second.block_hash);
      Record(std::move(trace));
      const Height height = evidence->evidence.first.height;
      if (node.correct() && height >= 1) {
        checker_.OnEvidence(now_ms_, node.name, evidence->evidence, node.committees->At(height));
      }
    }
  }
}

void Cluster::OnBroadcast(Node& node, const ConsensusMessage& message) {
  if (const auto* proposal = std::get_if<Proposal>(&message)) checker_.OnProposal(*proposal);
  if (node.correct()) {
    if (config_.break_mode != BreakMode::kSignState &&
        SignStateBefore(node.durable_sign_state, MessageStep(message))) {
      checker_.Add(now_ms_, "sign-state",
                   node.name + " broadcast a message for " +
                       DescribeSignState(MessageStep(message)) +
                       " while its durable sign state was only " +
                       DescribeSignState(node.durable_sign_state));
    }
    checker_.OnCorrectSigned(now_ms_, node.key, node.name, message);
  }
  if (config_.sign_log) {
    if (config_.break_mode == BreakMode::kSignState) {
      node.disk_free_ms = std::max(node.disk_free_ms, now_ms_) + fault_prng_.Between(1, 30);
      events_->queue.Push(node.disk_free_ms, DiskEvent{node.endpoint, node.incarnation, {message}});
    } else {
      AppendSignLog(node, message);
    }
  }
  Hold(node, message);
  if (node.byzantine && !node.twin) {
    ByzantineBroadcast(node, message);
    return;
  }
  for (const auto& peer : nodes_) {
    if (peer->endpoint != node.endpoint) SendMessage(node, peer->endpoint, message);
  }
}

void Cluster::OnDecide(Node& node, const consensus::Decide& decide, bool synced) {
  TraceEntry trace{.kind = TraceKind::kDecide, .endpoint = node.endpoint};
  DescribeMessage(Proposal{.value = decide.value}, &trace);
  trace.message_type = 0;
  trace.height = decide.height;
  trace.round = decide.commit.round;
  trace.flag = synced;
  Record(std::move(trace));
  const consensus::ValidatorSet& committee = node.committees->At(decide.height);
  if (node.correct()) checker_.OnCorrectDecide(now_ms_, node.name, decide, committee);
  node.chain[decide.height] = Node::Decision{decide.value, decide.commit};
  if (std::optional<consensus::ValidatorSet> change = plan_->ChangeAfter(
          decide.height, decide.value.hash, node.committees->At(decide.height + 1))) {
    std::string members;
    for (const consensus::Validator& v : change->validators()) {
      members += (members.empty() ? "" : " ") + v.id + "=" + std::to_string(v.voting_power);
    }
    Record(TraceEntry{.kind = TraceKind::kCommittee,
                      .endpoint = node.endpoint,
                      .height = decide.height + 2,
                      .note = members});
    node.committees->Set(decide.height + 2, *change);
    // A synced block gets a new core, built from the chain; the running core learns it here.
    if (!synced) node.core->SetCommittee(decide.height + 2, std::move(*change));
  }
  if (synced) StartCore(node, /*replay_sign_log=*/false);
  const Height current = node.core->height();
  for (auto it = node.held.begin(); it != node.held.end() && it->first < current;) {
    it = node.held.erase(it);
  }
  if (!synced || !node.up) return;
  // The replaced core had buffered what arrived early for the next height; the new one gets it
  // from the driver's copy.
  const auto it = node.held.find(current);
  if (it == node.held.end()) return;
  const std::vector<ConsensusMessage> early = it->second.messages;
  for (const ConsensusMessage& message : early) {
    if (!node.up || node.core->height() != current) break;
    std::vector<consensus::Output> outputs;
    node.core->Handle(consensus::MessageReceived{message}, &outputs);
    Execute(node, &outputs);
  }
}

void Cluster::OnSyncResponse(Node& node, EndpointId from, const consensus::Value& value,
                             const consensus::Commit& commit) {
  if (commit.height != node.core->height()) return;  // stale, or not the next block
  // What the node does with a synced block (DESIGN §4): check the commit signatures and the
  // block before applying it.
  std::string reject;
  auto verify = [this](const auto& public_key, const auto& message, const auto& signature) {
    return keys_->Verify(ByteSpan(public_key), ByteSpan(message), ByteSpan(signature));
  };
  if (commit.block_hash != value.hash) {
    reject = "commit for another block";
  } else if (absl::Status status = consensus::VerifyCommit(
                 kSimChainId, node.committees->At(commit.height), commit, verify);
             !status.ok()) {
    reject = std::string(status.message());
  } else if (absl::Status status = CheckValue(value, commit.height, keys_->size()); !status.ok()) {
    reject = std::string(status.message());
  }
  if (!reject.empty()) {
    Record(TraceEntry{.kind = TraceKind::kRejected,
                      .endpoint = node.endpoint,
                      .peer = from,
                      .height = commit.height,
                      .round = commit.round,
                      .note = "sync: " + reject});
    return;
  }
  ++driver_stats_.synced_blocks;
  OnDecide(node, consensus::Decide{commit.height, value, commit}, /*synced=*/true);
}

// ---- Sending ----

void Cluster::SendMessage(Node& from, EndpointId to, const ConsensusMessage& message) {
  if (!network_->Linked(from.endpoint, to)) return;
  std::vector<uint64_t> delays;
  const bool reachable = network_->Reachable(from.endpoint, to);
  network_->Route(from.endpoint, to, &network_prng_, &delays);
  if (delays.empty()) {
    TraceEntry trace{.kind = TraceKind::kLost,
                     .endpoint = from.endpoint,
                     .peer = to,
                     .note = reachable ? "loss" : "partition"};
    DescribeMessage(message, &trace);
    Record(std::move(trace));
    return;
  }
  for (uint64_t delay : delays) {
    events_->queue.Push(now_ms_ + delay, DeliverEvent{to, from.endpoint, Packet(message)});
  }
}

void Cluster::SendSyncRequest(Node& from, EndpointId to, Height height) {
  if (!network_->Linked(from.endpoint, to)) return;
  std::vector<uint64_t> delays;
  network_->Route(from.endpoint, to, &network_prng_, &delays);
  for (uint64_t delay : delays) {
    events_->queue.Push(now_ms_ + delay,
                        DeliverEvent{to, from.endpoint, Packet(SyncRequest{height})});
  }
}

void Cluster::SendSyncResponse(Node& from, EndpointId to, Height height) {
  // Rate-limited per (peer, height): a peer that is behind asks again and again.
  uint64_t& last = from.sync_sent_ms[{to, height}];
  if (last != 0 && now_ms_ < last + kSyncResendMs) return;
  last = now_ms_ == 0 ? 1 : now_ms_;
  if (!network_->Linked(from.endpoint, to)) return;
  const Node::Decision& decision = from.chain.at(height);
  std::vector<uint64_t> delays;
  network_->Route(from.endpoint, to, &network_prng_, &delays);
  for (uint64_t delay : delays) {
    events_->queue.Push(
        now_ms_ + delay,
        DeliverEvent{to, from.endpoint, Packet(SyncResponse{decision.value, decision.commit})});
  }
}

void Cluster::Gossip(Node& node) {
  // Only a node that has not decided since the last tick relays: a healthy network needs no
  // gossip, and a stalled one needs every message of the current height to reach everyone (the
  // paper's assumption that correct processes eventually receive each other's messages). It also
  // asks everyone for the block of its height, in case it is the one behind and nobody else
  // speaks (a follower that never votes, say).
  const Height height = node.core->height();
  const bool stalled = node.gossip_mark == height;
  node.gossip_mark = height;
  if (!stalled || node.silent()) return;
  for (const auto& peer : nodes_) {
    if (peer->endpoint != node.endpoint) SendSyncRequest(node, peer->endpoint, height);
  }
  if (!node.helps()) return;
  const auto it = node.held.find(height);
  if (it == node.held.end()) return;
  for (const ConsensusMessage& message : it->second.messages) {
    for (const auto& peer : nodes_) {
      if (peer->endpoint != node.endpoint) SendMessage(node, peer->endpoint, message);
    }
  }
}

// ---- Receiving ----

void Cluster::Hold(Node& node, const ConsensusMessage& message) {
  const Height height = MessageHeight(message);
  const Height current = node.core->height();
  if (height < current || height > current + 1) return;
  Node::Held& held = node.held[height];
  if (held.keys.insert(KeyOf(message)).second) held.messages.push_back(message);
}

void Cluster::Deliver(Node& node, EndpointId from, const ConsensusMessage& message) {
  TraceEntry trace{.kind = TraceKind::kDeliver, .endpoint = node.endpoint, .peer = from};
  DescribeMessage(message, &trace);
  if (!node.up) {
    trace.kind = TraceKind::kDiscarded;
    Record(std::move(trace));
    return;
  }
  // The driver's signature check (state_machine.h: the core trusts MessageReceived signatures).
  const Height height = MessageHeight(message);
  std::string reject;
  if (height == 0) {
    reject = "height 0";
  } else {
    const consensus::ValidatorSet& committee = node.committees->At(height);
    const consensus::ValidatorIndex signer = MessageSigner(message);
    if (!committee.Contains(signer)) {
      reject = "signer index " + std::to_string(signer) + " outside the committee of " +
               std::to_string(committee.size());
    } else {
      const consensus::Signature& signature = std::visit(
          [](const auto& m) -> const consensus::Signature& { return m.signature; }, message);
      if (!keys_->Verify(committee.at(signer).public_key, KeyRing::SignBytes(kSimChainId, message),
                         signature)) {
        reject = "bad signature";
      }
    }
  }
  if (!reject.empty()) {
    ++driver_stats_.rejected_messages;
    trace.kind = TraceKind::kRejected;
    trace.note = std::move(reject);
    Record(std::move(trace));
    return;
  }
  Record(std::move(trace));
  const Height current = node.core->height();
  if (height < current) {
    // The sender is behind: hand it the block it is missing with its commit.
    if (node.helps() && node.chain.count(height)) SendSyncResponse(node, from, height);
    return;
  }
  if (height > current && !node.silent()) {
    uint64_t& last = node.sync_sent_ms[{from, current}];
    if (last == 0 || now_ms_ >= last + kSyncResendMs) {
      last = now_ms_ == 0 ? 1 : now_ms_;
      SendSyncRequest(node, from, current);
    }
  }
  Hold(node, message);
  std::vector<consensus::Output> outputs;
  node.core->Handle(consensus::MessageReceived{message}, &outputs);
  Execute(node, &outputs);
}

// ---- Byzantine behaviour ----

void Cluster::ByzantineBroadcast(Node& node, const ConsensusMessage& honest) {
  if (node.silent()) return;
  Prng& prng = byzantine_prng_;
  std::vector<EndpointId> peers;
  for (const auto& peer : nodes_) {
    if (peer->endpoint != node.endpoint) peers.push_back(peer->endpoint);
  }
  prng.Shuffle(&peers);
  const std::vector<EndpointId> first_half(peers.begin(), peers.begin() + peers.size() / 2);
  const std::vector<EndpointId> second_half(peers.begin() + peers.size() / 2, peers.end());
  std::vector<std::pair<ConsensusMessage, std::vector<EndpointId>>> out;
  const Height height = MessageHeight(honest);
  const consensus::ValidatorSet& committee = node.committees->At(height);
  auto sign = [this, &node](ConsensusMessage* message) {
    keys_->SignMessage(kSimChainId, node.key, message);
  };

  ConsensusMessage main = honest;
  if (const auto* proposal = std::get_if<Proposal>(&honest)) {
    if (node.Has(Fault::kUnknownBlock) && prng.ChancePermille(400)) {
      // A proposal whose payload does not hash to its value hash: signed, but invalid.
      Proposal bad = *proposal;
      bad.value.payload = ToBytes("not-a-block:" + std::to_string(prng.Next()));
      main = bad;
    }
    if (node.Has(Fault::kEquivocate)) {
      Proposal other = *proposal;
      other.value = MakeValue(
          {proposal->height, proposal->round, node.key, (uint64_t{1} << 63) | prng.Next() >> 1});
      ConsensusMessage second = other;
      sign(&second);
      checker_.OnProposal(std::get<Proposal>(second));
      out.emplace_back(main, first_half);
      out.emplace_back(second, second_half);
    } else {
      out.emplace_back(main, peers);
    }
  } else {
    const Vote& vote = std::get<Vote>(honest);
    if (node.Has(Fault::kUnknownBlock) && prng.ChancePermille(500)) {
      Vote unknown = vote;
      unknown.block_hash = RandomHash(&prng);
      main = unknown;
      sign(&main);
    }
    if (node.Has(Fault::kDoubleVote)) {
      Vote other = std::get<Vote>(main);
      if (other.block_hash.has_value()) {
        other.block_hash =
            prng.ChancePermille(500) ? std::nullopt : std::optional(RandomHash(&prng));
      } else {
        // Vote for a real proposal of this height when there is one: the most damaging lie.
        std::optional<Hash256> known;
        if (auto it = node.held.find(height); it != node.held.end()) {
          for (const ConsensusMessage& m : it->second.messages) {
            if (const auto* p = std::get_if<Proposal>(&m)) known = p->value.hash;
          }
        }
        other.block_hash = known.has_value() ? *known : RandomHash(&prng);
      }
      ConsensusMessage second = other;
      sign(&second);
      out.emplace_back(main, first_half);
      out.emplace_back(second, second_half);
    } else {
      out.emplace_back(main, peers);
    }
  }

  if (node.Has(Fault::kOutOfRange) && prng.ChancePermille(600)) {
    ConsensusMessage garbage = honest;
    const uint64_t choice = prng.Below(7);
    std::visit(
        [&](auto& m) {
          switch (choice) {
            case 0:
              m.height = height + 2 + prng.Below(1000);
              break;
            case 1:
              m.height = 0;
              break;
            case 2:
              m.round = consensus::kRoundMax + 1 + static_cast<Round>(prng.Below(1000));
              break;
            case 3:
              m.round = -2 - static_cast<Round>(prng.Below(1000));
              break;
            default:
              break;
          }
        },
        garbage);
    if (choice == 4) {
      // An index past the end of the committee.
      const auto index = static_cast<consensus::ValidatorIndex>(committee.size() + prng.Below(3));
      std::visit(
          [index](auto& m) {
            if constexpr (std::is_same_v<std::decay_t<decltype(m)>, Proposal>) {
              m.proposer = index;
            } else {
              m.validator = index;
            }
          },
          garbage);
    } else if (choice == 5) {
      // A proposal with pol_round >= round, or as a validator that is not the round's proposer.
      Proposal p;
      p.height = height;
      p.round = std::visit([](const auto& m) { return m.round; }, honest) + 1;
      p.pol_round = prng.ChancePermille(500) ? p.round : p.round + 1;
      p.value = MakeValue({height, p.round, node.key, prng.Next()});
      p.proposer = *committee.IndexOfKey(keys_->public_key(node.key));
      garbage = p;
    } else if (choice == 6) {
      Proposal p;
      p.height = height;
      p.round = std::visit([](const auto& m) { return m.round; }, honest);
      const consensus::ValidatorIndex self = *committee.IndexOfKey(keys_->public_key(node.key));
      while (committee.size() > 1 && committee.Proposer(height, p.round) == self) ++p.round;
      p.value = MakeValue({height, p.round, node.key, prng.Next()});
      p.proposer = self;
      garbage = p;
    }
    sign(&garbage);
    if (const auto* p = std::get_if<Proposal>(&garbage)) checker_.OnProposal(*p);
    out.emplace_back(garbage, peers);
  }

  if (node.Has(Fault::kBadSignature)) {
    for (auto& [message, targets] : out) {
      if (!prng.ChancePermille(500)) continue;
      std::visit(
          [&prng](auto& m) {
            if (m.signature.empty()) return;
            m.signature[prng.Below(m.signature.size())] ^=
                static_cast<uint8_t>(1 + prng.Below(255));
          },
          message);
    }
    // A forged vote in a correct validator's name, signed with our own key.
    if (committee.size() > 1) {
      Vote forged;
      forged.type = prng.ChancePermille(500) ? consensus::VoteType::kPrevote
                                             : consensus::VoteType::kPrecommit;
      forged.height = height;
      forged.round = std::visit([](const auto& m) { return m.round; }, honest);
      forged.block_hash = RandomHash(&prng);
      const consensus::ValidatorIndex self = *committee.IndexOfKey(keys_->public_key(node.key));
      forged.validator = static_cast<consensus::ValidatorIndex>(
          (self + 1 + prng.Below(committee.size() - 1)) % committee.size());
      ConsensusMessage message = forged;
      sign(&message);
      out.emplace_back(message, peers);
    }
  }

  for (const auto& [message, targets] : out) {
    for (EndpointId to : targets) SendMessage(node, to, message);
  }
}

}  // namespace lading::sim
