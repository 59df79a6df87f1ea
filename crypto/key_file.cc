#include "crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "crypto/aead.h"
#include "crypto/internal/strings.h"
#include "crypto/random.h"
#include "crypto/sodium.h"
#include "crypto/status.h"

namespace lading::crypto {
namespace {

using ::lading::internal::StrCat;
using ::lading::internal::ToAbslView;
using ::lading::internal::ToStdView;

constexpr char kProtectionNone[] = "none";
constexpr char kProtectionArgon2id[] = "argon2id13";
constexpr uint64_t kOpsLimitMin = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
constexpr uint64_t kOpsLimitMax = 32;
constexpr uint64_t kMemLimitMin = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
constexpr uint64_t kMemLimitMax = crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE;
constexpr size_t kKdfSaltBytes = crypto_pwhash_argon2id_SALTBYTES;
constexpr size_t kSecretsBytes = SigningKey::kSeedSize + EncryptionKey::kSecretSize;
constexpr size_t kSealedSecretsBytes = kSecretsBytes + kAeadTagBytes;
constexpr size_t kPrivateKeyTextCapacity = 1024;

constexpr char kFieldMemberId[] = "member-id";
constexpr char kFieldSigningPublicKey[] = "signing-public-key";
constexpr char kFieldEncryptionPublicKey[] = "encryption-public-key";
constexpr char kFieldProtection[] = "protection";
constexpr char kFieldSigningSeed[] = "signing-seed";
constexpr char kFieldEncryptionSecret[] = "encryption-secret";
constexpr char kFieldKdfOpsLimit[] = "kdf-opslimit";
constexpr char kFieldKdfMemLimit[] = "kdf-memlimit";
constexpr char kFieldKdfSalt[] = "kdf-salt";
constexpr char kFieldNonce[] = "nonce";
constexpr char kFieldSecrets[] = "secrets";

constexpr char kJsonMemberId[] = "member_id";
constexpr char kJsonSigningPublicKey[] = "signing_public_key";
constexpr char kJsonEncryptionPublicKey[] = "encryption_public_key";

// Untrusted text quoted in an error message: escaped and bounded so a hostile file cannot flood
// or forge the message.
std::string Excerpt(std::string_view text) {
  constexpr size_t kExcerptMax = 48;
  if (text.size() <= kExcerptMax) return StrCat("\"", absl::CHexEscape(ToAbslView(text)), "\"");
  return StrCat("\"", absl::CHexEscape(ToAbslView(text.substr(0, kExcerptMax))), "\"...");
}

std::string ErrnoMessage(int error) { return std::error_code(error, std::generic_category()).message(); }

absl::Status ErrnoStatus(int error, std::string_view what) {
  const std::string message = StrCat(what, ": ", ErrnoMessage(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the result: on some file systems close is where a write error shows.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

std::string ModeText(mode_t mode) { return absl::StrFormat("%04o", mode & 07777); }

// Reads a whole regular file of at most `bytes_max` bytes. With `owner_only`, a file that grants
// group or others any permission is refused before its content is read.
absl::StatusOr<SecureBuffer> ReadSmallFile(const std::string& path, const char* what,
                                           size_t bytes_max, bool owner_only) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, StrCat("cannot open ", what, " ", path));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return ErrnoStatus(errno, StrCat("cannot stat ", what, " ", path));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(StrCat(what, " ", path, " is not a regular file"));
  }
  if (owner_only && (info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        StrCat(what, " ", path, " is readable by group or others (mode ",
                     ModeText(info.st_mode), "); run: chmod 600 ", path));
  }
  if (static_cast<uint64_t>(info.st_size) > bytes_max) {
    return absl::InvalidArgumentError(StrCat(what, " ", path, " is ", info.st_size,
                                                   " bytes, more than the ", bytes_max,
                                                   "-byte limit"));
  }
  // One byte of headroom tells a file that grew since fstat from one that fits exactly.
  SecureBuffer contents(static_cast<size_t>(info.st_size) + 1);
  size_t total = 0;
  while (total < contents.size()) {
    const ssize_t n = ::read(fd.get(), contents.data() + total, contents.size() - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, StrCat("cannot read ", what, " ", path));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  if (total > bytes_max || total > static_cast<size_t>(info.st_size)) {
    return absl::InvalidArgumentError(
        StrCat(what, " ", path, " changed size while it was being read"));
  }
  contents.Truncate(total);
  return contents;
}

absl::Status SyncDirectoryOf(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, StrCat("cannot open directory ", dir));
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, StrCat("cannot fsync directory ", dir));
  return absl::OkStatus();
}

absl::Status WriteAndSync(int fd, ByteSpan contents, mode_t mode, const std::string& path,
                          const char* what) {
  // The mode given to open() is reduced by the umask; the files' modes are part of their contract.
  if (::fchmod(fd, mode) != 0) return ErrnoStatus(errno, StrCat("cannot chmod ", what, " ", path));
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, StrCat("cannot write ", what, " ", path));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ErrnoStatus(errno, StrCat("cannot fsync ", what, " ", path));
  return absl::OkStatus();
}

