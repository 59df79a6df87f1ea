#include "node/p2p/asio_peer_transport.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/random.h"
#include "crypto/secure_channel.h"

namespace lading::node::p2p {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr const char* kChainId = "lading-p2p-test";

// Polls `done` every few milliseconds until it holds or `timeout` passes; the result of the last
// poll. Every wait in these tests is bounded by one of these.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

struct Member {
  crypto::SigningKey key = crypto::SigningKey::Generate();
  std::string id;
};

crypto::SigningKey CopyKey(const crypto::SigningKey& key) {
  return *crypto::SigningKey::FromSeed(key.seed());
}

PeerTransportConfig ConfigFor(const std::vector<const Member*>& members) {
  PeerTransportConfig config;
  config.chain_id = kChainId;
  for (const Member* member : members) config.members.emplace(member->key.public_key(), member->id);
  return config;
}

// One PeerTransport on an io_context thread of its own, recording what it is told.
class TestNode {
 public:
  explicit TestNode(const Member& member) : key_(CopyKey(member.key)), id_(member.id) {}
  TestNode(const TestNode&) = delete;
  TestNode& operator=(const TestNode&) = delete;
  ~TestNode() { Shutdown(); }

  absl::Status Launch(PeerTransportConfig config) {
    PeerTransportCallbacks callbacks;
    callbacks.on_message = [this](const std::string& from, ByteSpan payload) {
      std::lock_guard lock(mutex_);
      received_[from].push_back(ToString(payload));
    };
    callbacks.on_peer_connected = [this](const std::string& member) {
      std::lock_guard lock(mutex_);
      connected_.insert(member);
      ++connect_events_[member];
    };
    callbacks.on_peer_disconnected = [this](const std::string& member) {
      std::lock_guard lock(mutex_);
      connected_.erase(member);
      ++disconnect_events_[member];
    };
    auto transport = PeerTransport::Create(io_context_, key_, std::move(config), callbacks);
    if (!transport.ok()) return transport.status();
    transport_ = std::move(*transport);
    thread_ = std::thread([this] {
      io_context_.run();
      run_returned_ = true;
    });
    return absl::OkStatus();
  }

  // Stops the transport and checks that io_context.run() then returns on its own.
  void Shutdown() {
    if (!thread_.joinable()) return;
    transport_->Stop();
    const bool returned = WaitUntil([&] { return run_returned_.load(); }, 10s);
    // Unblock the thread either way, so a failing test cannot hang.
    if (!returned) io_context_.stop();
    thread_.join();
    transport_.reset();
    CHECK(returned);
  }

  PeerTransport& transport() { return *transport_; }
  const TransportCounters& counters() { return transport_->counters(); }
  uint16_t port() { return transport_->listen_port(); }
  const std::string& id() const { return id_; }

  bool IsConnectedTo(const std::string& member) {
    std::lock_guard lock(mutex_);
    return connected_.contains(member);
  }
  size_t ConnectedCount() {
    std::lock_guard lock(mutex_);
    return connected_.size();
  }
  int DisconnectEvents(const std::string& member) {
    std::lock_guard lock(mutex_);
    return disconnect_events_[member];
  }
  std::vector<std::string> ReceivedFrom(const std::string& member) {
    std::lock_guard lock(mutex_);
    return received_[member];
  }
  size_t CountReceived(const std::string& member, const std::string& text) {
    std::lock_guard lock(mutex_);
    const auto& messages = received_[member];
    return std::count(messages.begin(), messages.end(), text);
  }

 private:
  crypto::SigningKey key_;
  std::string id_;
  asio::io_context io_context_;
  std::unique_ptr<PeerTransport> transport_;
  std::thread thread_;
  std::atomic<bool> run_returned_{false};

  std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> received_;
  std::set<std::string> connected_;
  std::map<std::string, int> connect_events_;
  std::map<std::string, int> disconnect_events_;
};

PeerAddress AddressOf(TestNode& node) { return {node.id(), "127.0.0.1", node.port()}; }

// Sends `text` from `from` to `to` every 100 ms until it arrives (a message sent while a session
// is being replaced may be lost; the transport promises at-most-once delivery).
bool SendUntilReceived(TestNode& from, TestNode& to, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    from.transport().Send(to.id(), ToBytes(text));
    if (WaitUntil([&] { return to.CountReceived(from.id(), text) > 0; }, 100ms)) return true;
  }
  return false;
}

