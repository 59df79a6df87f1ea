#include "node/http/http_server.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "node/http/testing/http_test_client.h"

namespace lading::node::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::HttpTestClient;
using testing::HttpTestResponse;

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// An HttpServer on 127.0.0.1 with an io_context thread of its own. The default handler echoes
// what it was asked in the body and records every request.
class TestServer {
 public:
  explicit TestServer(HttpServerOptions options = {}, HttpServer::Handler handler = nullptr) {
    if (handler == nullptr) {
      handler = [this](const HttpRequest& request) {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        return HttpResponse{.status = request.path == "/missing" ? 404 : 200,
                            .content_type = "text/x-echo",
                            .body = request.method + " " + request.path + " ? " + request.query};
      };
    }
    auto server = HttpServer::Create(io_context_, "127.0.0.1", 0, std::move(handler), options);
    REQUIRE(server.ok());
    server_ = std::move(*server);
    thread_ = std::thread([this] { io_context_.run(); });
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() {
    server_->Stop();
    thread_.join();
  }

  uint16_t port() const { return server_->listen_port(); }
  const HttpServerCounters& counters() const { return server_->counters(); }
  HttpServer& server() { return *server_; }
  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  asio::io_context io_context_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<HttpRequest> requests_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_headers) + "\r\n";
}

TEST_CASE("the server passes method, path and query to the handler and sends its response",
          "[integration][http]") {
  TestServer server;
  HttpTestClient client(server.port());
  REQUIRE_FALSE(client.connect_error());
  HttpTestResponse response;
  REQUIRE_FALSE(client.Exchange(Get("/metrics?name=x&y"), &response));
  CHECK(response.result_int() == 200);
  CHECK(response[boost::beast::http::field::content_type] == "text/x-echo");
  CHECK(response.body() == "GET /metrics ? name=x&y");
  CHECK(response.keep_alive());

  REQUIRE_FALSE(client.Exchange(Get("/missing"), &response));
  CHECK(response.result_int() == 404);
  CHECK(response.body() == "GET /missing ? ");
  CHECK(server.requests().size() == 2);
  CHECK(server.counters().connections_accepted == 1);  // both on one kept-alive connection
  CHECK(server.counters().requests_handled == 2);
}

TEST_CASE("HEAD gets the headers a GET would get and no body", "[integration][http]") {
  TestServer server;
  HttpTestClient client(server.port());
  HttpTestResponse response;
  REQUIRE_FALSE(client.Exchange("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n", &response, /*head=*/true));
  CHECK(response.result_int() == 200);
  CHECK(response[boost::beast::http::field::content_length] == "10");  // "HEAD /x ? "
  CHECK(response.body().empty());
  // The connection is still in step: the next response is read whole.
  REQUIRE_FALSE(client.Exchange(Get("/y"), &response));
  CHECK(response.body() == "GET /y ? ");
}

TEST_CASE("methods other than GET and HEAD get 405 without reaching the handler",
          "[integration][http]") {
  TestServer server;
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    CAPTURE(method);
    HttpTestClient client(server.port());
    HttpTestResponse response;
    REQUIRE_FALSE(
        client.Exchange(std::string(method) + " /x HTTP/1.1\r\nHost: h\r\n\r\n", &response));
    CHECK(response.result_int() == 405);
    CHECK(response[boost::beast::http::field::allow] == "GET, HEAD");
    CHECK_FALSE(response.keep_alive());
    CHECK(client.WaitForClose(5s));
  }
  CHECK(server.requests().empty());
  CHECK(server.counters().requests_rejected == 5);
}

TEST_CASE("a GET with a body gets 413, one with an empty body is served", "[integration][http]") {
  TestServer server;
  {
    HttpTestClient client(server.port());
    HttpTestResponse response;
    REQUIRE_FALSE(client.Exchange(Get("/x", "Content-Length: 0\r\n"), &response));
    CHECK(response.result_int() == 200);
  }
  for (const std::string body_headers :
       {"Content-Length: 5\r\n\r\nhello",
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"}) {
    HttpTestClient client(server.port());
    HttpTestResponse response;
    REQUIRE_FALSE(client.Exchange("GET /x HTTP/1.1\r\nHost: h\r\n" + body_headers, &response));
    CHECK(response.result_int() == 413);
    CHECK(client.WaitForClose(5s));
  }
  CHECK(server.requests().size() == 1);
}

TEST_CASE("a request header above the cap gets 431, one just under it is served",
          "[integration][http]") {
  TestServer server;
  const std::string request_start = "GET /x HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const auto request_of_size = [&](size_t bytes) {
    return request_start + std::string(bytes - request_start.size() - 4, 'a') + "\r\n\r\n";
  };
  {
    HttpTestClient client(server.port());
    HttpTestResponse response;
    REQUIRE_FALSE(client.Exchange(request_of_size(8 * 1024), &response));
    CHECK(response.result_int() == 200);
  }
  for (const size_t bytes : {8 * 1024 + 1, 64 * 1024}) {
    CAPTURE(bytes);
    HttpTestClient client(server.port());
    HttpTestResponse response;
    REQUIRE_FALSE(client.Exchange(request_of_size(bytes), &response));
    CHECK(response.result_int() == 431);
    CHECK(client.WaitForClose(5s));
  }
  CHECK(server.requests().size() == 1);
}

