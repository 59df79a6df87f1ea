#include "node/api/request_auth.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>

#include "crypto/hash.h"
#include "node/api/tx_builder.h"
#include "proto/api.pb.h"
#include "proto/ledger.h"

namespace lading::node::api {
namespace {

constexpr char kChain[] = "lading-test";
constexpr int64_t kNow = 1'700'000'000'000;

crypto::MemberKeys Keys(const std::string& member_id) {
  absl::StatusOr<crypto::MemberKeys> keys = crypto::MemberKeys::Generate(member_id);
  REQUIRE(keys.ok());
  return std::move(*keys);
}

// Metadata as the server sees it; the strings live in `storage`.
struct Metadata {
  std::map<std::string, std::string> storage;
  std::multimap<grpc::string_ref, grpc::string_ref> view() const {
    std::multimap<grpc::string_ref, grpc::string_ref> out;
    for (const auto& [key, value] : storage) out.emplace(key, value);
    return out;
  }
};

Metadata ToMetadata(const RequestSignature& signature) {
  Metadata metadata;
  metadata.storage[kMetadataMember] = signature.member_id;
  metadata.storage[kMetadataTime] = std::to_string(signature.time_unix_ms);
  metadata.storage[kMetadataNonce] =
      HexEncode(ByteSpan(signature.nonce.data(), signature.nonce.size()));
  metadata.storage[kMetadataSignature] = signature.signature.ToHex();
  return metadata;
}

struct Fixture {
  crypto::MemberKeys alice = Keys("alice");
  int64_t now = kNow;
  RequestAuthOptions options;
  std::unique_ptr<RequestAuthenticator> authenticator;

  explicit Fixture(size_t replay_entries_max = 1000) {
    options.now_unix_ms = [this] { return now; };
    options.replay_entries_max = replay_entries_max;
    const crypto::SigningPublicKey alice_key = alice.signing.public_key();
    authenticator = std::make_unique<RequestAuthenticator>(
        [alice_key](std::string_view member_id)
            -> absl::StatusOr<std::optional<crypto::SigningPublicKey>> {
          if (member_id == "alice") return std::optional<crypto::SigningPublicKey>(alice_key);
          if (member_id == "broken") return absl::DataLossError("state read failed");
          return std::optional<crypto::SigningPublicKey>();
        },
        options);
  }

  absl::StatusOr<std::string> Check(const Metadata& metadata,
                                    const google::protobuf::MessageLite& request,
                                    std::string_view method = kMethodGetBlock) const {
    return authenticator->Authenticate(kChain, method, metadata.view(), request);
  }
};

proto::GetBlockRequest BlockRequest(uint64_t height) {
  proto::GetBlockRequest request;
  request.set_height(height);
  return request;
}

TEST_CASE("a request signed by a member within the window is accepted once", "[unit][api]") {
  Fixture fixture;
  const proto::GetBlockRequest request = BlockRequest(7);
  const Metadata metadata =
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow - 5'000));
  absl::StatusOr<std::string> member = fixture.Check(metadata, request);
  REQUIRE(member.ok());
  CHECK(*member == "alice");
  CHECK(fixture.authenticator->remembered_nonces() == 1);

  const absl::StatusOr<std::string> replay = fixture.Check(metadata, request);
  CHECK(replay.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(replay.status().message() == "request nonce " + metadata.storage.at(kMetadataNonce) +
                                         " already used by member alice");
}

TEST_CASE("a request missing any of the four metadata entries is refused, naming the entry",
          "[unit][api]") {
  Fixture fixture;
  const proto::GetBlockRequest request = BlockRequest(1);
  const Metadata full =
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow));
  for (const char* key : {kMetadataMember, kMetadataTime, kMetadataNonce, kMetadataSignature}) {
    CAPTURE(key);
    Metadata metadata = full;
    metadata.storage.erase(key);
    const absl::StatusOr<std::string> result = fixture.Check(metadata, request);
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(result.status().message() ==
          std::string("request not signed: missing ") + key + " metadata");
  }
  CHECK(fixture.Check(full, request).ok());
}

TEST_CASE("malformed metadata values are refused with the value named", "[unit][api]") {
  Fixture fixture;
  const proto::GetBlockRequest request = BlockRequest(1);
  const Metadata full =
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow));
  struct Case {
    const char* key;
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {kMetadataTime, "12a", "request metadata lading-time-ms \"12a\" is not a decimal time"},
      {kMetadataTime, "99999999999999999999999", "is not a decimal time"},
      {kMetadataNonce, "abcd", "request metadata lading-nonce \"abcd\" is not 16 bytes of hex"},
      {kMetadataNonce, std::string(32, 'z'), "is not 16 bytes of hex"},
      {kMetadataSignature, "00", "lading-signature \"00\" is not 64 bytes of hex"},
      {kMetadataMember, "", "request metadata lading-member \"\" is not a member id"},
      {kMetadataMember, std::string(65, 'a'), "is not a member id"},
  };
  for (const Case& bad : cases) {
    CAPTURE(bad.key, bad.value);
    Metadata metadata = full;
    metadata.storage[bad.key] = bad.value;
    const absl::StatusOr<std::string> result = fixture.Check(metadata, request);
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK_THAT(std::string(result.status().message()), Catch::Contains(bad.message));
  }
  CHECK(fixture.Check(full, request).ok());
}

