// The gRPC API end to end on 127.0.0.1: ApiServer over a TestBackend (real RocksDB store, real
// mempool), reached through ApiClient or a raw stub.
#include "node/api/api_server.h"

#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "node/api/client.h"
#include "node/api/testing/test_backend.h"
#include "node/api/tx_builder.h"
#include "proto/api.grpc.pb.h"
#include "proto/ledger.h"

namespace lading::node::api {
namespace {

using contracts::testing::TestChain;
using testing::TestBackend;
using testing::TestMemberKeys;
using std::chrono::milliseconds;

TestChain MakeChain() {
  return TestChain({"validator-1", "validator-2", "validator-3", "client-1", "client-2"}, 3);
}

// A chain, its backend, a server and a client signing as client-1.
struct Api {
  TestChain chain = MakeChain();
  crypto::MemberKeys client_keys = TestMemberKeys(chain, "client-1");
  std::unique_ptr<TestBackend> backend;
  std::unique_ptr<ApiServer> server;
  std::unique_ptr<ApiClient> client;

  explicit Api(ApiServerOptions options = {}, MempoolOptions mempool_options = {}) {
    absl::StatusOr<std::unique_ptr<TestBackend>> created =
        TestBackend::Create(&chain, mempool_options);
    REQUIRE(created.ok());
    backend = std::move(*created);
    absl::StatusOr<std::unique_ptr<ApiServer>> started =
        ApiServer::Start(backend.get(), std::move(options));
    REQUIRE(started.ok());
    server = std::move(*started);
    client = Connect(&client_keys);
  }

  std::unique_ptr<ApiClient> Connect(const crypto::MemberKeys* keys,
                                     ApiClientOptions options = {}) const {
    absl::StatusOr<std::unique_ptr<ApiClient>> connected =
        ApiClient::Connect(server->address(), keys, std::move(options));
    REQUIRE(connected.ok());
    return std::move(*connected);
  }

  Bytes Note(uint64_t nonce, std::string_view text = "note") const {
    return chain.NoteTx("client-1", nonce, text);
  }

