#include "node/api/request_auth.h"

#include <charconv>
#include <limits>
#include <utility>

#include "crypto/hash.h"
#include "crypto/internal/strings.h"
#include "crypto/random.h"
#include "crypto/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace lading::node::api {
namespace {

using ::lading::internal::StrCat;

// Member ids are at most 64 characters and the other fields are fixed-size; a longer value is
// refused before any work is done on it.
constexpr size_t kMemberMetadataBytesMax = crypto::kMemberIdLengthMax;
constexpr size_t kTimeMetadataBytesMax = 20;

void AppendLengthPrefixed(std::string_view text, Bytes* out) {
  LADING_CHECK(text.size() <= std::numeric_limits<uint16_t>::max());
  out->push_back(static_cast<uint8_t>(text.size() >> 8));
  out->push_back(static_cast<uint8_t>(text.size() & 0xff));
  out->insert(out->end(), text.begin(), text.end());
}

std::string_view View(const grpc::string_ref& ref) {
  return std::string_view(ref.data(), ref.size());
}

// The single value of metadata entry `key`. A repeated entry is refused: which of two
// signatures was meant would be ambiguous.
absl::StatusOr<std::string_view> SingleEntry(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key) {
  const auto [first, last] = metadata.equal_range(grpc::string_ref(key));
  if (first == last) {
    return absl::UnauthenticatedError(StrCat("request not signed: missing ", key, " metadata"));
  }
  if (std::next(first) != last) {
    return absl::UnauthenticatedError(StrCat("request metadata ", key, " is given more than once"));
  }
  return View(first->second);
}

// At most the first 64 characters of a value that was refused, so an error stays one short line.
std::string Excerpt(std::string_view value) {
  constexpr size_t kExcerptMax = 64;
  if (value.size() <= kExcerptMax) return std::string(value);
  return StrCat(value.substr(0, kExcerptMax), "...");
}

absl::StatusOr<RequestSignature> ParseSignature(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  RequestSignature parsed;
  LADING_ASSIGN_OR_RETURN(const std::string_view member, SingleEntry(metadata, kMetadataMember));
  LADING_ASSIGN_OR_RETURN(const std::string_view time, SingleEntry(metadata, kMetadataTime));
  LADING_ASSIGN_OR_RETURN(const std::string_view nonce, SingleEntry(metadata, kMetadataNonce));
  LADING_ASSIGN_OR_RETURN(const std::string_view signature,
                          SingleEntry(metadata, kMetadataSignature));

  if (member.empty() || member.size() > kMemberMetadataBytesMax) {
    return absl::UnauthenticatedError(StrCat("request metadata ", kMetadataMember, " \"",
                                             Excerpt(member), "\" is not a member id"));
  }
  parsed.member_id = std::string(member);

  const char* time_end = time.data() + time.size();
  const auto [time_ptr, time_error] = std::from_chars(time.data(), time_end, parsed.time_unix_ms);
  if (time.empty() || time.size() > kTimeMetadataBytesMax || time_error != std::errc() ||
      time_ptr != time_end) {
    return absl::UnauthenticatedError(StrCat("request metadata ", kMetadataTime, " \"",
                                             Excerpt(time),
                                             "\" is not a decimal time in ms since the Unix epoch"));
  }

  absl::StatusOr<Bytes> nonce_bytes = absl::InvalidArgumentError("");
  if (nonce.size() == 2 * kRequestNonceBytes) nonce_bytes = HexDecode(nonce);
  if (!nonce_bytes.ok()) {
    return absl::UnauthenticatedError(StrCat("request metadata ", kMetadataNonce, " \"",
                                             Excerpt(nonce), "\" is not ", kRequestNonceBytes,
                                             " bytes of hex"));
  }
  std::copy(nonce_bytes->begin(), nonce_bytes->end(), parsed.nonce.begin());

  absl::StatusOr<crypto::Signature> signature_value = crypto::Signature::FromHex(signature);
  if (!signature_value.ok()) {
    return absl::UnauthenticatedError(StrCat("request metadata ", kMetadataSignature, " \"",
                                             Excerpt(signature), "\" is not ",
                                             crypto::Signature::kSize, " bytes of hex"));
  }
  parsed.signature = *signature_value;
  return parsed;
}

std::string ReplayKey(std::string_view member_id, const RequestNonce& nonce) {
  std::string key(member_id);
  key.push_back('\0');
  key.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  return key;
}

}  // namespace

Hash256 RequestHash(const google::protobuf::MessageLite& request) {
  std::string serialized;
  {
    google::protobuf::io::StringOutputStream stream(&serialized);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    // Serialization of an initialized proto3 message cannot fail.
    LADING_CHECK(request.SerializeToCodedStream(&coded));
  }
  return crypto::HashWithLabel(crypto::kLabelApiRequestBody, AsBytes(serialized));
}