// A plain TCP client on the test thread, for playing a misbehaving peer.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    boost::system::error_code error;
    socket_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), error);
    REQUIRE_FALSE(error);
  }

  // Waits (bounded) for a connection on `acceptor`, which must be non-blocking.
  explicit RawClient(tcp::acceptor& acceptor) {
    REQUIRE(WaitUntil([&] {
      boost::system::error_code error;
      acceptor.accept(socket_, error);
      return !error;
    }));
    socket_.non_blocking(false);
  }

  // Write errors are ignored: the server may already have hung up, which is what tests expect.
  void Write(ByteSpan bytes) {
    boost::system::error_code ignored;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ignored);
  }

  // One side of the handshake over this connection.
  absl::StatusOr<crypto::EstablishedChannel> Handshake(
      const crypto::SigningKey& key,
      crypto::HandshakeRole role = crypto::HandshakeRole::kInitiator) {
    auto allow_all = [](const crypto::SigningPublicKey&) { return true; };
    auto handshake = role == crypto::HandshakeRole::kInitiator
                         ? crypto::Handshake::Initiator(key, kChainId, allow_all)
                         : crypto::Handshake::Responder(key, kChainId, allow_all);
    if (!handshake.ok()) return handshake.status();
    Write(handshake->Start());
    crypto::FrameDecoder decoder(crypto::kHandshakeFrameBytesMax);
    std::vector<uint8_t> buffer(4096);
    while (!handshake->done()) {
      boost::system::error_code error;
      const size_t bytes = socket_.read_some(asio::buffer(buffer), error);
      if (error) return absl::UnavailableError("server closed the connection: " + error.message());
      std::vector<Bytes> frames;
      if (auto status = decoder.Feed(ByteSpan(buffer.data(), bytes), &frames); !status.ok()) {
        return status;
      }
      for (const Bytes& frame : frames) {
        auto reply = handshake->OnFrame(frame);
        if (!reply.ok()) return reply.status();
        if (!reply->empty()) Write(*reply);
      }
    }
    return handshake->Finish();
  }

  // The next message on an established connection, or an empty optional when none arrives
  // within `timeout` or it does not open under `channel`.
  std::optional<std::string> ReceiveMessage(crypto::EstablishedChannel& channel,
                                            std::chrono::milliseconds timeout) {
    crypto::FrameDecoder decoder(crypto::kFramePayloadBytesLimit);
    std::vector<Bytes> frames;
    std::vector<uint8_t> buffer(4096);
    std::function<void()> read = [&] {
      socket_.async_read_some(asio::buffer(buffer),
                              [&](const boost::system::error_code& error, size_t bytes) {
                                if (error) return;
                                if (!decoder.Feed(ByteSpan(buffer.data(), bytes), &frames).ok()) {
                                  return;
                                }
                                if (frames.empty()) read();
                              });
    };
    read();
    io_context_.restart();
    io_context_.run_for(timeout);
    if (frames.empty()) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      io_context_.restart();
      io_context_.run();
      return std::nullopt;
    }
    auto payload = channel.receiver.Open(frames.front());
    if (!payload.ok()) return std::nullopt;
    return ToString(*payload);
  }

  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  // Reads and discards until the server closes the connection; false if it is still open after
  // `timeout`.
  bool ClosedByServerWithin(std::chrono::milliseconds timeout) {
    bool closed = false;
    std::vector<uint8_t> buffer(64u << 10);
    std::function<void()> read = [&] {
      socket_.async_read_some(asio::buffer(buffer),
                              [&](const boost::system::error_code& error, size_t) {
                                if (error) {
                                  closed = true;
                                  return;
                                }
                                read();
                              });
    };
    read();
    io_context_.restart();
    io_context_.run_for(timeout);
    if (!closed) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      io_context_.restart();
      io_context_.run();
    }
    return closed;
  }

 private:
  asio::io_context io_context_;
  tcp::socket socket_{io_context_};
};

uint64_t Load(const std::atomic<uint64_t>& counter) { return counter.load(); }

