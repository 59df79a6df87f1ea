// TestChain: deterministic members, genesis and signed transactions for contract and node tests
// and benchmarks.
//
// Every key is derived from the member id (seed = BLAKE2b-256 of "lading-test-member:" + id), so
// two TestChains with the same ids hold the same keys and produce byte-identical transactions.
// Never for production: anyone can derive these keys.
//
// CountingSignatureCheck verifies through VerifyingSignatureCheck and counts the calls, so tests
// can prove a signature was verified exactly once.
//
// Ownership: a TestChain owns its keys. Thread-safety: TestChain is safe for concurrent const
// use; CountingSignatureCheck is thread-safe.
#ifndef LADING_CONTRACTS_TESTING_TEST_CHAIN_H_
#define LADING_CONTRACTS_TESTING_TEST_CHAIN_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/signature_check.h"
#include "crypto/bytes.h"
#include "crypto/signing.h"
#include "proto/genesis.pb.h"
#include "proto/ledger.pb.h"

namespace lading::contracts::testing {

inline constexpr std::string_view kTestChainId = "lading-test";
inline constexpr int64_t kTestGenesisTimeUnixMs = 1'700'000'000'000;
inline constexpr uint64_t kTestVotingPower = 10;

class TestChain {
 public:
  // Members `member_ids`, in order; the first `validator_count` have ROLE_VALIDATOR and voting
  // power kTestVotingPower. REQUIRES: ids valid and distinct, validator_count <= ids.size().
  TestChain(std::vector<std::string> member_ids, size_t validator_count,
            std::string chain_id = std::string(kTestChainId));

  const proto::Genesis& genesis() const { return genesis_; }
  const std::string& chain_id() const { return genesis_.chain_id(); }
  // REQUIRES: `member_id` is one of the members.
  const crypto::SigningKey& key(std::string_view member_id) const;

  // A TxBody for this chain with a Note payload.
  proto::TxBody NoteBody(std::string_view signer, uint64_t nonce, std::string_view text,
                         uint64_t expires_at_height = 0) const;
  // The serialized SignedTx of `body`, signed by `signer`'s key (whatever body.signer() says).
  Bytes Sign(std::string_view signer, const proto::TxBody& body) const;
  // Sign(signer, NoteBody(...)).
  Bytes NoteTx(std::string_view signer, uint64_t nonce, std::string_view text,
               uint64_t expires_at_height = 0) const;

 private:
  proto::Genesis genesis_;
  std::map<std::string, crypto::SigningKey, std::less<>> keys_;
};

class CountingSignatureCheck final : public SignatureCheck {
 public:
  absl::Status Check(const Hash256& signed_tx_hash, const crypto::SigningPublicKey& signer_key,
                     ByteSpan body, ByteSpan signature) const override;
  uint64_t calls() const { return calls_.load(); }

 private:
  VerifyingSignatureCheck verifier_;
  mutable std::atomic<uint64_t> calls_{0};
};

}  // namespace lading::contracts::testing

#endif  // LADING_CONTRACTS_TESTING_TEST_CHAIN_H_
