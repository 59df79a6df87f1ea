#include "node/api/client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "crypto/internal/strings.h"
#include "crypto/status.h"
#include "node/api/api_limits.h"
#include "node/api/request_auth.h"
#include "proto/ledger.h"

namespace lading::node::api {
namespace {

using ::lading::internal::StrCat;

// Headroom on a SubmitTx wait, so the node's own DEADLINE_EXCEEDED (naming the transaction)
// arrives before the call's deadline does.
constexpr std::chrono::milliseconds kWaitHeadroom{5'000};

}  // namespace

ApiClient::ApiClient(std::string address, const crypto::MemberKeys* signer,
                     ApiClientOptions options)
    : address_(std::move(address)), signer_(signer), options_(std::move(options)) {}

ApiClient::~ApiClient() = default;

absl::StatusOr<std::unique_ptr<ApiClient>> ApiClient::Connect(const std::string& address,
                                                              const crypto::MemberKeys* signer,
                                                              ApiClientOptions options) {
  if (address.empty()) return absl::InvalidArgumentError("node address is empty");
  std::unique_ptr<ApiClient> client(new ApiClient(address, signer, std::move(options)));
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(static_cast<int>(kApiResponseBytesMax));
  client->channel_ =
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
  client->stub_ = proto::Node::NewStub(client->channel_);
  LADING_ASSIGN_OR_RETURN(const proto::GetStatusResponse status, client->GetStatus());
  client->chain_id_ = status.chain_id();
  return client;
}

int64_t ApiClient::NowUnixMs() const {
  if (options_.now_unix_ms) return options_.now_unix_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ApiClient::Prepare(grpc::ClientContext* context, std::string_view method,
                        const google::protobuf::MessageLite& request,
                        std::chrono::milliseconds timeout, bool signed_request) const {
  if (timeout.count() > 0) context->set_deadline(std::chrono::system_clock::now() + timeout);
  if (signed_request && signer_ != nullptr) {
    AddRequestSignature(SignRequest(*signer_, chain_id_, method, request, NowUnixMs()), context);
  }
}

absl::Status ApiClient::FromGrpc(const grpc::Status& status) const {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  if (code == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(
        StrCat("node ", address_, " unavailable: ", status.error_message()));
  }
  if (code == absl::StatusCode::kDeadlineExceeded && status.error_message() == "Deadline Exceeded") {
    return absl::DeadlineExceededError(
        StrCat("node ", address_, " did not answer within the call deadline"));
  }
  return absl::Status(code, status.error_message());
}

template <typename Request, typename Response, typename Rpc>
absl::StatusOr<Response> ApiClient::Call(std::string_view method, const Request& request, Rpc rpc,
                                         std::chrono::milliseconds timeout, bool sign) {
  Response response;
  grpc::ClientContext context;
  Prepare(&context, method, request, timeout, sign);
  LADING_RETURN_IF_ERROR(FromGrpc((stub_.get()->*rpc)(&context, request, &response)));
  return response;
}

absl::StatusOr<proto::GetStatusResponse> ApiClient::GetStatus() {
  proto::GetStatusRequest request;
  return Call<proto::GetStatusRequest, proto::GetStatusResponse>(kMethodGetStatus, request,
      &proto::Node::Stub::GetStatus, options_.call_timeout, false);
}

absl::StatusOr<proto::SubmitTxResponse> ApiClient::SubmitTx(ByteSpan signed_tx,
                                                            bool wait_for_commit,
                                                            std::chrono::milliseconds wait_timeout) {
  proto::SubmitTxRequest request;
  request.set_signed_tx(ToString(signed_tx));
  request.set_wait_for_commit(wait_for_commit);
  std::chrono::milliseconds timeout = options_.call_timeout;
  if (wait_for_commit) {
    const std::chrono::milliseconds wait =
        std::min(wait_timeout.count() > 0 ? wait_timeout : kSubmitWaitDefault, kSubmitWaitMax);
    request.set_wait_timeout_ms(static_cast<uint32_t>(wait.count()));
    timeout += wait + kWaitHeadroom;
  }
  return Call<proto::SubmitTxRequest, proto::SubmitTxResponse>(kMethodSubmitTx, request,
      &proto::Node::Stub::SubmitTx, timeout, false);
}

absl::StatusOr<proto::GetTxResponse> ApiClient::GetTx(const Hash256& tx_id) {
  proto::GetTxRequest request;
  request.set_tx_id(ToString(tx_id.span()));
  return Call<proto::GetTxRequest, proto::GetTxResponse>(kMethodGetTx, request,
      &proto::Node::Stub::GetTx, options_.call_timeout, true);
}

absl::StatusOr<proto::GetBlockResponse> ApiClient::GetBlock(uint64_t height) {
  proto::GetBlockRequest request;
  request.set_height(height);
  return Call<proto::GetBlockRequest, proto::GetBlockResponse>(kMethodGetBlock, request,
      &proto::Node::Stub::GetBlock, options_.call_timeout, true);
}

absl::StatusOr<proto::GetCommitResponse> ApiClient::GetCommit(uint64_t height) {
  proto::GetCommitRequest request;
  request.set_height(height);
  return Call<proto::GetCommitRequest, proto::GetCommitResponse>(kMethodGetCommit, request,
      &proto::Node::Stub::GetCommit, options_.call_timeout, true);
}

absl::StatusOr<proto::GetAccountResponse> ApiClient::GetAccount(std::string_view member_id) {
  proto::GetAccountRequest request;
  request.set_member_id(std::string(member_id));
  return Call<proto::GetAccountRequest, proto::GetAccountResponse>(kMethodGetAccount, request,
      &proto::Node::Stub::GetAccount, options_.call_timeout, true);
}

absl::Status ApiClient::WatchBlocks(
    uint64_t from_height, const std::function<bool(const proto::WatchBlocksResponse&)>& on_block) {
  proto::WatchBlocksRequest request;
  request.set_from_height(from_height);
  grpc::ClientContext context;
  // A watch runs until cancelled: no deadline.
  Prepare(&context, kMethodWatchBlocks, request, std::chrono::milliseconds(0), true);
  {
    std::lock_guard<std::mutex> lock(watches_mutex_);
    watches_.insert(&context);
  }
  std::unique_ptr<grpc::ClientReader<proto::WatchBlocksResponse>> reader =
      stub_->WatchBlocks(&context, request);
  proto::WatchBlocksResponse event;
  bool stopped_by_caller = false;
  while (reader->Read(&event)) {
    if (!on_block(event)) {
      stopped_by_caller = true;
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  bool cancelled = false;
  {
    std::lock_guard<std::mutex> lock(watches_mutex_);
    cancelled = watches_.erase(&context) == 0;
  }
  if (stopped_by_caller || cancelled) return absl::OkStatus();
  return FromGrpc(status);
}

void ApiClient::CancelWatch() {
  std::lock_guard<std::mutex> lock(watches_mutex_);
  for (grpc::ClientContext* context : watches_) context->TryCancel();
  watches_.clear();
}

}  // namespace lading::node::api