// Creates `path` (never replacing anything, not following a symlink), writes and fsyncs it.
absl::Status WriteNewFile(const std::string& path, ByteSpan contents, mode_t mode,
                          const char* what) {
  FileDescriptor fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          StrCat(what, " ", path, " already exists; refusing to overwrite it"));
    }
    return ErrnoStatus(errno, StrCat("cannot create ", what, " ", path));
  }
  absl::Status status = WriteAndSync(fd.get(), contents, mode, path, what);
  if (status.ok() && fd.Close() != 0) {
    status = ErrnoStatus(errno, StrCat("cannot close ", what, " ", path));
  }
  if (!status.ok()) {
    ::unlink(path.c_str());
    return status;
  }
  return SyncDirectoryOf(path);
}

// Builds text containing secrets directly in guarded memory.
class SecretText {
 public:
  explicit SecretText(size_t capacity) : buffer_(capacity) {}

  void Append(std::string_view text) {
    LADING_CHECK(text.size() <= buffer_.size() - size_);
    std::copy(text.begin(), text.end(), buffer_.data() + size_);
    size_ += text.size();
  }
  void AppendHex(ByteSpan data) {
    // sodium_bin2hex also writes a terminating NUL, which the next Append overwrites.
    LADING_CHECK(2 * data.size() + 1 <= buffer_.size() - size_);
    sodium_bin2hex(reinterpret_cast<char*>(buffer_.data() + size_), buffer_.size() - size_,
                   data.data(), data.size());
    size_ += 2 * data.size();
  }
  void AppendField(std::string_view name, std::string_view value) {
    Append(name);
    Append(": ");
    Append(value);
    Append("\n");
  }
  void AppendHexField(std::string_view name, ByteSpan value) {
    Append(name);
    Append(": ");
    AppendHex(value);
    Append("\n");
  }
  size_t size() const { return size_; }
  ByteSpan span() const { return buffer_.span().first(size_); }
  SecureBuffer Finish() && {
    buffer_.Truncate(size_);
    return std::move(buffer_);
  }

 private:
  SecureBuffer buffer_;
  size_t size_ = 0;
};

absl::Status ValidateLimits(const PassphraseKdfLimits& limits) {
  if (limits.opslimit < kOpsLimitMin || limits.opslimit > kOpsLimitMax) {
    return absl::InvalidArgumentError(StrCat("Argon2id opslimit ", limits.opslimit,
                                                   " is outside ", kOpsLimitMin, "..",
                                                   kOpsLimitMax));
  }
  if (limits.memlimit_bytes < kMemLimitMin || limits.memlimit_bytes > kMemLimitMax) {
    return absl::InvalidArgumentError(StrCat("Argon2id memlimit ", limits.memlimit_bytes,
                                                   " bytes is outside ", kMemLimitMin, "..",
                                                   kMemLimitMax));
  }
  return absl::OkStatus();
}

absl::Status ValidatePassphrase(ByteSpan passphrase) {
  if (passphrase.empty()) return absl::InvalidArgumentError("the passphrase is empty");
  if (passphrase.size() > kPassphraseBytesMax) {
    return absl::InvalidArgumentError(StrCat("the passphrase is ", passphrase.size(),
                                                   " bytes, more than the ", kPassphraseBytesMax,
                                                   "-byte limit"));
  }
  return absl::OkStatus();
}

