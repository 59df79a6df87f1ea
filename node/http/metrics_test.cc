#include "node/http/metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lading::node::http {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Runs `body` in a forked child and reports whether the child died of SIGABRT, as a failed
// LADING_CHECK makes it.
bool AbortsInChild(const std::function<void()>& body) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The expected check failure message would clutter the test output.
    std::freopen("/dev/null", "w", stderr);
    // Catch2's own SIGABRT handler would report the abort as a test failure in the child.
    std::signal(SIGABRT, SIG_DFL);
    body();
    std::_Exit(0);
  }
  int wait_status = 0;
  REQUIRE(waitpid(pid, &wait_status, 0) == pid);
  return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGABRT;
}

// Parses a sample value as the text format allows (Go's ParseFloat plus NaN and +-Inf).
bool ParseValue(const std::string& text, double* value) {
  if (text == "NaN") {
    *value = std::nan("");
    return true;
  }
  if (text == "+Inf" || text == "-Inf") {
    *value = text[0] == '+' ? INFINITY : -INFINITY;
    return true;
  }
  static const std::regex kNumber(R"re([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)re");
  if (!std::regex_match(text, kNumber)) return false;
  *value = std::stod(text);
  return true;
}

// Checks `text` against the text format 0.0.4 grammar and its family rules: every line is a
// HELP, a TYPE or a sample; TYPE comes once per family, before its samples; histogram samples
// are name_bucket (with an "le" label, cumulative, ending in +Inf), name_sum and name_count, and
// the +Inf bucket equals the count. Returns "" or the first problem found.
std::string CheckExpositionFormat(const std::string& text) {
  if (!text.empty() && text.back() != '\n') return "text does not end in a newline";
  static const std::regex kHelp(R"re(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) ((?:[^\\\n]|\\\\|\\n)*))re");
  static const std::regex kType(
      R"re(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))re");
  static const std::regex kSample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*")(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*")*\})? (\S+)(?: -?[0-9]+)?)re");
  static const std::regex kLe(R"re(\{le="([^"]*)"\})re");
  std::map<std::string, std::string> types;
  std::set<std::string> helps;
  std::string family;  // the family of the last TYPE line
  double last_bucket = -1;
  double infinite_bucket = -1;
  for (const std::string& line : Lines(text)) {
    std::smatch match;
    if (std::regex_match(line, match, kHelp)) {
      if (!helps.insert(match[1]).second) return "second HELP: " + line;
      continue;
    }
    if (std::regex_match(line, match, kType)) {
      if (!types.emplace(match[1], match[2]).second) return "second TYPE: " + line;
      family = match[1];
      last_bucket = -1;
      infinite_bucket = -1;
      continue;
    }
    if (!std::regex_match(line, match, kSample)) return "not a HELP, TYPE or sample: " + line;
    double value = 0;
    if (!ParseValue(match[3], &value)) return "bad value: " + line;
    const std::string name = match[1];
    const std::string labels = match[2];
    const auto type = types.find(family);
    if (type == types.end()) return "sample before any TYPE: " + line;
    if (type->second != "histogram") {
      if (name != family) return "sample outside its family: " + line;
      if (type->second == "counter" && !(value >= 0)) return "negative counter: " + line;
      continue;
    }
    if (name == family + "_bucket") {
      std::smatch le;
      if (!std::regex_match(labels, le, kLe)) return "bucket without one le label: " + line;
      double bound = 0;
      if (!ParseValue(le[1], &bound)) return "bad le: " + line;
      if (value < last_bucket) return "bucket counts decrease: " + line;
      last_bucket = value;
      if (std::isinf(bound) && bound > 0) infinite_bucket = value;
    } else if (name == family + "_sum") {
      if (!labels.empty()) return "labelled sum: " + line;
    } else if (name == family + "_count") {
      if (infinite_bucket < 0) return "count before the +Inf bucket: " + line;
      if (value != infinite_bucket) return "+Inf bucket differs from count: " + line;
    } else {
      return "sample outside its histogram family: " + line;
    }
  }
  return "";
}

