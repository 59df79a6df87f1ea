// HttpServer: a small HTTP/1.1 server on Boost.Beast for the node's read-only endpoints
// (/healthz, /metrics; DESIGN §7).
//
// It serves GET and HEAD only. Each connection reads one request header at a time (at most
// header_bytes_max bytes, start line included) within read_timeout, calls the handler, writes
// the response (HEAD: headers only, with the Content-Length the body would have) and, when the
// client asked for keep-alive, reads the next request; pipelined requests are answered in order.
// Anything else is answered and closed: a malformed request gets 400, an oversize header 431,
// another method 405, a request with a body 413. A client that sends nothing or too slowly is
// closed when read_timeout passes (an idle keep-alive connection too). Beyond connections_max
// open connections, new ones are closed at once. Every such case is counted in
// HttpServerCounters. A client never crashes the node.
//
// Roles (in http_server.cc): the server core owns the acceptor and the table of open
// connections on its strand; each connection runs on a strand of its own. No mutexes.
//
// Ownership: HttpServer borrows the io_context, which must outlive every handler of the server,
// i.e. destroy the server only after Stop() and after io_context.run() has returned (or the
// io_context has been destroyed). The server keeps its own copy of the request handler.
// Thread-safety: Stop, listen_port and counters may be called from any thread. The handler runs
// on the connection's strand, so with several threads running the io_context it may run
// concurrently for different connections: it must be thread-safe and should not block.
#ifndef LADING_NODE_HTTP_HTTP_SERVER_H_
#define LADING_NODE_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace lading::node::http {

namespace internal {
class ServerCore;
}  // namespace internal

struct HttpRequest {
  // "GET" or "HEAD".
  std::string method;
  // The request target up to '?', as sent (not percent-decoded), e.g. "/metrics".
  std::string path;
  // The request target after the first '?' ("" when there is none), as sent.
  std::string query;
};

struct HttpResponse {
  // An HTTP status code, 200 .. 599 except 204 and 304 (which cannot carry a body); anything
  // else is sent as 500 and logged.
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Monotonic counters (and the connections_open gauge). Relaxed atomics: read from any thread; a
// snapshot across fields is not atomic.
struct HttpServerCounters {
  std::atomic<uint64_t> connections_accepted{0};
  // Closed at once because connections_max connections were open.
  std::atomic<uint64_t> connections_refused{0};
  // Gauge: connections open now.
  std::atomic<uint64_t> connections_open{0};
  // Requests passed to the handler.
  std::atomic<uint64_t> requests_handled{0};
  // Requests answered 400, 405, 413 or 431 without reaching the handler.
  std::atomic<uint64_t> requests_rejected{0};
  // Connections closed because a request (or the next one) did not arrive within read_timeout.
  std::atomic<uint64_t> read_timeouts{0};
};

struct HttpServerOptions {
  // Largest request header, start line included; larger ones get 431.
  size_t header_bytes_max = 8 * 1024;
  // Time allowed for a whole request header to arrive (and for an idle keep-alive connection to
  // send its next request), and for a response to be written.
  std::chrono::milliseconds read_timeout{10'000};
  // Open connections; more are closed as soon as they are accepted.
  size_t connections_max = 64;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds host:port (synchronously, so a busy port is reported here; port 0 picks a free one)
  // and serves once `io_context` runs.
  // Errors: InvalidArgument when `host` is not an IP address, `handler` is empty or an option
  // is zero; Unavailable naming host:port when the address cannot be bound.
  // REQUIRES: `io_context` outlives the server and its handlers (see above).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(boost::asio::io_context& io_context,
                                                            const std::string& host, uint16_t port,
                                                            Handler handler,
                                                            HttpServerOptions options = {});

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Calls Stop().
  ~HttpServer();

  // The bound port (the chosen one when port was 0).
  uint16_t listen_port() const { return listen_port_; }

  // Closes the listener and every connection (a response being written is cut off). Idempotent.
  // Once the handlers finish, the server holds no more work, so io_context.run() returns if
  // nothing else keeps it busy.
  void Stop();

  const HttpServerCounters& counters() const;

 private:
  HttpServer(std::shared_ptr<internal::ServerCore> core, uint16_t listen_port)
      : core_(std::move(core)), listen_port_(listen_port) {}

  std::shared_ptr<internal::ServerCore> core_;
  uint16_t listen_port_;
};

}  // namespace lading::node::http

#endif  // LADING_NODE_HTTP_HTTP_SERVER_H_
