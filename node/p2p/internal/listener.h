// Listener: the PeerTransport's acceptor (asio_peer_transport.h). Binds the listen address and
// hands each accepted connection, on a strand of its own, to the transport.
//
// Ownership: held by shared_ptr (the transport and the pending accept both hold it).
// Thread-safety: Bind may run on any thread before the io_context runs the listener; Start, Stop
// and the on_accepted callback run on the transport strand given at Bind.
#ifndef LADING_NODE_P2P_INTERNAL_LISTENER_H_
#define LADING_NODE_P2P_INTERNAL_LISTENER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace lading::node::p2p::internal {

using TransportStrand = boost::asio::strand<boost::asio::io_context::executor_type>;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Receives each accepted connection; the socket's executor is a new strand.
  using OnAccepted = std::function<void(boost::asio::ip::tcp::socket socket)>;

  // Binds host:port (SO_REUSEADDR, so a restarted node gets its port back while old connections
  // linger in TIME_WAIT) and listens. Accepting starts with Start().
  // Errors: InvalidArgument when `host` is not an IP address; Unavailable when the address
  // cannot be bound or listened on (the message names it and the system's reason).
  static absl::StatusOr<std::shared_ptr<Listener>> Bind(boost::asio::io_context& io_context,
                                                        TransportStrand strand,
                                                        const std::string& host, uint16_t port,
                                                        OnAccepted on_accepted,
                                                        std::string self_name);

  Listener(boost::asio::io_context& io_context, TransportStrand strand, OnAccepted on_accepted,
           std::string self_name);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The bound port.
  uint16_t port() const { return port_; }
  // REQUIRES: on the transport strand.
  void Start();
  // Closes the acceptor; the pending accept completes with operation_aborted. Idempotent.
  // REQUIRES: on the transport strand.
  void Stop();

 private:
  void Accept();
  void OnAccept(const boost::system::error_code& error);

  boost::asio::io_context& io_context_;
  TransportStrand strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // After an accept error (e.g. out of file descriptors) accepting resumes after a pause
  // instead of spinning.
  boost::asio::steady_timer retry_timer_;
  std::optional<boost::asio::ip::tcp::socket> pending_;
  OnAccepted on_accepted_;
  std::string self_name_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace lading::node::p2p::internal

#endif  // LADING_NODE_P2P_INTERNAL_LISTENER_H_
