#include "node/http/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/status.h"

namespace lading::node::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace internal {

namespace {

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// After the last response on a connection the server half-closes and reads (and discards) what
// the client still sends, so that unread request bytes do not turn the close into a reset that
// destroys the response before the client has read it. Bounded in time and bytes.
constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr size_t kLingerBytesMax = 64 * 1024;

bool IsHttpParseError(const beast::error_code& error) {
  return error.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

}  // namespace

class Connection;

// The acceptor and the table of open connections, touched only on strand_.
class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(asio::io_context& io_context, HttpServer::Handler handler, HttpServerOptions options)
      : io_context_(io_context),
        strand_(asio::make_strand(io_context)),
        acceptor_(strand_),
        retry_timer_(strand_),
        handler_(std::move(handler)),
        options_(options) {}

  // Binds and listens. Called once, before Start and before anything runs on strand_.
  absl::StatusOr<uint16_t> Listen(const std::string& host, uint16_t port);

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Accept(); });
  }

  void Stop() {
    asio::post(strand_, [self = shared_from_this()] { self->DoStop(); });
  }

  // A connection has closed for good; `connection` stays alive (and its address unused) until
  // this has run.
  void OnConnectionClosed(std::shared_ptr<Connection> connection) {
    asio::post(strand_, [self = shared_from_this(), connection = std::move(connection)] {
      self->connections_.erase(connection.get());
      // Decremented here rather than in the connection so that the gauge never shows a free
      // slot the acceptor does not see yet.
      self->counters_.connections_open.fetch_sub(1, std::memory_order_relaxed);
    });
  }

  const HttpServer::Handler& handler() const { return handler_; }
  const HttpServerOptions& options() const { return options_; }
  HttpServerCounters& counters() { return counters_; }

 private:
  void Accept();
  void OnAccept(const beast::error_code& error);
  void DoStop();

  asio::io_context& io_context_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  // After an accept error (e.g. out of file descriptors) accepting resumes after a pause
  // instead of spinning.
  asio::steady_timer retry_timer_;
  const HttpServer::Handler handler_;
  const HttpServerOptions options_;
  HttpServerCounters counters_;

  // Strand-only state.
  bool stopped_ = false;
  std::optional<tcp::socket> pending_;
  std::map<const Connection*, std::weak_ptr<Connection>> connections_;
};

// One client connection, on its own strand: read a request header, answer, repeat or close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<ServerCore> core)
      : stream_(std::move(socket)),
        core_(std::move(core)),
        // Twice the header cap: one partial header plus what a read may bring after it.
        buffer_(2 * core_->options().header_bytes_max) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadRequest(); });
  }

  // Closes the connection; any pending operation completes with operation_aborted.
  void Close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Finish(); });
  }

 private:
  void ReadRequest() {
    if (finished_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(core_->options().header_bytes_max));
    stream_.expires_after(core_->options().read_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](const beast::error_code& error, size_t header_bytes) {
          self->OnRequestHeader(error, header_bytes);
        });
  }

  void OnRequestHeader(const beast::error_code& error, size_t header_bytes) {
    if (finished_) return;
    if (error == beast::error::timeout) {
      core_->counters().read_timeouts.fetch_add(1, std::memory_order_relaxed);
      Finish();
      return;
    }
    // Beast applies its header limit to the start line and to the fields separately, so the
    // exact cap on the whole header is checked here once it is complete.
    if (error == bhttp::error::header_limit || error == bhttp::error::buffer_overflow ||
        (!error && header_bytes > core_->options().header_bytes_max)) {
      Reject(bhttp::status::request_header_fields_too_large, "request header too large\n");
      return;
    }
    // end_of_stream: the client closed between requests; partial_message: in the middle of one.
    // Neither can read an answer.
    if (error == bhttp::error::end_of_stream || error == bhttp::error::partial_message) {
      Finish();
      return;
    }
    if (error && IsHttpParseError(error)) {
      Reject(bhttp::status::bad_request, "malformed request\n");
      return;
    }
    if (error) {
      Finish();
      return;
    }

    const auto& request = parser_->get();
    version_ = request.version();
    const bhttp::verb method = request.method();
    if (method != bhttp::verb::get && method != bhttp::verb::head) {
      Reject(bhttp::status::method_not_allowed, "only GET and HEAD are served\n");
      return;
    }
    if (!parser_->is_done()) {
      Reject(bhttp::status::payload_too_large, "GET and HEAD requests take no body\n");
      return;
    }

    HttpRequest http_request;
    http_request.method = method == bhttp::verb::get ? "GET" : "HEAD";
    const std::string_view target(request.target().data(), request.target().size());
    const size_t question = target.find('?');
    http_request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
      http_request.query = std::string(target.substr(question + 1));
    }
    const bool keep_alive = request.keep_alive();
    core_->counters().requests_handled.fetch_add(1, std::memory_order_relaxed);
    Respond(CallHandler(http_request), method == bhttp::verb::head, keep_alive);
  }

  HttpResponse CallHandler(const HttpRequest& request) {
    HttpResponse response;
    // The handler is project code and reports errors in its response; a throw here can only be
    // an allocation failure, which must cost one request rather than the process.
    try {
      response = core_->handler()(request);
    } catch (const std::exception& error) {
      spdlog::error("http: handler for {} {} threw: {}", request.method, request.path,
                    error.what());
      return HttpResponse{.status = 500, .body = "internal error\n"};
    }
    const int status = response.status;
    if (status < 200 || status > 599 || status == 204 || status == 304) {
      spdlog::error("http: handler for {} {} returned status {}, which cannot carry a body",
                    request.method, request.path, status);
      return HttpResponse{.status = 500, .body = "internal error\n"};
    }
    return response;
  }

  void Reject(bhttp::status status, std::string body) {
    core_->counters().requests_rejected.fetch_add(1, std::memory_order_relaxed);
    HttpResponse response{.status = static_cast<int>(status), .body = std::move(body)};
    Respond(response, /*head_only=*/false, /*keep_alive=*/false,
            status == bhttp::status::method_not_allowed);
  }

  void Respond(const HttpResponse& response, bool head_only, bool keep_alive,
               bool allow_header = false) {
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version_);
    message->set(bhttp::field::server, "ladingd");
    message->set(bhttp::field::content_type, response.content_type);
    message->set(bhttp::field::cache_control, "no-store");
    if (allow_header) message->set(bhttp::field::allow, "GET, HEAD");
    message->keep_alive(keep_alive);
    // HEAD: the headers a GET would get, without the body.
    message->content_length(response.body.size());
    if (!head_only) message->body() = response.body;
    stream_.expires_after(core_->options().read_timeout);
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep_alive](const beast::error_code& error, size_t) {
          self->OnResponseWritten(error, keep_alive);
        });
  }

  void OnResponseWritten(const beast::error_code& error, bool keep_alive) {
    if (finished_) return;
    if (error) {
      Finish();
      return;
    }
    if (keep_alive) {
      ReadRequest();
      return;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::min(kLingerTimeout, core_->options().read_timeout));
    Linger();
  }

  void Linger() {
    stream_.async_read_some(
        asio::buffer(linger_buffer_),
        [self = shared_from_this()](const beast::error_code& error, size_t bytes) {
          self->lingered_bytes_ += bytes;
          if (error || self->lingered_bytes_ > kLingerBytesMax || self->finished_) {
            self->Finish();
            return;
          }
          self->Linger();
        });
  }

  // The one way out: closes the socket and leaves the server's table. Idempotent.
  void Finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    core_->OnConnectionClosed(shared_from_this());
  }

  beast::tcp_stream stream_;
  const std::shared_ptr<ServerCore> core_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  // The version of the request being answered; 1.1 for a request too malformed to tell.
  unsigned version_ = 11;
  std::array<char, 4096> linger_buffer_;
  size_t lingered_bytes_ = 0;
  bool finished_ = false;
};

