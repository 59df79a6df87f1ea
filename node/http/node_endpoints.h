// NodeEndpoints: the request handler for ladingd's HTTP port.
//
//   GET /healthz  200 while the node serves, 503 while it is starting (store verification,
//                 sync); body one JSON object (application/json):
//                 {"status":"serving"|"starting","chain_id":"...","member_id":"...",
//                  "height":12,"consensus_height":13,"round":0,"peers_connected":3,
//                  "peers_configured":3,"syncing":false}
//   GET /metrics  the registry in the Prometheus text format (text/plain; version=0.0.4)
//   anything else 404 with a one-line text body.
// HEAD is answered like GET (HttpServer drops the body). The query string is ignored.
//
// Ownership: the handler borrows `status` and `metrics`, which must outlive the server that
// calls it. Thread-safety: the handler is thread-safe (both sources are).
#ifndef LADING_NODE_HTTP_NODE_ENDPOINTS_H_
#define LADING_NODE_HTTP_NODE_ENDPOINTS_H_

#include <string>

#include "node/http/http_server.h"
#include "node/http/metrics.h"
#include "node/node_status.h"

namespace lading::node::http {

inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// The handler described above.
// REQUIRES: `status` and `metrics` are not null and outlive the handler and its copies.
HttpServer::Handler NodeEndpoints(const StatusBoard* status, const MetricsRegistry* metrics);

// The /healthz body for `status` (exposed for tests and for the CLI's status output).
std::string HealthJson(const NodeStatus& status);

}  // namespace lading::node::http

#endif  // LADING_NODE_HTTP_NODE_ENDPOINTS_H_