absl::StatusOr<AeadKey> DeriveFileKey(ByteSpan passphrase, ByteSpan salt,
                                      const PassphraseKdfLimits& limits) {
  EnsureSodium();
  SecureBuffer derived(AeadKey::kSize);
  if (crypto_pwhash(derived.data(), derived.size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), salt.data(), limits.opslimit,
                    static_cast<size_t>(limits.memlimit_bytes),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(StrCat(
        "Argon2id could not allocate its ", limits.memlimit_bytes, "-byte working memory"));
  }
  return AeadKey::FromBytes(derived.span());
}

// One line of a private key file: its 1-based number, its text without "\n", and the offset of
// its first byte in the file.
struct Line {
  size_t number = 0;
  std::string_view text;
  size_t offset = 0;
};

// Reads a private key file's lines in order, each checked against the field it must hold.
// Error messages never quote a value: a line may hold a secret.
class PrivateKeyFileParser {
 public:
  PrivateKeyFileParser(std::string_view text, std::string_view source) : source_(source) {
    size_t offset = 0;
    while (offset < text.size()) {
      const size_t end = std::min(text.find('\n', offset), text.size());
      lines_.push_back(Line{lines_.size() + 1, text.substr(offset, end - offset), offset});
      offset = end + 1;
    }
  }

  absl::Status Error(size_t line_number, std::string_view message) const {
    return absl::InvalidArgumentError(
        StrCat("key file ", source_, " line ", line_number, ": ", message));
  }

  absl::Status CheckLineEndings() const {
    for (const Line& line : lines_) {
      if (line.text.find('\r') != std::string_view::npos) {
        return Error(line.number, "has a carriage return; the format uses LF line endings only");
      }
    }
    return absl::OkStatus();
  }

  absl::Status ExpectMagic() {
    if (lines_.empty()) {
      return absl::InvalidArgumentError(StrCat("key file ", source_, " is empty"));
    }
    const Line& line = lines_[next_++];
    if (line.text == kPrivateKeyFileMagic) return absl::OkStatus();
    constexpr std::string_view kMagicPrefix = "lading-private-key v";
    if (line.text.substr(0, kMagicPrefix.size()) == kMagicPrefix) {
      return Error(line.number, StrCat("unsupported format version ",
                                             Excerpt(line.text.substr(kMagicPrefix.size() - 1)),
                                             "; this build reads \"", kPrivateKeyFileMagic, "\""));
    }
    return Error(line.number, StrCat("expected \"", kPrivateKeyFileMagic,
                                           "\"; this is not a Lading private key file"));
  }

  // The value of the next line, which must read "name: value".
  absl::StatusOr<std::string_view> Field(std::string_view name) {
    if (next_ >= lines_.size()) {
      return absl::InvalidArgumentError(StrCat("key file ", source_, " ends after line ",
                                                      lines_.size(), "; expected line ",
                                                      lines_.size() + 1, " \"", name, ": ...\""));
    }
    const Line& line = lines_[next_++];
    last_line_ = line;
    const size_t colon = line.text.find(": ");
    if (colon == std::string_view::npos) {
      return Error(line.number, StrCat("expected \"", name,
                                             ": ...\", got a line that is not \"field: value\""));
    }
    if (line.text.substr(0, colon) != name) {
      return Error(line.number, StrCat("expected field \"", name, "\", got field ",
                                             Excerpt(line.text.substr(0, colon))));
    }
    return line.text.substr(colon + 2);
  }

  // The line Field() read last (its number, for errors about its value, and its offset).
  const Line& last_line() const { return last_line_; }

  absl::Status ExpectEnd() const {
    if (next_ < lines_.size()) {
      return Error(lines_[next_].number, "unexpected line after the last field");
    }
    return absl::OkStatus();
  }

 private:
  std::string_view source_;
  std::vector<Line> lines_;
  size_t next_ = 0;
  Line last_line_;
};

