// The genesis state and the committee recorded in the state.
//
// The state before block 1 holds the "chain" record (chain id and genesis time), one
// "member/<id>" record per genesis member and the "committee" record listing, in genesis order,
// the members with ROLE_VALIDATOR and voting power > 0. No account records: every member's first
// nonce is 1.
//
// Pure functions; thread-safe as far as the reader passed in is.
#ifndef LADING_CONTRACTS_GENESIS_STATE_H_
#define LADING_CONTRACTS_GENESIS_STATE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "consensus/validator_set.h"
#include "contracts/state.h"
#include "proto/genesis.pb.h"

namespace lading::contracts {

// The writes that make the genesis state, ordered by key hash. Fails with InvalidArgument when
// proto::ValidateGenesis refuses `genesis` (its message), or when the initial committee is not a
// valid consensus committee (consensus::ValidatorSet::Create's message, e.g. total voting power
// over 2^60). Unknown fields of the genesis' members are not carried into the state.
absl::StatusOr<std::vector<StateWrite>> GenesisWrites(const proto::Genesis& genesis);

// The committee recorded in `state`: the members listed by the "committee" record, in order, with
// their signing keys and voting power from their member records. Errors: FailedPrecondition when
// there is no committee record (no genesis state) or a listed member lacks ROLE_VALIDATOR or
// voting power; DataLoss when a listed member has no record or the set is not a valid committee
// (the state is inconsistent); the reader's errors as is.
absl::StatusOr<consensus::ValidatorSet> CommitteeFromState(const StateReader& state);

}  // namespace lading::contracts

#endif  // LADING_CONTRACTS_GENESIS_STATE_H_