TEST_CASE("a small registry renders exactly the text format 0.0.4", "[unit][http][metrics]") {
  MetricsRegistry registry;
  double requests = 7;
  registry.AddCounter("requests_total", "Requests served.", [&] { return requests; });
  registry.AddGauge("temperature", "Back\\slash and\nnewline.", [] { return -2.5; });
  Histogram* latency = registry.AddHistogram("latency_seconds", "Latency.", {0.1, 1, 2.5});
  latency->Observe(0.1);
  latency->Observe(0.7);
  latency->Observe(100);
  requests = 8;

  CHECK(registry.Render() ==
        "# HELP requests_total Requests served.\n"
        "# TYPE requests_total counter\n"
        "requests_total 8\n"
        "# HELP temperature Back\\\\slash and\\nnewline.\n"
        "# TYPE temperature gauge\n"
        "temperature -2.5\n"
        "# HELP latency_seconds Latency.\n"
        "# TYPE latency_seconds histogram\n"
        "latency_seconds_bucket{le=\"0.1\"} 1\n"
        "latency_seconds_bucket{le=\"1\"} 2\n"
        "latency_seconds_bucket{le=\"2.5\"} 2\n"
        "latency_seconds_bucket{le=\"+Inf\"} 3\n"
        "latency_seconds_sum 100.8\n"
        "latency_seconds_count 3\n");
}

TEST_CASE("an empty registry renders nothing", "[unit][http][metrics]") {
  CHECK(MetricsRegistry().Render().empty());
}

TEST_CASE("histogram buckets are inclusive and cumulative", "[unit][http][metrics]") {
  Histogram histogram({1, 2, 5});
  for (const double value : {-3.0, 0.5, 1.0, 1.0000001, 2.0, 4.9, 5.0, 5.1, 1e9}) {
    histogram.Observe(value);
  }
  Histogram::Snapshot snapshot = histogram.Read();
  CHECK(snapshot.cumulative == std::vector<uint64_t>{3, 5, 7, 9});
  CHECK(snapshot.count == 9);
  CHECK(snapshot.sum == Approx(-3.0 + 0.5 + 1.0 + 1.0000001 + 2.0 + 4.9 + 5.0 + 5.1 + 1e9));

  SECTION("NaN is ignored and infinities land in the end buckets") {
    histogram.Observe(std::nan(""));
    CHECK(histogram.Read().count == 9);
    histogram.Observe(-INFINITY);
    histogram.Observe(INFINITY);
    snapshot = histogram.Read();
    CHECK(snapshot.cumulative == std::vector<uint64_t>{4, 6, 8, 11});
    CHECK(std::isnan(snapshot.sum));  // -Inf + +Inf; the text format writes it as NaN
  }
}

TEST_CASE("a histogram without bounds has only the +Inf bucket", "[unit][http][metrics]") {
  Histogram histogram({});
  histogram.Observe(3);
  CHECK(histogram.Read().cumulative == std::vector<uint64_t>{1});
}

TEST_CASE("histogram observations from many threads are all counted", "[unit][http][metrics]") {
  Histogram histogram({0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) histogram.Observe(t % 2 == 0 ? 0.25 : 1.0);
    });
  }
  for (std::thread& thread : threads) thread.join();
  const Histogram::Snapshot snapshot = histogram.Read();
  CHECK(snapshot.cumulative == std::vector<uint64_t>{20000, 40000});
  CHECK(snapshot.sum == 20000 * 0.25 + 20000 * 1.0);
}

