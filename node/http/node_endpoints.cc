#include "node/http/node_endpoints.h"

#include <cstdio>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "crypto/json_text.h"
#include "crypto/status.h"

namespace lading::node::http {

namespace {

const char* JsonBool(bool value) { return value ? "true" : "false"; }

}  // namespace

std::string HealthJson(const NodeStatus& status) {
  return absl::StrCat("{\"status\":", status.serving ? "\"serving\"" : "\"starting\"",
                      ",\"chain_id\":", JsonString(status.chain_id),
                      ",\"member_id\":", JsonString(status.member_id),
                      ",\"height\":", status.height,
                      ",\"consensus_height\":", status.consensus_height,
                      ",\"round\":", status.round, ",\"peers_connected\":", status.peers_connected,
                      ",\"peers_configured\":", status.peers_configured,
                      ",\"syncing\":", JsonBool(status.syncing), "}");
}

HttpServer::Handler NodeEndpoints(const StatusBoard* status, const MetricsRegistry* metrics) {
  LADING_CHECK(status != nullptr && metrics != nullptr);
  return [status, metrics](const HttpRequest& request) {
    if (request.path == "/healthz") {
      const NodeStatus snapshot = status->Snapshot();
      return HttpResponse{.status = snapshot.serving ? 200 : 503,
                          .content_type = "application/json",
                          .body = HealthJson(snapshot)};
    }
    if (request.path == "/metrics") {
      return HttpResponse{
          .status = 200, .content_type = kMetricsContentType, .body = metrics->Render()};
    }
    return HttpResponse{.status = 404,
                        .body = "not found; this node serves /healthz and /metrics\n"};
  };
}

}  // namespace lading::node::http
