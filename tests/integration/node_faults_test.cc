// Real ladingd processes against a corrupted block store and against hostile bytes on the peer
// port.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "crypto/bytes.h"
#include "crypto/random.h"
#include "crypto/secure_channel.h"
#include "crypto/signing.h"
#include "node/rocksdb_block_store.h"
#include "node/testing/store_files.h"
#include "tests/integration/live_testnet.h"

namespace lading::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void CommitNote(const LiveTestnet& net, int k, const std::string& text) {
  const std::unique_ptr<node::api::ApiClient> client = net.Connect(k);
  const absl::StatusOr<proto::SubmitTxResponse> response =
      SubmitNote(*client, net.ClientKeys(1), text, true, seconds(20));
  INFO(response.status().ToString());
  REQUIRE(response.ok());
  REQUIRE(response->committed());
}

// Flips one bit of the payload (past the 32-byte checksum) of the stored block record at
// `height`; returns the original record.
Bytes FlipBlockRecordByte(const std::string& store_path, uint64_t height) {
  absl::StatusOr<std::unique_ptr<node::testing::RawStore>> raw =
      node::testing::RawStore::Open(store_path);
  INFO(raw.status().ToString());
  REQUIRE(raw.ok());
  const Bytes key = node::EncodeHeightKey(height);
  const std::optional<Bytes> record = (*raw)->Get(node::kBlocksColumnFamily, key);
  REQUIRE(record.has_value());
  REQUIRE(record->size() > 48);
  Bytes flipped = *record;
  flipped[32 + (flipped.size() - 32) / 2] ^= 0x10;
  (*raw)->Put(node::kBlocksColumnFamily, key, flipped);
  return *record;
}

void PutBlockRecord(const std::string& store_path, uint64_t height, const Bytes& record) {
  absl::StatusOr<std::unique_ptr<node::testing::RawStore>> raw =
      node::testing::RawStore::Open(store_path);
  REQUIRE(raw.ok());
  (*raw)->Put(node::kBlocksColumnFamily, node::EncodeHeightKey(height), record);
}

TEST_CASE("ladingd refuses to start on a block store with a flipped byte and names the height",
          "[integration][node][storage]") {
  LiveTestnet net({.validators = 1, .clients = 1});
  net.StartAll();
  CommitNote(net, 1, "first");
  CommitNote(net, 1, "second");
  const uint64_t head = *net.Height(1);
  REQUIRE(head >= 3);
  const ExitStatus stopped = net.Stop(1, SIGTERM);
  REQUIRE(stopped.exited);
  REQUIRE(stopped.code == 0);

  constexpr uint64_t kCorruptHeight = 2;
  const Bytes original = FlipBlockRecordByte(net.StorePath(1), kCorruptHeight);
  const size_t log_before = net.LogText(1).size();
  net.Start(1);
  const std::optional<ExitStatus> refused = net.WaitExit(1, seconds(30));
  const std::string run_log = net.LogText(1).substr(log_before);
  INFO("log of the run on the corrupted store:\n" << run_log);
  REQUIRE(refused.has_value());
  CHECK(refused->exited);
  CHECK(refused->code != 0);
  CHECK_THAT(run_log, Catch::Contains("ladingd: block store corrupt at height " +
                                      std::to_string(kCorruptHeight) + ": "));
  CHECK(HttpGet(net.HttpPort(1), "/healthz", milliseconds(500)).status == 0);

  // The same store with the byte put back starts and serves the same head: the refusal was
  // about that byte.
  PutBlockRecord(net.StorePath(1), kCorruptHeight, original);
  net.Start(1);
  net.WaitServing(1);
  CHECK(net.Height(1) == head);
  CommitNote(net, 1, "after repair");
  CHECK(net.Running(1));
}

// The lines of `log` that name the connection from our local port `port`.
std::string LinesFrom(const std::string& log, int port) {
  const std::string marker = "from 127.0.0.1:" + std::to_string(port) + ":";
  std::string out;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    if (line.find(marker) != std::string::npos) out += line + "\n";
    start = end + 1;
  }
  return out;
}

struct P2pCounters {
  double oversize = 0;
  double malformed = 0;
  double unknown_identity = 0;
  double other = 0;
};

P2pCounters ReadCounters(const LiveTestnet& net, int k) {
  P2pCounters counters;
  const auto read = [&](const char* name) {
    const std::optional<double> value = net.Metric(k, name);
    INFO(name);
    REQUIRE(value.has_value());
    return *value;
  };
  counters.oversize = read("lading_p2p_frames_oversize");
  counters.malformed = read("lading_p2p_frames_malformed");
  counters.unknown_identity = read("lading_p2p_handshake_failures_unknown_identity");
  counters.other = read("lading_p2p_handshake_failures_other");
  return counters;
}

