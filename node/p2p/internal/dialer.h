// Dialer: keeps one configured peer of the PeerTransport (asio_peer_transport.h) dialed.
//
// While the peer has no session the dialer resolves and connects, hands the connected socket to
// the transport (which runs the handshake in a Session) and, when that attempt ends without a
// lasting session, tries again after a delay that starts at delay_min and doubles up to
// delay_max. Once the peer is connected (whichever side dialed) it rests, and the delay goes back
// to delay_min. A dialer that defers to the peer (the peer has the smaller static key, so the
// peer's dial is the one both sides keep) adds delay_min before every attempt, so that the
// preferred connection usually arrives first and no duplicate is made.
//
// Ownership: held by shared_ptr by the transport and by its pending operations.
// Thread-safety: every method, and on_connected, runs on the transport strand.
#ifndef LADING_NODE_P2P_INTERNAL_DIALER_H_
#define LADING_NODE_P2P_INTERNAL_DIALER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "node/p2p/asio_peer_transport.h"
#include "node/p2p/internal/listener.h"

namespace lading::node::p2p::internal {

class Dialer : public std::enable_shared_from_this<Dialer> {
 public:
  // Receives the connected socket; its executor is a new strand. The attempt stays open until
  // OnAttemptEnded().
  using OnConnected = std::function<void(boost::asio::ip::tcp::socket socket)>;

  struct Options {
    std::chrono::milliseconds delay_min{100};
    std::chrono::milliseconds delay_max{5000};
    bool defer_to_peer = false;
    std::string self_name;
    std::shared_ptr<TransportCounters> counters;
  };

  Dialer(boost::asio::io_context& io_context, TransportStrand strand, PeerAddress peer,
         Options options, OnConnected on_connected);
  Dialer(const Dialer&) = delete;
  Dialer& operator=(const Dialer&) = delete;

  const std::string& member_id() const { return peer_.member_id; }

  // First attempt: at once, or after delay_min when deferring to the peer.
  void Start();
  // The peer has a session (dialed by either side): rest and reset the delay.
  void OnPeerConnected();
  // The peer's last session closed: dial again after the current delay.
  void OnPeerDisconnected();
  // The session made from this dialer's socket closed (established or not).
  void OnAttemptEnded();
  // Cancels everything; no more attempts. Idempotent.
  void Stop();

 private:
  void ScheduleAttempt();
  void Dial();
  void OnResolved(const boost::system::error_code& error,
                  const boost::asio::ip::tcp::resolver::results_type& results);
  void OnConnect(const boost::system::error_code& error);
  void AttemptFailed(const std::string& reason);

  boost::asio::io_context& io_context_;
  TransportStrand strand_;
  const PeerAddress peer_;
  const Options options_;
  OnConnected on_connected_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer retry_timer_;
  std::optional<boost::asio::ip::tcp::socket> socket_;

  bool stopped_ = false;
  bool peer_connected_ = false;
  // From Dial() until the connect fails or the resulting session ends.
  bool attempt_active_ = false;
  bool retry_pending_ = false;
  // Tells a timer handler that was overtaken (cancelled or re-armed) to do nothing.
  uint64_t retry_generation_ = 0;
  // The wait before the next attempt (before the deferral is added).
  std::chrono::milliseconds next_delay_{0};
  uint64_t failures_in_a_row_ = 0;
};

}  // namespace lading::node::p2p::internal

#endif  // LADING_NODE_P2P_INTERNAL_DIALER_H_