absl::StatusOr<uint16_t> ServerCore::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(host, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("http listen host '", host, "' is not an IP address"));
  }
  const tcp::endpoint endpoint(address, port);
  const std::string where = absl::StrCat(host, ":", port);
  if (acceptor_.open(endpoint.protocol(), error)) {
    return absl::UnavailableError(
        absl::StrCat("cannot open a socket for http on ", where, ": ", error.message()));
  }
  // A restarted node gets its port back while old connections linger in TIME_WAIT.
  acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot set SO_REUSEADDR for http on ", where, ": ", error.message()));
  }
  if (acceptor_.bind(endpoint, error) ||
      acceptor_.listen(asio::socket_base::max_listen_connections, error)) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for http on ", where, ": ", error.message()));
  }
  return acceptor_.local_endpoint().port();
}

void ServerCore::Accept() {
  if (stopped_) return;
  // Each connection gets its own strand: its handlers then never need a lock.
  pending_.emplace(asio::make_strand(io_context_));
  acceptor_.async_accept(*pending_, [self = shared_from_this()](const beast::error_code& error) {
    self->OnAccept(error);
  });
}

void ServerCore::OnAccept(const beast::error_code& error) {
  if (stopped_ || error == asio::error::operation_aborted) return;
  if (error) {
    spdlog::warn("http: accept failed: {}; retrying in {} ms", error.message(),
                 kAcceptRetryDelay.count());
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([self = shared_from_this()](const beast::error_code& wait) {
      if (!wait) self->Accept();
    });
    return;
  }
  tcp::socket socket = std::move(*pending_);
  pending_.reset();
  if (connections_.size() >= options_.connections_max) {
    counters_.connections_refused.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    const tcp::endpoint remote = socket.remote_endpoint(ignored);
    spdlog::warn("http: refusing a connection from {}: {} connections already open",
                 ignored ? "(unknown)" : remote.address().to_string(), connections_.size());
    socket.close(ignored);
  } else {
    counters_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    counters_.connections_open.fetch_add(1, std::memory_order_relaxed);
    auto connection = std::make_shared<Connection>(std::move(socket), shared_from_this());
    connections_.emplace(connection.get(), connection);
    connection->Start();
  }
  Accept();
}

void ServerCore::DoStop() {
  if (stopped_) return;
  stopped_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  for (auto& [raw, weak] : connections_) {
    if (auto connection = weak.lock()) connection->Close();
  }
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(asio::io_context& io_context,
                                                               const std::string& host,
                                                               uint16_t port, Handler handler,
                                                               HttpServerOptions options) {
  if (handler == nullptr) return absl::InvalidArgumentError("http server needs a handler");
  if (options.header_bytes_max == 0 || options.header_bytes_max > (1u << 20) ||
      options.read_timeout.count() <= 0 || options.connections_max == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http server options out of range: header_bytes_max ", options.header_bytes_max,
        " (1 .. 1048576), read_timeout ", options.read_timeout.count(),
        " ms (> 0), connections_max ", options.connections_max, " (> 0)"));
  }
  auto core = std::make_shared<internal::ServerCore>(io_context, std::move(handler), options);
  LADING_ASSIGN_OR_RETURN(const uint16_t bound_port, core->Listen(host, port));
  spdlog::info("http: listening on {}:{}", host, bound_port);
  core->Start();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(core), bound_port));
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() { core_->Stop(); }

const HttpServerCounters& HttpServer::counters() const { return core_->counters(); }

}  // namespace lading::node::http
