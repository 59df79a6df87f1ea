#include "node/p2p/internal/session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/status.h"

namespace lading::node::p2p::internal {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kReadChunkBytes = 64u << 10;

std::string RemoteOf(const tcp::socket& socket) {
  boost::system::error_code error;
  const tcp::endpoint endpoint = socket.remote_endpoint(error);
  if (error) return "(unknown address)";
  return absl::StrCat(endpoint.address().to_string(), ":", endpoint.port());
}

}  // namespace

Session::Session(tcp::socket socket, SessionOrigin origin, std::string dialed_member_id,
                 std::shared_ptr<const SessionContext> context,
                 std::shared_ptr<SessionObserver> observer)
    : socket_(std::move(socket)),
      deadline_(socket_.get_executor()),
      origin_(origin),
      dialed_member_id_(std::move(dialed_member_id)),
      remote_(RemoteOf(socket_)),
      context_(std::move(context)),
      observer_(std::move(observer)),
      decoder_(crypto::kHandshakeFrameBytesMax),
      read_buffer_(kReadChunkBytes) {
  LADING_CHECK(context_ != nullptr && observer_ != nullptr);
  // Consensus messages are small and latency-bound; Nagle would hold them back.
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
}

void Session::Start() {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->DoStart(); });
}

void Session::Send(std::shared_ptr<const Bytes> payload) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), payload = std::move(payload)] { self->DoSend(payload); });
}

void Session::Drain() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->DoDrain(); });
}

void Session::Close() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->CloseNow(CloseLevel::kInfo, "closed by this node");
  });
}

void Session::DoStart() {
  if (state_ != State::kCreated) return;
  const crypto::SigningKey& key = *context_->key;
  auto is_allowed = [context = context_](const crypto::SigningPublicKey& peer_key) {
    // Our own key is never a peer: a connection presenting it is a reflection or a misconfigured
    // twin, and either way not someone to talk to.
    return peer_key != context->key->public_key() && context->members.contains(peer_key);
  };
  auto handshake = origin_ == SessionOrigin::kDialed
                       ? crypto::Handshake::Initiator(key, context_->chain_id, is_allowed)
                       : crypto::Handshake::Responder(key, context_->chain_id, is_allowed);
  // The chain id was validated when the transport was created.
  LADING_CHECK_MSG(handshake.ok(), "handshake rejected a validated chain id");
  handshake_.emplace(std::move(*handshake));
  state_ = State::kHandshaking;
  Enqueue(handshake_->Start());
  deadline_.expires_after(context_->handshake_timeout);
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    self->OnDeadline(error);
  });
  ReadSome();
}

void Session::DoSend(const std::shared_ptr<const Bytes>& payload) {
  TransportCounters& counters = *context_->counters;
  if (state_ != State::kEstablished) {
    counters.messages_dropped_not_connected.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  absl::StatusOr<Bytes> sealed = channel_->sender.Seal(*payload);
  if (!sealed.ok()) {
    CloseNow(CloseLevel::kWarn, std::string(sealed.status().message()));
    return;
  }
  Bytes frame = crypto::EncodeFrame(*sealed);
  if (queued_bytes_ + frame.size() > context_->write_queue_bytes_max) {
    counters.write_queue_overflows.fetch_add(1, std::memory_order_relaxed);
    CloseNow(CloseLevel::kWarn,
             absl::StrCat("peer is not reading: its write queue would exceed ",
                          context_->write_queue_bytes_max, " bytes (", queued_bytes_,
                          " queued, next frame ", frame.size(), ")"));
    return;
  }
  counters.messages_out.fetch_add(1, std::memory_order_relaxed);
  Enqueue(std::move(frame));
}

void Session::DoDrain() {
  if (state_ != State::kEstablished) return;
  spdlog::info("p2p {}: draining duplicate {}", context_->self_name, Describe());
  drained_as_duplicate_ = true;
  BeginDrain();
}

void Session::BeginDrain() {
  state_ = State::kDraining;
  deadline_.expires_after(context_->drain_timeout);
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    self->OnDeadline(error);
  });
  if (!write_in_flight_) FinishDrainIfFlushed();
}

