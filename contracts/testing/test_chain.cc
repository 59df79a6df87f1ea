#include "contracts/testing/test_chain.h"

#include <utility>

#include "crypto/hash.h"
#include "crypto/status.h"
#include "proto/ledger.h"

namespace lading::contracts::testing {
namespace {

Bytes DerivedBytes(std::string_view purpose, std::string_view member_id) {
  const std::string input =
      std::string("lading-test-").append(purpose).append(":").append(member_id);
  return crypto::Blake2b(AsBytes(input), 32);
}

}  // namespace

TestChain::TestChain(std::vector<std::string> member_ids, size_t validator_count,
                     std::string chain_id) {
  LADING_CHECK(validator_count <= member_ids.size());
  genesis_.set_chain_id(std::move(chain_id));
  genesis_.set_genesis_time_unix_ms(kTestGenesisTimeUnixMs);
  for (size_t i = 0; i < member_ids.size(); ++i) {
    const std::string& id = member_ids[i];
    auto key = crypto::SigningKey::FromSeed(DerivedBytes("member", id));
    LADING_CHECK(key.ok());
    proto::Member* member = genesis_.add_members();
    member->set_id(id);
    member->set_signing_public_key(ToString(key->public_key().span()));
    member->set_encryption_public_key(ToString(DerivedBytes("encryption", id)));
    member->add_roles(proto::ROLE_EXPORTER);
    if (i < validator_count) {
      member->add_roles(proto::ROLE_VALIDATOR);
      member->set_voting_power(kTestVotingPower);
    }
    LADING_CHECK(keys_.emplace(id, std::move(key).value()).second);
  }
}

const crypto::SigningKey& TestChain::key(std::string_view member_id) const {
  const auto it = keys_.find(member_id);
  LADING_CHECK_MSG(it != keys_.end(), "no such test member");
  return it->second;
}

proto::TxBody TestChain::NoteBody(std::string_view signer, uint64_t nonce, std::string_view text,
                                  uint64_t expires_at_height) const {
  proto::TxBody body;
  body.set_chain_id(chain_id());
  body.set_signer(std::string(signer));
  body.set_nonce(nonce);
  body.set_expires_at_height(expires_at_height);
  body.mutable_note()->set_text(std::string(text));
  return body;
}

Bytes TestChain::Sign(std::string_view signer, const proto::TxBody& body) const {
  const Bytes body_bytes = proto::Serialize(body);
  proto::SignedTx tx;
  tx.set_body(ToString(body_bytes));
  tx.set_signature(ToString(key(signer).Sign(body_bytes).span()));
  return proto::Serialize(tx);
}

Bytes TestChain::NoteTx(std::string_view signer, uint64_t nonce, std::string_view text,
                        uint64_t expires_at_height) const {
  return Sign(signer, NoteBody(signer, nonce, text, expires_at_height));
}

absl::Status CountingSignatureCheck::Check(const Hash256& signed_tx_hash,
                                           const crypto::SigningPublicKey& signer_key,
                                           ByteSpan body, ByteSpan signature) const {
  calls_.fetch_add(1);
  return verifier_.Check(signed_tx_hash, signer_key, body, signature);
}

}  // namespace lading::contracts::testing
