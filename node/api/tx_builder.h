// Building signed transactions on the client side (the CLI, lading-bench, agents).
//
// Pure functions over keys the caller owns; thread-safe.
#ifndef LADING_NODE_API_TX_BUILDER_H_
#define LADING_NODE_API_TX_BUILDER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"
#include "crypto/key_file.h"

namespace lading::node::api {

// The serialized SignedTx of a Note transaction from `keys.member_id` on chain `chain_id` with
// `nonce` (the signer's next nonce: GetAccount's pending_next_nonce) and `text`, which may be
// included up to `expires_at_height` (0 = no expiry), signed with `keys.signing`.
// InvalidArgument when `text` is longer than proto::kNoteTextBytesMax ("note text is 5000 bytes,
// more than the 4096 allowed"), `nonce` is 0 (nonces start at 1), or `chain_id` is empty.
absl::StatusOr<Bytes> BuildNoteTx(const crypto::MemberKeys& keys, std::string_view chain_id,
                                  uint64_t nonce, std::string_view text,
                                  uint64_t expires_at_height = 0);

}  // namespace lading::node::api

#endif  // LADING_NODE_API_TX_BUILDER_H_
