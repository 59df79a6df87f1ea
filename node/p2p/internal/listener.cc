#include "node/p2p/internal/listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lading::node::p2p::internal {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
}  // namespace

absl::StatusOr<std::shared_ptr<Listener>> Listener::Bind(asio::io_context& io_context,
                                                         TransportStrand strand,
                                                         const std::string& host, uint16_t port,
                                                         OnAccepted on_accepted,
                                                         std::string self_name) {
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(host, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen host '", host, "' is not an IP address"));
  }
  auto listener = std::make_shared<Listener>(io_context, std::move(strand), std::move(on_accepted),
                                             std::move(self_name));
  const tcp::endpoint endpoint(address, port);
  const std::string where = absl::StrCat(host, ":", port);
  tcp::acceptor& acceptor = listener->acceptor_;
  if (acceptor.open(endpoint.protocol(), error)) {
    return absl::UnavailableError(
        absl::StrCat("cannot open a socket for ", where, ": ", error.message()));
  }
  acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot set SO_REUSEADDR on ", where, ": ", error.message()));
  }
  if (acceptor.bind(endpoint, error)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", error.message()));
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, error)) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", error.message()));
  }
  listener->port_ = acceptor.local_endpoint().port();
  return listener;
}

Listener::Listener(asio::io_context& io_context, TransportStrand strand, OnAccepted on_accepted,
                   std::string self_name)
    : io_context_(io_context),
      strand_(strand),
      acceptor_(strand),
      retry_timer_(strand),
      on_accepted_(std::move(on_accepted)),
      self_name_(std::move(self_name)) {}

void Listener::Start() { Accept(); }

void Listener::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
}

void Listener::Accept() {
  if (stopped_) return;
  // Each connection gets its own strand: the session's handlers then never need a lock.
  pending_.emplace(asio::make_strand(io_context_));
  acceptor_.async_accept(*pending_,
                         [self = shared_from_this()](const boost::system::error_code& error) {
                           self->OnAccept(error);
                         });
}

void Listener::OnAccept(const boost::system::error_code& error) {
  if (stopped_ || error == asio::error::operation_aborted) return;
  if (error) {
    spdlog::warn("p2p {}: accept failed: {}; retrying in {} ms", self_name_, error.message(),
                 kAcceptRetryDelay.count());
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& wait) {
      if (!wait) self->Accept();
    });
    return;
  }
  tcp::socket socket = std::move(*pending_);
  pending_.reset();
  on_accepted_(std::move(socket));
  Accept();
}

}  // namespace lading::node::p2p::internal
