#include "crypto/secure_channel.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "crypto/hash.h"
#include "crypto/sodium.h"
#include "crypto/status.h"

namespace lading::crypto {

static_assert(FrameCipher::kKeySize == crypto_aead_chacha20poly1305_ietf_KEYBYTES);
static_assert(FrameCipher::kTagBytes == crypto_aead_chacha20poly1305_ietf_ABYTES);
static_assert(FrameCipher::kKeySize == crypto_kx_SESSIONKEYBYTES);
static_assert(kEphemeralKeyBytes == crypto_kx_PUBLICKEYBYTES);
static_assert(kHandshakeFrameBytesMax ==
              2 + kChainIdBytesMax + SigningPublicKey::kSize + kEphemeralKeyBytes);
static_assert(Signature::kSize + FrameCipher::kTagBytes <= kHandshakeFrameBytesMax);

namespace {

constexpr size_t kHelloFixedBytes = 2 + SigningPublicKey::kSize + kEphemeralKeyBytes;

using Nonce = std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;

Nonce CounterNonce(uint64_t counter) {
  static_assert(std::tuple_size_v<Nonce> == 12);
  Nonce nonce{};
  for (size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
  return nonce;
}

absl::Status CounterExhausted() {
  return absl::ResourceExhaustedError(
      "frame counter exhausted after 2^64 - 1 frames; the channel must be re-established");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Frames.

Bytes EncodeFrame(ByteSpan payload) {
  LADING_CHECK_MSG(!payload.empty() && payload.size() <= kFramePayloadBytesLimit,
                   "frame payload must be 1 .. 2^32 - 1 bytes");
  Bytes frame;
  frame.reserve(kFrameHeaderBytes + payload.size());
  AppendUint32BigEndian(static_cast<uint32_t>(payload.size()), &frame);
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

FrameDecoder::FrameDecoder(size_t frame_bytes_max) { set_frame_bytes_max(frame_bytes_max); }

void FrameDecoder::set_frame_bytes_max(size_t frame_bytes_max) {
  LADING_CHECK(frame_bytes_max >= 1 && frame_bytes_max <= kFramePayloadBytesLimit);
  frame_bytes_max_ = frame_bytes_max;
}

absl::Status FrameDecoder::Feed(ByteSpan chunk, std::vector<Bytes>* frames) {
  if (!error_.ok()) return error_;
  std::vector<Bytes> completed;
  size_t offset = 0;
  while (offset < chunk.size()) {
    if (payload_bytes_declared_ == 0) {
      const size_t take = std::min(kFrameHeaderBytes - header_bytes_, chunk.size() - offset);
      std::copy_n(chunk.begin() + offset, take, header_.begin() + header_bytes_);
      header_bytes_ += take;
      offset += take;
      if (header_bytes_ < kFrameHeaderBytes) break;
      const uint32_t declared = ReadUint32BigEndian(ByteSpan(header_));
      // Checked before a single payload byte is kept: an oversize declaration costs us nothing.
      if (declared == 0) {
        error_ = absl::InvalidArgumentError(
            "a frame declares a payload of 0 bytes; frames carry at least 1 byte");
        return error_;
      }
      if (declared > frame_bytes_max_) {
        error_ = absl::ResourceExhaustedError(absl::StrCat("a frame declares a payload of ",
                                                           declared, " bytes, above the cap of ",
                                                           frame_bytes_max_, " bytes"));
        return error_;
      }
      payload_bytes_declared_ = declared;
    }
    const size_t take = std::min(payload_bytes_declared_ - payload_.size(), chunk.size() - offset);
    payload_.insert(payload_.end(), chunk.begin() + offset, chunk.begin() + offset + take);
    offset += take;
    if (payload_.size() == payload_bytes_declared_) {
      completed.push_back(std::exchange(payload_, Bytes()));
      payload_bytes_declared_ = 0;
      header_bytes_ = 0;
    }
  }
  for (Bytes& frame : completed) frames->push_back(std::move(frame));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Frame encryption.

absl::StatusOr<FrameCipher> FrameCipher::Create(ByteSpan key, uint64_t next_counter) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a frame cipher key is 32 bytes, got ", key.size()));
  }
  if (next_counter == kCounterLimit) {
    return absl::InvalidArgumentError("a frame cipher cannot start at counter 2^64 - 1");
  }
  EnsureSodium();
  return FrameCipher(SecureBuffer::CopyOf(key), next_counter);
}

absl::StatusOr<Bytes> FrameCipher::Seal(ByteSpan plaintext) {
  LADING_CHECK_MSG(key_.size() == kKeySize, "sealing with a moved-from frame cipher");
  if (next_counter_ == kCounterLimit) return CounterExhausted();
  const Nonce nonce = CounterNonce(next_counter_);
  Bytes ciphertext(plaintext.size() + kTagBytes);
  unsigned long long ciphertext_size = 0;
  LADING_CHECK(crypto_aead_chacha20poly1305_ietf_encrypt(
                   ciphertext.data(), &ciphertext_size, plaintext.data(), plaintext.size(), nullptr,
                   0, nullptr, nonce.data(), key_.data()) == 0);
  LADING_CHECK(ciphertext_size == ciphertext.size());
  ++next_counter_;
  return ciphertext;
}

absl::StatusOr<Bytes> FrameCipher::Open(ByteSpan ciphertext) {
  LADING_CHECK_MSG(key_.size() == kKeySize, "opening with a moved-from frame cipher");
  if (ciphertext.size() < kTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an encrypted frame is at least its 16-byte tag, got ", ciphertext.size(), " bytes"));
  }
  if (next_counter_ == kCounterLimit) return CounterExhausted();
  const Nonce nonce = CounterNonce(next_counter_);
  Bytes plaintext(ciphertext.size() - kTagBytes);
  unsigned long long plaintext_size = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(plaintext.data(), &plaintext_size, nullptr,
                                                ciphertext.data(), ciphertext.size(), nullptr, 0,
                                                nonce.data(), key_.data()) != 0) {
    return absl::UnauthenticatedError(absl::StrCat(
        "encrypted frame of ", ciphertext.size(), " bytes does not authenticate as frame ",
        next_counter_, " of this channel (altered, truncated, replayed or out of order)"));
  }
  LADING_CHECK(plaintext_size == plaintext.size());
  ++next_counter_;
  return plaintext;
}

// ---------------------------------------------------------------------------------------------
// Handshake messages.

Bytes EncodeHello(const Hello& hello) {
  LADING_CHECK_MSG(!hello.chain_id.empty() && hello.chain_id.size() <= kChainIdBytesMax,
                   "chain id must be 1 .. 255 bytes");
  Bytes out;
  out.reserve(kHelloFixedBytes + hello.chain_id.size());
  out.push_back(hello.version);
  out.push_back(static_cast<uint8_t>(hello.chain_id.size()));
  out.insert(out.end(), hello.chain_id.begin(), hello.chain_id.end());
  out.insert(out.end(), hello.static_key.bytes.begin(), hello.static_key.bytes.end());
  out.insert(out.end(), hello.ephemeral_key.begin(), hello.ephemeral_key.end());
  return out;
}

absl::StatusOr<Hello> DecodeHello(ByteSpan bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("a Hello cannot be empty");
  if (bytes[0] != kHandshakeVersion) {
    return absl::FailedPreconditionError(absl::StrCat("peer speaks handshake version ", bytes[0],
                                                      "; this node speaks version ",
                                                      kHandshakeVersion));
  }
  if (bytes.size() < 2) {
    return absl::InvalidArgumentError("a Hello of 1 byte has no chain id length");
  }
  const size_t chain_id_bytes = bytes[1];
  if (chain_id_bytes == 0) return absl::InvalidArgumentError("a Hello carries an empty chain id");
  const size_t expected_bytes = kHelloFixedBytes + chain_id_bytes;
  if (bytes.size() != expected_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("a Hello with a ", chain_id_bytes,
                                                   "-byte chain id is ", expected_bytes,
                                                   " bytes, got ", bytes.size()));
  }
  Hello hello;
  hello.version = bytes[0];
  const ByteSpan chain_id = bytes.subspan(2, chain_id_bytes);
  hello.chain_id.assign(chain_id.begin(), chain_id.end());
  const ByteSpan static_key = bytes.subspan(2 + chain_id_bytes, SigningPublicKey::kSize);
  std::copy(static_key.begin(), static_key.end(), hello.static_key.bytes.begin());
  const ByteSpan ephemeral_key = bytes.last(kEphemeralKeyBytes);
  std::copy(ephemeral_key.begin(), ephemeral_key.end(), hello.ephemeral_key.begin());
  return hello;
}

Hash256 HandshakeTranscriptHash(HandshakeRole signer_role, std::string_view chain_id,
                                ByteSpan initiator_hello, ByteSpan responder_hello) {
  LADING_CHECK(chain_id.size() <= kChainIdBytesMax);
  const uint8_t prefix[2] = {static_cast<uint8_t>(signer_role),
                             static_cast<uint8_t>(chain_id.size())};
  Bytes initiator_length;
  AppendUint32BigEndian(static_cast<uint32_t>(initiator_hello.size()), &initiator_length);
  Bytes responder_length;
  AppendUint32BigEndian(static_cast<uint32_t>(responder_hello.size()), &responder_length);
  return Hasher(kLabelP2pHandshake)
      .Update(ByteSpan(prefix))
      .Update(chain_id)
      .Update(initiator_length)
      .Update(initiator_hello)
      .Update(responder_length)
      .Update(responder_hello)
      .Final();
}

// ---------------------------------------------------------------------------------------------
// Handshake.

absl::StatusOr<Handshake> Handshake::Initiator(const SigningKey& static_key, std::string chain_id,
                                               IsAllowed is_allowed) {
  return Create(HandshakeRole::kInitiator, static_key, std::move(chain_id), std::move(is_allowed));
}

absl::StatusOr<Handshake> Handshake::Responder(const SigningKey& static_key, std::string chain_id,
                                               IsAllowed is_allowed) {
  return Create(HandshakeRole::kResponder, static_key, std::move(chain_id), std::move(is_allowed));
}

absl::StatusOr<Handshake> Handshake::Create(HandshakeRole role, const SigningKey& static_key,
                                            std::string chain_id, IsAllowed is_allowed) {
  if (chain_id.empty() || chain_id.size() > kChainIdBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("a chain id is 1 .. ", kChainIdBytesMax, " bytes, got ", chain_id.size()));
  }
  LADING_CHECK_MSG(is_allowed != nullptr, "Handshake needs an is_allowed callback");
  return Handshake(role, static_key, std::move(chain_id), std::move(is_allowed));
}

Handshake::Handshake(HandshakeRole role, const SigningKey& static_key, std::string chain_id,
                     IsAllowed is_allowed)
    : role_(role),
      static_key_(&static_key),
      chain_id_(std::move(chain_id)),
      is_allowed_(std::move(is_allowed)),
      ephemeral_secret_key_(crypto_kx_SECRETKEYBYTES) {
  LADING_CHECK(crypto_kx_keypair(ephemeral_public_key_.data(), ephemeral_secret_key_.data()) == 0);
}

Bytes Handshake::Start() {
  LADING_CHECK_MSG(state_ == State::kCreated, "Handshake::Start called twice");
  own_hello_ = EncodeHello(Hello{.version = kHandshakeVersion,
                                 .chain_id = chain_id_,
                                 .static_key = static_key_->public_key(),
                                 .ephemeral_key = ephemeral_public_key_});
  state_ = State::kAwaitingHello;
  return EncodeFrame(own_hello_);
}

absl::StatusOr<Bytes> Handshake::OnFrame(ByteSpan frame) {
  LADING_CHECK_MSG(state_ != State::kCreated, "Handshake::OnFrame before Start");
  absl::StatusOr<Bytes> reply;
  switch (state_) {
    case State::kFailed:
      return error_;
    case State::kAwaitingHello:
      reply = OnHello(frame);
      if (reply.ok()) state_ = State::kAwaitingAuth;
      break;
    case State::kAwaitingAuth: {
      const absl::Status status = OnAuth(frame);
      if (status.ok()) {
        state_ = State::kDone;
        reply = Bytes();
      } else {
        reply = status;
      }
      break;
    }
    case State::kCreated:
    case State::kDone:
    case State::kFinished:
      reply = absl::FailedPreconditionError(
          absl::StrCat("unexpected frame of ", frame.size(),
                       " bytes after the handshake completed (budget: one Hello, one Auth)"));
      break;
  }
  if (!reply.ok()) {
    state_ = State::kFailed;
    error_ = reply.status();
    sender_.reset();
    receiver_.reset();
  }
  return reply;
}

absl::StatusOr<Bytes> Handshake::OnHello(ByteSpan frame) {
  LADING_ASSIGN_OR_RETURN(Hello hello, DecodeHello(frame));
  if (hello.chain_id != chain_id_) {
    return absl::FailedPreconditionError(
        absl::StrCat("peer is on chain '", absl::CHexEscape(hello.chain_id),
                     "', this node is on chain '", absl::CHexEscape(chain_id_), "'"));
  }
  if (!is_allowed_(hello.static_key)) {
    return absl::PermissionDeniedError(absl::StrCat("peer static key ", hello.static_key.ToHex(),
                                                    " is not an allowed member of chain '",
                                                    absl::CHexEscape(chain_id_), "'"));
  }
  SecureBuffer receive_key(crypto_kx_SESSIONKEYBYTES);
  SecureBuffer send_key(crypto_kx_SESSIONKEYBYTES);
  const int kx_result = role_ == HandshakeRole::kInitiator
                            ? crypto_kx_client_session_keys(
                                  receive_key.data(), send_key.data(), ephemeral_public_key_.data(),
                                  ephemeral_secret_key_.data(), hello.ephemeral_key.data())
                            : crypto_kx_server_session_keys(
                                  receive_key.data(), send_key.data(), ephemeral_public_key_.data(),
                                  ephemeral_secret_key_.data(), hello.ephemeral_key.data());
  // The ephemeral secret has served its one purpose; drop it now rather than at destruction.
  ephemeral_secret_key_ = SecureBuffer();
  if (kx_result != 0) {
    return absl::InvalidArgumentError(absl::StrCat("peer ephemeral X25519 key ",
                                                   HexEncode(hello.ephemeral_key),
                                                   " is an all-zero, low-order or invalid point"));
  }
  peer_static_key_ = hello.static_key;
  peer_hello_.assign(frame.begin(), frame.end());
  sender_ = *FrameCipher::Create(send_key.span());
  receiver_ = *FrameCipher::Create(receive_key.span());

  const Signature auth = static_key_->Sign(Transcript(role_).span());
  LADING_ASSIGN_OR_RETURN(Bytes sealed, sender_->Seal(auth.span()));
  return EncodeFrame(sealed);
}

absl::Status Handshake::OnAuth(ByteSpan frame) {
  absl::StatusOr<Bytes> signature = receiver_->Open(frame);
  if (!signature.ok()) {
    if (absl::IsUnauthenticated(signature.status())) {
      return absl::UnauthenticatedError(
          "the peer's Auth frame does not decrypt under the session key: a Hello or the Auth was "
          "altered in transit, or the peer does not hold its ephemeral key");
    }
    return absl::Status(signature.status().code(),
                        absl::StrCat("peer Auth: ", signature.status().message()));
  }
  if (signature->size() != Signature::kSize) {
    return absl::InvalidArgumentError(absl::StrCat("peer Auth carries ", signature->size(),
                                                   " bytes, expected a 64-byte signature"));
  }
  const HandshakeRole peer_role =
      role_ == HandshakeRole::kInitiator ? HandshakeRole::kResponder : HandshakeRole::kInitiator;
  const absl::Status verified =
      VerifySignature(peer_static_key_, Transcript(peer_role).span(), *signature);
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("peer Auth signature does not verify under its static key ",
                     peer_static_key_.ToHex(), ": ", verified.message()));
  }
  return absl::OkStatus();
}

Hash256 Handshake::Transcript(HandshakeRole signer_role) const {
  const bool we_initiated = role_ == HandshakeRole::kInitiator;
  return HandshakeTranscriptHash(signer_role, chain_id_, we_initiated ? own_hello_ : peer_hello_,
                                 we_initiated ? peer_hello_ : own_hello_);
}

absl::StatusOr<EstablishedChannel> Handshake::Finish() {
  if (state_ != State::kDone) {
    return absl::FailedPreconditionError(state_ == State::kFinished
                                             ? "the handshake's channel was already handed over"
                                             : "the handshake has not completed");
  }
  state_ = State::kFinished;
  EstablishedChannel channel{.peer_static_key = peer_static_key_,
                             .role = role_,
                             .sender = std::move(*sender_),
                             .receiver = std::move(*receiver_)};
  sender_.reset();
  receiver_.reset();
  return channel;
}

}  // namespace lading::crypto