Bytes RequestSignBytes(std::string_view chain_id, std::string_view method,
                       std::string_view member_id, int64_t time_unix_ms, const RequestNonce& nonce,
                       const Hash256& request_hash) {
  Bytes out;
  out.reserve(1 + crypto::kLabelApiRequest.size() + 6 + chain_id.size() + method.size() +
              member_id.size() + 8 + nonce.size() + Hash256::kSize);
  out.push_back(static_cast<uint8_t>(crypto::kLabelApiRequest.size()));
  out.insert(out.end(), crypto::kLabelApiRequest.begin(), crypto::kLabelApiRequest.end());
  AppendLengthPrefixed(chain_id, &out);
  AppendLengthPrefixed(method, &out);
  AppendLengthPrefixed(member_id, &out);
  AppendUint64BigEndian(static_cast<uint64_t>(time_unix_ms), &out);
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), request_hash.bytes.begin(), request_hash.bytes.end());
  return out;
}

RequestSignature SignRequest(const crypto::MemberKeys& keys, std::string_view chain_id,
                             std::string_view method, const google::protobuf::MessageLite& request,
                             int64_t time_unix_ms) {
  RequestSignature signature;
  signature.member_id = keys.member_id;
  signature.time_unix_ms = time_unix_ms;
  crypto::FillRandom(signature.nonce);
  signature.signature = keys.signing.Sign(RequestSignBytes(
      chain_id, method, keys.member_id, time_unix_ms, signature.nonce, RequestHash(request)));
  return signature;
}

void AddRequestSignature(const RequestSignature& signature, grpc::ClientContext* context) {
  LADING_CHECK(context != nullptr);
  context->AddMetadata(kMetadataMember, signature.member_id);
  context->AddMetadata(kMetadataTime, std::to_string(signature.time_unix_ms));
  context->AddMetadata(kMetadataNonce,
                       HexEncode(ByteSpan(signature.nonce.data(), signature.nonce.size())));
  context->AddMetadata(kMetadataSignature, signature.signature.ToHex());
}

RequestAuthenticator::RequestAuthenticator(MemberKeyLookup lookup, RequestAuthOptions options)
    : lookup_(std::move(lookup)), options_(std::move(options)) {
  LADING_CHECK(lookup_);
  LADING_CHECK(options_.window.count() > 0);
  LADING_CHECK(options_.replay_entries_max > 0);
}

int64_t RequestAuthenticator::NowUnixMs() const {
  if (options_.now_unix_ms) return options_.now_unix_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void RequestAuthenticator::PurgeExpiredLocked(int64_t now_unix_ms) const {
  while (!expiries_.empty() && expiries_.begin()->first < now_unix_ms) {
    nonces_.erase(expiries_.begin()->second);
    expiries_.erase(expiries_.begin());
  }
}

size_t RequestAuthenticator::remembered_nonces() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return nonces_.size();
}

absl::StatusOr<std::string> RequestAuthenticator::Authenticate(
    std::string_view chain_id, std::string_view method,
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const google::protobuf::MessageLite& request) const {
  LADING_ASSIGN_OR_RETURN(const RequestSignature signature, ParseSignature(metadata));

  const int64_t now = NowUnixMs();
  const int64_t window_ms = options_.window.count();
  // Computed in 128 bits: a hostile time near INT64_MIN must not overflow the subtraction.
  const __int128 distance_ms = static_cast<__int128>(signature.time_unix_ms) - now;
  const __int128 magnitude_ms = distance_ms < 0 ? -distance_ms : distance_ms;
  if (magnitude_ms > window_ms) {
    const __int128 seconds = magnitude_ms / 1000;
    const uint64_t seconds_shown = seconds > std::numeric_limits<uint64_t>::max()
                                       ? std::numeric_limits<uint64_t>::max()
                                       : static_cast<uint64_t>(seconds);
    return absl::UnauthenticatedError(StrCat("request time ", signature.time_unix_ms, " is ",
                                             seconds_shown, " s away from the node's clock (window ",
                                             window_ms / 1000, " s)"));
  }

  LADING_ASSIGN_OR_RETURN(const std::optional<crypto::SigningPublicKey> member_key,
                          lookup_(signature.member_id));
  if (!member_key.has_value()) {
    return absl::PermissionDeniedError(
        StrCat("member ", signature.member_id, " is not a member of chain ", chain_id));
  }
  const Bytes sign_bytes =
      RequestSignBytes(chain_id, method, signature.member_id, signature.time_unix_ms,
                       signature.nonce, RequestHash(request));
  if (!crypto::VerifySignature(*member_key, sign_bytes, signature.signature).ok()) {
    return absl::UnauthenticatedError(
        StrCat("request signature does not verify under the signing key of member ",
               signature.member_id, " (for method ", method, " on chain ", chain_id, ")"));
  }

  const std::string key = ReplayKey(signature.member_id, signature.nonce);
  std::lock_guard<std::mutex> lock(mutex_);
  PurgeExpiredLocked(now);
  if (nonces_.count(key) != 0) {
    return absl::UnauthenticatedError(
        StrCat("request nonce ",
               HexEncode(ByteSpan(signature.nonce.data(), signature.nonce.size())),
               " already used by member ", signature.member_id));
  }
  if (nonces_.size() >= options_.replay_entries_max) {
    return absl::ResourceExhaustedError(
        StrCat("too many signed requests within the last ", window_ms / 1000, " s (",
               nonces_.size(), " remembered nonces); try again later"));
  }
  const int64_t expiry = signature.time_unix_ms + window_ms;
  nonces_.emplace(key, expiry);
  expiries_.emplace(expiry, key);
  return signature.member_id;
}

}  // namespace lading::node::api