// Three members; a is dialed by b and c, b is dialed by c.
struct Trio {
  Member a{.id = "alpha"};
  Member b{.id = "bravo"};
  Member c{.id = "charlie"};
  std::unique_ptr<TestNode> node_a = std::make_unique<TestNode>(a);
  std::unique_ptr<TestNode> node_b = std::make_unique<TestNode>(b);
  std::unique_ptr<TestNode> node_c = std::make_unique<TestNode>(c);

  PeerTransportConfig Config() const { return ConfigFor({&a, &b, &c}); }

  void LaunchAll() {
    REQUIRE(node_a->Launch(Config()).ok());
    PeerTransportConfig config_b = Config();
    config_b.peers_to_dial = {AddressOf(*node_a)};
    REQUIRE(node_b->Launch(config_b).ok());
    PeerTransportConfig config_c = Config();
    config_c.peers_to_dial = {AddressOf(*node_a), AddressOf(*node_b)};
    REQUIRE(node_c->Launch(config_c).ok());
  }

  std::vector<TestNode*> Nodes() { return {node_a.get(), node_b.get(), node_c.get()}; }

  bool AllConnected() {
    for (TestNode* node : Nodes()) {
      if (node->ConnectedCount() != 2) return false;
    }
    return true;
  }
};

TEST_CASE("three transports connect all-to-all and exchange messages both ways, in order",
          "[integration][p2p]") {
  Trio trio;
  trio.LaunchAll();
  REQUIRE(WaitUntil([&] { return trio.AllConnected(); }));

  constexpr int kMessages = 25;
  for (TestNode* from : trio.Nodes()) {
    for (TestNode* to : trio.Nodes()) {
      if (from == to) continue;
      for (int i = 0; i < kMessages; ++i) {
        from->transport().Send(to->id(),
                               ToBytes(from->id() + "->" + to->id() + " #" + std::to_string(i)));
      }
    }
  }
  for (TestNode* to : trio.Nodes()) {
    for (TestNode* from : trio.Nodes()) {
      if (from == to) continue;
      CAPTURE(from->id(), to->id());
      REQUIRE(WaitUntil([&] { return to->ReceivedFrom(from->id()).size() >= kMessages; }));
      std::vector<std::string> expected;
      for (int i = 0; i < kMessages; ++i) {
        expected.push_back(from->id() + "->" + to->id() + " #" + std::to_string(i));
      }
      CHECK(to->ReceivedFrom(from->id()) == expected);
    }
  }

  for (TestNode* from : trio.Nodes())
    from->transport().Broadcast(ToBytes("hello from " + from->id()));
  for (TestNode* to : trio.Nodes()) {
    for (TestNode* from : trio.Nodes()) {
      if (from == to) continue;
      CAPTURE(from->id(), to->id());
      CHECK(WaitUntil(
          [&] { return to->CountReceived(from->id(), "hello from " + from->id()) == 1; }));
    }
  }
  for (TestNode* node : trio.Nodes()) {
    CAPTURE(node->id());
    CHECK(Load(node->counters().handshakes_ok) == 2);
    CHECK(Load(node->counters().peers_connected) == 2);
    CHECK(Load(node->counters().frames_unauthenticated) == 0);
    CHECK(Load(node->counters().handshake_failures_other) == 0);
    CHECK(Load(node->counters().messages_dropped_not_connected) == 0);
    CHECK(Load(node->counters().messages_in) == 2 * kMessages + 2);
    CHECK(Load(node->counters().messages_out) == 2 * kMessages + 2);
  }
}