TEST_CASE("a metadata entry given twice is refused as ambiguous", "[unit][api]") {
  Fixture fixture;
  const proto::GetBlockRequest request = BlockRequest(1);
  const Metadata metadata =
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow));
  std::multimap<grpc::string_ref, grpc::string_ref> doubled = metadata.view();
  const std::string other_signature(128, '0');
  doubled.emplace(kMetadataSignature, other_signature);
  const absl::StatusOr<std::string> result =
      fixture.authenticator->Authenticate(kChain, kMethodGetBlock, doubled, request);
  CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(result.status().message() == "request metadata lading-signature is given more than once");
  CHECK(fixture.Check(metadata, request).ok());
}

TEST_CASE("a request time outside the window is refused with the distance in seconds",
          "[unit][api]") {
  Fixture fixture;
  fixture.now = kNow + 300'000;
  const proto::GetBlockRequest request = BlockRequest(1);
  const absl::StatusOr<std::string> old_request = fixture.Check(
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)), request);
  CHECK(old_request.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(old_request.status().message() ==
        "request time 1700000000000 is 300 s away from the node's clock (window 120 s)");

  fixture.now = kNow - 121'000;
  const absl::StatusOr<std::string> future_request = fixture.Check(
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)), request);
  CHECK(future_request.status().message() ==
        "request time 1700000000000 is 121 s away from the node's clock (window 120 s)");

  // The edge of the window is inside it, and an extreme time does not overflow.
  fixture.now = kNow + 120'000;
  CHECK(fixture
            .Check(ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)),
                   request)
            .ok());
  const absl::StatusOr<std::string> extreme = fixture.Check(
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, INT64_MIN)),
      request);
  CHECK(extreme.status().code() == absl::StatusCode::kUnauthenticated);
}

TEST_CASE("a signer that is not a member is refused with PermissionDenied", "[unit][api]") {
  Fixture fixture;
  const crypto::MemberKeys mallory = Keys("mallory");
  const proto::GetBlockRequest request = BlockRequest(1);
  const absl::StatusOr<std::string> result = fixture.Check(
      ToMetadata(SignRequest(mallory, kChain, kMethodGetBlock, request, kNow)), request);
  CHECK(result.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(result.status().message() == "member mallory is not a member of chain lading-test");

  const crypto::MemberKeys broken = Keys("broken");
  const absl::StatusOr<std::string> read_error = fixture.Check(
      ToMetadata(SignRequest(broken, kChain, kMethodGetBlock, request, kNow)), request);
  CHECK(read_error.status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("a signature is bound to the key, chain, method and request", "[unit][api]") {
  Fixture fixture;
  const proto::GetBlockRequest request = BlockRequest(3);
  const std::string expected_start = "request signature does not verify under the signing key";

  SECTION("another key under the member's name") {
    const crypto::MemberKeys impostor = Keys("alice");
    const absl::StatusOr<std::string> result = fixture.Check(
        ToMetadata(SignRequest(impostor, kChain, kMethodGetBlock, request, kNow)), request);
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK_THAT(std::string(result.status().message()), Catch::StartsWith(expected_start));
  }
  SECTION("another chain") {
    const absl::StatusOr<std::string> result = fixture.Check(
        ToMetadata(SignRequest(fixture.alice, "other-chain", kMethodGetBlock, request, kNow)),
        request);
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
  }
  SECTION("another method") {
    const absl::StatusOr<std::string> result = fixture.Check(
        ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)), request,
        kMethodGetCommit);
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
  }
  SECTION("another request") {
    const absl::StatusOr<std::string> result = fixture.Check(
        ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)),
        BlockRequest(4));
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
  }
  SECTION("another time") {
    Metadata metadata =
        ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow));
    metadata.storage[kMetadataTime] = std::to_string(kNow + 1);
    CHECK(fixture.Check(metadata, request).status().code() ==
          absl::StatusCode::kUnauthenticated);
  }
  CHECK(fixture.authenticator->remembered_nonces() == 0);
}