  uint64_t Append() const {
    absl::StatusOr<uint64_t> height = backend->AppendBlock();
    REQUIRE(height.ok());
    return *height;
  }
};

Hash256 TxIdOf(const Bytes& signed_tx) {
  absl::StatusOr<proto::SignedTx> tx = proto::DecodeSignedTx(signed_tx);
  REQUIRE(tx.ok());
  return proto::TxId(AsBytes(tx->body()));
}

TEST_CASE("GetStatus needs no signature and reports the node's status", "[integration][api]") {
  Api api;
  std::unique_ptr<ApiClient> anonymous = api.Connect(nullptr);
  CHECK(anonymous->chain_id() == "lading-test");
  api.Append();
  absl::StatusOr<proto::GetStatusResponse> status = anonymous->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->chain_id() == "lading-test");
  CHECK(status->member_id() == "validator-1");
  CHECK(status->height() == 1);
  CHECK(status->consensus_height() == 2);
  CHECK(status->serving());
  CHECK(status->head_block_hash() == ToString(api.backend->store().HeadBlockHash().span()));
}

TEST_CASE("Connect to an address where nothing listens fails with UNAVAILABLE naming it",
          "[integration][api]") {
  Api api;
  const std::string address = api.server->address();
  api.server->Shutdown();
  absl::StatusOr<std::unique_ptr<ApiClient>> client =
      ApiClient::Connect(address, nullptr, ApiClientOptions{.call_timeout = milliseconds(500)});
  REQUIRE_FALSE(client.ok());
  CHECK((client.status().code() == absl::StatusCode::kUnavailable ||
         client.status().code() == absl::StatusCode::kDeadlineExceeded));
  CHECK_THAT(std::string(client.status().message()), Catch::Contains(address));
}

TEST_CASE("Start fails with Unavailable naming an address already in use", "[integration][api]") {
  Api api;
  ApiServerOptions options;
  options.listen_address = api.server->address();
  absl::StatusOr<std::unique_ptr<ApiServer>> second = ApiServer::Start(api.backend.get(), options);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK(second.status().message() ==
        "cannot listen on " + api.server->address() + " for the gRPC API");
}

TEST_CASE("SubmitTx accepts a transaction and GetAccount counts it as pending",
          "[integration][api]") {
  Api api;
  const Bytes tx = api.Note(1);
  absl::StatusOr<proto::SubmitTxResponse> submitted = api.client->SubmitTx(tx, false);
  REQUIRE(submitted.ok());
  CHECK(submitted->tx_id() == ToString(TxIdOf(tx).span()));
  CHECK_FALSE(submitted->committed());
  CHECK(api.backend->mempool().Contains(TxIdOf(tx)));

  absl::StatusOr<proto::GetAccountResponse> account = api.client->GetAccount("client-1");
  REQUIRE(account.ok());
  CHECK(account->next_nonce() == 1);
  CHECK(account->pending_next_nonce() == 2);

  api.Append();
  account = api.client->GetAccount("client-1");
  REQUIRE(account.ok());
  CHECK(account->next_nonce() == 2);
  CHECK(account->pending_next_nonce() == 2);

  const absl::StatusOr<proto::GetAccountResponse> stranger = api.client->GetAccount("stranger");
  CHECK(stranger.status().code() == absl::StatusCode::kNotFound);
  const absl::StatusOr<proto::GetAccountResponse> invalid = api.client->GetAccount("Bad Id");
  CHECK(invalid.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(invalid.status().message()), Catch::StartsWith("member_id: "));
}

TEST_CASE("SubmitTx passes the mempool's refusals on with their code and message",
          "[integration][api]") {
  Api api(ApiServerOptions{}, MempoolOptions{.txs_max = 2});
  const Bytes tx = api.Note(1);
  REQUIRE(api.client->SubmitTx(tx, false).ok());

  const absl::StatusOr<proto::SubmitTxResponse> duplicate = api.client->SubmitTx(tx, false);
  CHECK(duplicate.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(duplicate.status().message() ==
        "transaction " + TxIdOf(tx).ToHex() + " is already in mempool");

  proto::SignedTx forged = *proto::DecodeSignedTx(api.Note(2));
  forged.set_signature(ToString(api.chain.key("client-2").Sign(AsBytes(forged.body())).span()));
  const absl::StatusOr<proto::SubmitTxResponse> bad_signature =
      api.client->SubmitTx(proto::Serialize(forged), false);
  CHECK(bad_signature.status().code() == absl::StatusCode::kUnauthenticated);

  const absl::StatusOr<proto::SubmitTxResponse> garbage =
      api.client->SubmitTx(ToBytes("not a transaction"), false);
  CHECK(garbage.status().code() == absl::StatusCode::kInvalidArgument);
  const absl::StatusOr<proto::SubmitTxResponse> empty = api.client->SubmitTx(Bytes(), false);
  CHECK(empty.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(empty.status().message() == "signed_tx is empty");

  REQUIRE(api.client->SubmitTx(api.chain.NoteTx("client-2", 1, "x"), false).ok());
  const absl::StatusOr<proto::SubmitTxResponse> full =
      api.client->SubmitTx(api.chain.NoteTx("validator-1", 1, "x"), false);
  CHECK(full.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(full.status().message()), Catch::StartsWith("mempool full"));
}

TEST_CASE("an oversize request is refused with RESOURCE_EXHAUSTED before it reaches the mempool",
          "[integration][api]") {
  Api api;
  const Bytes oversize(kApiRequestBytesMax + 1, 0x41);
  const absl::StatusOr<proto::SubmitTxResponse> result = api.client->SubmitTx(oversize, false);
  CHECK(result.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(api.backend->mempool().size() == 0);
  // A transaction just over the ledger's cap still reaches the node and is refused there.
  const Bytes over_cap(proto::kTxBytesMax + 1, 0x41);
  CHECK(api.client->SubmitTx(over_cap, false).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("SubmitTx with wait answers once the transaction is committed", "[integration][api]") {
  Api api;
  REQUIRE(api.client->SubmitTx(api.Note(1, "first"), false).ok());
  const Bytes tx = api.Note(2, "second");
  std::future<absl::StatusOr<proto::SubmitTxResponse>> waiting = std::async(
      std::launch::async, [&] { return api.client->SubmitTx(tx, true, milliseconds(5'000)); });
  // The transaction must reach the mempool before the block is built from it.
  for (int i = 0; i < 500 && !api.backend->mempool().Contains(TxIdOf(tx)); ++i) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  REQUIRE(api.backend->mempool().Contains(TxIdOf(tx)));
  CHECK(waiting.wait_for(milliseconds(150)) == std::future_status::timeout);
  api.Append();
  const absl::StatusOr<proto::SubmitTxResponse> result = waiting.get();
  REQUIRE(result.ok());
  CHECK(result->committed());
  CHECK(result->height() == 1);
  CHECK(result->index() == 1);
  CHECK(result->tx_id() == ToString(TxIdOf(tx).span()));
}

TEST_CASE("SubmitTx with wait times out with DEADLINE_EXCEEDED naming the transaction",
          "[integration][api]") {
  Api api;
  const Bytes tx = api.Note(1);
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<proto::SubmitTxResponse> result =
      api.client->SubmitTx(tx, true, milliseconds(300));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(result.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(result.status().message() == "transaction " + TxIdOf(tx).ToHex() +
                                         " accepted but not committed within 300 ms");
  CHECK(elapsed >= milliseconds(300));
  CHECK(api.backend->mempool().Contains(TxIdOf(tx)));
}

TEST_CASE("GetTx, GetBlock and GetCommit return committed data as stored", "[integration][api]") {
  Api api;
  const Bytes tx = api.Note(1, "hello");
  REQUIRE(api.client->SubmitTx(tx, false).ok());
  api.Append();
  api.Append();

  absl::StatusOr<proto::GetTxResponse> got = api.client->GetTx(TxIdOf(tx));
  REQUIRE(got.ok());
  CHECK(got->signed_tx() == ToString(tx));
  CHECK(got->height() == 1);
  CHECK(got->index() == 0);
  absl::StatusOr<Bytes> block1 = api.backend->store().GetBlock(1);
  REQUIRE(block1.ok());
  const proto::Block decoded1 = *proto::DecodeBlock(*block1);
  CHECK(got->block_hash() == ToString(proto::BlockHash(AsBytes(decoded1.header())).span()));

  absl::StatusOr<proto::GetBlockResponse> block = api.client->GetBlock(1);
  REQUIRE(block.ok());
  CHECK(block->height() == 1);
  CHECK(block->block() == ToString(*block1));
  CHECK(block->block_hash() == got->block_hash());
  absl::StatusOr<proto::Commit> commit = proto::DecodeCommit(AsBytes(block->commit()));
  REQUIRE(commit.ok());
  CHECK(commit->height() == 1);
  CHECK(commit->block_hash() == block->block_hash());

  absl::StatusOr<proto::GetBlockResponse> head = api.client->GetBlock(0);
  REQUIRE(head.ok());
  CHECK(head->height() == 2);
  CHECK(head->block_hash() == ToString(api.backend->store().HeadBlockHash().span()));

  absl::StatusOr<proto::GetCommitResponse> commit2 = api.client->GetCommit(2);
  REQUIRE(commit2.ok());
  CHECK(commit2->commit() == ToString(*api.backend->store().GetCommit(2)));

  const absl::StatusOr<proto::GetBlockResponse> missing = api.client->GetBlock(3);
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(missing.status().message() == "no block at height 3 (head height 2)");
  CHECK(api.client->GetCommit(9).status().code() == absl::StatusCode::kNotFound);

  const Hash256 unknown = proto::TxId(ToBytes("never submitted"));
  const absl::StatusOr<proto::GetTxResponse> not_found = api.client->GetTx(unknown);
  CHECK(not_found.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(not_found.status().message()), Catch::Contains(unknown.ToHex()));
}

TEST_CASE("GetBlock on a chain without blocks is NOT_FOUND", "[integration][api]") {
  Api api;
  const absl::StatusOr<proto::GetBlockResponse> head = api.client->GetBlock(0);
  CHECK(head.status().code() == absl::StatusCode::kNotFound);
  CHECK(head.status().message() == "no block committed yet (head height 0)");
}

// Calls GetTx through a raw stub with `tx_id` and the metadata the test sets.
grpc::Status RawGetTx(const Api& api, const std::string& tx_id,
                      const std::function<void(const proto::GetTxRequest&, grpc::ClientContext*)>&
                          sign) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(api.server->address(), grpc::InsecureChannelCredentials());
  std::unique_ptr<proto::Node::Stub> stub = proto::Node::NewStub(channel);
  proto::GetTxRequest request;
  request.set_tx_id(tx_id);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + milliseconds(5'000));
  sign(request, &context);
  proto::GetTxResponse response;
  return stub->GetTx(&context, request, &response);
}

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_CASE("signed queries refuse every kind of bad signature over gRPC", "[integration][api]") {
  Api api;
  const Bytes tx = api.Note(1);
  REQUIRE(api.client->SubmitTx(tx, false).ok());
  api.Append();
  const std::string tx_id = ToString(TxIdOf(tx).span());

  SECTION("unsigned") {
    std::unique_ptr<ApiClient> anonymous = api.Connect(nullptr);
    const absl::StatusOr<proto::GetTxResponse> result = anonymous->GetTx(TxIdOf(tx));
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(result.status().message() == "request not signed: missing lading-member metadata");
    CHECK(anonymous->GetBlock(1).status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(anonymous->GetCommit(1).status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(anonymous->GetAccount("client-1").status().code() ==
          absl::StatusCode::kUnauthenticated);
    CHECK(anonymous->WatchBlocks(1, [](const proto::WatchBlocksResponse&) { return true; })
              .code() == absl::StatusCode::kUnauthenticated);
  }
  SECTION("not a member") {
    absl::StatusOr<crypto::MemberKeys> stranger = crypto::MemberKeys::Generate("stranger");
    REQUIRE(stranger.ok());
    std::unique_ptr<ApiClient> client = api.Connect(&*stranger);
    const absl::StatusOr<proto::GetTxResponse> result = client->GetTx(TxIdOf(tx));
    CHECK(result.status().code() == absl::StatusCode::kPermissionDenied);
    CHECK(result.status().message() == "member stranger is not a member of chain lading-test");
  }
  SECTION("the client's clock is off by more than the window") {
    std::unique_ptr<ApiClient> client = api.Connect(
        &api.client_keys, ApiClientOptions{.now_unix_ms = [] { return NowMs() - 300'000; }});
    const absl::StatusOr<proto::GetTxResponse> result = client->GetTx(TxIdOf(tx));
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK_THAT(std::string(result.status().message()),
               Catch::Contains("s away from the node's clock (window 120 s)"));
  }
  SECTION("a replayed request") {
    RequestSignature signature;
    const grpc::Status first =
        RawGetTx(api, tx_id, [&](const proto::GetTxRequest& request, grpc::ClientContext* context) {
          signature = SignRequest(api.client_keys, api.chain.chain_id(), kMethodGetTx, request,
                                  NowMs());
          AddRequestSignature(signature, context);
        });
    CHECK(first.ok());
    const grpc::Status replay = RawGetTx(
        api, tx_id, [&](const proto::GetTxRequest&, grpc::ClientContext* context) {
          AddRequestSignature(signature, context);
        });
    CHECK(replay.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK_THAT(replay.error_message(), Catch::StartsWith("request nonce ") &&
                                           Catch::Contains(" already used by member client-1"));
  }
  SECTION("a signature made for another method") {
    const grpc::Status result =
        RawGetTx(api, tx_id, [&](const proto::GetTxRequest& request, grpc::ClientContext* context) {
          AddRequestSignature(SignRequest(api.client_keys, api.chain.chain_id(), kMethodGetBlock,
                                          request, NowMs()),
                              context);
        });
    CHECK(result.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK_THAT(result.error_message(), Catch::StartsWith("request signature does not verify"));
  }
  SECTION("a malformed tx id in a well-signed request") {
    const grpc::Status result = RawGetTx(
        api, "short", [&](const proto::GetTxRequest& request, grpc::ClientContext* context) {
          AddRequestSignature(
              SignRequest(api.client_keys, api.chain.chain_id(), kMethodGetTx, request, NowMs()),
              context);
        });
    CHECK(result.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(result.error_message() == "tx_id is 5 bytes; expected 32");
  }
  SECTION("the same request signed properly") {
    const grpc::Status result =
        RawGetTx(api, tx_id, [&](const proto::GetTxRequest& request, grpc::ClientContext* context) {
          AddRequestSignature(
              SignRequest(api.client_keys, api.chain.chain_id(), kMethodGetTx, request, NowMs()),
              context);
        });
    CHECK(result.ok());
  }
}

// Collects WatchBlocks events on a thread of its own until `count` arrived or the stream ends.
struct Watcher {
  std::vector<uint64_t> heights;
  std::vector<std::string> hashes;
  std::mutex mutex;
  std::future<absl::Status> done;

  Watcher(ApiClient* client, uint64_t from_height, size_t count) {
    done = std::async(std::launch::async, [this, client, from_height, count] {
      return client->WatchBlocks(from_height, [this, count](const proto::WatchBlocksResponse& e) {
        std::lock_guard<std::mutex> lock(mutex);
        heights.push_back(e.height());
        hashes.push_back(e.block_hash());
        return heights.size() < count;
      });
    });
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return heights.size();
  }
  // Waits until `n` events arrived (or 5 s passed).
  bool WaitFor(size_t n) {
    for (int i = 0; i < 1000 && size() < n; ++i) std::this_thread::sleep_for(milliseconds(5));
    return size() >= n;
  }
};

TEST_CASE("WatchBlocks sends stored blocks, then new blocks as they commit", "[integration][api]") {
  Api api;
  api.Append();
  api.Append();
  Watcher watcher(api.client.get(), 1, 4);
  REQUIRE(watcher.WaitFor(2));
  api.Append();
  api.Append();
  REQUIRE(watcher.done.wait_for(milliseconds(5'000)) == std::future_status::ready);
  CHECK(watcher.done.get().ok());
  CHECK(watcher.heights == std::vector<uint64_t>{1, 2, 3, 4});
  for (uint64_t height = 1; height <= 4; ++height) {
    const proto::Block block = *proto::DecodeBlock(*api.backend->store().GetBlock(height));
    CHECK(watcher.hashes[height - 1] == ToString(proto::BlockHash(AsBytes(block.header())).span()));
  }
}

TEST_CASE("WatchBlocks from 0 starts at the next block, and a resumed watch misses nothing",
          "[integration][api]") {
  Api api;
  api.Append();
  std::vector<uint64_t> seen;
  {
    Watcher first(api.client.get(), 0, 2);
    // Nothing is sent for the block that was already committed.
    std::this_thread::sleep_for(milliseconds(100));
    CHECK(first.size() == 0);
    api.Append();
    api.Append();
    REQUIRE(first.done.wait_for(milliseconds(5'000)) == std::future_status::ready);
    CHECK(first.done.get().ok());
    seen = first.heights;
  }
  CHECK(seen == std::vector<uint64_t>{2, 3});
  // Blocks committed while no one watches.
  api.Append();
  api.Append();
  Watcher resumed(api.client.get(), seen.back() + 1, 3);
  REQUIRE(resumed.WaitFor(2));
  api.Append();
  REQUIRE(resumed.done.wait_for(milliseconds(5'000)) == std::future_status::ready);
  CHECK(resumed.heights == std::vector<uint64_t>{4, 5, 6});
}

TEST_CASE("Shutdown ends a running WatchBlocks stream and a SubmitTx wait promptly",
          "[integration][api]") {
  Api api;
  api.Append();
  Watcher watcher(api.client.get(), 1, 100);
  REQUIRE(watcher.WaitFor(1));
  std::future<absl::StatusOr<proto::SubmitTxResponse>> waiting = std::async(
      std::launch::async, [&] { return api.client->SubmitTx(api.Note(1), true, milliseconds(30'000)); });
  for (int i = 0; i < 500 && api.backend->mempool().size() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  const auto start = std::chrono::steady_clock::now();
  api.server->Shutdown();
  CHECK(std::chrono::steady_clock::now() - start < milliseconds(900));
  REQUIRE(watcher.done.wait_for(milliseconds(2'000)) == std::future_status::ready);
  const absl::Status ended = watcher.done.get();
  CHECK(ended.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(ended.message()), Catch::Contains("node API is shutting down"));
  REQUIRE(waiting.wait_for(milliseconds(2'000)) == std::future_status::ready);
  const absl::StatusOr<proto::SubmitTxResponse> submitted = waiting.get();
  CHECK(submitted.status().code() == absl::StatusCode::kUnavailable);
  api.server->Shutdown();  // idempotent
}

TEST_CASE("the node's StatusBoard shutdown ends a WatchBlocks stream", "[integration][api]") {
  Api api;
  Watcher watcher(api.client.get(), 0, 100);
  std::this_thread::sleep_for(milliseconds(50));
  api.backend->ShutdownBoard();
  REQUIRE(watcher.done.wait_for(milliseconds(2'000)) == std::future_status::ready);
  const absl::Status ended = watcher.done.get();
  CHECK(ended.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(ended.message()), Catch::Contains("node is shutting down"));
}

TEST_CASE("CancelWatch ends a watch with OK and frees its slot", "[integration][api]") {
  ApiServerOptions options;
  options.watch_streams_max = 1;
  Api api(options);
  Watcher watcher(api.client.get(), 0, 100);
  std::this_thread::sleep_for(milliseconds(100));
  // The one watch slot is taken.
  const absl::Status second =
      api.client->WatchBlocks(0, [](const proto::WatchBlocksResponse&) { return false; });
  CHECK(second.code() == absl::StatusCode::kResourceExhausted);
  CHECK(second.message() == "too many block watchers on this node (1); try again later");

  api.client->CancelWatch();
  REQUIRE(watcher.done.wait_for(milliseconds(2'000)) == std::future_status::ready);
  CHECK(watcher.done.get().ok());
  // The server notices the cancellation within one wait slice and frees the slot.
  api.Append();
  absl::Status third;
  for (int i = 0; i < 50; ++i) {
    third = api.client->WatchBlocks(1, [](const proto::WatchBlocksResponse&) { return false; });
    if (third.ok()) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  CHECK(third.ok());
}

}  // namespace
}  // namespace lading::node::api