TEST_CASE("metric values are written in the format's float syntax", "[unit][http][metrics]") {
  CHECK(FormatMetricValue(0) == "0");
  CHECK(FormatMetricValue(12) == "12");
  CHECK(FormatMetricValue(0.05) == "0.05");
  CHECK(FormatMetricValue(-2.5) == "-2.5");
  CHECK(FormatMetricValue(18446744073709551615.0) == "18446744073709551616");
  CHECK(FormatMetricValue(1e300) == "1e+300");
  CHECK(FormatMetricValue(std::nan("")) == "NaN");
  CHECK(FormatMetricValue(INFINITY) == "+Inf");
  CHECK(FormatMetricValue(-INFINITY) == "-Inf");
}

TEST_CASE("metric names follow the format's grammar", "[unit][http][metrics]") {
  CHECK(IsValidMetricName("lading_height"));
  CHECK(IsValidMetricName("_x:y9"));
  CHECK(IsValidMetricName(":"));
  CHECK_FALSE(IsValidMetricName(""));
  CHECK_FALSE(IsValidMetricName("9lives"));
  CHECK_FALSE(IsValidMetricName("lading-height"));
  CHECK_FALSE(IsValidMetricName("lading height"));
  CHECK_FALSE(IsValidMetricName("caf\xc3\xa9"));
}

TEST_CASE("registering a malformed or already used metric name stops the process",
          "[unit][http][metrics]") {
  const auto registry_with_histogram = [] {
    auto registry = std::make_unique<MetricsRegistry>();
    registry->AddGauge("up", "Up.", [] { return 1.0; });
    registry->AddHistogram("latency_seconds", "Latency.", {1});
    return registry;
  };
  const auto one = [] { return 1.0; };
  // The control: fresh, well-formed names register without trouble.
  CHECK_FALSE(AbortsInChild([&] {
    auto registry = registry_with_histogram();
    registry->AddGauge("down", "Down.", one);
    registry->AddHistogram("size_bytes", "Size.", {1, 2});
  }));
  CHECK(AbortsInChild([&] { registry_with_histogram()->AddGauge("up", "Again.", one); }));
  CHECK(AbortsInChild([&] { registry_with_histogram()->AddCounter("up", "Again.", one); }));
  CHECK(AbortsInChild(
      [&] { registry_with_histogram()->AddCounter("latency_seconds_count", "Clash.", one); }));
  CHECK(AbortsInChild([&] { registry_with_histogram()->AddHistogram("up", "Again.", {}); }));
  CHECK(AbortsInChild(
      [&] { registry_with_histogram()->AddGauge("latency_seconds_bucket", "Clash.", one); }));
  CHECK(AbortsInChild([&] { registry_with_histogram()->AddGauge("9up", "Bad.", one); }));
  CHECK(AbortsInChild([&] { registry_with_histogram()->AddGauge("", "Empty.", one); }));
  CHECK(AbortsInChild([&] { registry_with_histogram()->AddGauge("no_reader", "Null.", nullptr); }));
  CHECK(AbortsInChild([] { Histogram histogram({1, 1}); }));
  CHECK(AbortsInChild([] { Histogram histogram({2, 1}); }));
  CHECK(AbortsInChild([] { Histogram histogram({1, INFINITY}); }));
}

