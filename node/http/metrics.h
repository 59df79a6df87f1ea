// MetricsRegistry: the node's metrics, rendered in the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/) for GET /metrics.
//
// Counters and gauges are pulled: each is a read function the registry calls at Render time, so
// the code that owns a value (StatusBoard, TransportCounters) keeps it in its own form and
// nothing is copied between scrapes. Histograms are pushed: the registry owns them and callers
// Observe into them.
//
// Metric families render in registration order, each as "# HELP", "# TYPE" and its samples.
// A registration with a malformed or already used name is a programming error (LADING_CHECK);
// a histogram's derived series (name_bucket, name_sum, name_count) count as used names.
//
// Ownership: the registry owns its histograms (pointers stay valid for the registry's lifetime)
// and copies of the read functions; whatever those functions read must outlive every Render.
// Thread-safety: MetricsRegistry and Histogram are thread-safe. Read functions run under the
// registry's lock, on the thread calling Render: they must be thread-safe, must not block and
// must not call back into the registry.
#ifndef LADING_NODE_HTTP_METRICS_H_
#define LADING_NODE_HTTP_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "node/node_status.h"
#include "node/p2p/asio_peer_transport.h"

namespace lading::node::http {

// A cumulative histogram with fixed bucket upper bounds (Prometheus "le", inclusive) plus the
// implicit +Inf bucket, the sum and the count of observations.
class Histogram {
 public:
  struct Snapshot {
    // cumulative[i] = observations <= upper_bounds[i]; one more entry at the end for +Inf,
    // which equals count.
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };

  // REQUIRES: `upper_bounds` finite and strictly increasing (it may be empty: +Inf only).
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Adds one observation. NaN is ignored (it would poison the sum for good); -Inf and +Inf are
  // counted in the first and the +Inf bucket respectively.
  void Observe(double value);

  // A consistent copy: buckets, sum and count from the same instant.
  Snapshot Read() const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  const std::vector<double> upper_bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> bucket_counts_;  // non-cumulative, one per bound plus +Inf; guarded
  double sum_ = 0;                       // guarded by mutex_
  uint64_t count_ = 0;                   // guarded by mutex_
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a counter (a value that only goes up; resets only when the process restarts).
  // REQUIRES: `name` matches [a-zA-Z_:][a-zA-Z0-9_:]* and is not yet used; `read` is set.
  void AddCounter(std::string name, std::string help, std::function<double()> read);
  // Registers a gauge (a value that goes up and down). Same REQUIRES as AddCounter.
  void AddGauge(std::string name, std::string help, std::function<double()> read);
  // Registers and returns a histogram the registry owns. Same REQUIRES as AddCounter for `name`
  // and its derived series names, plus Histogram's for `upper_bounds`.
  Histogram* AddHistogram(std::string name, std::string help, std::vector<double> upper_bounds);

  // Every metric in the text format 0.0.4, one line per HELP, TYPE and sample, each ending in
  // "\n". Empty when nothing is registered.
  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    std::string name;
    std::string help;
    Kind kind;
    std::function<double()> read;          // counters and gauges
    std::unique_ptr<Histogram> histogram;  // histograms
  };

  void Register(Family family, const std::vector<std::string>& series_names);

  mutable std::mutex mutex_;
  std::vector<Family> families_;      // guarded by mutex_
  std::set<std::string> used_names_;  // guarded by mutex_
};

// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool IsValidMetricName(std::string_view name);

// A sample value as the text format writes it: shortest round-trip decimal ("12", "0.25",
// "1e+21"), and "NaN", "+Inf", "-Inf".
std::string FormatMetricValue(double value);

// The buckets of lading_commit_latency_seconds, in seconds.
inline const std::vector<double>& CommitLatencyBucketsSeconds() {
  static const std::vector<double> kBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return kBuckets;
}

// Registers the node's metrics, read from `status` and `transport` at each Render:
// lading_height, lading_consensus_height, lading_round, lading_peers_connected,
// lading_mempool_txs, lading_mempool_bytes, lading_syncing (gauges; syncing is 0 or 1),
// lading_committed_txs_total (counter), and every TransportCounters field as
// lading_p2p_<field> (counters, except the gauge lading_p2p_peers_connected); the p2p ones are
// skipped when `transport` is null (a node without a peer transport).
// Returns lading_commit_latency_seconds (buckets CommitLatencyBucketsSeconds()), which the node
// observes with the time from a height's start to its commit.
// REQUIRES: `registry` and `status` are not null; `status` and `transport` outlive every Render
// of `registry`; none of these names is registered yet.
Histogram* RegisterNodeMetrics(MetricsRegistry* registry, const StatusBoard* status,
                               const p2p::TransportCounters* transport);

}  // namespace lading::node::http

#endif  // LADING_NODE_HTTP_METRICS_H_