void Session::FinishDrainIfFlushed() {
  ShutdownSend();
  if (peer_send_closed_) {
    CloseNow(CloseLevel::kInfo,
             drained_as_duplicate_ ? "duplicate drained" : "peer closed the connection");
  }
}

void Session::ReadSome() {
  socket_.async_read_some(
      asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        self->OnRead(error, bytes);
      });
}

void Session::OnRead(const boost::system::error_code& error, size_t bytes) {
  if (state_ == State::kClosed) return;
  TransportCounters& counters = *context_->counters;
  if (error) {
    if (error == asio::error::eof &&
        (state_ == State::kEstablished || state_ == State::kDraining)) {
      // The peer sends no more, but may still read: it may be draining this session as a
      // duplicate. Flush what we queued before closing, so neither side loses frames.
      peer_send_closed_ = true;
      if (state_ == State::kEstablished) {
        BeginDrain();
      } else if (!write_in_flight_) {
        FinishDrainIfFlushed();
      }
    } else if (error == asio::error::eof) {
      CloseNow(CloseLevel::kInfo, "peer closed the connection during the handshake");
    } else {
      CloseNow(CloseLevel::kInfo, absl::StrCat("read failed: ", error.message()));
    }
    return;
  }
  counters.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
  std::vector<Bytes> frames;
  const absl::Status decoded = decoder_.Feed(ByteSpan(read_buffer_.data(), bytes), &frames);
  if (!decoded.ok()) {
    if (absl::IsResourceExhausted(decoded)) {
      counters.frames_oversize.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters.frames_malformed.fetch_add(1, std::memory_order_relaxed);
    }
    CloseNow(CloseLevel::kWarn, std::string(decoded.message()));
    return;
  }
  for (const Bytes& frame : frames) {
    if (!HandleFrame(frame)) return;
  }
  ReadSome();
}

bool Session::HandleFrame(const Bytes& frame) {
  TransportCounters& counters = *context_->counters;
  if (state_ == State::kHandshaking) {
    absl::StatusOr<Bytes> reply = handshake_->OnFrame(frame);
    if (!reply.ok()) {
      if (absl::IsPermissionDenied(reply.status())) {
        counters.handshake_failures_unknown_identity.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters.handshake_failures_other.fetch_add(1, std::memory_order_relaxed);
      }
      CloseNow(CloseLevel::kWarn, absl::StrCat("handshake failed: ", reply.status().message()));
      return false;
    }
    if (!reply->empty()) Enqueue(std::move(*reply));
    return handshake_->done() ? OnHandshakeDone() : true;
  }
  if (state_ != State::kEstablished && state_ != State::kDraining) return false;
  absl::StatusOr<Bytes> payload = channel_->receiver.Open(frame);
  if (!payload.ok()) {
    counters.frames_unauthenticated.fetch_add(1, std::memory_order_relaxed);
    CloseNow(CloseLevel::kWarn, std::string(payload.status().message()));
    return false;
  }
  counters.messages_in.fetch_add(1, std::memory_order_relaxed);
  context_->on_message(member_id_, *payload);
  return true;
}

bool Session::OnHandshakeDone() {
  absl::StatusOr<crypto::EstablishedChannel> channel = handshake_->Finish();
  LADING_CHECK_MSG(channel.ok(), "a done handshake did not hand over its channel");
  handshake_.reset();
  // is_allowed admitted only keys in `members`.
  const std::string& member_id = context_->members.at(channel->peer_static_key);
  if (origin_ == SessionOrigin::kDialed && member_id != dialed_member_id_) {
    context_->counters->handshake_failures_other.fetch_add(1, std::memory_order_relaxed);
    CloseNow(CloseLevel::kWarn,
             absl::StrCat("dialed member '", dialed_member_id_,
                          "' but the peer authenticated as member '", member_id, "'"));
    return false;
  }
  member_id_ = member_id;
  const crypto::SigningPublicKey peer_key = channel->peer_static_key;
  channel_.emplace(std::move(*channel));
  deadline_.cancel();
  decoder_.set_frame_bytes_max(context_->payload_bytes_max + crypto::FrameCipher::kTagBytes);
  state_ = State::kEstablished;
  context_->counters->handshakes_ok.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("p2p {}: authenticated {}", context_->self_name, Describe());
  observer_->OnSessionEstablished(shared_from_this(), member_id_, peer_key);
  return true;
}

