// Kills a process in the middle of appending blocks (SIGKILL: no destructor, no flush) and checks
// that the store it leaves behind verifies and holds every block the process reported durable.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "node/rocksdb_block_store.h"
#include "node/testing/chain_builder.h"
#include "node/testing/store_files.h"

namespace lading::node {
namespace {

// Must match node/testing/block_store_writer.cc.
constexpr const char* kChain = "lading-kill-test";
// 100 notes of 4000 bytes: about 400 KB per block, so each synced append takes a while and the
// kill often lands inside one.
constexpr const char* kTxsPerBlock = "100";
constexpr const char* kNoteTextBytes = "4000";
constexpr int kRounds = 6;
constexpr int kLineTimeoutMs = 30'000;

// The writer process, its stdout as a pipe.
class Writer {
 public:
  explicit Writer(const std::string& store_path) {
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      execl(LADING_STORE_WRITER_PATH, LADING_STORE_WRITER_PATH, store_path.c_str(), kTxsPerBlock,
            kNoteTextBytes, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    read_fd_ = fds[0];
  }
  ~Writer() {
    // Only reached with the writer alive when a REQUIRE failed: no assertions here.
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (read_fd_ >= 0) close(read_fd_);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // The next reported height, or 0 at end of output.
  uint64_t NextHeight() {
    while (true) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        const std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        INFO("writer printed: " << line);
        REQUIRE(line.rfind("height ", 0) == 0);
        return std::stoull(line.substr(7));
      }
      pollfd poll_fd{.fd = read_fd_, .events = POLLIN, .revents = 0};
      const int ready = poll(&poll_fd, 1, kLineTimeoutMs);
      REQUIRE(ready == 1);  // 0: the writer printed nothing for kLineTimeoutMs
      char chunk[256];
      const ssize_t got = read(read_fd_, chunk, sizeof(chunk));
      REQUIRE(got >= 0);
      if (got == 0) return 0;
      buffer_.append(chunk, static_cast<size_t>(got));
    }
  }

  // SIGKILLs the writer and reaps it; REQUIREs that it was still running (killed, not exited).
  void Kill() {
    REQUIRE(kill(pid_, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    INFO("writer wait status " << status);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string buffer_;
};

TEST_CASE("a writer killed mid-append leaves a store that verifies and holds every reported block",
          "[integration][storage]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("store");
  const uint64_t seed = std::random_device()();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);

  // The same chain the writer builds, to compare stored blocks with.
  testing::ChainBuilderOptions options;
  options.chain_id = kChain;
  options.txs_per_block = static_cast<uint32_t>(std::stoul(kTxsPerBlock));
  options.note_text_bytes = std::stoul(kNoteTextBytes);
  testing::ChainBuilder builder(options);
  std::vector<BlockToAppend> expected;

  uint64_t reported = 0;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    {
      Writer writer(path);
      const int heights_before_kill = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < heights_before_kill; ++i) {
        const uint64_t height = writer.NextHeight();
        REQUIRE(height == reported + 1);
        reported = height;
      }
      // A random moment inside the next append or two (each takes milliseconds to tens of ms).
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40'000));
      writer.Kill();
      // Lines already in the pipe were printed after their Append returned: they count.
      for (uint64_t height = writer.NextHeight(); height != 0; height = writer.NextHeight()) {
        REQUIRE(height == reported + 1);
        reported = height;
      }
    }

    auto store =
        RocksDbBlockStore::OpenForServing(path, RocksDbBlockStoreOptions{.chain_id = kChain});
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    const uint64_t head = (*store)->HeadHeight();
    CAPTURE(reported, head);
    // Every reported block is there; at most the one in flight when the kill came is extra.
    REQUIRE(head >= reported);
    REQUIRE(head <= reported + 1);
    while (expected.size() < head) expected.push_back(builder.Next());
    for (uint64_t height = 1; height <= head; ++height) {
      CAPTURE(height);
      auto block = (*store)->GetBlock(height);
      REQUIRE(block.ok());
      REQUIRE((*block == expected[height - 1].block));  // as a bool: 400 KB vectors print badly
      auto commit = (*store)->GetCommit(height);
      REQUIRE(commit.ok());
      REQUIRE((*commit == expected[height - 1].commit));
    }
    REQUIRE((*store)->GetBlock(head + 1).status().code() == absl::StatusCode::kNotFound);
    reported = head;  // the next writer resumes from the head
  }
  REQUIRE(reported >= static_cast<uint64_t>(kRounds));
}

TEST_CASE("the store writer refuses bad arguments", "[integration][storage]") {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDERR_FILENO);
    execl(LADING_STORE_WRITER_PATH, LADING_STORE_WRITER_PATH, "/nonexistent", "many", "10",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 2);
}

}  // namespace
}  // namespace lading::node
