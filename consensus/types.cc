#include "consensus/types.h"

#include "crypto/status.h"

namespace lading::consensus {
namespace {

// Sign-bytes layout (all integers big-endian, fixed width):
//
//   proposal: u8(25) "lading/consensus/proposal" | u8(len) chain_id | u8 type = 0x20 |
//             u64 height | u32 round | u32 pol_round (kNoRound -> 0xffffffff) |
//             32-byte value hash | u32 proposer index
//   vote:     u8(21) "lading/consensus/vote" | u8(len) chain_id | u8 type (0x01 prevote,
//             0x02 precommit) | u64 height | u32 round | u8 has_block (0 nil, 1 block) |
//             32-byte block hash (zeros for nil) | u32 validator index
//
// Every field has a fixed width after the length-prefixed chain id, so no two distinct messages
// share sign bytes, and the distinct labels keep a proposal signature from passing as a vote.
constexpr std::string_view kProposalLabel = "lading/consensus/proposal";
constexpr std::string_view kVoteLabel = "lading/consensus/vote";
constexpr uint8_t kProposalTypeByte = 0x20;

void AppendPrefix(std::string_view label, const std::string& chain_id, Bytes* out) {
  LADING_CHECK_MSG(chain_id.size() <= 255, "chain id longer than 255 bytes");
  out->push_back(static_cast<uint8_t>(label.size()));
  out->insert(out->end(), label.begin(), label.end());
  out->push_back(static_cast<uint8_t>(chain_id.size()));
  out->insert(out->end(), chain_id.begin(), chain_id.end());
}

void AppendRound(Round round, Bytes* out) {
  AppendUint32BigEndian(static_cast<uint32_t>(round), out);
}

void AppendHash(const Hash256& hash, Bytes* out) {
  out->insert(out->end(), hash.bytes.begin(), hash.bytes.end());
}

}  // namespace

Bytes ProposalSignBytes(const std::string& chain_id, const Proposal& proposal) {
  Bytes out;
  out.reserve(1 + kProposalLabel.size() + 1 + chain_id.size() + 1 + 8 + 4 + 4 + 32 + 4);
  AppendPrefix(kProposalLabel, chain_id, &out);
  out.push_back(kProposalTypeByte);
  AppendUint64BigEndian(proposal.height, &out);
  AppendRound(proposal.round, &out);
  AppendRound(proposal.pol_round, &out);
  AppendHash(proposal.value.hash, &out);
  AppendUint32BigEndian(proposal.proposer, &out);
  return out;
}

Bytes VoteSignBytes(const std::string& chain_id, const Vote& vote) {
  Bytes out;
  out.reserve(1 + kVoteLabel.size() + 1 + chain_id.size() + 1 + 8 + 4 + 1 + 32 + 4);
  AppendPrefix(kVoteLabel, chain_id, &out);
  out.push_back(static_cast<uint8_t>(vote.type));
  AppendUint64BigEndian(vote.height, &out);
  AppendRound(vote.round, &out);
  out.push_back(vote.block_hash.has_value() ? 1 : 0);
  AppendHash(vote.block_hash.value_or(BlockHash{}), &out);
  AppendUint32BigEndian(vote.validator, &out);
  return out;
}

}  // namespace lading::consensus