TEST_CASE("the format checker used below rejects malformed text", "[unit][http][metrics]") {
  CHECK(CheckExpositionFormat("# TYPE a counter\na 1\n").empty());
  CHECK_FALSE(CheckExpositionFormat("# TYPE a counter\na 1").empty());          // no newline
  CHECK_FALSE(CheckExpositionFormat("a 1\n").empty());                          // no TYPE
  CHECK_FALSE(CheckExpositionFormat("# TYPE a counter\na one\n").empty());      // bad value
  CHECK_FALSE(CheckExpositionFormat("# TYPE a counter\nb 1\n").empty());        // wrong family
  CHECK_FALSE(CheckExpositionFormat("# TYPE a counter\na -1\n").empty());       // negative
  CHECK_FALSE(CheckExpositionFormat("# TYPE a-b gauge\na-b 1\n").empty());      // bad name
  CHECK_FALSE(CheckExpositionFormat("# TYPE a gauge\na{le=\"1} 1\n").empty());  // bad label
  CHECK_FALSE(CheckExpositionFormat("# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                                    "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
                  .empty());  // decreasing buckets
  CHECK_FALSE(CheckExpositionFormat("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\n"
                                    "h_sum 1\nh_count 1\n")
                  .empty());  // +Inf bucket != count
}

TEST_CASE("every line of the node's metrics follows the text format grammar",
          "[unit][http][metrics]") {
  StatusBoard board;
  board.Update([](NodeStatus* status) {
    status->height = 12;
    status->consensus_height = 13;
    status->round = 2;
    status->peers_connected = 3;
    status->mempool_txs = 5;
    status->mempool_bytes = 4096;
    status->committed_txs_total = 77;
    status->syncing = true;
  });
  p2p::TransportCounters transport;
  transport.bytes_in = 1234;
  transport.peers_connected = 3;
  MetricsRegistry registry;
  Histogram* latency = RegisterNodeMetrics(&registry, &board, &transport);
  REQUIRE(latency != nullptr);
  CHECK(latency->upper_bounds() == CommitLatencyBucketsSeconds());
  latency->Observe(0.3);
  latency->Observe(45);

  const std::string text = registry.Render();
  INFO(text);
  CHECK(CheckExpositionFormat(text).empty());
  const std::vector<std::string> lines = Lines(text);
  const auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  CHECK(has("lading_height 12"));
  CHECK(has("lading_consensus_height 13"));
  CHECK(has("lading_round 2"));
  CHECK(has("lading_peers_connected 3"));
  CHECK(has("lading_mempool_txs 5"));
  CHECK(has("lading_mempool_bytes 4096"));
  CHECK(has("# TYPE lading_committed_txs_total counter"));
  CHECK(has("lading_committed_txs_total 77"));
  CHECK(has("lading_syncing 1"));
  CHECK(has("# TYPE lading_p2p_bytes_in counter"));
  CHECK(has("lading_p2p_bytes_in 1234"));
  CHECK(has("# TYPE lading_p2p_peers_connected gauge"));
  CHECK(has("lading_p2p_peers_connected 3"));
  CHECK(has("lading_p2p_write_queue_overflows 0"));
  CHECK(has("lading_commit_latency_seconds_bucket{le=\"0.05\"} 0"));
  CHECK(has("lading_commit_latency_seconds_bucket{le=\"0.5\"} 1"));
  CHECK(has("lading_commit_latency_seconds_bucket{le=\"30\"} 1"));
  CHECK(has("lading_commit_latency_seconds_bucket{le=\"+Inf\"} 2"));
  CHECK(has("lading_commit_latency_seconds_count 2"));
  // 8 node families, 21 transport families, one histogram: HELP + TYPE + one sample each, and
  // the histogram's 10 buckets, sum and count.
  CHECK(lines.size() == (8 + 21) * 3 + 2 + 12);

  SECTION("values follow the status board") {
    board.Update([](NodeStatus* status) {
      status->height = 13;
      status->syncing = false;
    });
    const std::string after = registry.Render();
    CHECK(after.find("\nlading_height 13\n") != std::string::npos);
    CHECK(after.find("\nlading_syncing 0\n") != std::string::npos);
  }
}

TEST_CASE("the node's metrics leave out the transport when there is none",
          "[unit][http][metrics]") {
  StatusBoard board;
  MetricsRegistry registry;
  RegisterNodeMetrics(&registry, &board, nullptr);
  const std::string text = registry.Render();
  CHECK(CheckExpositionFormat(text).empty());
  CHECK(text.find("lading_p2p_") == std::string::npos);
  CHECK(text.find("lading_height 0\n") != std::string::npos);
}

}  // namespace
}  // namespace lading::node::http