// Sends `bytes` on a fresh connection to node k's peer port and requires the node to close it
// within 10 s. Returns our local port (the node's log names it).
int SendAndExpectClose(const LiveTestnet& net, int k, const Bytes& bytes) {
  RawConnection connection(net.P2pPort(k));
  connection.Send(bytes);
  bool closed = false;
  connection.ReadUntilClosed(seconds(10), &closed);
  INFO("node" << k << " kept a connection that sent " << bytes.size() << " hostile bytes open");
  REQUIRE(closed);
  return connection.local_port();
}

Bytes FrameHeader(uint32_t length) {
  Bytes header;
  AppendUint32BigEndian(length, &header);
  return header;
}

TEST_CASE("garbage and oversize frames and an unknown key on the peer port neither crash nor "
          "stall a node and each is counted and logged",
          "[integration][node][p2p]") {
  LiveTestnet net({.validators = 4, .clients = 1});
  net.StartAll();
  REQUIRE(WaitFor([&] { return net.Metric(1, "lading_p2p_peers_connected") == 3.0; },
                  seconds(20)));
  const P2pCounters before = ReadCounters(net, 1);

  // A well-formed frame of random bytes where a Hello belongs.
  Bytes random_hello = FrameHeader(100);
  const Bytes noise = crypto::RandomBytes(100);
  random_hello.insert(random_hello.end(), noise.begin(), noise.end());
  random_hello[4] = crypto::kHandshakeVersion;  // past the version check, into the Hello parser
  const int random_hello_port = SendAndExpectClose(net, 1, random_hello);

  // Raw random bytes: the first four declare a length far above the handshake cap.
  Bytes raw_noise = crypto::RandomBytes(4096);
  raw_noise[0] |= 0x80;
  const int raw_noise_port = SendAndExpectClose(net, 1, raw_noise);

  // A frame declaring 16 MiB, with a little payload behind it.
  Bytes oversize = FrameHeader(16u << 20);
  oversize.resize(oversize.size() + 512, 0xab);
  const int oversize_port = SendAndExpectClose(net, 1, oversize);

  // A frame declaring 0 bytes.
  const int empty_frame_port = SendAndExpectClose(net, 1, FrameHeader(0));

  // A correct handshake from a key no genesis member holds.
  const crypto::SigningKey stranger = crypto::SigningKey::Generate();
  absl::StatusOr<crypto::Handshake> handshake = crypto::Handshake::Initiator(
      stranger, net.chain_id(), [](const crypto::SigningPublicKey&) { return true; });
  REQUIRE(handshake.ok());
  int stranger_port = 0;
  {
    RawConnection connection(net.P2pPort(1));
    stranger_port = connection.local_port();
    REQUIRE(connection.Send(handshake->Start()));
    bool closed = false;
    const Bytes reply = connection.ReadUntilClosed(seconds(10), &closed);
    REQUIRE(closed);
    // The node spoke the protocol (its Hello), then refused us: no Auth follows.
    crypto::FrameDecoder decoder(crypto::kHandshakeFrameBytesMax);
    std::vector<Bytes> frames;
    REQUIRE(decoder.Feed(reply, &frames).ok());
    REQUIRE(frames.size() == 1);
    REQUIRE(crypto::DecodeHello(frames[0]).ok());
  }
  // Counters are read after each connection was closed by the node, so they are up to date.
  const P2pCounters after = ReadCounters(net, 1);
  CHECK(after.other - before.other >= 1);
  CHECK(after.oversize - before.oversize >= 2);
  CHECK(after.malformed - before.malformed >= 1);
  CHECK(after.unknown_identity - before.unknown_identity >= 1);

  const std::string log = net.LogText(1);
  CHECK_THAT(LinesFrom(log, random_hello_port), Catch::Contains("handshake failed: "));
  CHECK_THAT(LinesFrom(log, raw_noise_port), Catch::Contains("above the cap of 321 bytes"));
  CHECK_THAT(LinesFrom(log, oversize_port),
             Catch::Contains("a frame declares a payload of 16777216 bytes, above the cap"));
  CHECK_THAT(LinesFrom(log, empty_frame_port),
             Catch::Contains("a frame declares a payload of 0 bytes"));
  CHECK_THAT(LinesFrom(log, stranger_port),
             Catch::Contains("handshake failed: peer static key " +
                             stranger.public_key().ToHex() + " is not an allowed member"));

  // Still a working validator: its peers are connected and it commits.
  CHECK(net.Metric(1, "lading_p2p_peers_connected") == 3.0);
  CommitNote(net, 1, "after the hostile peer");
  for (int k = 1; k <= 4; ++k) CHECK(net.Running(k));
}

}  // namespace
}  // namespace lading::integration
