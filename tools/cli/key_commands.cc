#include "tools/cli/key_commands.h"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "crypto/internal/strings.h"
#include "crypto/key_file.h"
#include "crypto/status.h"
#include "tools/cli/output.h"

namespace lading::cli {
namespace {

using ::lading::internal::StrCat;

constexpr char kKdfInteractive[] = "interactive";
constexpr char kKdfModerate[] = "moderate";
constexpr char kKdfSensitive[] = "sensitive";

struct KeygenOptions {
  std::string name;
  std::string out_dir;
  std::string passphrase_file;
  std::string kdf = kKdfModerate;
  bool json = false;
};

struct KeyShowOptions {
  std::string key_file;
  std::string passphrase_file;
  bool json = false;
};

crypto::PassphraseKdfLimits LimitsFor(const std::string& level) {
  if (level == kKdfInteractive) return crypto::PassphraseKdfLimits::Interactive();
  if (level == kKdfSensitive) return crypto::PassphraseKdfLimits::Sensitive();
  return crypto::PassphraseKdfLimits::Moderate();
}

absl::StatusOr<std::optional<crypto::SecureBuffer>> LoadPassphrase(const std::string& path) {
  if (path.empty()) return std::optional<crypto::SecureBuffer>();
  LADING_ASSIGN_OR_RETURN(crypto::SecureBuffer passphrase, crypto::ReadPassphraseFile(path));
  return std::optional<crypto::SecureBuffer>(std::move(passphrase));
}

// The key directory holds private keys, so one created here is private to its owner.
absl::Status EnsureKeyDirectory(const std::string& dir) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(dir, error);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_directory(status)) {
      return absl::FailedPreconditionError(StrCat("--out ", dir, " exists and is not a directory"));
    }
    return absl::OkStatus();
  }
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        StrCat("cannot create directory ", dir, ": ", error.message()));
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::FailedPreconditionError(StrCat("cannot chmod 700 directory ", dir));
  }
  return absl::OkStatus();
}

std::string PublicKeysJson(const crypto::MemberPublicKeys& keys) {
  return StrCat("\"member_id\": ", JsonString(keys.member_id),
                ", \"signing_public_key\": ", JsonString(keys.signing_public_key.ToHex()),
                ", \"encryption_public_key\": ", JsonString(keys.encryption_public_key.ToHex()));
}

absl::Status RunKeygen(const KeygenOptions& options) {
  LADING_ASSIGN_OR_RETURN(const std::optional<crypto::SecureBuffer> passphrase,
                          LoadPassphrase(options.passphrase_file));
  LADING_RETURN_IF_ERROR(EnsureKeyDirectory(options.out_dir));
  LADING_ASSIGN_OR_RETURN(const crypto::MemberKeys keys,
                          crypto::MemberKeys::Generate(options.name));
  std::optional<crypto::PassphraseProtection> protection;
  if (passphrase.has_value()) {
    protection = crypto::PassphraseProtection{passphrase->span(), LimitsFor(options.kdf)};
  }
  LADING_ASSIGN_OR_RETURN(const crypto::MemberKeyFilePaths paths,
                          crypto::WriteMemberKeyFiles(options.out_dir, keys, protection));
  const crypto::MemberPublicKeys public_keys = keys.public_keys();
  if (options.json) {
    std::cout << "{" << PublicKeysJson(public_keys)
              << ", \"private_key_file\": " << JsonString(paths.private_key_file)
              << ", \"public_key_file\": " << JsonString(paths.public_key_file)
              << ", \"passphrase_protected\": " << (protection.has_value() ? "true" : "false")
              << "}\n";
  } else {
    const std::string protection_text = protection.has_value()
                                            ? StrCat("passphrase-protected, Argon2id ", options.kdf)
                                            : std::string("not passphrase-protected");
    std::cout << FormatFields({
        {"member id", public_keys.member_id},
        {"signing public key", public_keys.signing_public_key.ToHex()},
        {"encryption public key", public_keys.encryption_public_key.ToHex()},
        {"private key file", StrCat(paths.private_key_file, " (", protection_text, ")")},
        {"public key file", paths.public_key_file},
    });
  }
  return absl::OkStatus();
}

absl::Status RunKeyShow(const KeyShowOptions& options) {
  LADING_ASSIGN_OR_RETURN(const std::optional<crypto::SecureBuffer> passphrase,
                          LoadPassphrase(options.passphrase_file));
  std::optional<ByteSpan> passphrase_bytes;
  if (passphrase.has_value()) passphrase_bytes = passphrase->span();
  LADING_ASSIGN_OR_RETURN(const crypto::MemberKeys keys,
                          crypto::ReadPrivateKeyFile(options.key_file, passphrase_bytes));
  const crypto::MemberPublicKeys public_keys = keys.public_keys();
  if (options.json) {
    std::cout << "{" << PublicKeysJson(public_keys)
              << ", \"private_key_file\": " << JsonString(options.key_file) << "}\n";
  } else {
    std::cout << FormatFields({
        {"member id", public_keys.member_id},
        {"signing public key", public_keys.signing_public_key.ToHex()},
        {"encryption public key", public_keys.encryption_public_key.ToHex()},
        {"private key file", options.key_file},
    });
  }
  return absl::OkStatus();
}

}  // namespace

void AddKeyCommands(CLI::App& app, CommandRunner* runner) {
  auto keygen_options = std::make_shared<KeygenOptions>();
  CLI::App* keygen = app.add_subcommand("keygen", "Create a member's signing and encryption keys");
  keygen->add_option("--name", keygen_options->name, "Member id: 1..64 of [a-z0-9_-]")
      ->required()
      ->check([](const std::string& name) {
        const absl::Status status = crypto::ValidateMemberId(name);
        return status.ok() ? std::string() : std::string(status.message());
      });
  keygen->add_option("--out", keygen_options->out_dir, "Directory for NAME.key and NAME.pub.json")
      ->required();
  keygen->add_option("--passphrase-file", keygen_options->passphrase_file,
                     "Encrypt the private keys under the passphrase in this file (mode 0600)");
  keygen->add_option("--kdf", keygen_options->kdf, "Argon2id cost with --passphrase-file")
      ->check(CLI::IsMember({kKdfInteractive, kKdfModerate, kKdfSensitive}))
      ->capture_default_str();
  keygen->add_flag("--json", keygen_options->json, "Print one JSON object");
  keygen->callback([runner, keygen_options] {
    *runner = [keygen_options] { return RunKeygen(*keygen_options); };
  });

  CLI::App* key = app.add_subcommand("key", "Inspect key files");
  key->require_subcommand(1);
  auto show_options = std::make_shared<KeyShowOptions>();
  CLI::App* show = key->add_subcommand("show", "Load a private key file and print its public keys");
  show->add_option("--key", show_options->key_file, "Private key file NAME.key")->required();
  show->add_option("--passphrase-file", show_options->passphrase_file,
                   "Passphrase for a protected key file");
  show->add_flag("--json", show_options->json, "Print one JSON object");
  show->callback(
      [runner, show_options] { *runner = [show_options] { return RunKeyShow(*show_options); }; });
}

}  // namespace lading::cli
