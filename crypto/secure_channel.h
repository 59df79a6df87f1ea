// The authenticated, encrypted peer channel (DESIGN §7), sans-I/O: a length-prefixed frame codec,
// the handshake that authenticates both ends by their static Ed25519 member keys, and the
// per-direction frame cipher used afterwards. Nothing here touches a socket, a clock or a thread;
// node/p2p/ moves the bytes.
//
// Wire format. Every message is a frame: u32 big-endian payload length (1 .. cap) || payload.
//
// Handshake (both sides run the same steps; the initiator is the side that dialed):
//   1. Each side sends, as a plaintext frame, its Hello:
//        version (u8, kHandshakeVersion) || u8 len(chain_id) || chain_id ||
//        static Ed25519 public key (32) || ephemeral X25519 public key (32, fresh per handshake)
//      Both Hellos are sent at once (neither waits for the other), so the handshake takes one
//      round trip plus the Auth flight.
//   2. On the peer's Hello each side checks the version and chain id, asks its caller whether
//      the peer's static key is an allowed member (an unknown identity is refused here, before
//      anything is signed for it), then derives the two session keys with libsodium's crypto_kx
//      over the ephemeral keys (the initiator as the kx client). crypto_kx refuses all-zero,
//      low-order and invalid points.
//   3. Each side sends Auth, the first encrypted frame (counter 0 of its sending direction): its
//      Ed25519 signature, by its static key, of
//        HandshakeTranscriptHash(own role, chain_id, initiator Hello, responder Hello).
//      The role byte differs per side, so a side's own Auth can never be reflected back to it.
//   4. Each side verifies the peer's Auth with the static key from the peer's Hello. Only then is
//      the channel established. The Auth binds the static key to the ephemeral keys (both Hellos
//      are signed), and only the holder of the ephemeral secret can derive the key that
//      encrypted it: a man in the middle who alters any Hello byte makes Auth fail.
//   Exactly two frames are received per handshake (Hello, Auth); any other frame is an error.
//
// After the handshake each direction has its own 32-byte key (crypto_kx's rx/tx pair) and a
// ChaCha20-Poly1305-IETF FrameCipher whose 96-bit nonce is 0x00000000 || u64 big-endian counter.
// The counter starts at 0 (used by Auth), increments per frame and never wraps. The receiver
// opens frame n only with nonce n, so a replayed, dropped, reordered or altered frame fails
// authentication. One key is never used in both directions.
//
// Ownership: a Handshake borrows the caller's SigningKey (it must outlive the Handshake) and owns
// its ephemeral secret; FrameCipher owns its session key in guarded memory (SecureBuffer, zeroed
// on destruction) and is move-only.
// Thread-safety: every class here is thread-compatible: one thread (or strand) at a time.
#ifndef LADING_CRYPTO_SECURE_CHANNEL_H_
#define LADING_CRYPTO_SECURE_CHANNEL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/secure_buffer.h"
#include "crypto/signing.h"

namespace lading::crypto {

// ---------------------------------------------------------------------------------------------
// Frames.

inline constexpr size_t kFrameHeaderBytes = 4;
// The largest payload a u32 length prefix can declare.
inline constexpr size_t kFramePayloadBytesLimit = 0xFFFFFFFFu;

// u32 big-endian payload.size() || payload.
// REQUIRES: 1 <= payload.size() <= kFramePayloadBytesLimit.
Bytes EncodeFrame(ByteSpan payload);

// Reassembles frames from a byte stream delivered in arbitrary chunks.
//
// The declared length of a frame is checked against the cap as soon as its 4-byte header is
// complete, before any payload byte is kept, and the payload buffer grows only with bytes that
// have arrived: a peer cannot make the decoder allocate more than it has sent, nor more than the
// cap. After an error the stream is unusable (frame boundaries are lost): the decoder keeps
// failing with the same error.
class FrameDecoder {
 public:
  // REQUIRES: 1 <= frame_bytes_max <= kFramePayloadBytesLimit.
  explicit FrameDecoder(size_t frame_bytes_max);

  // Appends `chunk` (any size, including empty) and moves every frame it completes into
  // `frames`, in order. Bytes of an incomplete frame stay buffered for the next call.
  // Errors (and then nothing is appended to `frames`, not even frames completed earlier in the
  // same chunk): ResourceExhausted when a frame declares a length above frame_bytes_max();
  // InvalidArgument when a frame declares length 0; the first error again for every call after
  // an error.
  absl::Status Feed(ByteSpan chunk, std::vector<Bytes>* frames);