void Session::OnDeadline(const boost::system::error_code& error) {
  // Cancelled (handshake done, drain finished, closed) or re-armed: nothing to do.
  if (error == asio::error::operation_aborted) return;
  if (deadline_.expiry() > std::chrono::steady_clock::now()) return;
  if (state_ == State::kHandshaking) {
    context_->counters->handshake_failures_timeout.fetch_add(1, std::memory_order_relaxed);
    CloseNow(CloseLevel::kWarn, absl::StrCat("no complete handshake within ",
                                             context_->handshake_timeout.count(), " ms"));
  } else if (state_ == State::kDraining) {
    CloseNow(CloseLevel::kInfo, "drain deadline passed before both sides finished");
  }
}

void Session::Enqueue(Bytes wire_bytes) {
  queued_bytes_ += wire_bytes.size();
  write_queue_.push_back(std::move(wire_bytes));
  if (!write_in_flight_) WriteQueued();
}

void Session::WriteQueued() {
  writing_.clear();
  std::vector<asio::const_buffer> buffers;
  while (!write_queue_.empty()) {
    writing_.push_back(std::move(write_queue_.front()));
    write_queue_.pop_front();
    buffers.emplace_back(asio::buffer(writing_.back()));
  }
  write_in_flight_ = true;
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](const boost::system::error_code& error,
                                                size_t bytes) { self->OnWrite(error, bytes); });
}

void Session::OnWrite(const boost::system::error_code& error, size_t bytes) {
  write_in_flight_ = false;
  if (state_ == State::kClosed) return;
  if (error) {
    CloseNow(CloseLevel::kInfo, absl::StrCat("write failed: ", error.message()));
    return;
  }
  context_->counters->bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  queued_bytes_ -= bytes;
  writing_.clear();
  if (!write_queue_.empty()) {
    WriteQueued();
  } else if (state_ == State::kDraining) {
    FinishDrainIfFlushed();
  }
}

void Session::ShutdownSend() {
  if (send_shut_down_) return;
  send_shut_down_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

void Session::CloseNow(CloseLevel level, const std::string& reason) {
  if (state_ == State::kClosed) return;
  const bool was_established = state_ == State::kEstablished || state_ == State::kDraining;
  state_ = State::kClosed;
  deadline_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // Session keys are zeroed as soon as they are useless, not when the last handler lets go.
  handshake_.reset();
  channel_.reset();
  write_queue_.clear();
  context_->counters->sessions_closed.fetch_add(1, std::memory_order_relaxed);
  if (level == CloseLevel::kWarn) {
    spdlog::warn("p2p {}: closing {}: {}", context_->self_name, Describe(), reason);
  } else {
    spdlog::info("p2p {}: closing {}: {}", context_->self_name, Describe(), reason);
  }
  observer_->OnSessionClosed(shared_from_this(), was_established ? member_id_ : std::string());
}

std::string Session::Describe() const {
  const char* direction = origin_ == SessionOrigin::kDialed ? "dialed" : "accepted";
  if (!member_id_.empty()) {
    return absl::StrCat(direction, " session with member '", member_id_, "' at ", remote_);
  }
  if (!dialed_member_id_.empty()) {
    return absl::StrCat(direction, " session to member '", dialed_member_id_, "' at ", remote_);
  }
  return absl::StrCat(direction, " session from ", remote_);
}

}  // namespace lading::node::p2p::internal
