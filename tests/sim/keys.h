// The Ed25519 keys of one simulated run and the signature checks the simulated drivers make.
//
// Key k of a run is SigningKey::FromSeed(H("lading/sim/key", seed || k)), so a seed names the
// whole committee and a failing seed replays with the same keys. Each key comes with a
// consensus::Signer over it (twins share one). Verify() runs real Ed25519 and remembers its
// answers: the same (key, message, signature) arrives many times in a gossiping network, and the
// answer for it never changes, so memoising changes no outcome and keeps runs fast.
//
// A KeyRing owns its keys and signers; signers stay valid while the ring lives.
// Thread-compatible (Verify mutates the memo).
#ifndef LADING_TESTS_SIM_KEYS_H_
#define LADING_TESTS_SIM_KEYS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "consensus/state_machine.h"
#include "consensus/types.h"
#include "crypto/bytes.h"

namespace lading::sim {

// Index of a key in a run's KeyRing: a stable identity across committee changes (a validator's
// ValidatorIndex is its position in one committee and may change).
using KeyId = uint32_t;

// Domain label of the simulator's key derivation (crypto/hash.h lists the production labels;
// this one is used only by the simulator and never by the node).
inline constexpr std::string_view kLabelSimKey = "lading/sim/key";

class KeyRing {
 public:
  // Derives `count` keys from `seed`. REQUIRES: count >= 1.
  KeyRing(uint64_t seed, size_t count);
  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  size_t size() const { return public_keys_.size(); }
  // REQUIRES: key < size().
  const Bytes& public_key(KeyId key) const { return public_keys_.at(key); }
  const consensus::Signer& signer(KeyId key) const;
  // The key whose public key is `public_key`, if it belongs to this ring.
  std::optional<KeyId> Find(ByteSpan public_key) const;

  // True when `signature` is a valid Ed25519 signature of `message` under `public_key`. Memoised;
  // malformed keys or signatures are simply invalid.
  bool Verify(ByteSpan public_key, ByteSpan message, ByteSpan signature);
  // Sign bytes of `message` under `chain_id` (ProposalSignBytes / VoteSignBytes).
  static Bytes SignBytes(const std::string& chain_id, const consensus::ConsensusMessage& message);
  // Re-signs `message` in place with `key` (its signature field is overwritten).
  void SignMessage(const std::string& chain_id, KeyId key,
                   consensus::ConsensusMessage* message) const;

  // Ed25519 verifications actually run, and answers served from the memo.
  uint64_t verifications() const { return verifications_; }
  uint64_t memo_hits() const { return memo_hits_; }

 private:
  class Ed25519Signer;

  std::vector<std::unique_ptr<Ed25519Signer>> signers_;
  std::vector<Bytes> public_keys_;
  std::unordered_map<Hash256, bool, Hash256Hasher> memo_;
  uint64_t verifications_ = 0;
  uint64_t memo_hits_ = 0;
};

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_KEYS_H_