// Decodes a hex field of exactly `out.size()` bytes into `out`.
absl::Status DecodeHexField(const PrivateKeyFileParser& parser, std::string_view name,
                            std::string_view hex, std::span<uint8_t> out) {
  const size_t line = parser.last_line().number;
  if (hex.size() != 2 * out.size()) {
    return parser.Error(line, StrCat(name, " must be ", 2 * out.size(),
                                           " hex characters, got ", hex.size()));
  }
  size_t decoded = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &decoded,
                     nullptr) != 0 ||
      decoded != out.size()) {
    return parser.Error(line, StrCat(name, " contains a character that is not hex"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> DecodeDecimalField(const PrivateKeyFileParser& parser,
                                            std::string_view name, std::string_view text) {
  const size_t line = parser.last_line().number;
  const bool digits_only =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits_only || text.size() > 19 || (text.size() > 1 && text[0] == '0')) {
    return parser.Error(line, StrCat(name, " must be a decimal number, got ", Excerpt(text)));
  }
  uint64_t value = 0;
  for (char c : text) value = value * 10 + static_cast<uint64_t>(c - '0');
  return value;
}

std::string PublicHeader(const MemberKeys& keys, std::string_view protection) {
  return StrCat(kPrivateKeyFileMagic, "\n",                                  //
                      kFieldMemberId, ": ", keys.member_id, "\n",                  //
                      kFieldSigningPublicKey, ": ", keys.signing.public_key().ToHex(), "\n",
                      kFieldEncryptionPublicKey, ": ", keys.encryption.public_key().ToHex(), "\n",
                      kFieldProtection, ": ", protection, "\n");
}

absl::StatusOr<SecureBuffer> ReadPrivateKeyFileContents(const std::string& path) {
  return ReadSmallFile(path, "key file", kPrivateKeyFileBytesMax, /*owner_only=*/true);
}

// Strict reader for the one flat JSON object of a NAME.pub.json file.
class PublicKeyJsonParser {
 public:
  PublicKeyJsonParser(std::string_view text, std::string_view source)
      : text_(text), source_(source) {}

  absl::StatusOr<MemberPublicKeys> Parse() {
    SkipWhitespace();
    LADING_RETURN_IF_ERROR(Expect('{'));
    SkipWhitespace();
    std::optional<std::string_view> member_id, signing, encryption;
    if (Peek() == '}') {
      ++pos_;
    } else {
      while (true) {
        LADING_ASSIGN_OR_RETURN(const std::string_view name, String());
        SkipWhitespace();
        LADING_RETURN_IF_ERROR(Expect(':'));
        SkipWhitespace();
        if (Peek() != '"') {
          return Error(StrCat("the value of ", Excerpt(name), " must be a string"));
        }
        LADING_ASSIGN_OR_RETURN(const std::string_view value, String());
        std::optional<std::string_view>* slot = nullptr;
        if (name == kJsonMemberId) {
          slot = &member_id;
        } else if (name == kJsonSigningPublicKey) {
          slot = &signing;
        } else if (name == kJsonEncryptionPublicKey) {
          slot = &encryption;
        } else {
          return Error(StrCat("unexpected field ", Excerpt(name)));
        }
        if (slot->has_value()) return Error(StrCat("duplicate field ", Excerpt(name)));
        *slot = value;
        SkipWhitespace();
        if (Peek() == ',') {
          ++pos_;
          SkipWhitespace();
          continue;
        }
        LADING_RETURN_IF_ERROR(Expect('}'));
        break;
      }
    }
    SkipWhitespace();
    if (pos_ != text_.size()) return Error("unexpected content after the closing '}'");
    for (const auto& [field, name] : {std::pair{&member_id, kJsonMemberId},
                                      std::pair{&signing, kJsonSigningPublicKey},
                                      std::pair{&encryption, kJsonEncryptionPublicKey}}) {
      if (!field->has_value()) {
        return absl::InvalidArgumentError(
            StrCat("public key file ", source_, ": missing field \"", name, "\""));
      }
    }
    MemberPublicKeys keys;
    if (absl::Status status = ValidateMemberId(*member_id); !status.ok()) {
      return FieldError(kJsonMemberId, status);
    }
    keys.member_id = std::string(*member_id);
    auto signing_key = SigningPublicKey::FromHex(*signing);
    if (!signing_key.ok()) return FieldError(kJsonSigningPublicKey, signing_key.status());
    keys.signing_public_key = *signing_key;
    auto encryption_key = EncryptionPublicKey::FromHex(*encryption);
    if (!encryption_key.ok()) return FieldError(kJsonEncryptionPublicKey, encryption_key.status());
    keys.encryption_public_key = *encryption_key;
    return keys;
  }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void SkipWhitespace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  absl::Status Error(std::string_view message) const {
    return absl::InvalidArgumentError(
        StrCat("public key file ", source_, ": ", message, " at offset ", pos_));
  }

  absl::Status FieldError(std::string_view field, const absl::Status& status) const {
    return absl::InvalidArgumentError(
        StrCat("public key file ", source_, ": field \"", field, "\": ", status.message()));
  }

  absl::Status Expect(char c) {
    if (pos_ >= text_.size()) return Error(StrCat("expected '", std::string(1, c), "', got the end"));
    if (text_[pos_] != c) {
      return Error(StrCat("expected '", std::string(1, c), "', got ",
                                Excerpt(text_.substr(pos_, 1))));
    }
    ++pos_;
    return absl::OkStatus();
  }

  absl::StatusOr<std::string_view> String() {
    LADING_RETURN_IF_ERROR(Expect('"'));
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '\\') return Error("escape sequences are not allowed in this file");
      if (c < 0x20) return Error("a control character inside a string");
      ++pos_;
    }
    if (pos_ >= text_.size()) return Error("unterminated string");
    const std::string_view value = text_.substr(start, pos_ - start);
    ++pos_;
    return value;
  }

  std::string_view text_;
  std::string_view source_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status ValidateMemberId(std::string_view member_id) {
  if (member_id.empty()) {
    return absl::InvalidArgumentError(
        "member id is empty; it must be 1..64 characters of [a-z0-9_-]");
  }
  if (member_id.size() > kMemberIdLengthMax) {
    return absl::InvalidArgumentError(StrCat("member id ", Excerpt(member_id), " is ",
                                                   member_id.size(), " characters long; at most ",
                                                   kMemberIdLengthMax, " are allowed"));
  }
  const auto is_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!is_alnum(member_id[0])) {
    return absl::InvalidArgumentError(StrCat(
        "member id ", Excerpt(member_id), " must start with a lower-case letter or a digit"));
  }
  for (size_t i = 0; i < member_id.size(); ++i) {
    const char c = member_id[i];
    if (!is_alnum(c) && c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          StrCat("member id ", Excerpt(member_id), " has character ",
                       Excerpt(member_id.substr(i, 1)), " at offset ", i,
                       "; only a-z, 0-9, '_' and '-' are allowed"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<MemberKeys> MemberKeys::Generate(std::string_view member_id) {
  LADING_RETURN_IF_ERROR(ValidateMemberId(member_id));
  return MemberKeys{std::string(member_id), SigningKey::Generate(), EncryptionKey::Generate()};
}

MemberPublicKeys MemberKeys::public_keys() const {
  return MemberPublicKeys{member_id, signing.public_key(), encryption.public_key()};
}

PassphraseKdfLimits PassphraseKdfLimits::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}
PassphraseKdfLimits PassphraseKdfLimits::Moderate() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE, crypto_pwhash_argon2id_MEMLIMIT_MODERATE};
}
PassphraseKdfLimits PassphraseKdfLimits::Sensitive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE, crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE};
}

