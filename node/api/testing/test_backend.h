// TestBackend: an ApiBackend for API and CLI tests over a node::testing::TestNode (a real RocksDB
// store with genesis) and a real Mempool, with a StatusBoard the test drives.
//
// AppendBlock plays the consensus driver: it reaps the mempool, builds and applies the next block
// with a commit signed by every validator, drops the committed transactions from the mempool and
// publishes the new head on the StatusBoard.
//
// Ownership: owns its TestNode, mempool and board; borrows the TestChain, which must outlive it.
// Thread-safety: the ApiBackend methods are thread-safe; AppendBlock is serialised internally and
// may run while the API serves.
#ifndef LADING_NODE_API_TESTING_TEST_BACKEND_H_
#define LADING_NODE_API_TESTING_TEST_BACKEND_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "contracts/testing/test_chain.h"
#include "crypto/key_file.h"
#include "node/api/backend.h"
#include "node/mempool.h"
#include "node/testing/chain_fixture.h"

namespace lading::node::api::testing {

// The TestChain's keys of `member_id` as MemberKeys (with a fresh encryption key, which the API
// never uses). REQUIRES: `member_id` is a member of `chain`.
crypto::MemberKeys TestMemberKeys(const contracts::testing::TestChain& chain,
                                  std::string_view member_id);

class TestBackend final : public ApiBackend {
 public:
  // REQUIRES: chain outlives the backend.
  static absl::StatusOr<std::unique_ptr<TestBackend>> Create(
      const contracts::testing::TestChain* chain, MempoolOptions mempool_options = {});

  absl::StatusOr<Hash256> SubmitTx(ByteSpan signed_tx) override;
  absl::StatusOr<uint64_t> PendingNextNonce(std::string_view member_id) const override;
  const BlockStore& store() const override { return node_->store(); }
  const StatusBoard& status() const override { return board_; }

  // Commits the next block with the mempool's ready transactions; returns its height.
  absl::StatusOr<uint64_t> AppendBlock();
  // The node is stopping: wakes every waiter for good (StatusBoard::Shutdown).
  void ShutdownBoard() { board_.Shutdown(); }
  Mempool& mempool() { return *mempool_; }

 private:
  explicit TestBackend(const contracts::testing::TestChain* chain) : chain_(chain) {}

  const contracts::testing::TestChain* chain_;
  std::unique_ptr<node::testing::TestNode> node_;
  std::unique_ptr<Mempool> mempool_;
  StatusBoard board_;
  std::mutex append_mutex_;
  mutable std::mutex nonces_mutex_;
  // Nonces of accepted transactions per signer; guarded by nonces_mutex_.
  std::map<std::string, std::set<uint64_t>, std::less<>> accepted_nonces_;
};

}  // namespace lading::node::api::testing

#endif  // LADING_NODE_API_TESTING_TEST_BACKEND_H_
