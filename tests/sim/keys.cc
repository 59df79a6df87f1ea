#include "tests/sim/keys.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "crypto/hash.h"
#include "crypto/signing.h"
#include "crypto/status.h"

namespace lading::sim {
namespace {

// Keys the memo of verification answers; only ever compared, never signed or stored.
constexpr std::string_view kLabelVerifyMemo = "lading/sim/verify-memo";

}  // namespace

class KeyRing::Ed25519Signer : public consensus::Signer {
 public:
  explicit Ed25519Signer(crypto::SigningKey key) : key_(std::move(key)) {}
  consensus::Signature Sign(ByteSpan message) const override {
    return key_.Sign(message).ToBytes();
  }
  const crypto::SigningKey& key() const { return key_; }

 private:
  crypto::SigningKey key_;
};

KeyRing::KeyRing(uint64_t seed, size_t count) {
  LADING_CHECK(count >= 1);
  for (size_t k = 0; k < count; ++k) {
    Bytes input;
    AppendUint64BigEndian(seed, &input);
    AppendUint64BigEndian(k, &input);
    const Hash256 key_seed = crypto::HashWithLabel(kLabelSimKey, input);
    absl::StatusOr<crypto::SigningKey> key = crypto::SigningKey::FromSeed(key_seed.span());
    LADING_CHECK_MSG(key.ok(), "a 32-byte seed always makes an Ed25519 key");
    public_keys_.push_back(Bytes(key->public_key().bytes.begin(), key->public_key().bytes.end()));
    signers_.push_back(std::make_unique<Ed25519Signer>(std::move(key).value()));
  }
}

KeyRing::~KeyRing() = default;

const consensus::Signer& KeyRing::signer(KeyId key) const { return *signers_.at(key); }

std::optional<KeyId> KeyRing::Find(ByteSpan public_key) const {
  for (size_t k = 0; k < public_keys_.size(); ++k) {
    if (std::equal(public_keys_[k].begin(), public_keys_[k].end(), public_key.begin(),
                   public_key.end())) {
      return static_cast<KeyId>(k);
    }
  }
  return std::nullopt;
}

bool KeyRing::Verify(ByteSpan public_key, ByteSpan message, ByteSpan signature) {
  Bytes lengths;
  AppendUint64BigEndian(public_key.size(), &lengths);
  AppendUint64BigEndian(message.size(), &lengths);
  const Hash256 memo_key =
      crypto::HashWithLabel(kLabelVerifyMemo, {lengths, public_key, message, signature});
  if (const auto it = memo_.find(memo_key); it != memo_.end()) {
    ++memo_hits_;
    return it->second;
  }
  ++verifications_;
  bool valid = false;
  if (absl::StatusOr<crypto::SigningPublicKey> key =
          crypto::SigningPublicKey::FromBytes(public_key);
      key.ok()) {
    valid = crypto::VerifySignature(*key, message, signature).ok();
  }
  memo_.emplace(memo_key, valid);
  return valid;
}

Bytes KeyRing::SignBytes(const std::string& chain_id, const consensus::ConsensusMessage& message) {
  if (const auto* proposal = std::get_if<consensus::Proposal>(&message)) {
    return consensus::ProposalSignBytes(chain_id, *proposal);
  }
  return consensus::VoteSignBytes(chain_id, std::get<consensus::Vote>(message));
}

void KeyRing::SignMessage(const std::string& chain_id, KeyId key,
                          consensus::ConsensusMessage* message) const {
  const consensus::Signature signature = signer(key).Sign(SignBytes(chain_id, *message));
  std::visit([&signature](auto& m) { m.signature = signature; }, *message);
}

}  // namespace lading::sim
