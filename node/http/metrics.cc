#include "node/http/metrics.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <iterator>
#include <utility>

#include "crypto/status.h"

namespace lading::node::http {

namespace {

// HELP text escapes only backslash and newline (format 0.0.4).
void AppendEscapedHelp(std::string_view help, std::string* out) {
  for (const char c : help) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

void AppendHeader(const std::string& name, const std::string& help, std::string_view type,
                  std::string* out) {
  out->append("# HELP ").append(name).push_back(' ');
  AppendEscapedHelp(help, out);
  out->append("\n# TYPE ").append(name).push_back(' ');
  out->append(type).push_back('\n');
}

void AppendSample(std::string_view series, std::string_view labels, double value,
                  std::string* out) {
  out->append(series).append(labels).push_back(' ');
  out->append(FormatMetricValue(value)).push_back('\n');
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  const auto is_first = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  };
  if (!is_first(name.front())) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return is_first(c) || (c >= '0' && c <= '9'); });
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  LADING_CHECK(result.ec == std::errc());
  return std::string(buffer, result.ptr);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), bucket_counts_(upper_bounds_.size() + 1, 0) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    LADING_CHECK_MSG(std::isfinite(upper_bounds_[i]), "histogram bounds must be finite");
    LADING_CHECK_MSG(i == 0 || upper_bounds_[i - 1] < upper_bounds_[i],
                     "histogram bounds must be strictly increasing");
  }
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // First bound >= value: "le" buckets are inclusive. Past the end means the +Inf bucket.
  const size_t bucket = static_cast<size_t>(std::distance(
      upper_bounds_.begin(), std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value)));
  std::lock_guard<std::mutex> lock(mutex_);
  ++bucket_counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot.cumulative.reserve(bucket_counts_.size());
  uint64_t running = 0;
  for (const uint64_t in_bucket : bucket_counts_) {
    running += in_bucket;
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_;
  snapshot.count = count_;
  return snapshot;
}

void MetricsRegistry::AddCounter(std::string name, std::string help, std::function<double()> read) {
  LADING_CHECK_MSG(read != nullptr, "a counter needs a read function");
  std::vector<std::string> series = {name};
  Register(Family{std::move(name), std::move(help), Kind::kCounter, std::move(read), nullptr},
           series);
}

void MetricsRegistry::AddGauge(std::string name, std::string help, std::function<double()> read) {
  LADING_CHECK_MSG(read != nullptr, "a gauge needs a read function");
  std::vector<std::string> series = {name};
  Register(Family{std::move(name), std::move(help), Kind::kGauge, std::move(read), nullptr},
           series);
}

Histogram* MetricsRegistry::AddHistogram(std::string name, std::string help,
                                         std::vector<double> upper_bounds) {
  auto histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  Histogram* const result = histogram.get();
  std::vector<std::string> series = {name, name + "_bucket", name + "_sum", name + "_count"};
  Register(
      Family{std::move(name), std::move(help), Kind::kHistogram, nullptr, std::move(histogram)},
      series);
  return result;
}

void MetricsRegistry::Register(Family family, const std::vector<std::string>& series_names) {
  LADING_CHECK_MSG(IsValidMetricName(family.name),
                   "metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& series : series_names) {
    LADING_CHECK_MSG(used_names_.count(series) == 0, "metric name registered twice");
  }
  used_names_.insert(series_names.begin(), series_names.end());
  families_.push_back(std::move(family));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Family& family : families_) {
    switch (family.kind) {
      case Kind::kCounter:
        AppendHeader(family.name, family.help, "counter", &out);
        AppendSample(family.name, "", family.read(), &out);
        break;
      case Kind::kGauge:
        AppendHeader(family.name, family.help, "gauge", &out);
        AppendSample(family.name, "", family.read(), &out);
        break;
      case Kind::kHistogram: {
        AppendHeader(family.name, family.help, "histogram", &out);
        const Histogram::Snapshot snapshot = family.histogram->Read();
        const std::string bucket = family.name + "_bucket";
        const std::vector<double>& bounds = family.histogram->upper_bounds();
        for (size_t i = 0; i < bounds.size(); ++i) {
          AppendSample(bucket, "{le=\"" + FormatMetricValue(bounds[i]) + "\"}",
                       static_cast<double>(snapshot.cumulative[i]), &out);
        }
        AppendSample(bucket, "{le=\"+Inf\"}", static_cast<double>(snapshot.count), &out);
        AppendSample(family.name + "_sum", "", snapshot.sum, &out);
        AppendSample(family.name + "_count", "", static_cast<double>(snapshot.count), &out);
        break;
      }
    }
  }
  return out;
}

