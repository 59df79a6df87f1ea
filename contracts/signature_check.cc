#include "contracts/signature_check.h"

namespace lading::contracts {

absl::Status VerifyingSignatureCheck::Check(const Hash256& /*signed_tx_hash*/,
                                            const crypto::SigningPublicKey& signer_key,
                                            ByteSpan body, ByteSpan signature) const {
  return crypto::VerifySignature(signer_key, body, signature);
}

}  // namespace lading::contracts