TEST_CASE("random bytes get 400 or a closed connection, and the server keeps serving",
          "[integration][http]") {
  TestServer server;
  std::mt19937 random(20240501);
  for (int trial = 0; trial < 40; ++trial) {
    CAPTURE(trial);
    std::string garbage(1 + random() % 3000, '\0');
    for (char& c : garbage) c = static_cast<char>(random());
    if (trial % 4 == 0) garbage = "GET " + garbage;  // get past the method more often
    garbage += "\r\n\r\n";
    HttpTestClient client(server.port());
    client.Send(garbage);
    std::string answer;
    CHECK(client.WaitForClose(5s, &answer));
    if (!answer.empty()) CHECK(answer.rfind("HTTP/1.1 4", 0) == 0);
  }
  HttpTestClient client(server.port());
  HttpTestResponse response;
  REQUIRE_FALSE(client.Exchange(Get("/after"), &response));
  CHECK(response.body() == "GET /after ? ");
}

TEST_CASE("a malformed request line gets 400", "[integration][http]") {
  TestServer server;
  HttpTestClient client(server.port());
  HttpTestResponse response;
  REQUIRE_FALSE(client.Exchange("GET /x HTTX/1.1\r\n\r\n", &response));
  CHECK(response.result_int() == 400);
  CHECK(client.WaitForClose(5s));
  CHECK(server.counters().requests_rejected == 1);
}

