#include "node/p2p/asio_peer_transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/secure_channel.h"
#include "crypto/status.h"
#include "node/p2p/internal/dialer.h"
#include "node/p2p/internal/listener.h"
#include "node/p2p/internal/session.h"

namespace lading::node::p2p {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace internal {

// The transport's shared state: the peer table, the listener and the dialers, all touched only
// on strand_. Sessions report to it through SessionObserver from their own strands; those calls
// hop onto strand_.
class TransportCore : public SessionObserver, public std::enable_shared_from_this<TransportCore> {
 public:
  TransportCore(asio::io_context& io_context, std::shared_ptr<const SessionContext> context,
                PeerTransportConfig config, PeerTransportCallbacks callbacks)
      : io_context_(io_context),
        strand_(asio::make_strand(io_context)),
        context_(std::move(context)),
        config_(std::move(config)),
        callbacks_(std::move(callbacks)) {}

  // Binds the listener. Called once, before Start and before anything runs on strand_.
  absl::StatusOr<uint16_t> Listen() {
    std::weak_ptr<TransportCore> weak = weak_from_this();
    LADING_ASSIGN_OR_RETURN(listener_,
                            Listener::Bind(
                                io_context_, strand_, config_.listen_host, config_.listen_port,
                                [weak](tcp::socket socket) {
                                  if (auto core = weak.lock()) core->OnAccepted(std::move(socket));
                                },
                                context_->self_name));
    return listener_->port();
  }

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->DoStart(); });
  }

  void Send(const std::string& member_id, std::shared_ptr<const Bytes> payload) {
    asio::post(strand_, [self = shared_from_this(), member_id, payload = std::move(payload)] {
      self->DoSend(member_id, payload);
    });
  }

  void Broadcast(std::shared_ptr<const Bytes> payload) {
    asio::post(strand_, [self = shared_from_this(), payload = std::move(payload)] {
      for (const auto& [member_id, active] : self->active_) self->DoSend(member_id, payload);
    });
  }

  void Stop() {
    asio::post(strand_, [self = shared_from_this()] { self->DoStop(); });
  }

  const SessionContext& context() const { return *context_; }

  void OnSessionEstablished(std::shared_ptr<Session> session, const std::string& member_id,
                            const crypto::SigningPublicKey& peer_key) override {
    asio::post(strand_, [self = shared_from_this(), session = std::move(session), member_id,
                         peer_key] { self->RegisterEstablished(session, member_id, peer_key); });
  }

  void OnSessionClosed(std::shared_ptr<Session> session, const std::string& member_id) override {
    asio::post(strand_, [self = shared_from_this(), session = std::move(session), member_id] {
      self->Unregister(session, member_id);
    });
  }

 private:
  struct ActiveSession {
    std::weak_ptr<Session> session;
    SessionOrigin origin;
  };

  TransportCounters& counters() { return *context_->counters; }

  void DoStart() {
    if (stopped_) return;
    listener_->Start();
    const crypto::SigningPublicKey& own_key = context_->key->public_key();
    std::weak_ptr<TransportCore> weak = weak_from_this();
    for (const PeerAddress& peer : config_.peers_to_dial) {
      const auto member =
          std::find_if(context_->members.begin(), context_->members.end(),
                       [&](const auto& entry) { return entry.second == peer.member_id; });
      // Validated in PeerTransport::Create.
      LADING_CHECK(member != context_->members.end());
      Dialer::Options options{.delay_min = config_.reconnect_delay_min,
                              .delay_max = config_.reconnect_delay_max,
                              .defer_to_peer = member->first < own_key,
                              .self_name = context_->self_name,
                              .counters = context_->counters};
      const std::string member_id = peer.member_id;
      auto dialer = std::make_shared<Dialer>(io_context_, strand_, peer, std::move(options),
                                             [weak, member_id](tcp::socket socket) {
                                               if (auto core = weak.lock())
                                                 core->OnDialed(std::move(socket), member_id);
                                             });
      dialers_.emplace(peer.member_id, dialer);
      dialer->Start();
    }
  }

  void DoStop() {
    if (stopped_) return;
    stopped_ = true;
    spdlog::info("p2p {}: stopping ({} sessions open)", context_->self_name, sessions_.size());
    listener_->Stop();
    for (auto& [member_id, dialer] : dialers_) dialer->Stop();
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) session->Close();
    }
  }

  void OnAccepted(tcp::socket socket) {
    if (stopped_) return;
    if (sessions_.size() >= config_.sessions_max) {
      counters().connections_refused.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code error;
      const tcp::endpoint remote = socket.remote_endpoint(error);
      spdlog::warn("p2p {}: refusing a connection from {}: {} sessions already open",
                   context_->self_name, error ? "(unknown)" : remote.address().to_string(),
                   sessions_.size());
      socket.close(error);
      return;
    }
    counters().connections_accepted.fetch_add(1, std::memory_order_relaxed);
    AddSession(std::move(socket), SessionOrigin::kAccepted, std::string());
  }

  void OnDialed(tcp::socket socket, const std::string& member_id) {
    if (stopped_) return;
    AddSession(std::move(socket), SessionOrigin::kDialed, member_id);
  }

  void AddSession(tcp::socket socket, SessionOrigin origin, std::string dialed_member_id) {
    auto session = std::make_shared<Session>(std::move(socket), origin, std::move(dialed_member_id),
                                             context_, shared_from_this());
    sessions_.emplace(session.get(), session);
    session->Start();
  }

  void DoSend(const std::string& member_id, const std::shared_ptr<const Bytes>& payload) {
    const auto active = active_.find(member_id);
    std::shared_ptr<Session> session =
        active == active_.end() ? nullptr : active->second.session.lock();
    if (stopped_ || session == nullptr) {
      counters().messages_dropped_not_connected.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    session->Send(payload);
  }

  void RegisterEstablished(const std::shared_ptr<Session>& session, const std::string& member_id,
                           const crypto::SigningPublicKey& peer_key) {
    if (stopped_) {
      session->Close();
      return;
    }
    const auto active = active_.find(member_id);
    if (active == active_.end()) {
      active_.emplace(member_id, ActiveSession{session, session->origin()});
      counters().peers_connected.fetch_add(1, std::memory_order_relaxed);
      if (const auto dialer = dialers_.find(member_id); dialer != dialers_.end()) {
        dialer->second->OnPeerConnected();
      }
      if (callbacks_.on_peer_connected) callbacks_.on_peer_connected(member_id);
      return;
    }
    // A registered session stays alive until its OnSessionClosed has run here and removed it:
    // that call holds a reference.
    std::shared_ptr<Session> existing = active->second.session.lock();
    LADING_CHECK_MSG(existing != nullptr, "a registered session vanished without closing");

    // Both ends apply the same rule, so they keep the same connection: the one dialed by the
    // smaller static key. The same dialer twice means it reconnected and the older is stale.
    const crypto::SigningPublicKey& own_key = context_->key->public_key();
    const crypto::SigningPublicKey& preferred_dialer = std::min(own_key, peer_key);
    const auto dialer_of = [&](SessionOrigin origin) -> const crypto::SigningPublicKey& {
      return origin == SessionOrigin::kDialed ? own_key : peer_key;
    };
    const bool keep_new =
        existing->origin() == session->origin() || dialer_of(session->origin()) == preferred_dialer;
    counters().sessions_duplicate.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("p2p {}: two sessions with member '{}'; keeping the {} one ({})",
                 context_->self_name, member_id, keep_new ? "new" : "existing",
                 existing->origin() == session->origin() ? "same dialer: newer wins"
                                                         : "dialed by the smaller key");
    if (keep_new) {
      active->second = ActiveSession{session, session->origin()};
      existing->Drain();
    } else {
      session->Drain();
    }
  }

  void Unregister(const std::shared_ptr<Session>& session, const std::string& member_id) {
    sessions_.erase(session.get());
    if (!member_id.empty()) {
      const auto active = active_.find(member_id);
      if (active != active_.end() && active->second.session.lock() == session) {
        active_.erase(active);
        counters().peers_connected.fetch_sub(1, std::memory_order_relaxed);
        if (const auto dialer = dialers_.find(member_id); dialer != dialers_.end()) {
          dialer->second->OnPeerDisconnected();
        }
        if (callbacks_.on_peer_disconnected) callbacks_.on_peer_disconnected(member_id);
      }
    }
    if (session->origin() == SessionOrigin::kDialed) {
      if (const auto dialer = dialers_.find(session->dialed_member_id());
          dialer != dialers_.end()) {
        dialer->second->OnAttemptEnded();
      }
    }
  }

  asio::io_context& io_context_;
  TransportStrand strand_;
  const std::shared_ptr<const SessionContext> context_;
  const PeerTransportConfig config_;
  const PeerTransportCallbacks callbacks_;

  // Strand-only state.
  bool stopped_ = false;
  std::shared_ptr<Listener> listener_;
  std::map<std::string, std::shared_ptr<Dialer>> dialers_;
  // The session each connected member is reached through.
  std::map<std::string, ActiveSession> active_;
  // Every open session, authenticated or not, so Stop can close them. Keyed by address: an entry
  // is erased by the session's OnSessionClosed, which holds the session alive until then.
  std::map<const Session*, std::weak_ptr<Session>> sessions_;
};

}  // namespace internal