absl::StatusOr<SecureBuffer> EncodePrivateKeyFile(
    const MemberKeys& keys, const std::optional<PassphraseProtection>& protection) {
  LADING_RETURN_IF_ERROR(ValidateMemberId(keys.member_id));
  LADING_CHECK_MSG(keys.signing.seed().size() == SigningKey::kSeedSize &&
                       keys.encryption.secret().size() == EncryptionKey::kSecretSize,
                   "encoding moved-from member keys");
  SecretText text(kPrivateKeyTextCapacity);
  if (!protection.has_value()) {
    text.Append(PublicHeader(keys, kProtectionNone));
    text.AppendHexField(kFieldSigningSeed, keys.signing.seed());
    text.AppendHexField(kFieldEncryptionSecret, keys.encryption.secret());
    return std::move(text).Finish();
  }

  LADING_RETURN_IF_ERROR(ValidatePassphrase(protection->passphrase));
  LADING_RETURN_IF_ERROR(ValidateLimits(protection->limits));
  const Bytes salt = RandomBytes(kKdfSaltBytes);
  const AeadNonce nonce = RandomNonce();
  text.Append(PublicHeader(keys, kProtectionArgon2id));
  text.AppendField(kFieldKdfOpsLimit, StrCat(protection->limits.opslimit));
  text.AppendField(kFieldKdfMemLimit, StrCat(protection->limits.memlimit_bytes));
  text.AppendHexField(kFieldKdfSalt, salt);
  text.AppendHexField(kFieldNonce, nonce);

  LADING_ASSIGN_OR_RETURN(const AeadKey file_key,
                          DeriveFileKey(protection->passphrase, salt, protection->limits));
  SecureBuffer secrets(kSecretsBytes);
  std::copy(keys.signing.seed().begin(), keys.signing.seed().end(), secrets.data());
  std::copy(keys.encryption.secret().begin(), keys.encryption.secret().end(),
            secrets.data() + SigningKey::kSeedSize);
  // The header written so far is the associated data: editing the member id, the public keys or
  // the KDF parameters makes the secrets fail to decrypt.
  const Bytes sealed = AeadSeal(file_key, nonce, secrets.span(), text.span());
  text.AppendHexField(kFieldSecrets, sealed);
  return std::move(text).Finish();
}

