#include "crypto/secure_channel.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <set>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace lading::crypto {
namespace {

constexpr std::string_view kChainId = "lading-test-chain";

// The one frame payload in `wire`; fails the test unless `wire` is exactly one frame.
Bytes Payload(const Bytes& wire) {
  FrameDecoder decoder(kFramePayloadBytesLimit);
  std::vector<Bytes> frames;
  REQUIRE(decoder.Feed(wire, &frames).ok());
  REQUIRE(frames.size() == 1);
  REQUIRE(decoder.buffered_bytes() == 0);
  return frames[0];
}

Handshake::IsAllowed AllowOnly(std::set<SigningPublicKey> allowed) {
  return
      [allowed = std::move(allowed)](const SigningPublicKey& key) { return allowed.contains(key); };
}

Handshake::IsAllowed AllowAnyone() {
  return [](const SigningPublicKey&) { return true; };
}

// Two members that know each other.
struct Pair {
  SigningKey initiator_key = SigningKey::Generate();
  SigningKey responder_key = SigningKey::Generate();
  Handshake initiator = *Handshake::Initiator(initiator_key, std::string(kChainId),
                                              AllowOnly({responder_key.public_key()}));
  Handshake responder = *Handshake::Responder(responder_key, std::string(kChainId),
                                              AllowOnly({initiator_key.public_key()}));
};

// The four handshake frames of one run, as payloads.
struct Flights {
  Bytes initiator_hello;
  Bytes responder_hello;
  Bytes initiator_auth;
  Bytes responder_auth;
};

// Runs both Hellos through; returns each side's Auth (as payloads).
Flights ExchangeHellos(Pair& pair) {
  Flights flights;
  flights.initiator_hello = Payload(pair.initiator.Start());
  flights.responder_hello = Payload(pair.responder.Start());
  auto initiator_auth = pair.initiator.OnFrame(flights.responder_hello);
  REQUIRE(initiator_auth.ok());
  auto responder_auth = pair.responder.OnFrame(flights.initiator_hello);
  REQUIRE(responder_auth.ok());
  flights.initiator_auth = Payload(*initiator_auth);
  flights.responder_auth = Payload(*responder_auth);
  return flights;
}

void CompleteHandshake(Pair& pair) {
  const Flights flights = ExchangeHellos(pair);
  auto initiator_done = pair.initiator.OnFrame(flights.responder_auth);
  REQUIRE(initiator_done.ok());
  CHECK(initiator_done->empty());
  auto responder_done = pair.responder.OnFrame(flights.initiator_auth);
  REQUIRE(responder_done.ok());
  CHECK(responder_done->empty());
}

TEST_CASE("a handshake between two allowed members establishes a channel both ways",
          "[unit][crypto][p2p]") {
  Pair pair;
  CompleteHandshake(pair);
  REQUIRE(pair.initiator.done());
  REQUIRE(pair.responder.done());
  auto initiator = pair.initiator.Finish();
  auto responder = pair.responder.Finish();
  REQUIRE(initiator.ok());
  REQUIRE(responder.ok());
  CHECK(initiator->peer_static_key == pair.responder_key.public_key());
  CHECK(responder->peer_static_key == pair.initiator_key.public_key());
  CHECK(initiator->role == HandshakeRole::kInitiator);
  CHECK(responder->role == HandshakeRole::kResponder);
  // Auth used counter 0 of each direction.
  CHECK(initiator->sender.next_counter() == 1);
  CHECK(responder->receiver.next_counter() == 1);

  for (int i = 0; i < 3; ++i) {
    const Bytes ping = ToBytes("ping " + std::to_string(i));
    auto sealed = initiator->sender.Seal(ping);
    REQUIRE(sealed.ok());
    CHECK(*sealed != ping);
    auto opened = responder->receiver.Open(*sealed);
    REQUIRE(opened.ok());
    CHECK(*opened == ping);

    const Bytes pong = ToBytes("pong " + std::to_string(i));
    auto sealed_back = responder->sender.Seal(pong);
    REQUIRE(sealed_back.ok());
    auto opened_back = initiator->receiver.Open(*sealed_back);
    REQUIRE(opened_back.ok());
    CHECK(*opened_back == pong);
  }
}

TEST_CASE("a frame sealed in one direction does not open in the other", "[unit][crypto][p2p]") {
  Pair pair;
  CompleteHandshake(pair);
  auto initiator = pair.initiator.Finish();
  auto responder = pair.responder.Finish();
  REQUIRE(initiator.ok());
  REQUIRE(responder.ok());
  auto sealed = initiator->sender.Seal(ToBytes("to the responder"));
  REQUIRE(sealed.ok());
  // The initiator's own receiver expects the responder's counter 1 too, but under the other key.
  CHECK(absl::IsUnauthenticated(initiator->receiver.Open(*sealed).status()));
  CHECK(responder->receiver.Open(*sealed).ok());
}

TEST_CASE("a handshake refuses a peer whose static key is not allowed, before signing anything",
          "[unit][crypto][p2p]") {
  SigningKey member = SigningKey::Generate();
  SigningKey stranger = SigningKey::Generate();
  SigningKey someone_else = SigningKey::Generate();
  auto responder =
      Handshake::Responder(member, std::string(kChainId), AllowOnly({someone_else.public_key()}));
  auto initiator = Handshake::Initiator(stranger, std::string(kChainId), AllowAnyone());
  REQUIRE(responder.ok());
  REQUIRE(initiator.ok());
  responder->Start();
  const Bytes stranger_hello = Payload(initiator->Start());

  auto reply = responder->OnFrame(stranger_hello);
  REQUIRE(absl::IsPermissionDenied(reply.status()));
  CHECK_THAT(std::string(reply.status().message()), Catch::Contains(stranger.public_key().ToHex()));
  CHECK_FALSE(responder->done());
  // The failure sticks.
  CHECK(absl::IsPermissionDenied(responder->OnFrame(stranger_hello).status()));
  CHECK(absl::IsFailedPrecondition(responder->Finish().status()));
}

TEST_CASE("the same stranger passes when the caller allows its key", "[unit][crypto][p2p]") {
  SigningKey member = SigningKey::Generate();
  SigningKey stranger = SigningKey::Generate();
  auto responder =
      Handshake::Responder(member, std::string(kChainId), AllowOnly({stranger.public_key()}));
  auto initiator = Handshake::Initiator(stranger, std::string(kChainId), AllowAnyone());
  REQUIRE(responder.ok());
  REQUIRE(initiator.ok());
  responder->Start();
  CHECK(responder->OnFrame(Payload(initiator->Start())).ok());
}

TEST_CASE("a handshake refuses a peer on another chain", "[unit][crypto][p2p]") {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  auto initiator = Handshake::Initiator(a, "chain-one", AllowAnyone());
  auto responder = Handshake::Responder(b, "chain-two", AllowAnyone());
  REQUIRE(initiator.ok());
  REQUIRE(responder.ok());
  const Bytes initiator_hello = Payload(initiator->Start());
  const Bytes responder_hello = Payload(responder->Start());
  auto at_responder = responder->OnFrame(initiator_hello);
  REQUIRE(absl::IsFailedPrecondition(at_responder.status()));
  CHECK_THAT(std::string(at_responder.status().message()), Catch::Contains("chain-one"));
  CHECK(absl::IsFailedPrecondition(initiator->OnFrame(responder_hello).status()));
}

TEST_CASE("a handshake refuses another handshake version and malformed Hellos",
          "[unit][crypto][p2p]") {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  auto initiator = Handshake::Initiator(a, std::string(kChainId), AllowAnyone());
  REQUIRE(initiator.ok());
  Bytes good_hello = Payload(initiator->Start());
  REQUIRE(DecodeHello(good_hello).ok());

  SECTION("version 2") {
    Bytes hello = good_hello;
    hello[0] = 2;
    auto responder = Handshake::Responder(b, std::string(kChainId), AllowAnyone());
    responder->Start();
    CHECK(absl::IsFailedPrecondition(responder->OnFrame(hello).status()));
  }
  SECTION("one trailing byte") {
    Bytes hello = good_hello;
    hello.push_back(0);
    auto responder = Handshake::Responder(b, std::string(kChainId), AllowAnyone());
    responder->Start();
    CHECK(absl::IsInvalidArgument(responder->OnFrame(hello).status()));
  }
  SECTION("one byte short") {
    Bytes hello = good_hello;
    hello.pop_back();
    auto responder = Handshake::Responder(b, std::string(kChainId), AllowAnyone());
    responder->Start();
    CHECK(absl::IsInvalidArgument(responder->OnFrame(hello).status()));
  }
  SECTION("an Auth-sized blob where a Hello belongs") {
    auto responder = Handshake::Responder(b, std::string(kChainId), AllowAnyone());
    responder->Start();
    CHECK_FALSE(responder->OnFrame(Bytes(80, 0x01)).ok());
  }
}

TEST_CASE("Hello round-trips through its encoding", "[unit][crypto][p2p]") {
  Hello hello;
  hello.chain_id = "c";
  hello.static_key = SigningKey::Generate().public_key();
  FillRandom(hello.ephemeral_key);
  const Bytes encoded = EncodeHello(hello);
  CHECK(encoded.size() == 2 + 1 + 64);
  auto decoded = DecodeHello(encoded);
  REQUIRE(decoded.ok());
  CHECK(*decoded == hello);

  hello.chain_id = std::string(kChainIdBytesMax, 'x');
  const Bytes longest = EncodeHello(hello);
  CHECK(longest.size() == kHandshakeFrameBytesMax);
  REQUIRE(DecodeHello(longest).ok());
  CHECK(*DecodeHello(longest) == hello);

  CHECK(absl::IsInvalidArgument(DecodeHello({}).status()));
  Bytes empty_chain = {kHandshakeVersion, 0};
  empty_chain.resize(2 + 64);
  CHECK(absl::IsInvalidArgument(DecodeHello(empty_chain).status()));
}

TEST_CASE("handshakes refuse chain ids that do not fit a Hello", "[unit][crypto][p2p]") {
  SigningKey key = SigningKey::Generate();
  CHECK(absl::IsInvalidArgument(Handshake::Initiator(key, "", AllowAnyone()).status()));
  CHECK(absl::IsInvalidArgument(
      Handshake::Responder(key, std::string(kChainIdBytesMax + 1, 'x'), AllowAnyone()).status()));
  CHECK(Handshake::Responder(key, std::string(kChainIdBytesMax, 'x'), AllowAnyone()).ok());
}

// A man in the middle flips one bit of the initiator's Hello on its way to the responder.
void CheckTamperedHelloFailsAuth(size_t offset_in_hello) {
  SigningKey initiator_key = SigningKey::Generate();
  SigningKey responder_key = SigningKey::Generate();
  auto initiator = Handshake::Initiator(initiator_key, std::string(kChainId),
                                        AllowOnly({responder_key.public_key()}));
  // The responder accepts whatever static key arrives, so that only Auth can catch the change.
  auto responder = Handshake::Responder(responder_key, std::string(kChainId), AllowAnyone());
  REQUIRE(initiator.ok());
  REQUIRE(responder.ok());
  Bytes initiator_hello = Payload(initiator->Start());
  const Bytes responder_hello = Payload(responder->Start());
  REQUIRE(offset_in_hello < initiator_hello.size());
  initiator_hello[offset_in_hello] ^= 0x10;

  auto responder_auth = responder->OnFrame(initiator_hello);
  REQUIRE(responder_auth.ok());
  auto initiator_auth = initiator->OnFrame(responder_hello);
  REQUIRE(initiator_auth.ok());
  CHECK(absl::IsUnauthenticated(initiator->OnFrame(Payload(*responder_auth)).status()));
  CHECK(absl::IsUnauthenticated(responder->OnFrame(Payload(*initiator_auth)).status()));
  CHECK_FALSE(initiator->done());
  CHECK_FALSE(responder->done());
}

TEST_CASE("a bit flipped in the Hello's ephemeral key makes Auth fail on both sides",
          "[unit][crypto][p2p]") {
  const size_t ephemeral_offset = 2 + kChainId.size() + SigningPublicKey::kSize;
  CheckTamperedHelloFailsAuth(ephemeral_offset);
  CheckTamperedHelloFailsAuth(ephemeral_offset + 17);
}

TEST_CASE("a bit flipped in the Hello's static key makes Auth fail on both sides",
          "[unit][crypto][p2p]") {
  const size_t static_offset = 2 + kChainId.size();
  CheckTamperedHelloFailsAuth(static_offset);
  CheckTamperedHelloFailsAuth(static_offset + 9);
}

TEST_CASE("an untampered run of the same steps succeeds (control for the tamper tests)",
          "[unit][crypto][p2p]") {
  Pair pair;
  const Flights flights = ExchangeHellos(pair);
  CHECK(pair.initiator.OnFrame(flights.responder_auth).ok());
  CHECK(pair.responder.OnFrame(flights.initiator_auth).ok());
}

TEST_CASE("an Auth reflected back to its sender fails", "[unit][crypto][p2p]") {
  Pair pair;
  const Flights flights = ExchangeHellos(pair);
  CHECK(absl::IsUnauthenticated(pair.initiator.OnFrame(flights.initiator_auth).status()));
  CHECK(absl::IsUnauthenticated(pair.responder.OnFrame(flights.responder_auth).status()));
}

// An attacker claims the victim's own identity and runs the key exchange honestly with its own
// ephemeral key, so it can decrypt the victim's Auth and re-encrypt it as its own. Only the role
// byte in the signed transcript stops the victim from accepting its own signature.
TEST_CASE("a victim's own Auth signature, re-encrypted by an impersonator, fails",
          "[unit][crypto][p2p]") {
  SigningKey victim_key = SigningKey::Generate();
  auto victim = Handshake::Responder(victim_key, std::string(kChainId), AllowAnyone());
  REQUIRE(victim.ok());
  const Bytes victim_hello_bytes = Payload(victim->Start());
  auto victim_hello = DecodeHello(victim_hello_bytes);
  REQUIRE(victim_hello.ok());

  std::array<uint8_t, crypto_kx_PUBLICKEYBYTES> attacker_public;
  std::array<uint8_t, crypto_kx_SECRETKEYBYTES> attacker_secret;
  REQUIRE(crypto_kx_keypair(attacker_public.data(), attacker_secret.data()) == 0);
  const Bytes attacker_hello = EncodeHello(Hello{.chain_id = std::string(kChainId),
                                                 .static_key = victim_key.public_key(),
                                                 .ephemeral_key = attacker_public});
  auto victim_auth = victim->OnFrame(attacker_hello);
  REQUIRE(victim_auth.ok());

  std::array<uint8_t, crypto_kx_SESSIONKEYBYTES> attacker_receive_key;
  std::array<uint8_t, crypto_kx_SESSIONKEYBYTES> attacker_send_key;
  REQUIRE(crypto_kx_client_session_keys(attacker_receive_key.data(), attacker_send_key.data(),
                                        attacker_public.data(), attacker_secret.data(),
                                        victim_hello->ephemeral_key.data()) == 0);
  auto attacker_receiver = FrameCipher::Create(attacker_receive_key);
  auto attacker_sender = FrameCipher::Create(attacker_send_key);
  REQUIRE(attacker_receiver.ok());
  REQUIRE(attacker_sender.ok());
  auto victim_signature = attacker_receiver->Open(Payload(*victim_auth));
  REQUIRE(victim_signature.ok());
  REQUIRE(victim_signature->size() == Signature::kSize);

  SECTION("the victim's responder signature is refused as an initiator's") {
    auto forged = attacker_sender->Seal(*victim_signature);
    REQUIRE(forged.ok());
    auto result = victim->OnFrame(*forged);
    CHECK(absl::IsUnauthenticated(result.status()));
    CHECK_FALSE(victim->done());
  }
  SECTION("control: a signature with the initiator role byte would have passed") {
    const Hash256 transcript = HandshakeTranscriptHash(HandshakeRole::kInitiator, kChainId,
                                                       attacker_hello, victim_hello_bytes);
    auto genuine = attacker_sender->Seal(victim_key.Sign(transcript.span()).span());
    REQUIRE(genuine.ok());
    CHECK(victim->OnFrame(*genuine).ok());
    CHECK(victim->done());
  }
}

TEST_CASE("all-zero and low-order ephemeral keys are refused", "[unit][crypto][p2p]") {
  // X25519 u-coordinates of small order (and their non-canonical encodings p - 1, p, p + 1).
  const char* low_order_points[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  SigningKey attacker = SigningKey::Generate();
  SigningKey member = SigningKey::Generate();
  for (const char* point_hex : low_order_points) {
    CAPTURE(point_hex);
    Hello hello{.chain_id = std::string(kChainId), .static_key = attacker.public_key()};
    auto point = HexDecode(point_hex);
    REQUIRE(point.ok());
    std::copy(point->begin(), point->end(), hello.ephemeral_key.begin());
    for (bool member_initiates : {false, true}) {
      auto handshake = member_initiates
                           ? Handshake::Initiator(member, std::string(kChainId), AllowAnyone())
                           : Handshake::Responder(member, std::string(kChainId), AllowAnyone());
      REQUIRE(handshake.ok());
      handshake->Start();
      auto reply = handshake->OnFrame(EncodeHello(hello));
      CHECK(absl::IsInvalidArgument(reply.status()));
      CHECK_THAT(std::string(reply.status().message()), Catch::Contains("low-order"));
    }
  }
  // Control: a genuine ephemeral key in the same Hello passes.
  Hello hello{.chain_id = std::string(kChainId), .static_key = attacker.public_key()};
  std::array<uint8_t, crypto_kx_SECRETKEYBYTES> secret;
  REQUIRE(crypto_kx_keypair(hello.ephemeral_key.data(), secret.data()) == 0);
  auto handshake = Handshake::Responder(member, std::string(kChainId), AllowAnyone());
  handshake->Start();
  CHECK(handshake->OnFrame(EncodeHello(hello)).ok());
}

TEST_CASE("a handshake accepts exactly one Hello and one Auth", "[unit][crypto][p2p]") {
  Pair pair;
  CompleteHandshake(pair);
  auto extra = pair.initiator.OnFrame(ToBytes("one frame too many"));
  CHECK(absl::IsFailedPrecondition(extra.status()));
  CHECK_FALSE(pair.initiator.done());
  CHECK_FALSE(pair.initiator.Finish().ok());
  // The responder, which saw no extra frame, still hands over its channel once.
  CHECK(pair.responder.Finish().ok());
  CHECK(absl::IsFailedPrecondition(pair.responder.Finish().status()));
}

TEST_CASE("a second Hello in place of the Auth is refused", "[unit][crypto][p2p]") {
  Pair pair;
  const Flights flights = ExchangeHellos(pair);
  CHECK_FALSE(pair.responder.OnFrame(flights.initiator_hello).ok());
  CHECK_FALSE(pair.responder.done());
}

TEST_CASE("Finish before the peer's Auth arrives is refused", "[unit][crypto][p2p]") {
  Pair pair;
  ExchangeHellos(pair);
  CHECK(absl::IsFailedPrecondition(pair.initiator.Finish().status()));
}

TEST_CASE("the handshake transcript hash covers role, chain id and both Hellos in order",
          "[unit][crypto][p2p]") {
  const Bytes initiator_hello = ToBytes("initiator hello");
  const Bytes responder_hello = ToBytes("responder hello!");
  Bytes expected_input = {static_cast<uint8_t>(HandshakeRole::kInitiator), 5};
  for (char c : std::string_view("chain")) expected_input.push_back(static_cast<uint8_t>(c));
  AppendUint32BigEndian(static_cast<uint32_t>(initiator_hello.size()), &expected_input);
  expected_input.insert(expected_input.end(), initiator_hello.begin(), initiator_hello.end());
  AppendUint32BigEndian(static_cast<uint32_t>(responder_hello.size()), &expected_input);
  expected_input.insert(expected_input.end(), responder_hello.begin(), responder_hello.end());

  const Hash256 as_initiator =
      HandshakeTranscriptHash(HandshakeRole::kInitiator, "chain", initiator_hello, responder_hello);
  CHECK(as_initiator == HashWithLabel("lading/p2p/handshake", expected_input));
  CHECK(as_initiator != HandshakeTranscriptHash(HandshakeRole::kResponder, "chain", initiator_hello,
                                                responder_hello));
  CHECK(as_initiator != HandshakeTranscriptHash(HandshakeRole::kInitiator, "chaiN", initiator_hello,
                                                responder_hello));
  CHECK(as_initiator != HandshakeTranscriptHash(HandshakeRole::kInitiator, "chain", responder_hello,
                                                initiator_hello));
}

// ---------------------------------------------------------------------------------------------
// Frame cipher.

struct CipherPair {
  Bytes key = RandomBytes(FrameCipher::kKeySize);
  FrameCipher sender = *FrameCipher::Create(key);
  FrameCipher receiver = *FrameCipher::Create(key);
};

TEST_CASE("frames round-trip through the frame cipher in order, including empty ones",
          "[unit][crypto][p2p]") {
  CipherPair pair;
  for (const std::string& text : {std::string("a"), std::string(), std::string(5000, 'z')}) {
    auto sealed = pair.sender.Seal(ToBytes(text));
    REQUIRE(sealed.ok());
    CHECK(sealed->size() == text.size() + FrameCipher::kTagBytes);
    auto opened = pair.receiver.Open(*sealed);
    REQUIRE(opened.ok());
    CHECK(ToString(*opened) == text);
  }
  CHECK(pair.sender.next_counter() == 3);
  CHECK(pair.receiver.next_counter() == 3);
}

TEST_CASE("the same plaintext seals differently at each counter", "[unit][crypto][p2p]") {
  CipherPair pair;
  auto first = pair.sender.Seal(ToBytes("same"));
  auto second = pair.sender.Seal(ToBytes("same"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first != *second);
}

TEST_CASE("a replayed frame is rejected", "[unit][crypto][p2p]") {
  CipherPair pair;
  auto frame = pair.sender.Seal(ToBytes("pay 100"));
  REQUIRE(frame.ok());
  REQUIRE(pair.receiver.Open(*frame).ok());
  CHECK(absl::IsUnauthenticated(pair.receiver.Open(*frame).status()));
  // The failed attempt moved nothing: the next genuine frame still opens.
  auto next = pair.sender.Seal(ToBytes("next"));
  REQUIRE(next.ok());
  CHECK(pair.receiver.Open(*next).ok());
}

TEST_CASE("reordered or dropped-then-late frames are rejected", "[unit][crypto][p2p]") {
  CipherPair pair;
  auto frame0 = pair.sender.Seal(ToBytes("zero"));
  auto frame1 = pair.sender.Seal(ToBytes("one"));
  REQUIRE(frame0.ok());
  REQUIRE(frame1.ok());
  CHECK(absl::IsUnauthenticated(pair.receiver.Open(*frame1).status()));
  CHECK(pair.receiver.next_counter() == 0);
  REQUIRE(pair.receiver.Open(*frame0).ok());
  REQUIRE(pair.receiver.Open(*frame1).ok());
  CHECK(absl::IsUnauthenticated(pair.receiver.Open(*frame0).status()));
}

TEST_CASE("a frame with any one bit flipped is rejected", "[unit][crypto][p2p]") {
  CipherPair pair;
  auto frame = pair.sender.Seal(ToBytes("forty bytes of something that matters.."));
  REQUIRE(frame.ok());
  for (size_t i = 0; i < frame->size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      Bytes altered = *frame;
      altered[i] ^= static_cast<uint8_t>(1u << bit);
      CAPTURE(i, bit);
      CHECK(absl::IsUnauthenticated(pair.receiver.Open(altered).status()));
    }
  }
  CHECK(pair.receiver.Open(*frame).ok());
}

TEST_CASE("a truncated frame is rejected", "[unit][crypto][p2p]") {
  CipherPair pair;
  auto frame = pair.sender.Seal(ToBytes("a frame to cut short"));
  REQUIRE(frame.ok());
  const ByteSpan whole(*frame);
  CHECK(absl::IsUnauthenticated(pair.receiver.Open(whole.first(whole.size() - 1)).status()));
  CHECK(absl::IsUnauthenticated(pair.receiver.Open(whole.first(FrameCipher::kTagBytes)).status()));
  CHECK(absl::IsInvalidArgument(
      pair.receiver.Open(whole.first(FrameCipher::kTagBytes - 1)).status()));
  CHECK(absl::IsInvalidArgument(pair.receiver.Open({}).status()));
  CHECK(pair.receiver.Open(whole).ok());
}

TEST_CASE("a frame sealed under another key is rejected", "[unit][crypto][p2p]") {
  CipherPair pair;
  auto other = FrameCipher::Create(RandomBytes(FrameCipher::kKeySize));
  REQUIRE(other.ok());
  auto frame = other->Seal(ToBytes("hello"));
  REQUIRE(frame.ok());
  CHECK(absl::IsUnauthenticated(pair.receiver.Open(*frame).status()));
}

TEST_CASE("the frame counter never wraps", "[unit][crypto][p2p]") {
  const Bytes key = RandomBytes(FrameCipher::kKeySize);
  auto sender = FrameCipher::Create(key, FrameCipher::kCounterLimit - 1);
  auto receiver = FrameCipher::Create(key, FrameCipher::kCounterLimit - 1);
  REQUIRE(sender.ok());
  REQUIRE(receiver.ok());
  auto last = sender->Seal(ToBytes("last"));
  REQUIRE(last.ok());
  CHECK(absl::IsResourceExhausted(sender->Seal(ToBytes("one more")).status()));
  REQUIRE(receiver->Open(*last).ok());
  CHECK(absl::IsResourceExhausted(receiver->Open(*last).status()));
  CHECK(absl::IsInvalidArgument(FrameCipher::Create(key, FrameCipher::kCounterLimit).status()));
}

TEST_CASE("a frame cipher key is exactly 32 bytes", "[unit][crypto][p2p]") {
  CHECK(absl::IsInvalidArgument(FrameCipher::Create(RandomBytes(31)).status()));
  CHECK(absl::IsInvalidArgument(FrameCipher::Create(RandomBytes(33)).status()));
  CHECK(FrameCipher::Create(RandomBytes(32)).ok());
}

// ---------------------------------------------------------------------------------------------
// Frame codec.

std::vector<Bytes> SampleFrames() {
  return {ToBytes("x"), ToBytes("second frame"), Bytes(300, 0xab), ToBytes("end")};
}

Bytes Concatenate(const std::vector<Bytes>& payloads) {
  Bytes wire;
  for (const Bytes& payload : payloads) {
    const Bytes frame = EncodeFrame(payload);
    wire.insert(wire.end(), frame.begin(), frame.end());
  }
  return wire;
}

TEST_CASE("frames round-trip through EncodeFrame and FrameDecoder", "[unit][crypto][p2p]") {
  const Bytes frame = EncodeFrame(ToBytes("abc"));
  CHECK(frame == Bytes({0, 0, 0, 3, 'a', 'b', 'c'}));
  FrameDecoder decoder(1000);
  std::vector<Bytes> frames;
  REQUIRE(decoder.Feed(Concatenate(SampleFrames()), &frames).ok());
  CHECK(frames == SampleFrames());
  CHECK(decoder.buffered_bytes() == 0);
}

TEST_CASE("byte-by-byte input decodes the same frames as one chunk", "[unit][crypto][p2p]") {
  const Bytes wire = Concatenate(SampleFrames());
  FrameDecoder decoder(1000);
  std::vector<Bytes> frames;
  for (uint8_t byte : wire) REQUIRE(decoder.Feed(ByteSpan(&byte, 1), &frames).ok());
  CHECK(frames == SampleFrames());

  // And in uneven chunks that cut headers in two.
  FrameDecoder chunked(1000);
  std::vector<Bytes> chunked_frames;
  size_t offset = 0;
  for (size_t size = 1; offset < wire.size(); size = size % 7 + 2) {
    const size_t take = std::min(size, wire.size() - offset);
    REQUIRE(chunked.Feed(ByteSpan(wire).subspan(offset, take), &chunked_frames).ok());
    offset += take;
  }
  CHECK(chunked_frames == SampleFrames());
}

TEST_CASE("an incomplete frame stays buffered until its last byte arrives", "[unit][crypto][p2p]") {
  const Bytes wire = EncodeFrame(ToBytes("0123456789"));
  FrameDecoder decoder(1000);
  std::vector<Bytes> frames;
  REQUIRE(decoder.Feed(ByteSpan(wire).first(wire.size() - 1), &frames).ok());
  CHECK(frames.empty());
  CHECK(decoder.buffered_bytes() == wire.size() - 1);
  REQUIRE(decoder.Feed(ByteSpan(wire).last(1), &frames).ok());
  REQUIRE(frames.size() == 1);
  CHECK(ToString(frames[0]) == "0123456789");
}

TEST_CASE("an oversize declared length is refused from the header alone, before buffering",
          "[unit][crypto][p2p]") {
  FrameDecoder decoder(100);
  std::vector<Bytes> frames;
  const Bytes at_cap = {0, 0, 0, 100};
  FrameDecoder accepting(100);
  REQUIRE(accepting.Feed(at_cap, &frames).ok());
  CHECK(accepting.buffered_bytes() == 4);

  const Bytes header = {0, 0, 0, 101};
  auto status = decoder.Feed(header, &frames);
  REQUIRE(absl::IsResourceExhausted(status));
  CHECK_THAT(std::string(status.message()), Catch::Contains("101"));
  CHECK(frames.empty());
  // Sticky: the stream has lost its frame boundaries.
  CHECK(decoder.failed());
  CHECK(absl::IsResourceExhausted(decoder.Feed(EncodeFrame(ToBytes("ok")), &frames)));
  CHECK(frames.empty());

  FrameDecoder huge(kFramePayloadBytesLimit - 1);
  CHECK(absl::IsResourceExhausted(huge.Feed(Bytes{0xff, 0xff, 0xff, 0xff}, &frames)));
}

TEST_CASE("a zero-length frame is refused", "[unit][crypto][p2p]") {
  FrameDecoder decoder(100);
  std::vector<Bytes> frames;
  Bytes wire = EncodeFrame(ToBytes("fine"));
  wire.insert(wire.end(), {0, 0, 0, 0});
  CHECK(absl::IsInvalidArgument(decoder.Feed(wire, &frames)));
  // Nothing from the failing chunk is handed out.
  CHECK(frames.empty());
}

TEST_CASE("raising the cap after the handshake admits larger frames", "[unit][crypto][p2p]") {
  FrameDecoder decoder(kHandshakeFrameBytesMax);
  std::vector<Bytes> frames;
  const Bytes big = EncodeFrame(Bytes(1000, 7));
  REQUIRE(decoder.Feed(ByteSpan(big).first(2), &frames).ok());
  decoder.set_frame_bytes_max(4096);
  REQUIRE(decoder.Feed(ByteSpan(big).subspan(2), &frames).ok());
  REQUIRE(frames.size() == 1);
  CHECK(frames[0] == Bytes(1000, 7));

  FrameDecoder small(kHandshakeFrameBytesMax);
  CHECK(absl::IsResourceExhausted(small.Feed(big, &frames)));
}

}  // namespace
}  // namespace lading::crypto
