// Conversions between the consensus core's value types (consensus/types.h) and their wire form
// (proto/ledger.proto), and the signature checks the node makes before a message reaches the core.
//
// FromProto functions check everything that can be checked without the committee: field sizes
// (32-byte hashes, 64-byte signatures), vote types, rounds within [0, kRoundMax], pol_round
// within [-1, round). A proposal's value hash is computed here from the block it carries (the
// hash of the block's serialized header), never taken from the sender: the proposal signature
// then covers the block that was actually received.
//
// Verify* functions check a message's signature against the committee of its height; the core
// re-checks indexes and rounds itself (consensus/state_machine.h). Errors are InvalidArgument
// naming the message and the bad field.
//
// Stateless; thread-safe.
#ifndef LADING_NODE_CONSENSUS_CODEC_H_
#define LADING_NODE_CONSENSUS_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consensus/types.h"
#include "consensus/validator_set.h"
#include "proto/ledger.pb.h"

namespace lading::node {

proto::Vote VoteToProto(const consensus::Vote& vote);
absl::StatusOr<consensus::Vote> VoteFromProto(const proto::Vote& vote);

// The proposal's value payload travels as `block`.
proto::Proposal ProposalToProto(const consensus::Proposal& proposal);
// Decodes the carried block's header (within proto's caps) to compute the value hash.
absl::StatusOr<consensus::Proposal> ProposalFromProto(const proto::Proposal& proposal);

proto::Commit CommitToProto(const consensus::Commit& commit);
absl::StatusOr<consensus::Commit> CommitFromProto(const proto::Commit& commit);

proto::Evidence EvidenceToProto(const consensus::Evidence& evidence);
absl::StatusOr<consensus::Evidence> EvidenceFromProto(const proto::Evidence& evidence);

// The vote's / proposal's signature by the committee member at its index, under `chain_id`.
// InvalidArgument for an index outside `committee` or a signature that does not verify.
absl::Status VerifyVoteSignature(const std::string& chain_id,
                                 const consensus::ValidatorSet& committee,
                                 const consensus::Vote& vote);
absl::Status VerifyProposalSignature(const std::string& chain_id,
                                     const consensus::ValidatorSet& committee,
                                     const consensus::Proposal& proposal);

// Evidence holds two votes by one validator, same height, round and type, different blocks,
// both validly signed.
absl::Status VerifyEvidence(const std::string& chain_id, const consensus::ValidatorSet& committee,
                            const consensus::Evidence& evidence);

// consensus::VerifyCommit with Ed25519 verification: more than 2/3 of `committee`'s power
// precommitted (commit.height, commit.round, commit.block_hash).
absl::Status VerifyCommitSignatures(const std::string& chain_id,
                                    const consensus::ValidatorSet& committee,
                                    const consensus::Commit& commit);

}  // namespace lading::node

#endif  // LADING_NODE_CONSENSUS_CODEC_H_
