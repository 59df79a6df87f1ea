#include "contracts/executor.h"

#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "contracts/records.h"
#include "crypto/hash.h"
#include "crypto/signing.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::contracts {
namespace {

absl::Status WithPrefix(const absl::Status& status, const std::string& prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace

absl::StatusOr<AuthenticatedTx> AuthenticateTx(const StateReader& state, std::string_view chain_id,
                                               uint64_t height, ByteSpan signed_tx,
                                               const SignatureCheck& check) {
  LADING_ASSIGN_OR_RETURN(const proto::SignedTx tx, proto::DecodeSignedTx(signed_tx));
  AuthenticatedTx authenticated;
  LADING_ASSIGN_OR_RETURN(authenticated.body, proto::DecodeTxBody(AsBytes(tx.body())));
  const proto::TxBody& body = authenticated.body;
  if (body.payload_case() == proto::TxBody::PAYLOAD_NOT_SET) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction by ", body.signer(), " nonce ", body.nonce(),
                     " has no payload (or one this node does not know)"));
  }
  if (body.chain_id() != chain_id) {
    return absl::InvalidArgumentError(absl::StrCat("transaction is for chain '", body.chain_id(),
                                                   "', this chain is '", std::string(chain_id),
                                                   "'"));
  }
  if (body.expires_at_height() != 0 && body.expires_at_height() < height) {
    return absl::FailedPreconditionError(
        absl::StrCat("transaction expired at height ", body.expires_at_height(),
                     "; this block is at height ", height));
  }
  LADING_ASSIGN_OR_RETURN(const std::optional<proto::Member> member,
                          ReadMember(state, body.signer()));
  if (!member) {
    return absl::PermissionDeniedError(
        absl::StrCat("signer '", body.signer(), "' is not a member of chain '",
                     std::string(chain_id), "'"));
  }
  auto key = crypto::SigningPublicKey::FromBytes(AsBytes(member->signing_public_key()));
  if (!key.ok()) {
    return absl::DataLossError(absl::StrCat("member record of ", body.signer(),
                                            " holds a bad signing key: ", key.status().message()));
  }
  authenticated.tx_id = proto::TxId(AsBytes(tx.body()));
  authenticated.signed_tx_hash = proto::SignedTxHash(signed_tx);
  const absl::Status signature_status = check.Check(
      authenticated.signed_tx_hash, *key, AsBytes(tx.body()), AsBytes(tx.signature()));
  if (!signature_status.ok()) {
    return WithPrefix(signature_status,
                      absl::StrCat("signature of ", body.signer(), " on transaction ",
                                   authenticated.tx_id.ToHex(), " is invalid: "));
  }
  return authenticated;
}

absl::Status ExecuteTx(StateOverlay* overlay, std::string_view chain_id, uint64_t height,
                       ByteSpan signed_tx, const SignatureCheck& check) {
  LADING_CHECK(overlay != nullptr);
  LADING_ASSIGN_OR_RETURN(const AuthenticatedTx tx,
                          AuthenticateTx(*overlay, chain_id, height, signed_tx, check));
  const std::string& signer = tx.body.signer();
  const uint64_t nonce = tx.body.nonce();
  LADING_ASSIGN_OR_RETURN(const uint64_t next_nonce, ReadNextNonce(*overlay, signer));
  if (nonce < next_nonce) {
    return absl::AlreadyExistsError(absl::StrCat("nonce ", nonce, " already used by ", signer,
                                                 " (next is ", next_nonce, ")"));
  }
  if (nonce > next_nonce) {
    return absl::FailedPreconditionError(absl::StrCat("nonce ", nonce, " is ahead of ", signer,
                                                      "'s next nonce ", next_nonce));
  }
  if (nonce == std::numeric_limits<uint64_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("nonce ", nonce, " of ", signer, " is the last one; no next nonce exists"));
  }

  // The transaction's writes go to a child overlay merged only on success, so that a payload
  // failing halfway leaves `overlay` as it was.
  StateOverlay tx_overlay(overlay);
  absl::Status payload_status;
  switch (tx.body.payload_case()) {
    case proto::TxBody::kNote:
      // A note lives in its block (found through the tx index, proven by txs_root); no contract
      // reads it back, so it writes nothing: only the signer's nonce advances, below.
      break;
    case proto::TxBody::PAYLOAD_NOT_SET:
      LADING_CHECK_MSG(false, "AuthenticateTx let a transaction without payload through");
  }
  LADING_RETURN_IF_ERROR(payload_status);
  WriteNextNonce(&tx_overlay, signer, nonce + 1);
  overlay->Absorb(std::move(tx_overlay));
  return absl::OkStatus();
}

absl::StatusOr<BlockWrites> ExecuteBlock(const StateReader& state, std::string_view chain_id,
                                         uint64_t height, const std::vector<ByteSpan>& txs,
                                         const SignatureCheck& check) {
  StateOverlay overlay(&state);
  for (size_t i = 0; i < txs.size(); ++i) {
    const absl::Status status = ExecuteTx(&overlay, chain_id, height, txs[i], check);
    if (!status.ok()) return WithPrefix(status, absl::StrCat("block transaction ", i, ": "));
  }
  return BlockWrites{.writes = overlay.Writes()};
}

std::vector<crypto::SmtUpdate> SmtUpdates(const std::vector<StateWrite>& writes) {
  std::vector<crypto::SmtUpdate> updates;
  updates.reserve(writes.size());
  for (const StateWrite& write : writes) {
    updates.push_back(crypto::SmtUpdate{
        .key = write.key_hash,
        .value_hash = write.value ? std::optional<Hash256>(StateValueHash(*write.value))
                                  : std::nullopt});
  }
  return updates;
}

}  // namespace lading::contracts
