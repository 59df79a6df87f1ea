#include "tools/cli/chain_commands.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/internal/strings.h"
#include "crypto/key_file.h"
#include "crypto/status.h"
#include "node/api/client.h"
#include "node/api/tx_builder.h"
#include "proto/ledger.h"
#include "tools/cli/output.h"

namespace lading::cli {
namespace {

using ::lading::internal::StrCat;

constexpr char kNodeEnvironment[] = "LADING_NODE";

struct NodeOptions {
  std::string node;
  bool json = false;
};

struct KeyOptions {
  std::string key_file;
  std::string passphrase_file;
};

struct StatusOptions {
  NodeOptions node;
};

struct BlockGetOptions {
  NodeOptions node;
  KeyOptions key;
  std::string height;
};

struct TxGetOptions {
  NodeOptions node;
  KeyOptions key;
  std::string tx_id;
  bool show_text = false;
};

struct NoteOptions {
  NodeOptions node;
  KeyOptions key;
  std::string text;
  bool wait = false;
};

absl::StatusOr<std::string> NodeAddress(const NodeOptions& options) {
  if (!options.node.empty()) return options.node;
  const char* from_environment = std::getenv(kNodeEnvironment);
  if (from_environment != nullptr && from_environment[0] != '\0') {
    return std::string(from_environment);
  }
  return absl::InvalidArgumentError("no node given: pass --node HOST:PORT or set LADING_NODE");
}

absl::StatusOr<crypto::MemberKeys> LoadKeys(const KeyOptions& options) {
  std::optional<crypto::SecureBuffer> passphrase;
  if (!options.passphrase_file.empty()) {
    LADING_ASSIGN_OR_RETURN(passphrase, crypto::ReadPassphraseFile(options.passphrase_file));
  }
  std::optional<ByteSpan> passphrase_bytes;
  if (passphrase.has_value()) passphrase_bytes = passphrase->span();
  return crypto::ReadPrivateKeyFile(options.key_file, passphrase_bytes);
}

absl::StatusOr<std::unique_ptr<node::api::ApiClient>> ConnectTo(const NodeOptions& options,
                                                                const crypto::MemberKeys* keys) {
  LADING_ASSIGN_OR_RETURN(const std::string address, NodeAddress(options));
  return node::api::ApiClient::Connect(address, keys);
}

std::string HexOf(const std::string& bytes) { return HexEncode(AsBytes(bytes)); }

// "2023-11-14T22:13:20.000Z" for ms since the Unix epoch.
std::string FormatTime(int64_t unix_ms) {
  const int64_t seconds = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  const int64_t millis = unix_ms - seconds * 1000;
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  if (::gmtime_r(&time, &utc) == nullptr) return StrCat(unix_ms, " ms");
  char text[64];
  const size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char millis_text[8];
  std::snprintf(millis_text, sizeof(millis_text), ".%03dZ", static_cast<int>(millis));
  return std::string(text, length) + millis_text;
}

std::string JsonStringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += JsonString(values[i]);
  }
  return out + "]";
}

