// Hash domain labels owned by the consensus library (see crypto/hash.h for the convention: one
// label per use, never reused). Kept here rather than in crypto/hash.h so that the consensus
// library's formats live in one folder. Constants only; thread-safe.
#ifndef LADING_CONSENSUS_INTERNAL_LABELS_H_
#define LADING_CONSENSUS_INTERNAL_LABELS_H_

#include <string_view>

namespace lading::consensus::internal {

// ValidatorSet::Hash(): the committee_hash of a block header.
inline constexpr std::string_view kLabelCommittee = "lading/consensus/committee";

}  // namespace lading::consensus::internal

#endif  // LADING_CONSENSUS_INTERNAL_LABELS_H_