  // Changes the cap for frames whose header is not yet complete, e.g. from the small handshake
  // cap to the message cap once the peer is authenticated. Bytes already buffered are kept.
  // REQUIRES: 1 <= frame_bytes_max <= kFramePayloadBytesLimit.
  void set_frame_bytes_max(size_t frame_bytes_max);
  size_t frame_bytes_max() const { return frame_bytes_max_; }
  // Bytes received but not yet returned as a frame.
  size_t buffered_bytes() const { return header_bytes_ + payload_.size(); }
  bool failed() const { return !error_.ok(); }

 private:
  size_t frame_bytes_max_;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_bytes_ = 0;
  // Declared length of the frame being read; 0 while the header is incomplete.
  size_t payload_bytes_declared_ = 0;
  Bytes payload_;
  absl::Status error_;
};

// ---------------------------------------------------------------------------------------------
// Frame encryption.

// ChaCha20-Poly1305-IETF over frames of one direction, with the nonce taken from a counter.
class FrameCipher {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kTagBytes = 16;
  // next_counter() never reaches this value: counters 0 .. 2^64 - 2 are usable.
  static constexpr uint64_t kCounterLimit = UINT64_MAX;

  // A cipher whose next frame uses `next_counter`. The handshake creates the ciphers itself;
  // this is public for tests and tools that need to speak the wire format.
  // Errors: InvalidArgument unless `key` is 32 bytes or when next_counter == kCounterLimit.
  static absl::StatusOr<FrameCipher> Create(ByteSpan key, uint64_t next_counter = 0);

  FrameCipher(FrameCipher&&) noexcept = default;
  FrameCipher& operator=(FrameCipher&&) noexcept = default;
  FrameCipher(const FrameCipher&) = delete;
  FrameCipher& operator=(const FrameCipher&) = delete;

  // Encrypts `plaintext` (any length, including empty) under nonce next_counter() and advances
  // the counter. Returns ciphertext || 16-byte tag (plaintext.size() + 16 bytes).
  // Errors: ResourceExhausted when the counter is used up (the channel must be re-established;
  // the counter never wraps, so a nonce is never reused).
  absl::StatusOr<Bytes> Seal(ByteSpan plaintext);

  // Decrypts a frame sealed with nonce next_counter() and advances the counter. On any error the
  // counter does not move.
  // Errors: InvalidArgument when `ciphertext` is shorter than the tag; Unauthenticated when it
  // does not authenticate under this key and counter (altered, truncated, replayed, reordered or
  // from a later position in the stream); ResourceExhausted when the counter is used up.
  absl::StatusOr<Bytes> Open(ByteSpan ciphertext);

  uint64_t next_counter() const { return next_counter_; }

 private:
  FrameCipher(SecureBuffer key, uint64_t next_counter)
      : key_(std::move(key)), next_counter_(next_counter) {}

  SecureBuffer key_;
  uint64_t next_counter_;
};

// ---------------------------------------------------------------------------------------------
// Handshake.

inline constexpr uint8_t kHandshakeVersion = 1;
inline constexpr size_t kChainIdBytesMax = 255;
inline constexpr size_t kEphemeralKeyBytes = 32;
// The largest handshake frame: a Hello with a 255-byte chain id (1 + 1 + 255 + 32 + 32). Auth is
// 64 + 16 bytes. Transports use this as the frame cap until the peer is authenticated.
inline constexpr size_t kHandshakeFrameBytesMax = 321;

enum class HandshakeRole : uint8_t {
  kInitiator = 1,  // the side that dialed
  kResponder = 2,  // the side that accepted
};

struct Hello {
  uint8_t version = kHandshakeVersion;
  std::string chain_id;
  SigningPublicKey static_key;
  std::array<uint8_t, kEphemeralKeyBytes> ephemeral_key{};

