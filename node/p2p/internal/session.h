// Session: one peer TCP connection of the PeerTransport (asio_peer_transport.h): handshake under a
// deadline, then a read loop (FrameDecoder + FrameCipher) delivering messages, and a bounded
// write queue of sealed frames.
//
// Ownership: a Session is held by shared_ptr; its pending handlers keep it alive, the transport
// keeps only weak references. It holds its SessionObserver (the transport core) and the shared
// SessionContext alive.
// Thread-safety: the public methods may be called from any thread; they post to the session's
// strand (the socket's executor), the only place its state is touched.
#ifndef LADING_NODE_P2P_INTERNAL_SESSION_H_
#define LADING_NODE_P2P_INTERNAL_SESSION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/bytes.h"
#include "crypto/secure_channel.h"
#include "crypto/signing.h"
#include "node/p2p/asio_peer_transport.h"

namespace lading::node::p2p::internal {

// What every session of one transport shares; immutable after construction except the counters.
struct SessionContext {
  const crypto::SigningKey* key = nullptr;  // borrowed from the transport's creator
  std::string chain_id;
  std::map<crypto::SigningPublicKey, std::string> members;
  std::chrono::milliseconds handshake_timeout{0};
  std::chrono::milliseconds drain_timeout{0};
  size_t payload_bytes_max = 0;
  size_t write_queue_bytes_max = 0;
  // For log lines: who we are.
  std::string self_name;
  std::function<void(const std::string& member_id, ByteSpan payload)> on_message;
  std::shared_ptr<TransportCounters> counters;
};

class Session;

enum class SessionOrigin { kDialed, kAccepted };

// Told about a session's life; implemented by the transport core. Called on the session's strand.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  // The handshake completed: the peer is `member_id` with `peer_key`.
  virtual void OnSessionEstablished(std::shared_ptr<Session> session, const std::string& member_id,
                                    const crypto::SigningPublicKey& peer_key) = 0;
  // The session closed. `member_id` is empty when it never completed its handshake. Called
  // exactly once per started session.
  virtual void OnSessionClosed(std::shared_ptr<Session> session, const std::string& member_id) = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `socket` is connected and bound to a strand of its own. For a dialed session
  // `dialed_member_id` is the member we meant to reach; a peer answering with another
  // member's key is refused.
  Session(boost::asio::ip::tcp::socket socket, SessionOrigin origin, std::string dialed_member_id,
          std::shared_ptr<const SessionContext> context, std::shared_ptr<SessionObserver> observer);

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Sends our Hello, arms the handshake deadline and starts reading.
  void Start();
  // Seals and queues `payload`; dropped (and counted) unless the session is established.
  void Send(std::shared_ptr<const Bytes> payload);
  // Stops taking messages, flushes the queue, half-closes, and closes once the peer has
  // half-closed too or drain_timeout passed. No effect unless established.
  void Drain();
  // Closes at once.
  void Close();

  // Immutable, so safe from any thread.
  SessionOrigin origin() const { return origin_; }
  const std::string& dialed_member_id() const { return dialed_member_id_; }
  const std::string& remote() const { return remote_; }

 private:
  enum class State { kCreated, kHandshaking, kEstablished, kDraining, kClosed };
  enum class CloseLevel { kInfo, kWarn };

  void DoStart();
  void DoSend(const std::shared_ptr<const Bytes>& payload);
  void DoDrain();
  // Established -> draining: no more sends; flush, half-close, close when the peer has too.
  void BeginDrain();
  void FinishDrainIfFlushed();
  void ReadSome();
  void OnRead(const boost::system::error_code& error, size_t bytes);
  // False when the frame closed the session.
  bool HandleFrame(const Bytes& frame);
  bool OnHandshakeDone();
  void OnDeadline(const boost::system::error_code& error);
  void Enqueue(Bytes wire_bytes);
  void WriteQueued();
  void OnWrite(const boost::system::error_code& error, size_t bytes);
  void ShutdownSend();
  void CloseNow(CloseLevel level, const std::string& reason);
  std::string Describe() const;

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  const SessionOrigin origin_;
  const std::string dialed_member_id_;
  const std::string remote_;
  const std::shared_ptr<const SessionContext> context_;
  const std::shared_ptr<SessionObserver> observer_;

  // Strand-only state.
  State state_ = State::kCreated;
  std::optional<crypto::Handshake> handshake_;
  std::optional<crypto::EstablishedChannel> channel_;
  crypto::FrameDecoder decoder_;
  std::string member_id_;
  std::vector<uint8_t> read_buffer_;
  std::deque<Bytes> write_queue_;
  // Frames handed to async_write; kept alive until its handler runs.
  std::vector<Bytes> writing_;
  bool write_in_flight_ = false;
  // Queued plus in-flight bytes, checked against write_queue_bytes_max.
  size_t queued_bytes_ = 0;
  bool send_shut_down_ = false;
  // The peer half-closed (we read EOF after the handshake).
  bool peer_send_closed_ = false;
  // The transport asked us to drain because another session to the peer was kept.
  bool drained_as_duplicate_ = false;
};

}  // namespace lading::node::p2p::internal

#endif  // LADING_NODE_P2P_INTERNAL_SESSION_H_