TEST_CASE("transports sharing one io_context run by two threads exchange messages",
          "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member b{.id = "bravo"};
  asio::io_context io_context;
  std::mutex mutex;
  std::map<std::string, int> received;  // by receiver
  auto callbacks_for = [&](const std::string& self) {
    PeerTransportCallbacks callbacks;
    callbacks.on_message = [&, self](const std::string&, ByteSpan) {
      std::lock_guard lock(mutex);
      ++received[self];
    };
    return callbacks;
  };
  auto transport_a =
      PeerTransport::Create(io_context, a.key, ConfigFor({&a, &b}), callbacks_for("alpha"));
  REQUIRE(transport_a.ok());
  PeerTransportConfig config_b = ConfigFor({&a, &b});
  config_b.peers_to_dial = {{"alpha", "127.0.0.1", (*transport_a)->listen_port()}};
  auto transport_b = PeerTransport::Create(io_context, b.key, config_b, callbacks_for("bravo"));
  REQUIRE(transport_b.ok());
  std::atomic<int> runners_done{0};
  std::thread first([&] {
    io_context.run();
    ++runners_done;
  });
  std::thread second([&] {
    io_context.run();
    ++runners_done;
  });

  const bool connected = WaitUntil([&] {
    return Load((*transport_a)->counters().peers_connected) == 1 &&
           Load((*transport_b)->counters().peers_connected) == 1;
  });
  constexpr int kMessages = 500;
  if (connected) {
    // Send from both sides at once, from threads that are not io_context threads.
    std::thread sender_a([&] {
      for (int i = 0; i < kMessages; ++i) (*transport_a)->Send("bravo", Bytes(100, 1));
    });
    std::thread sender_b([&] {
      for (int i = 0; i < kMessages; ++i) (*transport_b)->Send("alpha", Bytes(100, 2));
    });
    sender_a.join();
    sender_b.join();
  }
  const bool delivered = WaitUntil([&] {
    std::lock_guard lock(mutex);
    return received["alpha"] == kMessages && received["bravo"] == kMessages;
  });
  (*transport_a)->Stop();
  (*transport_b)->Stop();
  const bool stopped = WaitUntil([&] { return runners_done == 2; });
  if (!stopped) io_context.stop();
  first.join();
  second.join();
  CHECK(connected);
  CHECK(delivered);
  CHECK(stopped);
}

TEST_CASE("misbehaving connections are closed and counted while real peers keep talking",
          "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member b{.id = "bravo"};
  Member d{.id = "delta"};  // a member with no node: the test plays it over raw TCP
  TestNode node_a(a);
  TestNode node_b(b);
  PeerTransportConfig config_a = ConfigFor({&a, &b, &d});
  config_a.handshake_timeout = 1s;
  REQUIRE(node_a.Launch(config_a).ok());
  PeerTransportConfig config_b = ConfigFor({&a, &b, &d});
  config_b.peers_to_dial = {AddressOf(node_a)};
  REQUIRE(node_b.Launch(config_b).ok());
  REQUIRE(
      WaitUntil([&] { return node_a.IsConnectedTo("bravo") && node_b.IsConnectedTo("alpha"); }));
  const TransportCounters& counters = node_a.counters();

  SECTION("random bytes") {
    RawClient client(node_a.port());
    client.Write(crypto::RandomBytes(4096));
    CHECK(client.ClosedByServerWithin(5s));
    // Random bytes fail as an oversize declaration or as a malformed Hello.
    CHECK(WaitUntil([&] {
      return Load(counters.frames_oversize) + Load(counters.frames_malformed) +
                 Load(counters.handshake_failures_other) ==
             1;
    }));
  }
  SECTION("an oversize frame before the handshake") {
    RawClient client(node_a.port());
    client.Write(Bytes{0x7f, 0xff, 0xff, 0xff});
    CHECK(client.ClosedByServerWithin(5s));
    CHECK(WaitUntil([&] { return Load(counters.frames_oversize) == 1; }));
  }
  SECTION("an oversize frame from an authenticated member") {
    RawClient client(node_a.port());
    auto channel = client.Handshake(d.key);
    REQUIRE(channel.ok());
    REQUIRE(WaitUntil([&] { return node_a.IsConnectedTo("delta"); }));
    Bytes header;
    AppendUint32BigEndian(
        static_cast<uint32_t>(config_a.payload_bytes_max + crypto::FrameCipher::kTagBytes + 1),
        &header);
    client.Write(header);
    CHECK(client.ClosedByServerWithin(5s));
    CHECK(WaitUntil([&] { return Load(counters.frames_oversize) == 1; }));
    CHECK(WaitUntil([&] { return !node_a.IsConnectedTo("delta"); }));
  }
  SECTION("a frame that fails authentication from an authenticated member") {
    RawClient client(node_a.port());
    auto channel = client.Handshake(d.key);
    REQUIRE(channel.ok());
    auto genuine = channel->sender.Seal(ToBytes("genuine"));
    REQUIRE(genuine.ok());
    client.Write(crypto::EncodeFrame(*genuine));
    REQUIRE(WaitUntil([&] { return node_a.CountReceived("delta", "genuine") == 1; }));
    auto forged = channel->sender.Seal(ToBytes("forged"));
    REQUIRE(forged.ok());
    forged->back() ^= 1;
    client.Write(crypto::EncodeFrame(*forged));
    CHECK(client.ClosedByServerWithin(5s));
    CHECK(WaitUntil([&] { return Load(counters.frames_unauthenticated) == 1; }));
    CHECK(node_a.CountReceived("delta", "forged") == 0);
  }
  SECTION("a handshake with an unknown key") {
    const crypto::SigningKey stranger = crypto::SigningKey::Generate();
    RawClient client(node_a.port());
    auto channel = client.Handshake(stranger);
    CHECK_FALSE(channel.ok());
    CHECK(client.ClosedByServerWithin(5s));
    CHECK(WaitUntil([&] { return Load(counters.handshake_failures_unknown_identity) == 1; }));
    CHECK(Load(counters.handshakes_ok) == 1);  // bravo only
  }
  SECTION("a handshake with our own key") {
    RawClient client(node_a.port());
    CHECK_FALSE(client.Handshake(a.key).ok());
    CHECK(client.ClosedByServerWithin(5s));
    CHECK(WaitUntil([&] { return Load(counters.handshake_failures_unknown_identity) == 1; }));
  }
  SECTION("a connection that never completes its handshake") {
    RawClient client(node_a.port());
    CHECK(client.ClosedByServerWithin(5s));
    CHECK(WaitUntil([&] { return Load(counters.handshake_failures_timeout) == 1; }));
  }

  CHECK(WaitUntil([&] { return Load(counters.sessions_closed) == 1; }));
  // The real peers were never disturbed and still talk both ways.
  CHECK(node_a.IsConnectedTo("bravo"));
  CHECK(node_a.DisconnectEvents("bravo") == 0);
  CHECK(SendUntilReceived(node_a, node_b, "still here?"));
  CHECK(SendUntilReceived(node_b, node_a, "yes"));
  CHECK(node_b.CountReceived("alpha", "still here?") == 1);
}

