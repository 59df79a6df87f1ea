// HttpTestClient: a Boost.Beast HTTP client over one real TCP connection, for the HTTP server
// tests (header-only; never linked into the node).
//
// Every read is bounded by a timeout, so a server that misbehaves fails the test instead of
// hanging it. Not thread-safe: one client per test thread.
#ifndef LADING_NODE_HTTP_TESTING_HTTP_TEST_CLIENT_H_
#define LADING_NODE_HTTP_TESTING_HTTP_TEST_CLIENT_H_

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace lading::node::http::testing {

using HttpTestResponse = boost::beast::http::response<boost::beast::http::string_body>;

class HttpTestClient {
 public:
  // Connects to 127.0.0.1:port; the error, if any, is in connect_error().
  explicit HttpTestClient(uint16_t port) : stream_(io_context_) {
    stream_.socket().connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port),
        connect_error_);
  }

  const boost::system::error_code& connect_error() const { return connect_error_; }

  // Writes `bytes`; false when the server has closed the connection (or reset it).
  bool Send(std::string_view bytes) {
    boost::system::error_code error;
    boost::asio::write(stream_.socket(), boost::asio::buffer(bytes.data(), bytes.size()), error);
    return !error;
  }

  // Reads one response (headers only when `head`, as after a HEAD request). Returns the error
  // that ended the read, or success with the response in `response`.
  boost::system::error_code Read(HttpTestResponse* response, bool head = false,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.skip(head);
    parser.body_limit(1u << 24);
    boost::system::error_code result;
    stream_.expires_after(timeout);
    boost::beast::http::async_read(
        stream_, buffer_, parser,
        [&result](const boost::system::error_code& error, size_t) { result = error; });
    io_context_.restart();
    io_context_.run();
    if (!result) *response = parser.release();
    return result;
  }

  // Sends `request` and reads its response.
  boost::system::error_code Exchange(std::string_view request, HttpTestResponse* response,
                                     bool head = false) {
    if (!Send(request)) return boost::asio::error::broken_pipe;
    return Read(response, head);
  }

  // Reads and discards until the server closes the connection (true) or `timeout` passes
  // (false). Bytes read are appended to `data` when it is not null.
  bool WaitForClose(std::chrono::milliseconds timeout, std::string* data = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (data != nullptr) {
      data->append(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    }
    buffer_.consume(buffer_.size());
    while (true) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      stream_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
      boost::system::error_code result;
      size_t read = 0;
      stream_.async_read_some(boost::asio::buffer(chunk_),
                              [&](const boost::system::error_code& error, size_t bytes) {
                                result = error;
                                read = bytes;
                              });
      io_context_.restart();
      io_context_.run();
      if (data != nullptr) data->append(chunk_.data(), read);
      if (result == boost::beast::error::timeout) return false;
      if (result) return true;  // end of stream or reset: closed either way
    }
  }

  void Close() {
    boost::system::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  boost::asio::io_context io_context_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::array<char, 4096> chunk_;
  boost::system::error_code connect_error_;
};

}  // namespace lading::node::http::testing

#endif  // LADING_NODE_HTTP_TESTING_HTTP_TEST_CLIENT_H_