  bool operator==(const Hello&) const = default;
};

// The wire form described at the top of this file.
// REQUIRES: 1 <= hello.chain_id.size() <= kChainIdBytesMax.
Bytes EncodeHello(const Hello& hello);
// Errors: InvalidArgument when `bytes` is not exactly one well-formed Hello (too short, empty
// chain id, trailing bytes); FailedPrecondition when the version is not kHandshakeVersion.
absl::StatusOr<Hello> DecodeHello(ByteSpan bytes);

// BLAKE2b-256 labelled "lading/p2p/handshake" over
//   u8(signer_role) || u8 len(chain_id) || chain_id ||
//   u32be len(initiator_hello) || initiator_hello || u32be len(responder_hello) || responder_hello
// where the Hellos are the EncodeHello bytes (frame payloads, without the length prefix).
// What each side signs in its Auth, with its own role.
// REQUIRES: chain_id.size() <= kChainIdBytesMax.
Hash256 HandshakeTranscriptHash(HandshakeRole signer_role, std::string_view chain_id,
                                ByteSpan initiator_hello, ByteSpan responder_hello);

// The result of a completed handshake.
struct EstablishedChannel {
  SigningPublicKey peer_static_key;
  HandshakeRole role;    // our role
  FrameCipher sender;    // seals our frames to the peer; its counter continues after Auth
  FrameCipher receiver;  // opens the peer's frames; its counter continues after Auth
};

// One side of one handshake. Usage:
//   LADING_ASSIGN_OR_RETURN(auto handshake, Handshake::Initiator(key, chain_id, is_allowed));
//   send(handshake.Start());
//   for each frame from FrameDecoder (cap kHandshakeFrameBytesMax) while !handshake.done():
//     LADING_ASSIGN_OR_RETURN(Bytes reply, handshake.OnFrame(frame)); send(reply);
//   LADING_ASSIGN_OR_RETURN(EstablishedChannel channel, handshake.Finish());
// Frames the decoder yields after the one that completed the handshake belong to the channel
// (the peer may send data right after its Auth).
class Handshake {
 public:
  // Called once per handshake with the static key from the peer's Hello; true when that key
  // belongs to a member allowed to connect.
  using IsAllowed = std::function<bool(const SigningPublicKey&)>;

  // `static_key` is borrowed and must outlive the Handshake.
  // Errors: InvalidArgument when chain_id is empty or longer than kChainIdBytesMax.
  static absl::StatusOr<Handshake> Initiator(const SigningKey& static_key, std::string chain_id,
                                             IsAllowed is_allowed);
  static absl::StatusOr<Handshake> Responder(const SigningKey& static_key, std::string chain_id,
                                             IsAllowed is_allowed);

  Handshake(Handshake&&) noexcept = default;
  Handshake& operator=(Handshake&&) noexcept = default;
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  // Our Hello, already framed (ready to write). REQUIRES: called once, before OnFrame.
  Bytes Start();

  // Feeds one frame payload from the peer (as returned by FrameDecoder). Returns framed bytes to
  // send, possibly empty: our Auth in answer to the peer's Hello, nothing after the peer's Auth.
  // Errors, after which the handshake is failed and every later call returns the first error:
  //   InvalidArgument: malformed Hello or Auth, or an ephemeral key crypto_kx refuses (all-zero,
  //     low-order or otherwise invalid point);
  //   FailedPrecondition: another handshake version or another chain id, or a frame after the
  //     handshake completed (the handshake's message budget is exactly Hello then Auth);
  //   PermissionDenied: the peer's static key is not allowed (is_allowed returned false). This
  //     code is used for nothing else, so transports can count unknown identities apart;
  //   Unauthenticated: the Auth frame does not decrypt or its signature does not verify.
  // REQUIRES: Start() was called.
  absl::StatusOr<Bytes> OnFrame(ByteSpan frame);

  // True once the peer's Auth verified.
  bool done() const { return state_ == State::kDone; }
  HandshakeRole role() const { return role_; }

  // Hands over the established channel; the Handshake is spent afterwards.
  // Errors: FailedPrecondition unless done().
  absl::StatusOr<EstablishedChannel> Finish();

 private:
  enum class State { kCreated, kAwaitingHello, kAwaitingAuth, kDone, kFinished, kFailed };

  static absl::StatusOr<Handshake> Create(HandshakeRole role, const SigningKey& static_key,
                                          std::string chain_id, IsAllowed is_allowed);
  Handshake(HandshakeRole role, const SigningKey& static_key, std::string chain_id,
            IsAllowed is_allowed);

  absl::StatusOr<Bytes> OnHello(ByteSpan frame);
  absl::Status OnAuth(ByteSpan frame);
  Hash256 Transcript(HandshakeRole signer_role) const;

  HandshakeRole role_;
  const SigningKey* static_key_;
  std::string chain_id_;
  IsAllowed is_allowed_;
  SecureBuffer ephemeral_secret_key_;
  std::array<uint8_t, kEphemeralKeyBytes> ephemeral_public_key_{};
  Bytes own_hello_;
  Bytes peer_hello_;
  SigningPublicKey peer_static_key_;
  std::optional<FrameCipher> sender_;
  std::optional<FrameCipher> receiver_;
  State state_ = State::kCreated;
  absl::Status error_;
};

}  // namespace lading::crypto

#endif  // LADING_CRYPTO_SECURE_CHANNEL_H_