// alpha dials delta (played by the test) while delta dials alpha: alpha ends up with two
// authenticated sessions to delta and must keep the one dialed by the smaller static key.
TEST_CASE("when both sides dial, the session dialed by the smaller static key is kept",
          "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member d{.id = "delta"};
  asio::io_context acceptor_context;
  tcp::acceptor delta_listener(acceptor_context,
                               tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  delta_listener.non_blocking(true);
  TestNode node_a(a);
  PeerTransportConfig config = ConfigFor({&a, &d});
  config.peers_to_dial = {{"delta", "127.0.0.1", delta_listener.local_endpoint().port()}};
  REQUIRE(node_a.Launch(config).ok());

  RawClient dialed_by_alpha(delta_listener);
  auto channel_dialed_by_alpha =
      dialed_by_alpha.Handshake(d.key, crypto::HandshakeRole::kResponder);
  REQUIRE(channel_dialed_by_alpha.ok());
  REQUIRE(WaitUntil([&] { return node_a.IsConnectedTo("delta"); }));
  RawClient dialed_by_delta(node_a.port());
  auto channel_dialed_by_delta = dialed_by_delta.Handshake(d.key);
  REQUIRE(channel_dialed_by_delta.ok());
  REQUIRE(WaitUntil([&] { return Load(node_a.counters().sessions_duplicate) == 1; }));

  const bool alpha_is_smaller = a.key.public_key() < d.key.public_key();
  CAPTURE(alpha_is_smaller);
  RawClient& kept = alpha_is_smaller ? dialed_by_alpha : dialed_by_delta;
  RawClient& drained = alpha_is_smaller ? dialed_by_delta : dialed_by_alpha;
  crypto::EstablishedChannel& kept_channel =
      alpha_is_smaller ? *channel_dialed_by_alpha : *channel_dialed_by_delta;

  // alpha half-closes the drained session; delta (here: the test) then closes it too.
  CHECK(drained.ClosedByServerWithin(5s));
  drained.Close();
  CHECK(WaitUntil([&] { return Load(node_a.counters().sessions_closed) == 1; }));
  node_a.transport().Send("delta", ToBytes("which one?"));
  CHECK(kept.ReceiveMessage(kept_channel, 5s) == "which one?");
  CHECK(node_a.IsConnectedTo("delta"));
  CHECK(node_a.DisconnectEvents("delta") == 0);
  CHECK(Load(node_a.counters().peers_connected) == 1);
}

TEST_CASE("a member that dials again replaces its older session", "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member d{.id = "delta"};
  TestNode node_a(a);
  REQUIRE(node_a.Launch(ConfigFor({&a, &d})).ok());
  RawClient older(node_a.port());
  auto older_channel = older.Handshake(d.key);
  REQUIRE(older_channel.ok());
  REQUIRE(WaitUntil([&] { return node_a.IsConnectedTo("delta"); }));
  RawClient newer(node_a.port());
  auto newer_channel = newer.Handshake(d.key);
  REQUIRE(newer_channel.ok());
  REQUIRE(WaitUntil([&] { return Load(node_a.counters().sessions_duplicate) == 1; }));

  CHECK(older.ClosedByServerWithin(5s));
  node_a.transport().Send("delta", ToBytes("to the newer"));
  CHECK(newer.ReceiveMessage(*newer_channel, 5s) == "to the newer");
  CHECK(node_a.DisconnectEvents("delta") == 0);
}

TEST_CASE("a peer that stops reading is closed when its write queue fills", "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member d{.id = "delta"};
  TestNode node_a(a);
  PeerTransportConfig config = ConfigFor({&a, &d});
  config.payload_bytes_max = 64u << 10;
  config.write_queue_bytes_max = 1u << 20;
  REQUIRE(node_a.Launch(config).ok());
  RawClient client(node_a.port());
  REQUIRE(client.Handshake(d.key).ok());
  REQUIRE(WaitUntil([&] { return node_a.IsConnectedTo("delta"); }));

  // Far more than the kernel's socket buffers and the queue together; the client reads nothing.
  for (int i = 0; i < 1000 && node_a.IsConnectedTo("delta"); ++i) {
    node_a.transport().Send("delta", Bytes(32u << 10, 0x5a));
    if (i % 50 == 49) std::this_thread::sleep_for(10ms);
  }
  CHECK(WaitUntil([&] { return Load(node_a.counters().write_queue_overflows) == 1; }));
  CHECK(WaitUntil([&] { return !node_a.IsConnectedTo("delta"); }));
}

TEST_CASE("oversize and unroutable sends are dropped and counted", "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member b{.id = "bravo"};
  TestNode node_a(a);
  PeerTransportConfig config = ConfigFor({&a, &b});
  config.payload_bytes_max = 1000;
  REQUIRE(node_a.Launch(config).ok());
  node_a.transport().Send("bravo", Bytes(10, 1));  // not connected
  node_a.transport().Send("nobody", Bytes(10, 1));
  node_a.transport().Send("bravo", Bytes(1001, 1));
  node_a.transport().Broadcast(Bytes(1001, 1));
  CHECK(WaitUntil([&] { return Load(node_a.counters().messages_dropped_not_connected) == 2; }));
  CHECK(Load(node_a.counters().messages_dropped_too_large) == 2);
  CHECK(Load(node_a.counters().messages_out) == 0);
}

// Forwards a dialer's connections to a target port. Parses the dialer's byte stream into frames
// and, on the first connection only, sends its third frame (the first after Hello and Auth)
// twice: a replay by a man in the middle.
class ReplayProxy {
 public:
  explicit ReplayProxy(uint16_t target_port)
      : target_(asio::ip::address_v4::loopback(), target_port),
        acceptor_(io_context_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    Accept();
    thread_ = std::thread([this] { io_context_.run(); });
  }
  ~ReplayProxy() {
    io_context_.stop();
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }
  bool replayed() const { return replayed_; }

 private:
  struct Link {
    Link(asio::io_context& io_context, bool replay_third_frame)
        : dialer(io_context), target(io_context), replay_third_frame(replay_third_frame) {}
    void Close() {
      boost::system::error_code ignored;
      dialer.close(ignored);
      target.close(ignored);
    }
    tcp::socket dialer;
    tcp::socket target;
    crypto::FrameDecoder decoder{crypto::kFramePayloadBytesLimit};
    bool replay_third_frame;
    int frames_seen = 0;
    std::vector<uint8_t> up_buffer = std::vector<uint8_t>(64u << 10);
    std::vector<uint8_t> down_buffer = std::vector<uint8_t>(64u << 10);
    Bytes up_out;
  };

  void Accept() {
    auto link = std::make_shared<Link>(io_context_, connections_ == 0);
    acceptor_.async_accept(link->dialer, [this, link](const boost::system::error_code& error) {
      if (error) return;
      ++connections_;
      link->target.async_connect(target_, [this, link](const boost::system::error_code& error) {
        if (error) return link->Close();
        PumpUp(link);
        PumpDown(link);
      });
      Accept();
    });
  }

  void PumpUp(const std::shared_ptr<Link>& link) {
    link->dialer.async_read_some(
        asio::buffer(link->up_buffer),
        [this, link](const boost::system::error_code& error, size_t bytes) {
          if (error) return link->Close();
          std::vector<Bytes> frames;
          if (!link->decoder.Feed(ByteSpan(link->up_buffer.data(), bytes), &frames).ok()) {
            return link->Close();
          }
          link->up_out.clear();
          for (const Bytes& frame : frames) {
            const Bytes wire = crypto::EncodeFrame(frame);
            const int copies = link->replay_third_frame && link->frames_seen == 2 ? 2 : 1;
            if (copies == 2) replayed_ = true;
            for (int i = 0; i < copies; ++i) {
              link->up_out.insert(link->up_out.end(), wire.begin(), wire.end());
            }
            ++link->frames_seen;
          }
          if (link->up_out.empty()) return PumpUp(link);
          asio::async_write(link->target, asio::buffer(link->up_out),
                            [this, link](const boost::system::error_code& error, size_t) {
                              if (error) return link->Close();
                              PumpUp(link);
                            });
        });
  }

  void PumpDown(const std::shared_ptr<Link>& link) {
    link->target.async_read_some(
        asio::buffer(link->down_buffer),
        [this, link](const boost::system::error_code& error, size_t bytes) {
          if (error) return link->Close();
          asio::async_write(link->dialer, asio::buffer(link->down_buffer.data(), bytes),
                            [this, link](const boost::system::error_code& error, size_t) {
                              if (error) return link->Close();
                              PumpDown(link);
                            });
        });
  }

  asio::io_context io_context_;
  tcp::endpoint target_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> connections_{0};
  std::atomic<bool> replayed_{false};
};

TEST_CASE("a replayed frame closes the session, and the dialer reconnects", "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member b{.id = "bravo"};
  TestNode node_a(a);
  TestNode node_b(b);
  REQUIRE(node_b.Launch(ConfigFor({&a, &b})).ok());
  ReplayProxy proxy(node_b.port());
  PeerTransportConfig config_a = ConfigFor({&a, &b});
  config_a.peers_to_dial = {{"bravo", "127.0.0.1", proxy.port()}};
  REQUIRE(node_a.Launch(config_a).ok());
  REQUIRE(
      WaitUntil([&] { return node_a.IsConnectedTo("bravo") && node_b.IsConnectedTo("alpha"); }));

  node_a.transport().Send("bravo", ToBytes("pay 100"));
  REQUIRE(WaitUntil([&] { return Load(node_b.counters().frames_unauthenticated) == 1; }));
  CHECK(proxy.replayed());
  // The original was delivered; its replay was not.
  CHECK(node_b.CountReceived("alpha", "pay 100") == 1);

  // alpha notices the close and dials again, through the proxy, which now forwards faithfully.
  REQUIRE(WaitUntil([&] { return proxy.connections() >= 2; }));
  REQUIRE(WaitUntil([&] { return Load(node_b.counters().handshakes_ok) == 2; }));
  CHECK(SendUntilReceived(node_a, node_b, "pay 200"));
  CHECK(SendUntilReceived(node_b, node_a, "received 200"));
  CHECK(node_b.CountReceived("alpha", "pay 100") == 1);
  CHECK(Load(node_b.counters().frames_unauthenticated) == 1);
}

TEST_CASE("after a transport restarts on the same port the others reconnect to it",
          "[integration][p2p]") {
  Trio trio;
  trio.LaunchAll();
  REQUIRE(WaitUntil([&] { return trio.AllConnected(); }));
  const uint16_t port_a = trio.node_a->port();

  trio.node_a->Shutdown();
  REQUIRE(WaitUntil([&] {
    return !trio.node_b->IsConnectedTo("alpha") && !trio.node_c->IsConnectedTo("alpha");
  }));
  // While alpha is away, messages to it are dropped, not queued.
  trio.node_b->transport().Send("alpha", ToBytes("anyone?"));
  CHECK(
      WaitUntil([&] { return Load(trio.node_b->counters().messages_dropped_not_connected) == 1; }));

  // The new alpha also dials bravo and charlie, who are dialing it: both sides connect at once
  // and the duplicate sessions must resolve to one per pair.
  trio.node_a = std::make_unique<TestNode>(trio.a);
  PeerTransportConfig config = trio.Config();
  config.listen_port = port_a;
  config.peers_to_dial = {AddressOf(*trio.node_b), AddressOf(*trio.node_c)};
  REQUIRE(trio.node_a->Launch(config).ok());
  REQUIRE(trio.node_a->port() == port_a);
  REQUIRE(WaitUntil([&] { return trio.AllConnected(); }));

  for (TestNode* from : trio.Nodes()) {
    for (TestNode* to : trio.Nodes()) {
      if (from == to) continue;
      CAPTURE(from->id(), to->id());
      CHECK(SendUntilReceived(*from, *to, "after restart: " + from->id() + "->" + to->id()));
    }
  }
  for (TestNode* node : trio.Nodes()) {
    CAPTURE(node->id());
    CHECK(Load(node->counters().peers_connected) == 2);
  }
  // At least the restart; a duplicate resolved late can add a brief disconnect/connect pair.
  CHECK(trio.node_b->DisconnectEvents("alpha") >= 1);
  CHECK(trio.node_b->IsConnectedTo("charlie"));
  CHECK(trio.node_b->DisconnectEvents("charlie") == 0);
}

TEST_CASE("PeerTransport::Create refuses bad configurations", "[integration][p2p]") {
  Member a{.id = "alpha"};
  Member b{.id = "bravo"};
  asio::io_context io_context;
  auto create = [&](PeerTransportConfig config) {
    return PeerTransport::Create(io_context, a.key, std::move(config), {});
  };
  const PeerTransportConfig good = ConfigFor({&a, &b});

  PeerTransportConfig config = good;
  config.chain_id = "";
  CHECK(absl::IsInvalidArgument(create(config).status()));
  config = good;
  config.listen_host = "localhost.invalid";
  CHECK(absl::IsInvalidArgument(create(config).status()));
  config = good;
  config.peers_to_dial = {{"zulu", "127.0.0.1", 9}};
  auto unknown = create(config);
  CHECK(absl::IsInvalidArgument(unknown.status()));
  CHECK_THAT(std::string(unknown.status().message()), Catch::Contains("zulu"));
  config = good;
  config.peers_to_dial = {{"alpha", "127.0.0.1", 9}};
  CHECK(absl::IsInvalidArgument(create(config).status()));
  config = good;
  config.peers_to_dial = {{"bravo", "127.0.0.1", 9}, {"bravo", "127.0.0.1", 10}};
  CHECK(absl::IsInvalidArgument(create(config).status()));
  config = good;
  config.members.emplace(crypto::SigningKey::Generate().public_key(), "bravo");
  CHECK(absl::IsInvalidArgument(create(config).status()));
  config = good;
  config.write_queue_bytes_max = config.payload_bytes_max;
  CHECK(absl::IsInvalidArgument(create(config).status()));
  config = good;
  config.reconnect_delay_max = 10ms;
  config.reconnect_delay_min = 20ms;
  CHECK(absl::IsInvalidArgument(create(config).status()));

  auto first = create(good);
  REQUIRE(first.ok());
  config = good;
  config.listen_port = (*first)->listen_port();
  auto busy = create(config);
  CHECK(absl::IsUnavailable(busy.status()));
  (*first)->Stop();
  io_context.run_for(1s);
}

}  // namespace
}  // namespace lading::node::p2p