absl::StatusOr<MemberKeys> DecodePrivateKeyFile(ByteSpan contents,
                                                std::optional<ByteSpan> passphrase,
                                                std::string_view source) {
  if (contents.size() > kPrivateKeyFileBytesMax) {
    return absl::InvalidArgumentError(StrCat("key file ", source, " is ", contents.size(),
                                                   " bytes, more than the ",
                                                   kPrivateKeyFileBytesMax, "-byte limit"));
  }
  const std::string_view text = AsStringView(contents);
  PrivateKeyFileParser parser(text, source);
  LADING_RETURN_IF_ERROR(parser.CheckLineEndings());
  LADING_RETURN_IF_ERROR(parser.ExpectMagic());

  LADING_ASSIGN_OR_RETURN(const std::string_view member_id, parser.Field(kFieldMemberId));
  if (absl::Status status = ValidateMemberId(member_id); !status.ok()) {
    return parser.Error(parser.last_line().number, ToStdView(status.message()));
  }
  LADING_ASSIGN_OR_RETURN(const std::string_view signing_hex, parser.Field(kFieldSigningPublicKey));
  auto signing_public_key = SigningPublicKey::FromHex(signing_hex);
  if (!signing_public_key.ok()) {
    return parser.Error(parser.last_line().number, ToStdView(signing_public_key.status().message()));
  }
  LADING_ASSIGN_OR_RETURN(const std::string_view encryption_hex,
                          parser.Field(kFieldEncryptionPublicKey));
  auto encryption_public_key = EncryptionPublicKey::FromHex(encryption_hex);
  if (!encryption_public_key.ok()) {
    return parser.Error(parser.last_line().number,
                        ToStdView(encryption_public_key.status().message()));
  }
  LADING_ASSIGN_OR_RETURN(const std::string_view protection, parser.Field(kFieldProtection));

  SecureBuffer secrets(kSecretsBytes);
  if (protection == kProtectionNone) {
    LADING_ASSIGN_OR_RETURN(const std::string_view seed_hex, parser.Field(kFieldSigningSeed));
    LADING_RETURN_IF_ERROR(DecodeHexField(parser, kFieldSigningSeed, seed_hex,
                                          secrets.mutable_span().first(SigningKey::kSeedSize)));
    LADING_ASSIGN_OR_RETURN(const std::string_view secret_hex,
                            parser.Field(kFieldEncryptionSecret));
    LADING_RETURN_IF_ERROR(DecodeHexField(parser, kFieldEncryptionSecret, secret_hex,
                                          secrets.mutable_span().last(EncryptionKey::kSecretSize)));
    LADING_RETURN_IF_ERROR(parser.ExpectEnd());
  } else if (protection == kProtectionArgon2id) {
    PassphraseKdfLimits limits;
    LADING_ASSIGN_OR_RETURN(const std::string_view ops_text, parser.Field(kFieldKdfOpsLimit));
    LADING_ASSIGN_OR_RETURN(limits.opslimit,
                            DecodeDecimalField(parser, kFieldKdfOpsLimit, ops_text));
    LADING_ASSIGN_OR_RETURN(const std::string_view mem_text, parser.Field(kFieldKdfMemLimit));
    LADING_ASSIGN_OR_RETURN(limits.memlimit_bytes,
                            DecodeDecimalField(parser, kFieldKdfMemLimit, mem_text));
    if (absl::Status status = ValidateLimits(limits); !status.ok()) {
      return parser.Error(parser.last_line().number, ToStdView(status.message()));
    }
    std::array<uint8_t, kKdfSaltBytes> salt{};
    LADING_ASSIGN_OR_RETURN(const std::string_view salt_hex, parser.Field(kFieldKdfSalt));
    LADING_RETURN_IF_ERROR(DecodeHexField(parser, kFieldKdfSalt, salt_hex, salt));
    AeadNonce nonce{};
    LADING_ASSIGN_OR_RETURN(const std::string_view nonce_hex, parser.Field(kFieldNonce));
    LADING_RETURN_IF_ERROR(DecodeHexField(parser, kFieldNonce, nonce_hex, nonce));
    std::array<uint8_t, kSealedSecretsBytes> sealed{};
    LADING_ASSIGN_OR_RETURN(const std::string_view sealed_hex, parser.Field(kFieldSecrets));
    const size_t associated_data_bytes = parser.last_line().offset;
    LADING_RETURN_IF_ERROR(DecodeHexField(parser, kFieldSecrets, sealed_hex, sealed));
    LADING_RETURN_IF_ERROR(parser.ExpectEnd());

    if (!passphrase.has_value()) {
      return absl::FailedPreconditionError(StrCat(
          "key file ", source, " is passphrase-protected and no passphrase was given"));
    }
    LADING_RETURN_IF_ERROR(ValidatePassphrase(*passphrase));
    LADING_ASSIGN_OR_RETURN(const AeadKey file_key, DeriveFileKey(*passphrase, salt, limits));
    auto opened = AeadOpenSecret(file_key, nonce, sealed,
                                 contents.first(associated_data_bytes));
    if (!opened.ok()) {
      return absl::UnauthenticatedError(
          StrCat("wrong passphrase or corrupted key file ", source));
    }
    secrets = *std::move(opened);
  } else {
    return parser.Error(parser.last_line().number,
                        StrCat("expected protection \"", kProtectionNone, "\" or \"",
                                     kProtectionArgon2id, "\", got ", Excerpt(protection)));
  }

  LADING_ASSIGN_OR_RETURN(SigningKey signing,
                          SigningKey::FromSeed(secrets.span().first(SigningKey::kSeedSize)));
  LADING_ASSIGN_OR_RETURN(EncryptionKey encryption, EncryptionKey::FromSecret(secrets.span().last(
                                                        EncryptionKey::kSecretSize)));
  if (signing.public_key() != *signing_public_key) {
    return absl::DataLossError(StrCat(
        "key file ", source, ": the signing seed does not match ", kFieldSigningPublicKey,
        " (the file is corrupted or was edited)"));
  }
  if (encryption.public_key() != *encryption_public_key) {
    return absl::DataLossError(StrCat(
        "key file ", source, ": the encryption secret does not match ", kFieldEncryptionPublicKey,
        " (the file is corrupted or was edited)"));
  }
  return MemberKeys{std::string(member_id), std::move(signing), std::move(encryption)};
}