namespace {

// Every TransportCounters field, so that a field added there without a metric here fails to
// compile (the static_assert below) instead of going unexported.
struct TransportField {
  const char* name;
  const char* help;
  std::atomic<uint64_t> p2p::TransportCounters::*member;
};

constexpr TransportField kTransportFields[] = {
    {"connections_accepted", "Inbound peer connections accepted.",
     &p2p::TransportCounters::connections_accepted},
    {"connections_refused", "Inbound peer connections closed at once: too many sessions open.",
     &p2p::TransportCounters::connections_refused},
    {"dials_started", "Outbound peer dials started.", &p2p::TransportCounters::dials_started},
    {"dial_failures", "Outbound peer dials that failed to resolve or connect.",
     &p2p::TransportCounters::dial_failures},
    {"handshakes_ok", "Peer handshakes completed.", &p2p::TransportCounters::handshakes_ok},
    {"handshake_failures_unknown_identity",
     "Peer handshakes refused: the static key is not an allowed member.",
     &p2p::TransportCounters::handshake_failures_unknown_identity},
    {"handshake_failures_timeout", "Peer handshakes not completed in time.",
     &p2p::TransportCounters::handshake_failures_timeout},
    {"handshake_failures_other",
     "Peer handshakes failed: malformed, wrong version or chain, bad key or proof.",
     &p2p::TransportCounters::handshake_failures_other},
    {"frames_oversize", "Peer frames declaring a length above the cap.",
     &p2p::TransportCounters::frames_oversize},
    {"frames_malformed", "Peer frames declaring length 0.",
     &p2p::TransportCounters::frames_malformed},
    {"frames_unauthenticated", "Peer frames that failed authentication.",
     &p2p::TransportCounters::frames_unauthenticated},
    {"sessions_duplicate", "Peer sessions drained because another session to the peer was kept.",
     &p2p::TransportCounters::sessions_duplicate},
    {"sessions_closed", "Peer sessions closed.", &p2p::TransportCounters::sessions_closed},
    {"peers_connected", "Peers with an established session now.",
     &p2p::TransportCounters::peers_connected},
    {"messages_in", "Peer messages received.", &p2p::TransportCounters::messages_in},
    {"messages_out", "Peer messages sent.", &p2p::TransportCounters::messages_out},
    {"messages_dropped_not_connected", "Peer messages dropped: the peer had no session.",
     &p2p::TransportCounters::messages_dropped_not_connected},
    {"messages_dropped_too_large", "Peer messages dropped: above the payload cap.",
     &p2p::TransportCounters::messages_dropped_too_large},
    {"write_queue_overflows", "Peer sessions closed because their write queue overflowed.",
     &p2p::TransportCounters::write_queue_overflows},
    {"bytes_in", "Bytes received from peers.", &p2p::TransportCounters::bytes_in},
    {"bytes_out", "Bytes sent to peers.", &p2p::TransportCounters::bytes_out},
};

static_assert(sizeof(p2p::TransportCounters) ==
                  std::size(kTransportFields) * sizeof(std::atomic<uint64_t>),
              "TransportCounters changed: export every field in kTransportFields");

}  // namespace

Histogram* RegisterNodeMetrics(MetricsRegistry* registry, const StatusBoard* status,
                               const p2p::TransportCounters* transport) {
  LADING_CHECK(registry != nullptr && status != nullptr);
  const auto gauge = [&](const char* name, const char* help, auto field) {
    registry->AddGauge(name, help,
                       [status, field] { return static_cast<double>(field(status->Snapshot())); });
  };
  gauge("lading_height", "Height of the last committed block (0 before block 1).",
        [](const NodeStatus& s) { return s.height; });
  gauge("lading_consensus_height", "Height consensus is deciding.",
        [](const NodeStatus& s) { return s.consensus_height; });
  gauge("lading_round", "Consensus round at the height being decided.",
        [](const NodeStatus& s) { return s.round; });
  gauge("lading_peers_connected", "Peers with an authenticated session.",
        [](const NodeStatus& s) { return s.peers_connected; });
  gauge("lading_mempool_txs", "Transactions waiting in the mempool.",
        [](const NodeStatus& s) { return s.mempool_txs; });
  gauge("lading_mempool_bytes", "Bytes of transactions waiting in the mempool.",
        [](const NodeStatus& s) { return s.mempool_bytes; });
  registry->AddCounter(
      "lading_committed_txs_total", "Transactions in blocks committed since genesis.",
      [status] { return static_cast<double>(status->Snapshot().committed_txs_total); });
  gauge("lading_syncing", "1 while the node fetches blocks from peers instead of voting.",
        [](const NodeStatus& s) { return s.syncing ? 1 : 0; });

  if (transport != nullptr) {
    for (const TransportField& field : kTransportFields) {
      std::string name = std::string("lading_p2p_") + field.name;
      const std::atomic<uint64_t>* value = &(transport->*field.member);
      auto read = [value] { return static_cast<double>(value->load(std::memory_order_relaxed)); };
      if (value == &transport->peers_connected) {
        registry->AddGauge(std::move(name), field.help, std::move(read));
      } else {
        registry->AddCounter(std::move(name), field.help, std::move(read));
      }
    }
  }

  return registry->AddHistogram("lading_commit_latency_seconds",
                                "Seconds from a block's proposal time (its header time) to its commit on this node.",
                                CommitLatencyBucketsSeconds());
}

}  // namespace lading::node::http
