// The run's trace: a bounded ring of the last events (deliveries, drops, timeouts, decisions,
// crashes, partitions...) printed when a seed fails, an optional full stream of every event
// (lading-sim --trace), and a running digest of all events that two runs of one seed must share.
//
// Entries are small fixed records formatted only when printed, so tracing costs little while a
// seed passes. Owns its records; writes to a caller-owned stream. Thread-compatible.
#ifndef LADING_TESTS_SIM_TRACE_H_
#define LADING_TESTS_SIM_TRACE_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "consensus/types.h"

namespace lading::sim {

enum class TraceKind : uint8_t {
  kDeliver,     // a message reached `endpoint` from `peer` and was handed to the core
  kLost,        // the network lost a message (loss or partition)
  kRejected,    // the driver dropped a delivered message (bad signature, unknown signer)
  kDiscarded,   // a message reached a crashed endpoint
  kTimeout,     // a timer fired: height, round, step
  kValueReady,  // the application built a value for (height, round)
  kValidated,   // the application answered a validation: valid in `flag`
  kSignState,   // a sign state became durable: height, round, step
  kDecide,      // a decision: height, round, block; `flag` when applied by block sync
  kCrash,       // the endpoint crashed
  kRestart,     // the endpoint restarted at `height`; its durable sign state in `note`
  kPartition,   // a partition formed
  kHeal,        // all partitions healed
  kFaultsStop,  // faults stopped (heal, restart, no more losses)
  kEvidence,    // the core reported equivocation evidence against `validator`
  kCommittee,   // the committee for `height` changed
};

struct TraceEntry {
  uint64_t time_ms = 0;
  TraceKind kind = TraceKind::kDeliver;
  uint32_t endpoint = 0;
  uint32_t peer = 0;
  uint8_t message_type = 0;  // 0 none, 1 proposal, 2 prevote, 3 precommit
  uint64_t height = 0;
  int32_t round = 0;
  int32_t extra = 0;  // pol_round of a proposal, step of a timeout or sign state
  uint32_t validator = 0;
  bool has_block = false;     // false: nil vote or no block
  uint32_t block_prefix = 0;  // first four bytes of the block hash
  bool flag = false;
  std::string note;  // rare events only (partition layout, reject reason)
};

// Fills the message fields of `entry` from `message`.
void DescribeMessage(const consensus::ConsensusMessage& message, TraceEntry* entry);

class Trace {
 public:
  // Keeps the last `capacity` entries; streams every entry to `stream` when it is not null
  // (REQUIRES: stream outlives the trace).
  explicit Trace(size_t capacity, std::ostream* stream = nullptr);

  // Names printed for endpoints ("v0", "v3a"); endpoints without one print as "e<id>".
  void set_endpoint_names(std::vector<std::string> names) { names_ = std::move(names); }

  void Record(TraceEntry entry);
  // Digest of every entry recorded so far (not only those still in the ring).
  uint64_t digest() const { return digest_; }
  uint64_t recorded() const { return recorded_; }
  // Entries still in the ring.
  size_t size() const { return ring_.size(); }
  // Writes the entries still in the ring, oldest first, one line each.
  void Print(std::ostream& out) const;
  // One entry as a line (no trailing newline).
  std::string Format(const TraceEntry& entry) const;

 private:
  size_t capacity_;
  std::ostream* stream_;
  std::vector<std::string> names_;
  std::vector<TraceEntry> ring_;
  size_t next_ = 0;
  uint64_t recorded_ = 0;
  uint64_t digest_ = 0;
};

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_TRACE_H_
