// A member's key pair (Ed25519 signing + X25519 encryption) and the files that hold it.
//
// Files, for a member NAME in a directory DIR:
//
//   DIR/NAME.key       the private keys, mode 0600, never overwritten. Line-based text, LF line
//                      endings, at most 64 KiB. Every line is "field: value" except the first:
//
//       lading-private-key v1
//       member-id: <member id>
//       signing-public-key: <64 hex>
//       encryption-public-key: <64 hex>
//       protection: none | argon2id13
//     then, for "protection: none":
//       signing-seed: <64 hex: the RFC 8032 Ed25519 private key>
//       encryption-secret: <64 hex: the X25519 secret scalar>
//     or, for "protection: argon2id13":
//       kdf-opslimit: <decimal>        Argon2id passes (crypto_pwhash, ALG_ARGON2ID13)
//       kdf-memlimit: <decimal>        Argon2id memory in bytes
//       kdf-salt: <32 hex>             16 random bytes
//       nonce: <48 hex>                24 random bytes
//       secrets: <160 hex>             XChaCha20-Poly1305(key = Argon2id(passphrase, salt),
//                                      nonce, plaintext = signing seed || encryption secret,
//                                      associated data = every byte of the file before this line)
//
//     The public keys are recorded so a loader can detect a corrupted or edited secret (the keys
//     derived from the secrets must equal them) and, in protected files, so they are
//     authenticated as part of the associated data together with the member id and KDF
//     parameters.
//
//   DIR/NAME.pub.json  the public half, mode 0644, at most 4 KiB, exactly one flat JSON object:
//       {"member_id": "...", "signing_public_key": "<hex>", "encryption_public_key": "<hex>"}
//
// A private key file whose mode grants any permission to group or others is refused on load. A
// passphrase file holds the passphrase followed by at most one newline, and is held to the same
// permission rule as a private key file.
//
// Ownership: MemberKeys owns its private keys (guarded memory, move-only). Passphrases are
// borrowed as ByteSpans for the duration of a call.
// Thread-safety: the functions are thread-safe (no shared state); MemberKeys is
// thread-compatible.
#ifndef LADING_CRYPTO_KEY_FILE_H_
#define LADING_CRYPTO_KEY_FILE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/encryption.h"
#include "crypto/secure_buffer.h"
#include "crypto/signing.h"

namespace lading::crypto {

inline constexpr size_t kMemberIdLengthMax = 64;
inline constexpr size_t kPrivateKeyFileBytesMax = 64 * 1024;
inline constexpr size_t kPublicKeyFileBytesMax = 4 * 1024;
inline constexpr size_t kPassphraseBytesMax = 1024;
inline constexpr std::string_view kPrivateKeyFileMagic = "lading-private-key v1";

// OK when `member_id` is 1..64 characters of [a-z0-9_-] starting with a letter or a digit;
// otherwise InvalidArgument naming the id and the offending character.
absl::Status ValidateMemberId(std::string_view member_id);

// A member's public identity: what it registers on chain and publishes in NAME.pub.json.
struct MemberPublicKeys {
  std::string member_id;
  SigningPublicKey signing_public_key;
  EncryptionPublicKey encryption_public_key;

  bool operator==(const MemberPublicKeys&) const = default;
};

// A member's private keys.
struct MemberKeys {
  std::string member_id;
  SigningKey signing;
  EncryptionKey encryption;

  // Fresh random keys for `member_id`. Fails when the id is invalid (ValidateMemberId).
  static absl::StatusOr<MemberKeys> Generate(std::string_view member_id);
  MemberPublicKeys public_keys() const;
};

// Argon2id cost. The presets are libsodium's crypto_pwhash_*_INTERACTIVE / MODERATE / SENSITIVE.
// Accepted range (on write and on read): opslimit 2..32, memlimit 64 MiB..1 GiB.
struct PassphraseKdfLimits {
  uint64_t opslimit = 0;
  uint64_t memlimit_bytes = 0;

