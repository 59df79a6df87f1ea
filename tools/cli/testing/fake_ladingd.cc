// fake_ladingd: a stand-in for ladingd that lets cli_testnet_test drive `lading testnet start`
// and `stop` without a real node. A test helper only, never installed.
//
//   fake_ladingd --config DIR/nodeK/node.toml
//
// Loads the config with node::LoadNodeConfig (exit 1 on error) and serves GET /healthz on
// http.listen until SIGTERM or SIGINT (exit 0), answering 200 with
//   {"status":"serving","chain_id":"fake","member_id":"<member>","height":1,...,
//    "peers_connected":<peers>,"peers_configured":<peers>,"syncing":false}
// Every other target gets 404. Environment switches for negative tests:
//   LADING_FAKE_LADINGD_EXIT=<member id>  that member's process exits at once with status 3
//   LADING_FAKE_LADINGD_STARTING=1        answer 503 {"status":"starting",...} forever
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "node/config.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct Reply {
  bool starting = false;
  std::string member_id;
  size_t peers = 0;

  std::string Body() const {
    return std::string("{\"status\":\"") + (starting ? "starting" : "serving") +
           "\",\"chain_id\":\"fake\",\"member_id\":\"" + member_id +
           "\",\"height\":" + (starting ? "0" : "1") +
           ",\"consensus_height\":" + (starting ? "1" : "2") +
           ",\"round\":0,\"peers_connected\":" + std::to_string(starting ? 0 : peers) +
           ",\"peers_configured\":" + std::to_string(peers) + ",\"syncing\":false}\n";
  }
};

// One connection: read one request, answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Reply& reply) : stream_(std::move(socket)), reply_(reply) {}

  void Start() {
    stream_.expires_after(std::chrono::seconds(5));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code error, size_t) {
                       if (!error) self->Answer();
                     });
  }

 private:
  void Answer() {
    response_.version(request_.version());
    response_.keep_alive(false);
    response_.set(http::field::content_type, "application/json");
    if (request_.target() == "/healthz") {
      response_.result(reply_.starting ? http::status::service_unavailable : http::status::ok);
      response_.body() = reply_.Body();
    } else {
      response_.result(http::status::not_found);
      response_.body() = "{\"error\":\"not found\"}\n";
    }
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  const Reply& reply_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response<http::string_body> response_;
};

void Accept(tcp::acceptor& acceptor, const Reply& reply) {
  acceptor.async_accept([&acceptor, &reply](beast::error_code error, tcp::socket socket) {
    if (error) return;  // operation_aborted on shutdown
    std::make_shared<Session>(std::move(socket), reply)->Start();
    Accept(acceptor, reply);
  });
}

int Run(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") config_path = argv[i + 1];
  }
  if (config_path.empty()) {
    std::cerr << "fake ladingd: usage: fake_ladingd --config FILE\n";
    return 2;
  }
  const absl::StatusOr<lading::node::NodeConfig> config = lading::node::LoadNodeConfig(config_path);
  if (!config.ok()) {
    std::cerr << "fake ladingd: " << config.status().message() << "\n";
    return 1;
  }
  const char* exit_member = std::getenv("LADING_FAKE_LADINGD_EXIT");
  if (exit_member != nullptr && config->member_id == exit_member) {
    std::cerr << "fake ladingd: " << config->member_id
              << " exits at once (LADING_FAKE_LADINGD_EXIT)\n";
    return 3;
  }
  const char* starting = std::getenv("LADING_FAKE_LADINGD_STARTING");
  const Reply reply{starting != nullptr && std::string(starting) == "1", config->member_id,
                    config->peers.size()};

  asio::io_context io;
  tcp::resolver resolver(io);
  const auto endpoints =
      resolver.resolve(config->http_listen.host, std::to_string(config->http_listen.port));
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen();
  Accept(acceptor, reply);

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](beast::error_code, int signal_number) {
    std::cerr << "fake ladingd: " << config->member_id << " got signal " << signal_number
              << ", exiting\n";
    io.stop();
  });
  std::cerr << "fake ladingd: " << config->member_id << " serving /healthz on "
            << config->http_listen.ToString() << "\n";
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return Run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "fake ladingd: " << error.what() << "\n";
    return 1;
  }
}
