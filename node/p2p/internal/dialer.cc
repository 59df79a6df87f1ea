#include "node/p2p/internal/dialer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/strand.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/status.h"

namespace lading::node::p2p::internal {

namespace asio = boost::asio;
using asio::ip::tcp;

Dialer::Dialer(asio::io_context& io_context, TransportStrand strand, PeerAddress peer,
               Options options, OnConnected on_connected)
    : io_context_(io_context),
      strand_(strand),
      peer_(std::move(peer)),
      options_(std::move(options)),
      on_connected_(std::move(on_connected)),
      resolver_(strand),
      retry_timer_(strand) {
  LADING_CHECK(options_.delay_min.count() > 0 && options_.delay_max >= options_.delay_min);
  LADING_CHECK(options_.counters != nullptr);
}

void Dialer::Start() { ScheduleAttempt(); }

void Dialer::OnPeerConnected() {
  peer_connected_ = true;
  next_delay_ = options_.delay_min;
  failures_in_a_row_ = 0;
  retry_pending_ = false;
  ++retry_generation_;
  retry_timer_.cancel();
}

void Dialer::OnPeerDisconnected() {
  peer_connected_ = false;
  ScheduleAttempt();
}

void Dialer::OnAttemptEnded() {
  attempt_active_ = false;
  ScheduleAttempt();
}

void Dialer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  retry_pending_ = false;
  ++retry_generation_;
  retry_timer_.cancel();
  resolver_.cancel();
  if (socket_) {
    boost::system::error_code ignored;
    socket_->close(ignored);
  }
}

void Dialer::ScheduleAttempt() {
  if (stopped_ || peer_connected_ || attempt_active_ || retry_pending_) return;
  const std::chrono::milliseconds delay =
      next_delay_ + (options_.defer_to_peer ? options_.delay_min : std::chrono::milliseconds(0));
  next_delay_ = std::clamp(next_delay_ * 2, options_.delay_min, options_.delay_max);
  retry_pending_ = true;
  const uint64_t generation = ++retry_generation_;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait(
      [self = shared_from_this(), generation](const boost::system::error_code& error) {
        if (error || generation != self->retry_generation_) return;
        self->retry_pending_ = false;
        self->Dial();
      });
}

void Dialer::Dial() {
  if (stopped_ || peer_connected_ || attempt_active_) return;
  attempt_active_ = true;
  options_.counters->dials_started.fetch_add(1, std::memory_order_relaxed);
  resolver_.async_resolve(peer_.host, std::to_string(peer_.port), tcp::resolver::numeric_service,
                          [self = shared_from_this()](const boost::system::error_code& error,
                                                      const tcp::resolver::results_type& results) {
                            self->OnResolved(error, results);
                          });
}

void Dialer::OnResolved(const boost::system::error_code& error,
                        const tcp::resolver::results_type& results) {
  if (stopped_) {
    attempt_active_ = false;
    return;
  }
  if (error) {
    AttemptFailed(absl::StrCat("cannot resolve ", peer_.host, ": ", error.message()));
    return;
  }
  // The session will run on this socket's own strand; the connect itself completes on ours.
  socket_.emplace(asio::make_strand(io_context_));
  asio::async_connect(
      *socket_, results,
      asio::bind_executor(strand_, [self = shared_from_this()](
                                       const boost::system::error_code& connect,
                                       const tcp::endpoint&) { self->OnConnect(connect); }));
}

void Dialer::OnConnect(const boost::system::error_code& error) {
  if (stopped_) {
    socket_.reset();
    attempt_active_ = false;
    return;
  }
  if (error) {
    socket_.reset();
    AttemptFailed(absl::StrCat("cannot connect: ", error.message()));
    return;
  }
  tcp::socket socket = std::move(*socket_);
  socket_.reset();
  on_connected_(std::move(socket));
}

void Dialer::AttemptFailed(const std::string& reason) {
  options_.counters->dial_failures.fetch_add(1, std::memory_order_relaxed);
  attempt_active_ = false;
  // The first failure is news; the rest of a streak (a peer that is down) would flood the log.
  if (failures_in_a_row_++ == 0) {
    spdlog::info("p2p {}: dialing member '{}' at {}:{}: {}; retrying with backoff",
                 options_.self_name, peer_.member_id, peer_.host, peer_.port, reason);
  } else {
    spdlog::debug("p2p {}: dialing member '{}' at {}:{}: {} ({} failures in a row)",
                  options_.self_name, peer_.member_id, peer_.host, peer_.port, reason,
                  failures_in_a_row_);
  }
  ScheduleAttempt();
}

}  // namespace lading::node::p2p::internal
