#include "tests/sim/event_queue.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace lading::sim {
namespace {

std::vector<std::string> Drain(EventQueue<std::string>* queue) {
  std::vector<std::string> order;
  while (!queue->empty()) order.push_back(queue->Pop().payload);
  return order;
}

TEST_CASE("events leave in time order, and same-time events in the order they were scheduled",
          "[unit][sim]") {
  EventQueue<std::string> queue;
  queue.Push(30, "c");
  queue.Push(10, "a1");
  queue.Push(20, "b");
  queue.Push(10, "a2");
  queue.Push(10, "a3");
  REQUIRE(queue.size() == 5);
  REQUIRE(queue.next_time_ms() == 10);
  REQUIRE(Drain(&queue) == std::vector<std::string>{"a1", "a2", "a3", "b", "c"});
}

TEST_CASE("scheduling order decides ties, so swapping two pushes swaps their turns",
          "[unit][sim]") {
  EventQueue<std::string> first, second;
  first.Push(5, "x");
  first.Push(5, "y");
  second.Push(5, "y");
  second.Push(5, "x");
  REQUIRE(Drain(&first) == std::vector<std::string>{"x", "y"});
  REQUIRE(Drain(&second) == std::vector<std::string>{"y", "x"});
}

TEST_CASE("an event scheduled while the queue drains still comes out in order", "[unit][sim]") {
  EventQueue<int> queue;
  for (int i = 0; i < 100; ++i) queue.Push(static_cast<uint64_t>((i * 37) % 50), i);
  uint64_t last_time = 0, last_sequence = 0;
  bool first = true;
  int popped = 0;
  while (!queue.empty()) {
    const auto entry = queue.Pop();
    if (!first) {
      REQUIRE((entry.time_ms > last_time ||
               (entry.time_ms == last_time && entry.sequence > last_sequence)));
    }
    first = false;
    last_time = entry.time_ms;
    last_sequence = entry.sequence;
    // Reschedule some events at the same time: they must come after those already queued.
    if (++popped < 150 && entry.payload % 3 == 0) queue.Push(entry.time_ms, entry.payload + 1);
  }
  REQUIRE(popped >= 100);
}

}  // namespace
}  // namespace lading::sim
