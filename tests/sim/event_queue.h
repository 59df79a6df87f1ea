// The simulator's agenda: events ordered by (virtual time in ms, sequence number).
//
// The sequence number is assigned at Push and only grows, so events due at the same millisecond
// run in the order they were scheduled. Nothing depends on pointer values or on the iteration
// order of an unordered container, which is what makes a run replayable from its seed.
//
// Owns its payloads. Thread-compatible.
#ifndef LADING_TESTS_SIM_EVENT_QUEUE_H_
#define LADING_TESTS_SIM_EVENT_QUEUE_H_

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "crypto/status.h"

namespace lading::sim {

template <typename Payload>
class EventQueue {
 public:
  struct Entry {
    uint64_t time_ms = 0;
    uint64_t sequence = 0;
    Payload payload;
  };

  // Schedules `payload` at `time_ms`; returns its sequence number.
  uint64_t Push(uint64_t time_ms, Payload payload) {
    const uint64_t sequence = next_sequence_++;
    heap_.push_back(Entry{time_ms, sequence, std::move(payload)});
    std::push_heap(heap_.begin(), heap_.end(), Later);
    return sequence;
  }

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // REQUIRES: !empty().
  uint64_t next_time_ms() const {
    LADING_CHECK(!heap_.empty());
    return heap_.front().time_ms;
  }

  // Removes and returns the earliest event (smallest time, then smallest sequence).
  // REQUIRES: !empty().
  Entry Pop() {
    LADING_CHECK(!heap_.empty());
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    Entry entry = std::move(heap_.back());
    heap_.pop_back();
    return entry;
  }

  void Clear() { heap_.clear(); }

 private:
  // std::push_heap builds a max-heap; ordering by "later" puts the earliest event on top.
  static bool Later(const Entry& a, const Entry& b) {
    if (a.time_ms != b.time_ms) return a.time_ms > b.time_ms;
    return a.sequence > b.sequence;
  }

  std::vector<Entry> heap_;
  uint64_t next_sequence_ = 0;
};

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_EVENT_QUEUE_H_
