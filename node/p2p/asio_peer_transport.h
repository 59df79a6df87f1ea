// PeerTransport: the node's authenticated peer-to-peer links over TCP with Boost.Asio (DESIGN §7).
//
// Each link is one TCP connection that runs the crypto/secure_channel.h handshake (both sides
// prove their static Ed25519 member key; unknown identities are refused before anything is
// signed for them) and then carries length-prefixed ChaCha20-Poly1305 frames with per-direction
// counters. A connection that sends garbage, an oversize frame, a frame that fails
// authentication, an unknown identity, or no complete handshake within handshake_timeout is
// closed, logged (spdlog) and counted in TransportCounters. A peer never crashes the node.
//
// Roles (node/p2p/internal/): a Listener accepts, a Dialer per configured peer connects and
// reconnects with exponential backoff (reconnect_delay_min doubling to reconnect_delay_max, back
// to the minimum once the peer is connected), and a Session owns one connection: handshake, read
// loop (FrameDecoder + FrameCipher), bounded write queue. Each session runs on its own strand;
// the peer table, listener and dialers run on the transport's strand. No mutexes.
//
// One session per peer. When both sides dial each other, two authenticated sessions can exist
// for a moment; both ends keep the one dialed by the peer with the smaller static key (byte-wise)
// and drain the other: it stops taking new messages, flushes what it had queued, half-closes,
// and is closed when the peer has done the same (or after drain_timeout). When both sessions
// were dialed by the same side, the newer one replaces the older (the dialer reconnected, so the
// old one is stale). To make the race rare, the peer with the larger key waits an extra
// reconnect_delay_min before each dial. Messages are delivered at most once and, per session, in
// order; a message can be lost when a session closes, and one sent on a drained session may
// overtake later ones on its replacement (consensus tolerates both).
//
// Write queue: bounded by write_queue_bytes_max per session. A peer that does not read fast
// enough to keep its queue under the cap is closed (and counted in write_queue_overflows) rather
// than having messages silently dropped: the transport cannot tell which messages the protocol
// can afford to lose, and a reconnected peer catches up through block sync.
//
// Ownership: PeerTransport borrows the io_context and the signing key; both must outlive every
// handler of the transport, i.e. destroy the transport only after Stop() and after
// io_context.run() has returned (or the io_context has been destroyed).
// Thread-safety: Send, Broadcast, Stop, listen_port and counters may be called from any thread.
// Callbacks run on io_context threads: on_message on the sending peer's session strand (so the
// messages of one peer arrive one at a time, in order), on_peer_connected and
// on_peer_disconnected on the transport strand. With several threads running the io_context,
// callbacks for different peers can run concurrently. Because they run on different strands, a
// peer's first messages can arrive just before on_peer_connected for it. Callbacks must not
// block; they may call Send, Broadcast and Stop.
#ifndef LADING_NODE_P2P_ASIO_PEER_TRANSPORT_H_
#define LADING_NODE_P2P_ASIO_PEER_TRANSPORT_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/signing.h"
#include "proto/ledger.h"