TEST_CASE("remembered nonces expire with the window and the cache is bounded", "[unit][api]") {
  Fixture fixture(/*replay_entries_max=*/2);
  const proto::GetBlockRequest request = BlockRequest(1);
  REQUIRE(fixture
              .Check(ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)),
                     request)
              .ok());
  REQUIRE(fixture
              .Check(ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)),
                     request)
              .ok());
  const absl::StatusOr<std::string> full = fixture.Check(
      ToMetadata(SignRequest(fixture.alice, kChain, kMethodGetBlock, request, kNow)), request);
  CHECK(full.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(fixture.authenticator->remembered_nonces() == 2);

  // Once the requests' times leave the window, their nonces are forgotten and room is made.
  fixture.now = kNow + 120'001;
  CHECK(fixture
            .Check(ToMetadata(
                       SignRequest(fixture.alice, kChain, kMethodGetBlock, request, fixture.now)),
                   request)
            .ok());
  CHECK(fixture.authenticator->remembered_nonces() == 1);
}

TEST_CASE("request sign bytes start with the domain label and cover every field", "[unit][api]") {
  RequestNonce nonce{};
  nonce[0] = 1;
  const Hash256 request_hash = RequestHash(BlockRequest(9));
  const Bytes bytes = RequestSignBytes("c", "/m", "alice", 5, nonce, request_hash);
  const std::string label(crypto::kLabelApiRequest);
  REQUIRE(bytes.size() == 1 + label.size() + (2 + 1) + (2 + 2) + (2 + 5) + 8 + 16 + 32);
  CHECK(bytes[0] == label.size());
  CHECK(std::string(bytes.begin() + 1, bytes.begin() + 1 + label.size()) == label);
  CHECK(Bytes(bytes.end() - 32, bytes.end()) == request_hash.ToBytes());
  CHECK(RequestSignBytes("c", "/m", "alice", 6, nonce, request_hash) != bytes);
  CHECK(RequestHash(BlockRequest(9)) == request_hash);
  CHECK(RequestHash(BlockRequest(10)) != request_hash);
}

TEST_CASE("BuildNoteTx signs a note the ledger decodes and refuses oversize text",
          "[unit][api]") {
  const crypto::MemberKeys alice = Keys("alice");
  absl::StatusOr<Bytes> tx = BuildNoteTx(alice, kChain, 3, "hello", 9);
  REQUIRE(tx.ok());
  absl::StatusOr<proto::SignedTx> signed_tx = proto::DecodeSignedTx(*tx);
  REQUIRE(signed_tx.ok());
  absl::StatusOr<proto::TxBody> body = proto::DecodeTxBody(AsBytes(signed_tx->body()));
  REQUIRE(body.ok());
  CHECK(body->chain_id() == kChain);
  CHECK(body->signer() == "alice");
  CHECK(body->nonce() == 3);
  CHECK(body->expires_at_height() == 9);
  CHECK(body->note().text() == "hello");
  CHECK(crypto::VerifySignature(alice.signing.public_key(), AsBytes(signed_tx->body()),
                                AsBytes(signed_tx->signature()))
            .ok());

  CHECK(BuildNoteTx(alice, kChain, 1, std::string(proto::kNoteTextBytesMax, 'x')).ok());
  const absl::StatusOr<Bytes> oversize =
      BuildNoteTx(alice, kChain, 1, std::string(proto::kNoteTextBytesMax + 1, 'x'));
  CHECK(oversize.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(oversize.status().message() == "note text is 4097 bytes, more than the 4096 allowed");
  CHECK(BuildNoteTx(alice, kChain, 0, "x").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(BuildNoteTx(alice, "", 1, "x").status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lading::node::api
