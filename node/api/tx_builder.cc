#include "node/api/tx_builder.h"

#include <string>

#include "crypto/internal/strings.h"
#include "proto/ledger.h"

namespace lading::node::api {

using ::lading::internal::StrCat;

absl::StatusOr<Bytes> BuildNoteTx(const crypto::MemberKeys& keys, std::string_view chain_id,
                                  uint64_t nonce, std::string_view text,
                                  uint64_t expires_at_height) {
  if (text.size() > proto::kNoteTextBytesMax) {
    return absl::InvalidArgumentError(StrCat("note text is ", text.size(),
                                             " bytes, more than the ", proto::kNoteTextBytesMax,
                                             " allowed"));
  }
  if (nonce == 0) {
    return absl::InvalidArgumentError("nonce 0 is not valid: nonces start at 1");
  }
  if (chain_id.empty()) return absl::InvalidArgumentError("chain id is empty");

  proto::TxBody body;
  body.set_chain_id(std::string(chain_id));
  body.set_signer(keys.member_id);
  body.set_nonce(nonce);
  body.set_expires_at_height(expires_at_height);
  body.mutable_note()->set_text(std::string(text));
  const Bytes body_bytes = proto::Serialize(body);

  proto::SignedTx tx;
  tx.set_body(ToString(body_bytes));
  tx.set_signature(ToString(keys.signing.Sign(body_bytes).span()));
  return proto::Serialize(tx);
}

}  // namespace lading::node::api