  static PassphraseKdfLimits Interactive();  // 2 passes, 64 MiB: for tests
  static PassphraseKdfLimits Moderate();     // 3 passes, 256 MiB: the default
  static PassphraseKdfLimits Sensitive();    // 4 passes, 1 GiB
};

// How to protect a private key file with a passphrase.
struct PassphraseProtection {
  ByteSpan passphrase;  // REQUIRES: non-empty, at most kPassphraseBytesMax bytes.
  PassphraseKdfLimits limits = PassphraseKdfLimits::Moderate();
};

// The private key file text for `keys`, in guarded memory. Unprotected when `protection` is
// empty. Errors: InvalidArgument for an invalid member id, an empty or oversized passphrase, or
// KDF limits outside the accepted range; ResourceExhausted when Argon2id cannot get its memory.
absl::StatusOr<SecureBuffer> EncodePrivateKeyFile(
    const MemberKeys& keys, const std::optional<PassphraseProtection>& protection);

// Parses private key file text. `source` names the file in error messages ("key file SOURCE
// line N: ..."). `passphrase` is required for a protected file and ignored for an unprotected
// one. Errors: InvalidArgument for any malformation (which line, what was expected), including
// content over 64 KiB and CRLF line endings; FailedPrecondition for a protected file without a
// passphrase; Unauthenticated ("wrong passphrase or corrupted key file SOURCE") when the secrets
// do not decrypt; DataLoss when the secrets do not match the recorded public keys.
absl::StatusOr<MemberKeys> DecodePrivateKeyFile(ByteSpan contents,
                                                std::optional<ByteSpan> passphrase,
                                                std::string_view source);

// Creates `path` with mode 0600 (O_EXCL: AlreadyExists "... already exists" if anything is
// there, never overwritten), writes EncodePrivateKeyFile's text, fsyncs the file and its
// directory. On a failure after creation the partial file is removed.
absl::Status WritePrivateKeyFile(const std::string& path, const MemberKeys& keys,
                                 const std::optional<PassphraseProtection>& protection);

// Loads a private key file. Before reading any content, fails with FailedPrecondition
//   "key file PATH is readable by group or others (mode 0644); run: chmod 600 PATH"
// (with the file's real mode) when (mode & 077) != 0. NotFound when it does not exist; then as
// DecodePrivateKeyFile.
absl::StatusOr<MemberKeys> ReadPrivateKeyFile(const std::string& path,
                                              std::optional<ByteSpan> passphrase);

// The NAME.pub.json text (one line, newline-terminated).
std::string FormatPublicKeyJson(const MemberPublicKeys& keys);
// Parses exactly the flat object FormatPublicKeyJson writes (fields in any order, any JSON
// whitespace; no escape sequences, since no valid value needs one). `source` names the file in
// errors. InvalidArgument for content over 4 KiB, syntax errors, a missing, duplicate or unknown
// field, a non-string value, an invalid member id, or a bad key.
absl::StatusOr<MemberPublicKeys> ParsePublicKeyJson(std::string_view json,
                                                    std::string_view source);
// Creates `path` with mode 0644 (O_EXCL, never overwritten) and writes FormatPublicKeyJson.
absl::Status WritePublicKeyFile(const std::string& path, const MemberPublicKeys& keys);
// Reads and parses a NAME.pub.json file.
absl::StatusOr<MemberPublicKeys> ReadPublicKeyFile(const std::string& path);

// DIR/NAME.key and DIR/NAME.pub.json for member NAME.
struct MemberKeyFilePaths {
  std::string private_key_file;
  std::string public_key_file;
};
MemberKeyFilePaths KeyFilePaths(std::string_view dir, std::string_view member_id);

// Writes both files for `keys` into the existing directory `dir`. Fails with AlreadyExists,
// before deriving anything, when either file exists; if the public file cannot be written the
// private one is removed again, so the pair is written whole or not at all.
absl::StatusOr<MemberKeyFilePaths> WriteMemberKeyFiles(
    std::string_view dir, const MemberKeys& keys,
    const std::optional<PassphraseProtection>& protection);

// Reads a passphrase file: its content with one trailing "\n" removed, in guarded memory.
// Errors: NotFound; FailedPrecondition when group or others have any permission (the same
// message form as for key files); InvalidArgument when the passphrase is empty or longer than
// kPassphraseBytesMax.
absl::StatusOr<SecureBuffer> ReadPassphraseFile(const std::string& path);

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_KEY_FILE_H_
