// SignatureCheck: how the executor has a transaction's signature checked.
//
// Execution needs to know that a transaction's signature is valid, not to verify it itself: a
// node verifies each transaction's signature once (when the transaction enters its mempool) and
// remembers it by SignedTxHash, so building, validating and re-validating blocks that carry the
// transaction cost no second Ed25519 verification (node/mempool.h: VerifiedSignatureCache).
// VerifyingSignatureCheck is the plain implementation that verifies every time.
//
// Thread-safety: Check is const and implementations must be safe to call from several threads.
#ifndef LADING_CONTRACTS_SIGNATURE_CHECK_H_
#define LADING_CONTRACTS_SIGNATURE_CHECK_H_

#include "absl/status/status.h"
#include "crypto/bytes.h"
#include "crypto/signing.h"

namespace lading::contracts {

class SignatureCheck {
 public:
  virtual ~SignatureCheck() = default;
  // OK when `signature` is `signer_key`'s valid Ed25519 signature of `body` (the exact TxBody
  // bytes). `signed_tx_hash` is proto::SignedTxHash of the SignedTx carrying body and signature:
  // an implementation may answer from a record of signatures it already verified under that
  // hash and that key. Errors as crypto::VerifySignature: InvalidArgument for a signature that
  // is not 64 bytes, Unauthenticated for one that does not verify.
  virtual absl::Status Check(const Hash256& signed_tx_hash,
                             const crypto::SigningPublicKey& signer_key, ByteSpan body,
                             ByteSpan signature) const = 0;
};

// Verifies every signature with crypto::VerifySignature. Stateless; thread-safe.
class VerifyingSignatureCheck final : public SignatureCheck {
 public:
  absl::Status Check(const Hash256& signed_tx_hash, const crypto::SigningPublicKey& signer_key,
                     ByteSpan body, ByteSpan signature) const override;
};

}  // namespace lading::contracts

#endif  // LADING_CONTRACTS_SIGNATURE_CHECK_H_