std::string JoinOrNone(const std::vector<std::string>& values) {
  if (values.empty()) return "(none)";
  std::string out;
  for (const std::string& value : values) {
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

absl::Status RunStatus(const StatusOptions& options) {
  LADING_ASSIGN_OR_RETURN(const std::unique_ptr<node::api::ApiClient> client,
                          ConnectTo(options.node, nullptr));
  LADING_ASSIGN_OR_RETURN(const proto::GetStatusResponse status, client->GetStatus());
  if (options.node.json) {
    std::cout << "{\"node\": " << JsonString(client->address())
              << ", \"chain_id\": " << JsonString(status.chain_id())
              << ", \"member_id\": " << JsonString(status.member_id())
              << ", \"validator\": " << (status.validator() ? "true" : "false")
              << ", \"height\": " << status.height()
              << ", \"head_block_hash\": " << JsonString(HexOf(status.head_block_hash()))
              << ", \"head_time_unix_ms\": " << status.head_time_unix_ms()
              << ", \"state_root\": " << JsonString(HexOf(status.state_root()))
              << ", \"consensus_height\": " << status.consensus_height()
              << ", \"round\": " << status.round()
              << ", \"peers_connected\": " << status.peers_connected()
              << ", \"peers_configured\": " << status.peers_configured()
              << ", \"mempool_txs\": " << status.mempool_txs()
              << ", \"mempool_bytes\": " << status.mempool_bytes()
              << ", \"committed_txs_total\": " << status.committed_txs_total()
              << ", \"syncing\": " << (status.syncing() ? "true" : "false")
              << ", \"serving\": " << (status.serving() ? "true" : "false") << "}\n";
    return absl::OkStatus();
  }
  std::cout << FormatFields({
      {"node", client->address()},
      {"chain id", status.chain_id()},
      {"member id", StrCat(status.member_id(), status.validator() ? " (validator)" : "")},
      {"height", StrCat(status.height())},
      {"head block hash", status.height() == 0 ? "(none)" : HexOf(status.head_block_hash())},
      {"head time", status.height() == 0 ? "(none)" : FormatTime(status.head_time_unix_ms())},
      {"state root", HexOf(status.state_root())},
      {"consensus", StrCat("height ", status.consensus_height(), ", round ", status.round())},
      {"peers", StrCat(status.peers_connected(), " of ", status.peers_configured(), " connected")},
      {"mempool", StrCat(status.mempool_txs(), " txs, ", status.mempool_bytes(), " bytes")},
      {"committed txs", StrCat(status.committed_txs_total())},
      {"state",
       status.syncing() ? "syncing" : (status.serving() ? "serving" : "starting")},
  });
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseHeight(const std::string& text) {
  if (text == "head") return 0;
  uint64_t height = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, height);
  if (text.empty() || error != std::errc() || ptr != end || height == 0) {
    return absl::InvalidArgumentError(
        StrCat("height \"", text, "\" is not a block height (1, 2, ... or head)"));
  }
  return height;
}

absl::Status RunBlockGet(const BlockGetOptions& options) {
  LADING_ASSIGN_OR_RETURN(const uint64_t height, ParseHeight(options.height));
  LADING_ASSIGN_OR_RETURN(const crypto::MemberKeys keys, LoadKeys(options.key));
  LADING_ASSIGN_OR_RETURN(const std::unique_ptr<node::api::ApiClient> client,
                          ConnectTo(options.node, &keys));
  LADING_ASSIGN_OR_RETURN(const proto::GetBlockResponse response, client->GetBlock(height));
  LADING_ASSIGN_OR_RETURN(const proto::Block block, proto::DecodeBlock(AsBytes(response.block())));
  LADING_ASSIGN_OR_RETURN(const proto::BlockHeader header,
                          proto::DecodeBlockHeader(AsBytes(block.header())));
  LADING_ASSIGN_OR_RETURN(const proto::Commit commit,
                          proto::DecodeCommit(AsBytes(response.commit())));
  // The node's claims are checked where they are cheap to check: the hash is the header's and
  // the commit is for this block.
  const Hash256 block_hash = proto::BlockHash(AsBytes(block.header()));
  if (ToString(block_hash.span()) != response.block_hash() ||
      commit.block_hash() != response.block_hash() || commit.height() != header.height()) {
    return absl::DataLossError(StrCat("node ", client->address(), " sent block ",
                                      header.height(),
                                      " with a hash or commit that does not match it"));
  }
  LADING_ASSIGN_OR_RETURN(const std::vector<Hash256> tx_ids, proto::TxIds(block));
  std::vector<std::string> tx_id_hex;
  for (const Hash256& tx_id : tx_ids) tx_id_hex.push_back(tx_id.ToHex());
  std::vector<std::string> signers;
  for (const proto::CommitSignature& signature : commit.signatures()) {
    signers.push_back(StrCat(signature.validator_index()));
  }

  if (options.node.json) {
    std::string signers_json = "[";
    for (size_t i = 0; i < signers.size(); ++i) signers_json += (i > 0 ? ", " : "") + signers[i];
    signers_json += "]";
    std::cout << "{\"height\": " << header.height()
              << ", \"block_hash\": " << JsonString(block_hash.ToHex())
              << ", \"time_unix_ms\": " << header.time_unix_ms()
              << ", \"proposer\": " << JsonString(header.proposer())
              << ", \"prev_block_hash\": " << JsonString(HexOf(header.prev_block_hash()))
              << ", \"tx_count\": " << tx_ids.size()
              << ", \"tx_ids\": " << JsonStringArray(tx_id_hex)
              << ", \"txs_root\": " << JsonString(HexOf(header.txs_root()))
              << ", \"state_root\": " << JsonString(HexOf(header.state_root()))
              << ", \"commit_round\": " << commit.round()
              << ", \"commit_signers\": " << signers_json << "}\n";
    return absl::OkStatus();
  }
  std::cout << FormatFields({
      {"height", StrCat(header.height())},
      {"hash", block_hash.ToHex()},
      {"time", StrCat(FormatTime(header.time_unix_ms()), " (", header.time_unix_ms(), ")")},
      {"proposer", header.proposer()},
      {"previous hash",
       header.prev_block_hash().empty() ? "(none)" : HexOf(header.prev_block_hash())},
      {"txs", StrCat(tx_ids.size())},
      {"tx ids", JoinOrNone(tx_id_hex)},
      {"txs root", HexOf(header.txs_root())},
      {"state root", HexOf(header.state_root())},
      {"commit signers", StrCat(signers.size(), " validators in round ", commit.round(),
                                " (committee indexes ", JoinOrNone(signers), ")")},
  });
  return absl::OkStatus();
}

std::string PayloadKind(const proto::TxBody& body) {
  switch (body.payload_case()) {
    case proto::TxBody::kNote:
      return "note";
    case proto::TxBody::PAYLOAD_NOT_SET:
      return "none";
  }
  return StrCat("unknown (", static_cast<int>(body.payload_case()), ")");
}

absl::Status RunTxGet(const TxGetOptions& options) {
  absl::StatusOr<Hash256> tx_id = Hash256::FromHex(options.tx_id);
  if (!tx_id.ok()) {
    return absl::InvalidArgumentError(
        StrCat("tx id \"", options.tx_id, "\" is not 64 hex characters"));
  }
  LADING_ASSIGN_OR_RETURN(const crypto::MemberKeys keys, LoadKeys(options.key));
  LADING_ASSIGN_OR_RETURN(const std::unique_ptr<node::api::ApiClient> client,
                          ConnectTo(options.node, &keys));
  LADING_ASSIGN_OR_RETURN(const proto::GetTxResponse response, client->GetTx(*tx_id));
  LADING_ASSIGN_OR_RETURN(const proto::SignedTx tx,
                          proto::DecodeSignedTx(AsBytes(response.signed_tx())));
  if (proto::TxId(AsBytes(tx.body())) != *tx_id) {
    return absl::DataLossError(StrCat("node ", client->address(), " sent a transaction whose id is not ",
                                      tx_id->ToHex()));
  }
  LADING_ASSIGN_OR_RETURN(const proto::TxBody body, proto::DecodeTxBody(AsBytes(tx.body())));
  const bool is_note = body.payload_case() == proto::TxBody::kNote;
  const std::string& text = body.note().text();

  if (options.node.json) {
    std::cout << "{\"tx_id\": " << JsonString(tx_id->ToHex())
              << ", \"height\": " << response.height() << ", \"index\": " << response.index()
              << ", \"block_hash\": " << JsonString(HexOf(response.block_hash()))
              << ", \"signer\": " << JsonString(body.signer()) << ", \"nonce\": " << body.nonce()
              << ", \"expires_at_height\": " << body.expires_at_height()
              << ", \"payload\": " << JsonString(PayloadKind(body));
    if (is_note) {
      std::cout << ", \"note_bytes\": " << text.size();
      if (options.show_text) std::cout << ", \"note_text\": " << JsonString(text);
    }
    std::cout << "}\n";
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"tx id", tx_id->ToHex()},
      {"height", StrCat(response.height())},
      {"index", StrCat(response.index())},
      {"block hash", HexOf(response.block_hash())},
      {"signer", body.signer()},
      {"nonce", StrCat(body.nonce())},
      {"expires at height",
       body.expires_at_height() == 0 ? "never" : StrCat(body.expires_at_height())},
      {"payload", PayloadKind(body)},
  };
  if (is_note) {
    fields.emplace_back("note size", StrCat(text.size(), " bytes"));
    if (options.show_text) fields.emplace_back("note text", text);
  }
  std::cout << FormatFields(fields);
  return absl::OkStatus();
}

absl::Status RunNote(const NoteOptions& options) {
  if (options.text.size() > proto::kNoteTextBytesMax) {
    return absl::InvalidArgumentError(StrCat("note text is ", options.text.size(),
                                             " bytes, more than the ", proto::kNoteTextBytesMax,
                                             " allowed"));
  }
  LADING_ASSIGN_OR_RETURN(const crypto::MemberKeys keys, LoadKeys(options.key));
  LADING_ASSIGN_OR_RETURN(const std::unique_ptr<node::api::ApiClient> client,
                          ConnectTo(options.node, &keys));
  LADING_ASSIGN_OR_RETURN(const proto::GetAccountResponse account,
                          client->GetAccount(keys.member_id));
  LADING_ASSIGN_OR_RETURN(const Bytes tx,
                          node::api::BuildNoteTx(keys, client->chain_id(),
                                                 account.pending_next_nonce(), options.text));
  LADING_ASSIGN_OR_RETURN(const proto::SubmitTxResponse submitted,
                          client->SubmitTx(tx, options.wait));
  const std::string tx_id = HexOf(submitted.tx_id());
  if (options.node.json) {
    std::cout << "{\"tx_id\": " << JsonString(tx_id) << ", \"signer\": "
              << JsonString(keys.member_id) << ", \"nonce\": " << account.pending_next_nonce()
              << ", \"committed\": " << (submitted.committed() ? "true" : "false");
    if (submitted.committed()) {
      std::cout << ", \"height\": " << submitted.height() << ", \"index\": " << submitted.index();
    }
    std::cout << "}\n";
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"tx id", tx_id},
      {"signer", keys.member_id},
      {"nonce", StrCat(account.pending_next_nonce())},
  };
  if (submitted.committed()) {
    fields.emplace_back("height", StrCat(submitted.height()));
    fields.emplace_back("index", StrCat(submitted.index()));
  } else {
    fields.emplace_back("status", "accepted into the mempool");
  }
  std::cout << FormatFields(fields);
  return absl::OkStatus();
}