namespace lading::node::p2p {

namespace internal {
class TransportCore;
}  // namespace internal

// Monotonic counters (and the peers_connected gauge) for metrics. All relaxed atomics: read them
// from any thread; a snapshot across fields is not atomic.
struct TransportCounters {
  std::atomic<uint64_t> connections_accepted{0};
  // Inbound connections closed at once because sessions_max sessions were open.
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> dials_started{0};
  // Resolve or connect failures (the peer is down or unreachable).
  std::atomic<uint64_t> dial_failures{0};
  std::atomic<uint64_t> handshakes_ok{0};
  // The peer's static key is not an allowed member (or is our own key).
  std::atomic<uint64_t> handshake_failures_unknown_identity{0};
  std::atomic<uint64_t> handshake_failures_timeout{0};
  // Malformed Hello, wrong version or chain id, bad ephemeral key, Auth that fails, a dialed
  // address answering with another member's key.
  std::atomic<uint64_t> handshake_failures_other{0};
  // A frame declaring a length above the cap (the handshake cap before authentication).
  std::atomic<uint64_t> frames_oversize{0};
  // A frame declaring length 0.
  std::atomic<uint64_t> frames_malformed{0};
  // An encrypted frame that does not authenticate: altered, replayed, reordered or dropped.
  std::atomic<uint64_t> frames_unauthenticated{0};
  // Authenticated sessions drained because another session to the same peer was kept.
  std::atomic<uint64_t> sessions_duplicate{0};
  std::atomic<uint64_t> sessions_closed{0};
  // Gauge: peers with an established session now.
  std::atomic<uint64_t> peers_connected{0};
  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> messages_out{0};
  std::atomic<uint64_t> messages_dropped_not_connected{0};
  std::atomic<uint64_t> messages_dropped_too_large{0};
  // Sessions closed because their write queue would have exceeded write_queue_bytes_max.
  std::atomic<uint64_t> write_queue_overflows{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

// A peer this node dials.
struct PeerAddress {
  std::string member_id;  // must be a value of PeerTransportConfig::members
  std::string host;       // IP address or host name
  uint16_t port = 0;
};

struct PeerTransportConfig {
  // 1 .. 255 bytes; both ends must agree.
  std::string chain_id;
  // IP address to listen on; port 0 picks a free port (see PeerTransport::listen_port()).
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  // Every identity allowed to connect: static Ed25519 key -> member id (unique ids). Our own key
  // may be present (a committee list includes us); a peer presenting it is refused.
  std::map<crypto::SigningPublicKey, std::string> members;
  // The peers this node dials and keeps dialing. A peer not listed here can still dial us.
  std::vector<PeerAddress> peers_to_dial;

  std::chrono::milliseconds handshake_timeout{5000};
  // How long a drained duplicate session may take to flush and see the peer's close.
  std::chrono::milliseconds drain_timeout{2000};
  std::chrono::milliseconds reconnect_delay_min{100};
  std::chrono::milliseconds reconnect_delay_max{5000};
  // Largest message payload, sent or received; bigger received frames close the session.
  size_t payload_bytes_max = proto::kPeerMessageBytesMax;
  // Bytes queued for one peer (encrypted frames not yet written) before the session is closed.
  size_t write_queue_bytes_max = 64u << 20;
  // Open sessions (authenticated or not); inbound connections beyond it are closed at once.
  size_t sessions_max = 256;
};

struct PeerTransportCallbacks {
  // An authenticated message from `member_id`. `payload` is valid only during the call.
  std::function<void(const std::string& member_id, ByteSpan payload)> on_message;
  // `member_id` now has a session (not called again when a duplicate replaces it).
  std::function<void(const std::string& member_id)> on_peer_connected;
  // `member_id` has no session any more.
  std::function<void(const std::string& member_id)> on_peer_disconnected;
};

class PeerTransport {
 public:
  // Validates `config`, binds and listens on listen_host:listen_port (synchronously, so a busy
  // port is reported here), and starts accepting and dialing once `io_context` runs. Missing
  // callbacks are treated as no-ops.
  // Errors: InvalidArgument for a bad config (the message names the field and value);
  // Unavailable when the listen address cannot be bound.
  // REQUIRES: `io_context` and `key` outlive the transport and its handlers (see above).
  static absl::StatusOr<std::unique_ptr<PeerTransport>> Create(boost::asio::io_context& io_context,
                                                               const crypto::SigningKey& key,
                                                               PeerTransportConfig config,
                                                               PeerTransportCallbacks callbacks);

  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;
  // Calls Stop().
  ~PeerTransport();

  // The bound port (the chosen one when listen_port was 0).
  uint16_t listen_port() const { return listen_port_; }

  // Queues `payload` for `member_id`. Dropped and counted when that peer has no session
  // (messages_dropped_not_connected) or the payload is larger than payload_bytes_max
  // (messages_dropped_too_large). Asynchronous: returns before anything is written.
  void Send(const std::string& member_id, Bytes payload);
  // Queues `payload` for every connected peer.
  void Broadcast(Bytes payload);

  // Closes the listener, the dialers and every session. Idempotent. Once the handlers finish,
  // the transport holds no more work, so io_context.run() returns if nothing else keeps it busy.
  void Stop();

  const TransportCounters& counters() const;

 private:
  PeerTransport(std::shared_ptr<internal::TransportCore> core, uint16_t listen_port)
      : core_(std::move(core)), listen_port_(listen_port) {}

  std::shared_ptr<internal::TransportCore> core_;
  uint16_t listen_port_;
};

}  // namespace lading::node::p2p

#endif  // LADING_NODE_P2P_ASIO_PEER_TRANSPORT_H_
