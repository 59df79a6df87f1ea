// SignStateStore: a validator's durable memory of what it signed (DESIGN §4: "persist the last
// signed (height, round, step) before any vote or proposal leaves the node").
//
// One file, DIR/sign_state, replaced atomically on every Save: written to DIR/sign_state.tmp,
// fsynced, renamed over the old file, and the directory fsynced. After a crash the file holds
// either the previous record or the new one, never a mix. The file carries a checksum
// (H("lading/node/sign-state", record)); a file that fails it is DataLoss, and the node refuses
// to start rather than guess what it signed.
//
// The record (proto/consensus_wal.proto SignRecord) holds the consensus::SignState (the lock with
// it) and the messages signed at that height, which the node re-sends after a restart.
//
// Ownership: owns nothing but its path. Thread-safety: thread-compatible (the consensus driver
// calls it from its strand only).
#ifndef LADING_NODE_SIGN_STATE_STORE_H_
#define LADING_NODE_SIGN_STATE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consensus/types.h"
#include "crypto/bytes.h"

namespace lading::node {

struct SignRecord {
  consensus::SignState state;
  // Serialized proto::PeerMessage, each a proposal or vote this validator signed at
  // state.height, oldest first.
  std::vector<Bytes> signed_messages;
  bool operator==(const SignRecord&) const = default;
};

class SignStateStore {
 public:
  // Largest record file accepted (a locked block and a proposal of the same block fit).
  static constexpr size_t kFileBytesMax = 64u << 20;

  // Opens DIR (creating it with mode 0700 when missing) and reads DIR/sign_state: a default
  // record (nothing signed) when the file does not exist. Errors: Internal naming the path for
  // I/O failures; DataLoss "sign state file X is corrupt: ..." for a bad checksum, a file above
  // kFileBytesMax or a record that does not decode.
  static absl::StatusOr<std::unique_ptr<SignStateStore>> Open(const std::string& dir);

  // The last record saved (or read at Open).
  const SignRecord& last() const { return last_; }

  // Writes `record` durably (see the header comment); last() is updated only on success.
  // Internal naming the path and the system error on failure.
  absl::Status Save(const SignRecord& record);

  const std::string& path() const { return path_; }

 private:
  SignStateStore(std::string dir, std::string path, SignRecord last)
      : dir_(std::move(dir)), path_(std::move(path)), last_(std::move(last)) {}

  std::string dir_;
  std::string path_;
  SignRecord last_;
};

// The record's file contents and back (exposed for tests).
Bytes EncodeSignRecordFile(const SignRecord& record);
absl::StatusOr<SignRecord> DecodeSignRecordFile(ByteSpan contents, const std::string& path);

}  // namespace lading::node

#endif  // LADING_NODE_SIGN_STATE_STORE_H_