namespace {

absl::Status ValidateConfig(const PeerTransportConfig& config,
                            const crypto::SigningPublicKey& own_key) {
  if (config.chain_id.empty() || config.chain_id.size() > crypto::kChainIdBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("chain_id must be 1 .. ",
                                                   crypto::kChainIdBytesMax, " bytes, got ",
                                                   config.chain_id.size()));
  }
  std::set<std::string> member_ids;
  for (const auto& [key, member_id] : config.members) {
    if (member_id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("members: key ", key.ToHex(), " has an empty member id"));
    }
    if (!member_ids.insert(member_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("members: member id '", member_id, "' appears under two keys"));
    }
  }
  std::set<std::string> dialed;
  for (const PeerAddress& peer : config.peers_to_dial) {
    const auto member =
        std::find_if(config.members.begin(), config.members.end(),
                     [&](const auto& entry) { return entry.second == peer.member_id; });
    if (member == config.members.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("peers_to_dial: member '", peer.member_id,
                       "' is not in members, so it would be refused"));
    }
    if (member->first == own_key) {
      return absl::InvalidArgumentError(absl::StrCat("peers_to_dial: member '", peer.member_id,
                                                     "' is this node (same static key)"));
    }
    if (!dialed.insert(peer.member_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("peers_to_dial: member '", peer.member_id, "' is listed twice"));
    }
    if (peer.host.empty() || peer.port == 0) {
      return absl::InvalidArgumentError(absl::StrCat("peers_to_dial: member '", peer.member_id,
                                                     "' needs a host and a non-zero port, got '",
                                                     peer.host, ":", peer.port, "'"));
    }
  }
  if (config.handshake_timeout.count() <= 0 || config.drain_timeout.count() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "handshake_timeout (", config.handshake_timeout.count(), " ms) and drain_timeout (",
        config.drain_timeout.count(), " ms) must be positive"));
  }
  if (config.reconnect_delay_min.count() <= 0 ||
      config.reconnect_delay_max < config.reconnect_delay_min) {
    return absl::InvalidArgumentError(
        absl::StrCat("reconnect delays must satisfy 0 < min <= max, got min ",
                     config.reconnect_delay_min.count(), " ms, max ",
                     config.reconnect_delay_max.count(), " ms"));
  }
  if (config.payload_bytes_max == 0 ||
      config.payload_bytes_max > crypto::kFramePayloadBytesLimit - crypto::FrameCipher::kTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload_bytes_max must be 1 .. 2^32 - 17, got ", config.payload_bytes_max));
  }
  const size_t largest_frame =
      crypto::kFrameHeaderBytes + config.payload_bytes_max + crypto::FrameCipher::kTagBytes;
  if (config.write_queue_bytes_max < largest_frame) {
    return absl::InvalidArgumentError(
        absl::StrCat("write_queue_bytes_max ", config.write_queue_bytes_max,
                     " cannot hold one largest frame of ", largest_frame, " bytes"));
  }
  if (config.sessions_max == 0) {
    return absl::InvalidArgumentError("sessions_max must be at least 1");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PeerTransport>> PeerTransport::Create(
    asio::io_context& io_context, const crypto::SigningKey& key, PeerTransportConfig config,
    PeerTransportCallbacks callbacks) {
  const crypto::SigningPublicKey& own_key = key.public_key();
  LADING_RETURN_IF_ERROR(ValidateConfig(config, own_key));

  auto context = std::make_shared<internal::SessionContext>();
  context->key = &key;
  context->chain_id = config.chain_id;
  context->members = config.members;
  context->handshake_timeout = config.handshake_timeout;
  context->drain_timeout = config.drain_timeout;
  context->payload_bytes_max = config.payload_bytes_max;
  context->write_queue_bytes_max = config.write_queue_bytes_max;
  const auto self = config.members.find(own_key);
  context->self_name = self != config.members.end()
                           ? absl::StrCat("'", self->second, "'")
                           : absl::StrCat("key ", own_key.ToHex().substr(0, 16));
  context->on_message =
      callbacks.on_message ? std::move(callbacks.on_message) : [](const std::string&, ByteSpan) {};
  context->counters = std::make_shared<TransportCounters>();

  auto core = std::make_shared<internal::TransportCore>(io_context, std::move(context),
                                                        std::move(config), std::move(callbacks));
  LADING_ASSIGN_OR_RETURN(const uint16_t port, core->Listen());
  spdlog::info("p2p {}: listening on port {}", core->context().self_name, port);
  core->Start();
  return std::unique_ptr<PeerTransport>(new PeerTransport(std::move(core), port));
}

PeerTransport::~PeerTransport() { Stop(); }

void PeerTransport::Send(const std::string& member_id, Bytes payload) {
  if (payload.size() > core_->context().payload_bytes_max) {
    core_->context().counters->messages_dropped_too_large.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("p2p {}: dropping a {}-byte message for '{}': above the {}-byte cap",
                 core_->context().self_name, payload.size(), member_id,
                 core_->context().payload_bytes_max);
    return;
  }
  core_->Send(member_id, std::make_shared<const Bytes>(std::move(payload)));
}

void PeerTransport::Broadcast(Bytes payload) {
  if (payload.size() > core_->context().payload_bytes_max) {
    core_->context().counters->messages_dropped_too_large.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("p2p {}: dropping a {}-byte broadcast: above the {}-byte cap",
                 core_->context().self_name, payload.size(), core_->context().payload_bytes_max);
    return;
  }
  core_->Broadcast(std::make_shared<const Bytes>(std::move(payload)));
}

void PeerTransport::Stop() { core_->Stop(); }

const TransportCounters& PeerTransport::counters() const { return *core_->context().counters; }

}  // namespace lading::node::p2p