absl::Status WritePrivateKeyFile(const std::string& path, const MemberKeys& keys,
                                 const std::optional<PassphraseProtection>& protection) {
  LADING_ASSIGN_OR_RETURN(const SecureBuffer text, EncodePrivateKeyFile(keys, protection));
  return WriteNewFile(path, text.span(), 0600, "key file");
}

absl::StatusOr<MemberKeys> ReadPrivateKeyFile(const std::string& path,
                                              std::optional<ByteSpan> passphrase) {
  LADING_ASSIGN_OR_RETURN(const SecureBuffer contents, ReadPrivateKeyFileContents(path));
  return DecodePrivateKeyFile(contents.span(), passphrase, path);
}

std::string FormatPublicKeyJson(const MemberPublicKeys& keys) {
  return StrCat("{\"", kJsonMemberId, "\": \"", keys.member_id, "\", \"",
                      kJsonSigningPublicKey, "\": \"", keys.signing_public_key.ToHex(), "\", \"",
                      kJsonEncryptionPublicKey, "\": \"", keys.encryption_public_key.ToHex(),
                      "\"}\n");
}

absl::StatusOr<MemberPublicKeys> ParsePublicKeyJson(std::string_view json,
                                                    std::string_view source) {
  if (json.size() > kPublicKeyFileBytesMax) {
    return absl::InvalidArgumentError(StrCat("public key file ", source, " is ",
                                                   json.size(), " bytes, more than the ",
                                                   kPublicKeyFileBytesMax, "-byte limit"));
  }
  return PublicKeyJsonParser(json, source).Parse();
}

