// NodeStatus and StatusBoard: the node's current state as the API, the HTTP endpoints and the
// metrics see it, published by the consensus driver after every change that matters (a commit,
// a new round, a peer coming or going, the mempool growing).
//
// StatusBoard is the one place readers go: a snapshot under a mutex, plus a condition variable
// so that API calls can wait for a commit (SubmitTx with wait, WatchBlocks) without polling.
//
// Ownership: values. Thread-safety: StatusBoard is thread-safe; NodeStatus is a plain value.
#ifndef LADING_NODE_NODE_STATUS_H_
#define LADING_NODE_NODE_STATUS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "crypto/bytes.h"

namespace lading::node {

struct NodeStatus {
  std::string chain_id;
  // This node's member id.
  std::string member_id;
  // Whether this node is in the committee of the height it is deciding.
  bool validator = false;
  // Last committed block: height (0 before block 1), hash, state root after it, proposer time.
  uint64_t height = 0;
  Hash256 head_block_hash;
  Hash256 state_root;
  int64_t head_time_unix_ms = 0;
  // Consensus position: the height being decided (height + 1) and its round.
  uint64_t consensus_height = 0;
  int32_t round = 0;
  // Peers with an authenticated session now, and how many peers are configured.
  uint64_t peers_connected = 0;
  uint64_t peers_configured = 0;
  uint64_t mempool_txs = 0;
  uint64_t mempool_bytes = 0;
  // Transactions in blocks committed since genesis (counted from the store at start-up).
  uint64_t committed_txs_total = 0;
  // True while the node fetches blocks from peers instead of voting.
  bool syncing = false;
  // True once start-up verification passed and the node serves requests.
  bool serving = false;
};

class StatusBoard {
 public:
  StatusBoard() = default;
  StatusBoard(const StatusBoard&) = delete;
  StatusBoard& operator=(const StatusBoard&) = delete;

  NodeStatus Snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
  }

  // Applies `change` to the status under the lock and wakes every waiter.
  void Update(const std::function<void(NodeStatus*)>& change) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      change(&status_);
    }
    changed_.notify_all();
  }

  // Blocks until the committed height is above `height`, Shutdown() was called, or `timeout`
  // passed; returns the committed height then (which is <= `height` on timeout or shutdown).
  uint64_t WaitForHeightAbove(uint64_t height, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return status_.height > height || shut_down_; });
    return status_.height;
  }

  // Wakes every waiter for good: the node is stopping.
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shut_down_ = true;
    }
    changed_.notify_all();
  }

  bool shut_down() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return shut_down_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  NodeStatus status_;   // guarded by mutex_
  bool shut_down_ = false;  // guarded by mutex_
};

}  // namespace lading::node

#endif  // LADING_NODE_NODE_STATUS_H_