void AddNodeOptions(CLI::App* command, NodeOptions* options) {
  command->add_option("--node", options->node,
                      "Node gRPC API address HOST:PORT (default: $LADING_NODE)");
  command->add_flag("--json", options->json, "Print one JSON object");
}

void AddKeyOptions(CLI::App* command, KeyOptions* options) {
  command->add_option("--key", options->key_file, "Private key file of the member signing")
      ->required();
  command->add_option("--passphrase-file", options->passphrase_file,
                      "Passphrase for a protected key file");
}

}  // namespace

void AddChainCommands(CLI::App& app, CommandRunner* runner) {
  auto status_options = std::make_shared<StatusOptions>();
  CLI::App* status = app.add_subcommand("status", "Show a node's status");
  AddNodeOptions(status, &status_options->node);
  status->callback([runner, status_options] {
    *runner = [status_options] { return RunStatus(*status_options); };
  });

  CLI::App* block = app.add_subcommand("block", "Read committed blocks");
  block->require_subcommand(1);
  auto block_get_options = std::make_shared<BlockGetOptions>();
  CLI::App* block_get = block->add_subcommand("get", "Show a committed block");
  block_get->add_option("HEIGHT", block_get_options->height, "Block height, or head")
      ->required();
  AddKeyOptions(block_get, &block_get_options->key);
  AddNodeOptions(block_get, &block_get_options->node);
  block_get->callback([runner, block_get_options] {
    *runner = [block_get_options] { return RunBlockGet(*block_get_options); };
  });

  CLI::App* tx = app.add_subcommand("tx", "Read committed transactions");
  tx->require_subcommand(1);
  auto tx_get_options = std::make_shared<TxGetOptions>();
  CLI::App* tx_get = tx->add_subcommand("get", "Show a committed transaction");
  tx_get->add_option("TX_ID", tx_get_options->tx_id, "Transaction id (64 hex characters)")
      ->required();
  tx_get->add_flag("--show-text", tx_get_options->show_text, "Print a note's text as well");
  AddKeyOptions(tx_get, &tx_get_options->key);
  AddNodeOptions(tx_get, &tx_get_options->node);
  tx_get->callback([runner, tx_get_options] {
    *runner = [tx_get_options] { return RunTxGet(*tx_get_options); };
  });

  auto note_options = std::make_shared<NoteOptions>();
  CLI::App* note = app.add_subcommand("note", "Sign and submit a note transaction");
  note->add_option("--text", note_options->text, "Note text (at most 4096 bytes)")->required();
  note->add_flag("--wait", note_options->wait, "Wait until the note is committed (up to 10 s)");
  AddKeyOptions(note, &note_options->key);
  AddNodeOptions(note, &note_options->node);
  note->callback(
      [runner, note_options] { *runner = [note_options] { return RunNote(*note_options); }; });
}

}  // namespace lading::cli