absl::Status WritePublicKeyFile(const std::string& path, const MemberPublicKeys& keys) {
  LADING_RETURN_IF_ERROR(ValidateMemberId(keys.member_id));
  const std::string json = FormatPublicKeyJson(keys);
  return WriteNewFile(path, AsBytes(json), 0644, "public key file");
}

absl::StatusOr<MemberPublicKeys> ReadPublicKeyFile(const std::string& path) {
  LADING_ASSIGN_OR_RETURN(
      const SecureBuffer contents,
      ReadSmallFile(path, "public key file", kPublicKeyFileBytesMax, /*owner_only=*/false));
  return ParsePublicKeyJson(AsStringView(contents.span()), path);
}

MemberKeyFilePaths KeyFilePaths(std::string_view dir, std::string_view member_id) {
  const std::filesystem::path base(dir);
  return MemberKeyFilePaths{(base / StrCat(member_id, ".key")).string(),
                            (base / StrCat(member_id, ".pub.json")).string()};
}

absl::StatusOr<MemberKeyFilePaths> WriteMemberKeyFiles(
    std::string_view dir, const MemberKeys& keys,
    const std::optional<PassphraseProtection>& protection) {
  LADING_RETURN_IF_ERROR(ValidateMemberId(keys.member_id));
  MemberKeyFilePaths paths = KeyFilePaths(dir, keys.member_id);
  for (const auto& [path, what] : {std::pair{&paths.private_key_file, "key file"},
                                    std::pair{&paths.public_key_file, "public key file"}}) {
    struct stat info {};
    if (::lstat(path->c_str(), &info) == 0) {
      return absl::AlreadyExistsError(
          StrCat(what, " ", *path, " already exists; refusing to overwrite it"));
    }
  }
  LADING_RETURN_IF_ERROR(WritePrivateKeyFile(paths.private_key_file, keys, protection));
  if (absl::Status status = WritePublicKeyFile(paths.public_key_file, keys.public_keys());
      !status.ok()) {
    ::unlink(paths.private_key_file.c_str());
    return status;
  }
  return paths;
}

absl::StatusOr<SecureBuffer> ReadPassphraseFile(const std::string& path) {
  LADING_ASSIGN_OR_RETURN(
      SecureBuffer contents,
      ReadSmallFile(path, "passphrase file", kPassphraseBytesMax + 1, /*owner_only=*/true));
  if (!contents.empty() && contents.data()[contents.size() - 1] == '\n') {
    contents.Truncate(contents.size() - 1);
  }
  if (contents.empty()) {
    return absl::InvalidArgumentError(StrCat("passphrase file ", path, " is empty"));
  }
  if (contents.size() > kPassphraseBytesMax) {
    return absl::InvalidArgumentError(StrCat("passphrase file ", path,
                                                   " holds more than ", kPassphraseBytesMax,
                                                   " bytes"));
  }
  return contents;
}

}  // namespace lading::crypto
