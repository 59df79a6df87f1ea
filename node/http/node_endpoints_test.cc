#include "node/http/node_endpoints.h"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>

#include "node/http/testing/http_test_client.h"

namespace lading::node::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using testing::HttpTestClient;
using testing::HttpTestResponse;

// NodeEndpoints behind a real HttpServer, with a status board and a registry of node metrics.
class EndpointsServer {
 public:
  EndpointsServer() {
    latency_ = RegisterNodeMetrics(&registry_, &board_, &transport_);
    auto server =
        HttpServer::Create(io_context_, "127.0.0.1", 0, NodeEndpoints(&board_, &registry_));
    REQUIRE(server.ok());
    server_ = std::move(*server);
    thread_ = std::thread([this] { io_context_.run(); });
  }
  ~EndpointsServer() {
    server_->Stop();
    thread_.join();
  }

  HttpTestResponse Fetch(const std::string& target, const char* method = "GET") {
    HttpTestClient client(server_->listen_port());
    HttpTestResponse response;
    const std::string request = std::string(method) + " " + target +
                                " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    REQUIRE_FALSE(client.Exchange(request, &response, std::string(method) == "HEAD"));
    return response;
  }

  StatusBoard& board() { return board_; }
  p2p::TransportCounters& transport() { return transport_; }
  MetricsRegistry& registry() { return registry_; }
  Histogram& latency() { return *latency_; }

 private:
  StatusBoard board_;
  p2p::TransportCounters transport_;
  MetricsRegistry registry_;
  Histogram* latency_ = nullptr;
  asio::io_context io_context_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

void SetRunningStatus(NodeStatus* status) {
  status->chain_id = "lading-testnet";
  status->member_id = "validator-1";
  status->height = 12;
  status->consensus_height = 13;
  status->round = 0;
  status->peers_connected = 3;
  status->peers_configured = 3;
  status->syncing = false;
}

TEST_CASE("/healthz answers 503 starting, then 200 serving, as one JSON object",
          "[integration][http]") {
  EndpointsServer server;
  server.board().Update(SetRunningStatus);

  HttpTestResponse response = server.Fetch("/healthz");
  CHECK(response.result_int() == 503);
  CHECK(response[bhttp::field::content_type] == "application/json");
  CHECK(response.body() ==
        R"({"status":"starting","chain_id":"lading-testnet","member_id":"validator-1",)"
        R"("height":12,"consensus_height":13,"round":0,"peers_connected":3,)"
        R"("peers_configured":3,"syncing":false})");

  server.board().Update([](NodeStatus* status) {
    status->serving = true;
    status->round = 2;
  });
  response = server.Fetch("/healthz?verbose=1");
  CHECK(response.result_int() == 200);
  CHECK(response.body() ==
        R"({"status":"serving","chain_id":"lading-testnet","member_id":"validator-1",)"
        R"("height":12,"consensus_height":13,"round":2,"peers_connected":3,)"
        R"("peers_configured":3,"syncing":false})");

  response = server.Fetch("/healthz", "HEAD");
  CHECK(response.result_int() == 200);
  CHECK(response.body().empty());
}

TEST_CASE("/healthz escapes ids so the body stays valid JSON", "[unit][http]") {
  NodeStatus status;
  status.chain_id = "a\"b\\c";
  status.member_id = "x\ny\x01";
  status.syncing = true;
  CHECK(HealthJson(status) ==
        R"({"status":"starting","chain_id":"a\"b\\c","member_id":"x\ny\u0001",)"
        R"("height":0,"consensus_height":0,"round":0,"peers_connected":0,)"
        R"("peers_configured":0,"syncing":true})");
}

TEST_CASE("/metrics serves the registry in the Prometheus text format", "[integration][http]") {
  EndpointsServer server;
  server.board().Update(SetRunningStatus);
  server.transport().messages_in = 99;
  server.latency().Observe(0.2);

  const HttpTestResponse response = server.Fetch("/metrics");
  CHECK(response.result_int() == 200);
  CHECK(response[bhttp::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(response.body() == server.registry().Render());
  CHECK(response.body().find("\nlading_height 12\n") != std::string::npos);
  CHECK(response.body().find("\nlading_p2p_messages_in 99\n") != std::string::npos);
  CHECK(response.body().find("\nlading_commit_latency_seconds_bucket{le=\"0.25\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("unknown paths get 404 with a one-line body", "[integration][http]") {
  EndpointsServer server;
  for (const char* target : {"/", "/health", "/metrics/", "/healthz/x", "/%2e%2e/etc/passwd"}) {
    CAPTURE(target);
    const HttpTestResponse response = server.Fetch(target);
    CHECK(response.result_int() == 404);
    CHECK(response.body() == "not found; this node serves /healthz and /metrics\n");
  }
}

}  // namespace
}  // namespace lading::node::http
