#include "node/sign_state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <utility>

#include "crypto/hash.h"
#include "crypto/internal/strings.h"
#include "proto/consensus_wal.pb.h"

namespace lading::node {
namespace {

using internal::StrCat;

constexpr std::string_view kMagic = "LSS1";

absl::Status SystemError(const std::string& what) {
  return absl::InternalError(StrCat(what, ": ", std::strerror(errno)));
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, ByteSpan data, const std::string& path) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError(StrCat("cannot write ", path));
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> ReadFile(const std::string& path, bool* missing) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return Bytes();
    }
    return SystemError(StrCat("cannot open sign state file ", path));
  }
  Bytes contents;
  uint8_t buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError(StrCat("cannot read sign state file ", path));
    }
    if (n == 0) break;
    if (contents.size() + static_cast<size_t>(n) > SignStateStore::kFileBytesMax) {
      return absl::DataLossError(StrCat("sign state file ", path, " is corrupt: larger than ",
                                        SignStateStore::kFileBytesMax, " bytes"));
    }
    contents.insert(contents.end(), buffer, buffer + n);
  }
  return contents;
}

}  // namespace

Bytes EncodeSignRecordFile(const SignRecord& record) {
  proto::SignRecord message;
  message.set_height(record.state.height);
  message.set_round(record.state.round);
  message.set_step(static_cast<uint32_t>(record.state.step));
  message.set_locked_round(record.state.locked_round);
  if (record.state.locked_value.has_value()) {
    message.set_has_locked_value(true);
    message.set_locked_block_hash(ToString(record.state.locked_value->hash.span()));
    message.set_locked_block(ToString(record.state.locked_value->payload));
  }
  for (const Bytes& signed_message : record.signed_messages) {
    message.add_signed_messages(ToString(signed_message));
  }
  const std::string payload = message.SerializeAsString();
  const Hash256 checksum = crypto::HashWithLabel(crypto::kLabelSignStateFile, AsBytes(payload));
  Bytes out(kMagic.size() + checksum.bytes.size() + payload.size());
  std::copy(kMagic.begin(), kMagic.end(), out.begin());
  std::copy(checksum.bytes.begin(), checksum.bytes.end(), out.begin() + kMagic.size());
  std::copy(payload.begin(), payload.end(), out.begin() + kMagic.size() + checksum.bytes.size());
  return out;
}

absl::StatusOr<SignRecord> DecodeSignRecordFile(ByteSpan contents, const std::string& path) {
  const auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(StrCat("sign state file ", path, " is corrupt: ", why,
                                      "; the node cannot tell what it signed, so it will not "
                                      "start (restore the file or consult docs/CONSENSUS.md)"));
  };
  if (contents.size() > SignStateStore::kFileBytesMax) return corrupt("too large");
  if (contents.size() < kMagic.size() + Hash256::kSize ||
      AsStringView(contents.first(kMagic.size())) != kMagic) {
    return corrupt("no sign state header");
  }
  const ByteSpan stored_checksum = contents.subspan(kMagic.size(), Hash256::kSize);
  const ByteSpan payload = contents.subspan(kMagic.size() + Hash256::kSize);
  const Hash256 checksum = crypto::HashWithLabel(crypto::kLabelSignStateFile, payload);
  if (!std::equal(stored_checksum.begin(), stored_checksum.end(), checksum.bytes.begin())) {
    return corrupt("checksum mismatch");
  }
  proto::SignRecord message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return corrupt("record does not decode");
  }
  if (message.step() < 1 || message.step() > 3) {
    return corrupt(StrCat("step ", message.step(), " is not 1, 2 or 3"));
  }
  SignRecord record;
  record.state.height = message.height();
  record.state.round = message.round();
  record.state.step = static_cast<consensus::Step>(message.step());
  record.state.locked_round = message.locked_round();
  if (message.has_locked_value()) {
    absl::StatusOr<Hash256> hash = Hash256::FromBytes(AsBytes(message.locked_block_hash()));
    if (!hash.ok()) return corrupt("locked block hash is not 32 bytes");
    const ByteSpan block = AsBytes(message.locked_block());
    record.state.locked_value = consensus::Value{*hash, Bytes(block.begin(), block.end())};
  }
  for (const std::string& signed_message : message.signed_messages()) {
    const ByteSpan bytes = AsBytes(signed_message);
    record.signed_messages.emplace_back(bytes.begin(), bytes.end());
  }
  return record;
}

absl::StatusOr<std::unique_ptr<SignStateStore>> SignStateStore::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return SystemError(StrCat("cannot create sign state directory ", dir));
  }
  std::string path = StrCat(dir, "/sign_state");
  bool missing = false;
  absl::StatusOr<Bytes> contents = ReadFile(path, &missing);
  if (!contents.ok()) return contents.status();
  SignRecord record;
  if (!missing) {
    absl::StatusOr<SignRecord> decoded = DecodeSignRecordFile(*contents, path);
    if (!decoded.ok()) return decoded.status();
    record = *std::move(decoded);
  }
  return std::unique_ptr<SignStateStore>(
      new SignStateStore(dir, std::move(path), std::move(record)));
}

absl::Status SignStateStore::Save(const SignRecord& record) {
  const Bytes contents = EncodeSignRecordFile(record);
  const std::string temp_path = path_ + ".tmp";
  {
    Fd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return SystemError(StrCat("cannot create ", temp_path));
    if (absl::Status status = WriteAll(fd.get(), contents, temp_path); !status.ok()) {
      return status;
    }
    if (::fdatasync(fd.get()) != 0) return SystemError(StrCat("cannot sync ", temp_path));
    if (::close(fd.Release()) != 0) return SystemError(StrCat("cannot close ", temp_path));
  }
  if (::rename(temp_path.c_str(), path_.c_str()) != 0) {
    return SystemError(StrCat("cannot rename ", temp_path, " to ", path_));
  }
  Fd dir_fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) return SystemError(StrCat("cannot open directory ", dir_));
  if (::fsync(dir_fd.get()) != 0) return SystemError(StrCat("cannot sync directory ", dir_));
  last_ = record;
  return absl::OkStatus();
}

}  // namespace lading::node
