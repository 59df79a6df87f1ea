// Signed API requests (DESIGN §7): queries that reveal chain metadata carry a member's signature
// in four gRPC metadata entries, checked by the node before it answers.
//
//   lading-member     member id
//   lading-time-ms    the client's clock, ms since the Unix epoch, decimal
//   lading-nonce      16 random bytes, 32 lower-case hex characters
//   lading-signature  Ed25519 signature, 128 lower-case hex characters, over RequestSignBytes
//
// RequestSignBytes binds the signature to one chain, one RPC method, one member, one moment, one
// nonce and one request message:
//
//   u8(len("lading/api/request")) || "lading/api/request"
//   || u16be(len(chain_id)) || chain_id || u16be(len(method)) || method
//   || u16be(len(member_id)) || member_id || i64be(time_unix_ms) || nonce (16 bytes)
//   || RequestHash(request)
//
// where method is the full gRPC method name ("/lading.proto.Node/GetTx") and
// RequestHash(request) = H("lading/api/request/body", the request's deterministic serialization).
// The server sees a parsed request (the synchronous gRPC API hands no raw bytes to a handler), so
// both sides hash the deterministic serialization of the message, which is the same for the same
// field values (unknown fields included) whatever bytes carried them.
//
// The server side, RequestAuthenticator, accepts a request when: all four entries are present and
// well-formed; |now - time| <= window; the member exists in the current state and the signature
// verifies under its signing key; and the (member, nonce) pair was not seen in an accepted request
// within the window. Remembered nonces expire once their request time leaves the window (after
// which the time check alone refuses a replay), and at most replay_entries_max are held: when the
// cache is full of live entries new requests are refused (ResourceExhausted) rather than any
// replay protection being dropped.
//
// Ownership: RequestAuthenticator owns its replay cache and its member lookup function.
// Thread-safety: the free functions are thread-safe; RequestAuthenticator is thread-safe (the
// replay cache has a mutex; member lookups and signature checks happen outside it).
#ifndef LADING_NODE_API_REQUEST_AUTH_H_
#define LADING_NODE_API_REQUEST_AUTH_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/string_ref.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/key_file.h"
#include "crypto/signing.h"
#include "google/protobuf/message_lite.h"

namespace lading::node::api {

inline constexpr char kMetadataMember[] = "lading-member";
inline constexpr char kMetadataTime[] = "lading-time-ms";
inline constexpr char kMetadataNonce[] = "lading-nonce";
inline constexpr char kMetadataSignature[] = "lading-signature";

inline constexpr size_t kRequestNonceBytes = 16;
using RequestNonce = std::array<uint8_t, kRequestNonceBytes>;

// Full gRPC method names of lading.proto.Node (proto/api.proto), as signed.
inline constexpr std::string_view kMethodSubmitTx = "/lading.proto.Node/SubmitTx";
inline constexpr std::string_view kMethodGetTx = "/lading.proto.Node/GetTx";
inline constexpr std::string_view kMethodGetBlock = "/lading.proto.Node/GetBlock";
inline constexpr std::string_view kMethodGetCommit = "/lading.proto.Node/GetCommit";
inline constexpr std::string_view kMethodGetStatus = "/lading.proto.Node/GetStatus";
inline constexpr std::string_view kMethodGetAccount = "/lading.proto.Node/GetAccount";
inline constexpr std::string_view kMethodWatchBlocks = "/lading.proto.Node/WatchBlocks";

// H("lading/api/request/body", deterministic serialization of `request`).
Hash256 RequestHash(const google::protobuf::MessageLite& request);

// The bytes a member signs for one request (see the header comment).
Bytes RequestSignBytes(std::string_view chain_id, std::string_view method,
                       std::string_view member_id, int64_t time_unix_ms, const RequestNonce& nonce,
                       const Hash256& request_hash);

// The four metadata values of a signed request.
struct RequestSignature {
  std::string member_id;
  int64_t time_unix_ms = 0;
  RequestNonce nonce{};
  crypto::Signature signature;
};

// Signs `request` for `method` on chain `chain_id` as `keys.member_id`, at `time_unix_ms`, with a
// fresh random nonce.
RequestSignature SignRequest(const crypto::MemberKeys& keys, std::string_view chain_id,
                             std::string_view method, const google::protobuf::MessageLite& request,
                             int64_t time_unix_ms);

// Adds the four metadata entries of `signature` to `context`. REQUIRES: context is non-null.
void AddRequestSignature(const RequestSignature& signature, grpc::ClientContext* context);

// The signing key of `member_id` in the current state: std::nullopt when it is not a member, or
// the state's read error.
using MemberKeyLookup = std::function<absl::StatusOr<std::optional<crypto::SigningPublicKey>>(
    std::string_view member_id)>;

struct RequestAuthOptions {
  // Largest accepted |now - request time|.
  std::chrono::milliseconds window{120'000};
  // Most (member, nonce) pairs remembered at once.
  size_t replay_entries_max = 1u << 20;
  // The node's clock, ms since the Unix epoch; empty = the system clock. Tests inject one.
  std::function<int64_t()> now_unix_ms;
};

class RequestAuthenticator {
 public:
  // REQUIRES: lookup is non-empty; options.window > 0; options.replay_entries_max > 0.
  RequestAuthenticator(MemberKeyLookup lookup, RequestAuthOptions options = {});
  RequestAuthenticator(const RequestAuthenticator&) = delete;
  RequestAuthenticator& operator=(const RequestAuthenticator&) = delete;

  // Checks the signed request `request` for `method` on chain `chain_id` whose metadata is
  // `metadata`, and returns the authenticated member id. On success the nonce is remembered.
  // Errors, each naming the bad value, after which nothing is remembered:
  //   Unauthenticated: a missing entry ("request not signed: missing lading-signature
  //     metadata"), a malformed one, a time outside the window ("request time T is N s away
  //     from the node's clock (window 120 s)"), a signature that does not verify, a nonce
  //     already used ("request nonce <hex> already used");
  //   PermissionDenied: "member X is not a member of chain Y";
  //   ResourceExhausted: the replay cache is full of live entries;
  //   the member lookup's errors as is.
  absl::StatusOr<std::string> Authenticate(
      std::string_view chain_id, std::string_view method,
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const google::protobuf::MessageLite& request) const;

  // Nonces currently remembered (live or not yet purged).
  size_t remembered_nonces() const;

 private:
  int64_t NowUnixMs() const;
  // Drops entries whose request time has left the window. REQUIRES: mutex_ held.
  void PurgeExpiredLocked(int64_t now_unix_ms) const;

  const MemberKeyLookup lookup_;
  const RequestAuthOptions options_;
  mutable std::mutex mutex_;
  // Guarded by mutex_: "member\0nonce" -> expiry (request time + window), and expiry order.
  mutable std::map<std::string, int64_t> nonces_;
  mutable std::multimap<int64_t, std::string> expiries_;
};

}  // namespace lading::node::api

#endif  // LADING_NODE_API_REQUEST_AUTH_H_
