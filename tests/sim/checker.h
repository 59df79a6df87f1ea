// The simulator's safety checkers. The cluster feeds them every message a correct validator
// signs, every proposal anyone signs, every decision of a correct node and every piece of
// evidence a core reports, as each happens; each check runs at once and records a Violation with
// a readable description when it fails:
//   - agreement: no two correct nodes decide different blocks at one height;
//   - validity: a decided value was proposed by someone and is valid at its height;
//   - no double signing: a correct validator never signs two different messages for one
//     (height, round, type);
//   - commit: every decision carries a commit that VerifyCommit accepts with real Ed25519, for
//     the decided block and height, with > 2/3 of the committee's power of distinct signers;
//   - evidence: evidence a core reports holds two validly signed conflicting votes.
// Liveness is checked by the cluster, which knows when faults stopped.
//
// Holds a pointer to the run's KeyRing (which must outlive it). Thread-compatible.
#ifndef LADING_TESTS_SIM_CHECKER_H_
#define LADING_TESTS_SIM_CHECKER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "consensus/state_machine.h"
#include "consensus/types.h"
#include "consensus/validator_set.h"
#include "tests/sim/keys.h"

namespace lading::sim {

struct Violation {
  uint64_t time_ms = 0;
  std::string kind;         // "agreement", "validity", "double-sign", "commit", ...
  std::string description;  // what happened, with heights, rounds, nodes and blocks
};

class Checker {
 public:
  // REQUIRES: keys outlives the checker.
  Checker(std::string chain_id, KeyRing* keys);

  // A proposal signed by anyone (correct or not): its value counts as proposed.
  void OnProposal(const consensus::Proposal& proposal);
  // A message the correct validator holding `signer` signed and is sending (`who` names the node).
  void OnCorrectSigned(uint64_t time_ms, KeyId signer, std::string_view who,
                       const consensus::ConsensusMessage& message);
  // A correct node decided; `committee` is the committee of decide.height.
  void OnCorrectDecide(uint64_t time_ms, std::string_view who, const consensus::Decide& decide,
                       const consensus::ValidatorSet& committee);
  // A core reported equivocation evidence; `committee` is the committee of the votes' height.
  void OnEvidence(uint64_t time_ms, std::string_view who, const consensus::Evidence& evidence,
                  const consensus::ValidatorSet& committee);
  // Records a violation found elsewhere (driver contract breaches, liveness).
  void Add(uint64_t time_ms, std::string kind, std::string description);

  bool ok() const { return violations_.empty(); }
  const std::vector<Violation>& violations() const { return violations_; }
  // The block correct nodes decided at `height`, if any did.
  std::optional<consensus::BlockHash> DecidedAt(consensus::Height height) const;

 private:
  struct Signed {
    std::optional<consensus::BlockHash> block;  // value hash of a proposal, block of a vote
    consensus::Round pol_round = consensus::kNoRound;
    std::string who;
    uint64_t time_ms = 0;
  };
  struct Decided {
    consensus::BlockHash block;
    std::string who;
    uint64_t time_ms = 0;
  };
  // (signer, height, round, message type: 1 proposal, 2 prevote, 3 precommit)
  using SignedKey = std::tuple<KeyId, consensus::Height, consensus::Round, uint8_t>;

  void CheckCommit(uint64_t time_ms, std::string_view who, const consensus::Decide& decide,
                   const consensus::ValidatorSet& committee);

  std::string chain_id_;
  KeyRing* keys_;
  std::map<consensus::BlockHash, consensus::Value> proposed_;
  std::map<SignedKey, Signed> signed_;
  std::map<consensus::Height, Decided> decided_;
  std::vector<Violation> violations_;
};

// "ab12cd34" for a block hash, "nil" for none: the short form used in descriptions.
std::string ShortBlock(const std::optional<consensus::BlockHash>& block);

}  // namespace lading::sim

#endif  // LADING_TESTS_SIM_CHECKER_H_