TEST_CASE("a slowloris client is closed when the read timeout passes", "[integration][http]") {
  TestServer server(HttpServerOptions{.read_timeout = 300ms});
  HttpTestClient client(server.port());
  const std::string request = Get("/slow");
  const auto start = std::chrono::steady_clock::now();
  // One byte every 50 ms would take about 1.3 s for the whole request.
  bool closed = false;
  for (const char c : request) {
    if (!client.Send(std::string(1, c))) {
      closed = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
    if (std::chrono::steady_clock::now() - start > 2s) break;
  }
  if (!closed) CHECK(client.WaitForClose(5s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 2s);
  CHECK(server.requests().empty());
  CHECK(WaitUntil([&] { return server.counters().read_timeouts == 1; }));
}

TEST_CASE("an idle kept-alive connection is closed after the read timeout", "[integration][http]") {
  TestServer server(HttpServerOptions{.read_timeout = 300ms});
  HttpTestClient client(server.port());
  HttpTestResponse response;
  REQUIRE_FALSE(client.Exchange(Get("/once"), &response));
  const auto start = std::chrono::steady_clock::now();
  CHECK(client.WaitForClose(5s));
  CHECK(std::chrono::steady_clock::now() - start >= 250ms);
}

TEST_CASE("pipelined requests are answered in order", "[integration][http]") {
  TestServer server;
  HttpTestClient client(server.port());
  REQUIRE(client.Send(Get("/first?1") + "HEAD /second HTTP/1.1\r\nHost: h\r\n\r\n" +
                      Get("/third", "Connection: close\r\n")));
  HttpTestResponse response;
  REQUIRE_FALSE(client.Read(&response));
  CHECK(response.body() == "GET /first ? 1");
  REQUIRE_FALSE(client.Read(&response, /*head=*/true));
  CHECK(response.body().empty());
  CHECK(response[boost::beast::http::field::content_length] == "15");
  REQUIRE_FALSE(client.Read(&response));
  CHECK(response.body() == "GET /third ? ");
  CHECK_FALSE(response.keep_alive());
  CHECK(client.WaitForClose(5s));
}

TEST_CASE("HTTP/1.0 requests are answered and closed unless they ask for keep-alive",
          "[integration][http]") {
  TestServer server;
  {
    HttpTestClient client(server.port());
    HttpTestResponse response;
    REQUIRE_FALSE(client.Exchange("GET /old HTTP/1.0\r\n\r\n", &response));
    CHECK(response.version() == 10);
    CHECK(response.body() == "GET /old ? ");
    CHECK(client.WaitForClose(5s));
  }
  HttpTestClient client(server.port());
  HttpTestResponse response;
  REQUIRE_FALSE(client.Exchange("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &response));
  REQUIRE_FALSE(client.Exchange("GET /again HTTP/1.0\r\n\r\n", &response));
  CHECK(response.body() == "GET /again ? ");
}

TEST_CASE("connections beyond the cap are closed at once and counted", "[integration][http]") {
  TestServer server(HttpServerOptions{.connections_max = 2});
  auto first = std::make_unique<HttpTestClient>(server.port());
  HttpTestClient second(server.port());
  REQUIRE(WaitUntil([&] { return server.counters().connections_open == 2; }));

  HttpTestClient third(server.port());
  CHECK(third.WaitForClose(5s));
  CHECK(server.counters().connections_refused == 1);

  // The open ones are still served, and a freed slot is taken again.
  HttpTestResponse response;
  REQUIRE_FALSE(second.Exchange(Get("/still"), &response));
  CHECK(response.result_int() == 200);
  first.reset();
  REQUIRE(WaitUntil([&] { return server.counters().connections_open == 1; }));
  HttpTestClient fourth(server.port());
  REQUIRE_FALSE(fourth.Exchange(Get("/again"), &response));
  CHECK(response.result_int() == 200);
  CHECK(server.counters().connections_refused == 1);
}

TEST_CASE("a handler status that cannot carry a body becomes 500", "[integration][http]") {
  std::atomic<int> status = 0;
  TestServer server({}, [&status](const HttpRequest&) {
    return HttpResponse{.status = status.load(), .body = "x"};
  });
  for (const int bad : {0, 101, 204, 304, 600}) {
    CAPTURE(bad);
    status = bad;
    HttpTestClient client(server.port());
    HttpTestResponse response;
    REQUIRE_FALSE(client.Exchange(Get("/"), &response));
    CHECK(response.result_int() == 500);
  }
  status = 503;
  HttpTestClient client(server.port());
  HttpTestResponse response;
  REQUIRE_FALSE(client.Exchange(Get("/"), &response));
  CHECK(response.result_int() == 503);
}

TEST_CASE("Stop closes open connections and lets the io_context finish", "[integration][http]") {
  asio::io_context io_context;
  auto server = HttpServer::Create(io_context, "127.0.0.1", 0,
                                   [](const HttpRequest&) { return HttpResponse{}; });
  REQUIRE(server.ok());
  std::thread runner([&] { io_context.run(); });
  HttpTestClient idle((*server)->listen_port());
  REQUIRE(WaitUntil([&] { return (*server)->counters().connections_open == 1; }));
  (*server)->Stop();
  (*server)->Stop();
  CHECK(idle.WaitForClose(5s));
  runner.join();  // returns only when the server holds no more work
  CHECK((*server)->counters().connections_open == 0);
  HttpTestClient refused((*server)->listen_port());
  CHECK(refused.connect_error());
}

TEST_CASE("a busy port is reported as Unavailable naming the address", "[integration][http]") {
  asio::io_context io_context;
  const auto handler = [](const HttpRequest&) { return HttpResponse{}; };
  auto first = HttpServer::Create(io_context, "127.0.0.1", 0, handler);
  REQUIRE(first.ok());
  const uint16_t port = (*first)->listen_port();
  auto second = HttpServer::Create(io_context, "127.0.0.1", port, handler);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(second.status().message())
            .find("cannot listen for http on 127.0.0.1:" + std::to_string(port)) == 0);
}

TEST_CASE("a bad host, an empty handler or zero options are refused", "[integration][http]") {
  asio::io_context io_context;
  const auto handler = [](const HttpRequest&) { return HttpResponse{}; };
  auto bad_host = HttpServer::Create(io_context, "localhost", 0, handler);
  CHECK(bad_host.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad_host.status().message() == "http listen host 'localhost' is not an IP address");
  CHECK(HttpServer::Create(io_context, "127.0.0.1", 0, nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  for (const HttpServerOptions& options :
       {HttpServerOptions{.header_bytes_max = 0}, HttpServerOptions{.read_timeout = 0ms},
        HttpServerOptions{.connections_max = 0}}) {
    CHECK(HttpServer::Create(io_context, "127.0.0.1", 0, handler, options).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace lading::node::http
