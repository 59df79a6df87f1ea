// Vocabulary of the committee BFT consensus (Tendermint, Buchman/Kwon/Milosevic 2018, Alg. 1):
// heights, rounds, steps, values, proposals, votes, commits, validator sets, sign state.
//
// Pure value types; no I/O, clocks, threads or randomness (DESIGN §2). Thread-compatible.
// Signatures are opaque bytes here: the consensus core never holds a private key. It signs
// through the Signer it is given and trusts that the caller verified every incoming signature
// (see state_machine.h). Canonical sign bytes are defined in this header's .cc.
#ifndef LADING_CONSENSUS_TYPES_H_
#define LADING_CONSENSUS_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "crypto/bytes.h"

namespace lading::consensus {

using Height = uint64_t;
// Rounds are >= 0 in messages; kNoRound (-1) stands for the paper's "-1" in validRound,
// lockedRound and a proposal's validRound (pol_round).
using Round = int32_t;
inline constexpr Round kNoRound = -1;
// Largest round a peer may name; anything above is dropped as out of range.
inline constexpr Round kRoundMax = 1 << 20;
using ValidatorIndex = uint32_t;
using VotingPower = uint64_t;
using BlockHash = Hash256;
using Signature = Bytes;  // 64-byte Ed25519 signature, checked by the caller

enum class Step : uint8_t { kPropose = 1, kPrevote = 2, kPrecommit = 3 };
enum class VoteType : uint8_t { kPrevote = 1, kPrecommit = 2 };

// A proposed value: the block hash the protocol agrees on, and the block bytes it stands for
// (opaque to the core; the application validates them).
struct Value {
  BlockHash hash;
  Bytes payload;
  bool operator==(const Value&) const = default;
};

struct Proposal {
  Height height = 0;
  Round round = 0;
  Round pol_round = kNoRound;  // the paper's validRound carried by the proposal
  Value value;
  ValidatorIndex proposer = 0;
  Signature signature;
  bool operator==(const Proposal&) const = default;
};

struct Vote {
  VoteType type = VoteType::kPrevote;
  Height height = 0;
  Round round = 0;
  std::optional<BlockHash> block_hash;  // nullopt = nil
  ValidatorIndex validator = 0;
  Signature signature;
  bool operator==(const Vote&) const = default;
};

using ConsensusMessage = std::variant<Proposal, Vote>;

struct CommitSignature {
  ValidatorIndex validator = 0;
  Signature signature;
  bool operator==(const CommitSignature&) const = default;
};

// The precommits (> 2/3 of voting power) that decided `block_hash` at `height` in `round`.
struct Commit {
  Height height = 0;
  Round round = 0;
  BlockHash block_hash;
  std::vector<CommitSignature> signatures;  // sorted by validator index, each at most once
  bool operator==(const Commit&) const = default;
};

// Two signed votes by one validator for the same (height, round, type) and different blocks.
struct Evidence {
  Vote first;
  Vote second;
  bool operator==(const Evidence&) const = default;
};

// The last (height, round, step) this validator signed, and its lock at that moment. Persisted
// durably before the signed message leaves, so that a restarted validator never signs twice for
// one step and never forgets a lock it precommitted on (a validator that forgot its lock could
// help a conflicting polka form: the "amnesia" fault, as bad as being Byzantine). The lock only
// changes when a precommit is signed (Alg. 1 line 36), so persisting it with every signature
// keeps it durable exactly when it matters. The whole locked value (payload included) is kept:
// after a restart the validator re-proposes it as its validValue when it is proposer, which is
// how Tendermint gets a height unstuck when only this validator saw the polka it locked on.
struct SignState {
  Height height = 0;
  Round round = kNoRound;
  Step step = Step::kPropose;
  Round locked_round = kNoRound;        // the paper's lockedRound at `height`
  std::optional<Value> locked_value;    // the paper's lockedValue at `height`
  bool operator==(const SignState&) const = default;
};

struct Validator {
  std::string id;    // member id
  Bytes public_key;  // 32-byte Ed25519 public key
  VotingPower voting_power = 0;
  bool operator==(const Validator&) const = default;
};

// Canonical bytes a proposal / vote signature covers: a domain label, the chain id, then the
// fields in a fixed binary layout (documented in types.cc). The signature field itself is not
// covered, nor is a proposal's payload: the proposal signs its value's hash, and the application
// checks payload against hash when it validates the value.
// REQUIRES: chain_id.size() <= 255.
Bytes ProposalSignBytes(const std::string& chain_id, const Proposal& proposal);
Bytes VoteSignBytes(const std::string& chain_id, const Vote& vote);

}  // namespace lading::consensus

#endif  // LADING_CONSENSUS_TYPES_H_
