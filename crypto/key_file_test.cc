#include "crypto/key_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "tests/testing/temp_files.h"

namespace lading::crypto {
namespace {

using test_files::ModeOf;
using test_files::ReadText;
using test_files::TempDir;
using test_files::WriteText;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

void RequireSameKeys(const MemberKeys& a, const MemberKeys& b) {
  REQUIRE(a.member_id == b.member_id);
  REQUIRE(a.public_keys() == b.public_keys());
  REQUIRE(HexEncode(a.signing.seed()) == HexEncode(b.signing.seed()));
  REQUIRE(HexEncode(a.encryption.secret()) == HexEncode(b.encryption.secret()));
}

const ByteSpan kPassphrase = AsBytes("correct horse battery staple");

PassphraseProtection FastProtection(ByteSpan passphrase = kPassphrase) {
  return PassphraseProtection{passphrase, PassphraseKdfLimits::Interactive()};
}

std::string EncodeToString(const MemberKeys& keys,
                           const std::optional<PassphraseProtection>& protection) {
  auto encoded = EncodePrivateKeyFile(keys, protection);
  REQUIRE(encoded.ok());
  return ToString(encoded->span());
}

TEST_CASE("member ids are 1..64 characters of [a-z0-9_-] starting with a letter or digit",
          "[unit][crypto]") {
  for (std::string_view good : {"a", "0", "milchpulver-gmbh", "bank_of_china", "x1-_"}) {
    CAPTURE(good);
    CHECK(ValidateMemberId(good).ok());
  }
  CHECK(ValidateMemberId(std::string(64, 'a')).ok());

  const absl::Status upper = ValidateMemberId("Fangxin");
  CHECK(absl::IsInvalidArgument(upper));
  CHECK_THAT(Message(upper), Catch::Contains("\"Fangxin\""));
  CHECK(absl::IsInvalidArgument(ValidateMemberId("")));
  CHECK_THAT(Message(ValidateMemberId(std::string(65, 'a'))), Catch::Contains("65 characters"));
  CHECK_THAT(Message(ValidateMemberId("-carrier")), Catch::Contains("must start with"));
  CHECK_THAT(Message(ValidateMemberId("_carrier")), Catch::Contains("must start with"));
  CHECK_THAT(Message(ValidateMemberId("mrt logistics")), Catch::Contains("offset 3"));
  CHECK(absl::IsInvalidArgument(ValidateMemberId("a/b")));
  CHECK(absl::IsInvalidArgument(ValidateMemberId("a.key")));
  CHECK(absl::IsInvalidArgument(ValidateMemberId(std::string("a\0b", 3))));
  CHECK(absl::IsInvalidArgument(MemberKeys::Generate("Bad Id").status()));
}

TEST_CASE("an unprotected key file round-trips with modes 0600 and 0644", "[unit][crypto]") {
  const TempDir dir;
  auto keys = MemberKeys::Generate("milchpulver");
  REQUIRE(keys.ok());
  auto paths = WriteMemberKeyFiles(dir.path(), *keys, std::nullopt);
  REQUIRE(paths.ok());
  CHECK(paths->private_key_file == dir.File("milchpulver.key"));
  CHECK(paths->public_key_file == dir.File("milchpulver.pub.json"));
  CHECK(ModeOf(paths->private_key_file) == 0600);
  CHECK(ModeOf(paths->public_key_file) == 0644);

  const std::string text = ReadText(paths->private_key_file);
  CHECK_THAT(text, Catch::StartsWith("lading-private-key v1\nmember-id: milchpulver\n"));
  CHECK_THAT(text, Catch::Contains("protection: none\n"));

  auto loaded = ReadPrivateKeyFile(paths->private_key_file, std::nullopt);
  REQUIRE(loaded.ok());
  RequireSameKeys(*loaded, *keys);
  // An unprotected file does not need, and ignores, a passphrase.
  auto loaded_with_passphrase = ReadPrivateKeyFile(paths->private_key_file, kPassphrase);
  REQUIRE(loaded_with_passphrase.ok());
  RequireSameKeys(*loaded_with_passphrase, *keys);

  auto public_keys = ReadPublicKeyFile(paths->public_key_file);
  REQUIRE(public_keys.ok());
  CHECK(*public_keys == keys->public_keys());
}

TEST_CASE("a passphrase-protected key file round-trips and hides its secrets", "[unit][crypto]") {
  const TempDir dir;
  auto keys = MemberKeys::Generate("fangxin");
  REQUIRE(keys.ok());
  const std::string path = dir.File("fangxin.key");
  REQUIRE(WritePrivateKeyFile(path, *keys, FastProtection()).ok());
  CHECK(ModeOf(path) == 0600);

  const std::string text = ReadText(path);
  CHECK_THAT(text,
             Catch::Contains("protection: argon2id13\nkdf-opslimit: 2\nkdf-memlimit: 67108864\n"));
  CHECK_THAT(text, !Catch::Contains(HexEncode(keys->signing.seed())));
  CHECK_THAT(text, !Catch::Contains(HexEncode(keys->encryption.secret())));

  auto loaded = ReadPrivateKeyFile(path, kPassphrase);
  REQUIRE(loaded.ok());
  RequireSameKeys(*loaded, *keys);
}

TEST_CASE("a protected key file refuses a wrong or missing passphrase", "[unit][crypto]") {
  const TempDir dir;
  auto keys = MemberKeys::Generate("suto");
  REQUIRE(keys.ok());
  const std::string path = dir.File("suto.key");
  REQUIRE(WritePrivateKeyFile(path, *keys, FastProtection()).ok());

  const absl::Status wrong =
      ReadPrivateKeyFile(path, AsBytes("correct horse battery stapler")).status();
  CHECK(absl::IsUnauthenticated(wrong));
  CHECK(Message(wrong) == "wrong passphrase or corrupted key file " + path);

  const absl::Status missing = ReadPrivateKeyFile(path, std::nullopt).status();
  CHECK(absl::IsFailedPrecondition(missing));
  CHECK_THAT(Message(missing), Catch::Contains("passphrase-protected") && Catch::Contains(path));

  CHECK(absl::IsInvalidArgument(ReadPrivateKeyFile(path, ByteSpan()).status()));
  CHECK(ReadPrivateKeyFile(path, kPassphrase).ok());
}

TEST_CASE("a key file readable by group or others is refused with a chmod hint", "[unit][crypto]") {
  const TempDir dir;
  auto keys = MemberKeys::Generate("ihk");
  REQUIRE(keys.ok());
  const std::string path = dir.File("ihk.key");
  REQUIRE(WritePrivateKeyFile(path, *keys, std::nullopt).ok());
  REQUIRE(ReadPrivateKeyFile(path, std::nullopt).ok());

  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  const absl::Status status = ReadPrivateKeyFile(path, std::nullopt).status();
  CHECK(absl::IsFailedPrecondition(status));
  CHECK(Message(status) ==
        "key file " + path + " is readable by group or others (mode 0644); run: chmod 600 " + path);
  CHECK_THAT(Message(status),
             Catch::Contains(path) && Catch::Contains("0644") && Catch::Contains("chmod 600"));

  for (mode_t mode : {mode_t{0640}, mode_t{0604}, mode_t{0601}, mode_t{0610}}) {
    CAPTURE(mode);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    const absl::Status loose = ReadPrivateKeyFile(path, std::nullopt).status();
    CHECK(absl::IsFailedPrecondition(loose));
    CHECK_THAT(Message(loose), Catch::Contains(absl::StrFormat("(mode %04o)", mode)));
  }
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  CHECK(ReadPrivateKeyFile(path, std::nullopt).ok());
}

TEST_CASE("an existing key file is never overwritten", "[unit][crypto]") {
  const TempDir dir;
  auto first = MemberKeys::Generate("mrt");
  auto second = MemberKeys::Generate("mrt");
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  const std::string path = dir.File("mrt.key");
  REQUIRE(WritePrivateKeyFile(path, *first, std::nullopt).ok());
  const std::string before = ReadText(path);

  const absl::Status again = WritePrivateKeyFile(path, *second, std::nullopt);
  CHECK(absl::IsAlreadyExists(again));
  CHECK_THAT(Message(again), Catch::Contains(path) && Catch::Contains("already exists"));
  CHECK(ReadText(path) == before);

  const absl::Status pair = WriteMemberKeyFiles(dir.path(), *second, std::nullopt).status();
  CHECK(absl::IsAlreadyExists(pair));
  CHECK(ReadText(path) == before);
  CHECK(!std::filesystem::exists(dir.File("mrt.pub.json")));
}

TEST_CASE("a key pair is written whole or not at all", "[unit][crypto]") {
  const TempDir dir;
  auto keys = MemberKeys::Generate("boc");
  REQUIRE(keys.ok());
  WriteText(dir.File("boc.pub.json"), "{}", 0644);
  const absl::Status status = WriteMemberKeyFiles(dir.path(), *keys, std::nullopt).status();
  CHECK(absl::IsAlreadyExists(status));
  CHECK_THAT(Message(status), Catch::Contains("boc.pub.json"));
  CHECK(!std::filesystem::exists(dir.File("boc.key")));
}

TEST_CASE("a missing key file is NotFound and names the path", "[unit][crypto]") {
  const TempDir dir;
  const absl::Status status = ReadPrivateKeyFile(dir.File("nobody.key"), std::nullopt).status();
  CHECK(absl::IsNotFound(status));
  CHECK_THAT(Message(status), Catch::Contains(dir.File("nobody.key")));
}

TEST_CASE("a truncated key file is refused with a clear error at every length", "[unit][crypto]") {
  auto keys = MemberKeys::Generate("tianjin-customs");
  REQUIRE(keys.ok());
  for (bool protect : {false, true}) {
    CAPTURE(protect);
    const std::string text =
        EncodeToString(*keys, protect ? std::optional(FastProtection()) : std::nullopt);
    REQUIRE(DecodePrivateKeyFile(AsBytes(text), kPassphrase, "f.key").ok());
    // Every prefix that drops a character that matters must fail; dropping only the final
    // newline is harmless.
    for (size_t length = 0; length + 1 < text.size(); ++length) {
      CAPTURE(length);
      const absl::Status status =
          DecodePrivateKeyFile(AsBytes(text).first(length), kPassphrase, "f.key").status();
      REQUIRE(!status.ok());
      REQUIRE(absl::IsInvalidArgument(status));
      REQUIRE_THAT(Message(status), Catch::Contains("key file f.key"));
    }
    CHECK(DecodePrivateKeyFile(AsBytes(text).first(text.size() - 1), kPassphrase, "f.key").ok());
  }
}

TEST_CASE("a garbled key file is refused with the line and what was expected", "[unit][crypto]") {
  auto keys = MemberKeys::Generate("insurer");
  REQUIRE(keys.ok());
  const std::string text = EncodeToString(*keys, std::nullopt);
  const std::string seed_hex = HexEncode(keys->signing.seed());
  const auto decode = [](const std::string& contents) {
    return DecodePrivateKeyFile(AsBytes(contents), std::nullopt, "k.key").status();
  };

  SECTION("not a key file") {
    const absl::Status status = decode("hello\n");
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(Message(status),
               Catch::Contains("line 1") && Catch::Contains("not a Lading private key file"));
  }
  SECTION("a future format version") {
    const absl::Status status =
        decode(absl::StrReplaceAll(text, {{"lading-private-key v1", "lading-private-key v2"}}));
    CHECK_THAT(Message(status), Catch::Contains("line 1") && Catch::Contains("unsupported"));
  }
  SECTION("CRLF line endings") {
    const absl::Status status = decode(absl::StrReplaceAll(text, {{"\n", "\r\n"}}));
    CHECK_THAT(Message(status), Catch::Contains("line 1") && Catch::Contains("carriage return"));
  }
  SECTION("fields out of order") {
    const absl::Status status = decode(absl::StrReplaceAll(text, {{"member-id:", "member-name:"}}));
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(Message(status),
               Catch::Contains("line 2") && Catch::Contains("expected field \"member-id\""));
  }
  SECTION("an invalid member id") {
    const absl::Status status =
        decode(absl::StrReplaceAll(text, {{"member-id: insurer", "member-id: In Surer"}}));
    CHECK_THAT(Message(status), Catch::Contains("line 2") && Catch::Contains("\"In Surer\""));
  }
  SECTION("an unknown protection") {
    const absl::Status status =
        decode(absl::StrReplaceAll(text, {{"protection: none", "protection: rot13"}}));
    CHECK_THAT(Message(status), Catch::Contains("line 5") && Catch::Contains("\"rot13\""));
  }
  SECTION("a non-hex character in a secret, which is never quoted back") {
    std::string bad_seed = seed_hex;
    bad_seed[10] = 'g';
    const absl::Status status = decode(absl::StrReplaceAll(text, {{seed_hex, bad_seed}}));
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(Message(status), Catch::Contains("line 6") && Catch::Contains("signing-seed") &&
                                    Catch::Contains("not hex"));
    CHECK_THAT(Message(status), !Catch::Contains(seed_hex.substr(0, 8)));
  }
  SECTION("a secret of the wrong length") {
    const absl::Status status = decode(absl::StrReplaceAll(text, {{seed_hex, seed_hex.substr(2)}}));
    CHECK_THAT(Message(status), Catch::Contains("line 6") && Catch::Contains("got 62"));
  }
  SECTION("a changed secret no longer matches the recorded public key") {
    std::string other_seed = seed_hex;
    other_seed[0] = other_seed[0] == '0' ? '1' : '0';
    const absl::Status status = decode(absl::StrReplaceAll(text, {{seed_hex, other_seed}}));
    CHECK(absl::IsDataLoss(status));
    CHECK_THAT(Message(status), Catch::Contains("does not match signing-public-key"));
  }
  SECTION("an extra line after the last field") {
    const absl::Status status = decode(text + "comment: hi\n");
    CHECK_THAT(Message(status), Catch::Contains("line 8") && Catch::Contains("unexpected line"));
  }
  SECTION("more than 64 KiB") {
    const absl::Status status = decode(text + std::string(kPrivateKeyFileBytesMax, 'x'));
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(Message(status), Catch::Contains("65536-byte limit"));
  }
}

TEST_CASE("editing the authenticated header of a protected key file breaks it", "[unit][crypto]") {
  auto keys = MemberKeys::Generate("ihk");
  REQUIRE(keys.ok());
  const std::string text = EncodeToString(*keys, FastProtection());
  REQUIRE(DecodePrivateKeyFile(AsBytes(text), kPassphrase, "p.key").ok());
  auto other = MemberKeys::Generate("ihk");
  REQUIRE(other.ok());

  SECTION("the member id") {
    const std::string edited = absl::StrReplaceAll(text, {{"member-id: ihk", "member-id: ihl"}});
    CHECK(absl::IsUnauthenticated(
        DecodePrivateKeyFile(AsBytes(edited), kPassphrase, "p.key").status()));
  }
  SECTION("a public key") {
    const std::string edited = absl::StrReplaceAll(
        text, {{keys->signing.public_key().ToHex(), other->signing.public_key().ToHex()}});
    CHECK(absl::IsUnauthenticated(
        DecodePrivateKeyFile(AsBytes(edited), kPassphrase, "p.key").status()));
  }
  SECTION("the KDF cost") {
    const std::string edited = absl::StrReplaceAll(text, {{"kdf-opslimit: 2", "kdf-opslimit: 3"}});
    CHECK(absl::IsUnauthenticated(
        DecodePrivateKeyFile(AsBytes(edited), kPassphrase, "p.key").status()));
  }
  SECTION("a KDF cost outside the accepted range is refused before any work") {
    const std::string edited =
        absl::StrReplaceAll(text, {{"kdf-memlimit: 67108864", "kdf-memlimit: 99999999999"}});
    const absl::Status status =
        DecodePrivateKeyFile(AsBytes(edited), kPassphrase, "p.key").status();
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(Message(status), Catch::Contains("line 7") && Catch::Contains("memlimit"));
  }
  SECTION("a malformed KDF number") {
    const std::string edited = absl::StrReplaceAll(text, {{"kdf-opslimit: 2", "kdf-opslimit: +2"}});
    const absl::Status status =
        DecodePrivateKeyFile(AsBytes(edited), kPassphrase, "p.key").status();
    CHECK_THAT(Message(status), Catch::Contains("line 6") && Catch::Contains("decimal"));
  }
}

TEST_CASE("protection settings are checked when writing", "[unit][crypto]") {
  auto keys = MemberKeys::Generate("carrier");
  REQUIRE(keys.ok());
  CHECK(absl::IsInvalidArgument(EncodePrivateKeyFile(*keys, FastProtection(ByteSpan())).status()));
  const std::string long_passphrase(kPassphraseBytesMax + 1, 'p');
  CHECK(absl::IsInvalidArgument(
      EncodePrivateKeyFile(*keys, FastProtection(AsBytes(long_passphrase))).status()));
  const absl::Status weak =
      EncodePrivateKeyFile(*keys, PassphraseProtection{kPassphrase, {1, 8192}}).status();
  CHECK(absl::IsInvalidArgument(weak));
  CHECK_THAT(Message(weak), Catch::Contains("opslimit 1"));
  CHECK(EncodePrivateKeyFile(*keys, FastProtection()).ok());
}

TEST_CASE("the public key JSON round-trips", "[unit][crypto]") {
  auto keys = MemberKeys::Generate("bank-of-china");
  REQUIRE(keys.ok());
  const std::string json = FormatPublicKeyJson(keys->public_keys());
  CHECK(json == "{\"member_id\": \"bank-of-china\", \"signing_public_key\": \"" +
                    keys->signing.public_key().ToHex() + "\", \"encryption_public_key\": \"" +
                    keys->encryption.public_key().ToHex() + "\"}\n");
  auto parsed = ParsePublicKeyJson(json, "b.pub.json");
  REQUIRE(parsed.ok());
  CHECK(*parsed == keys->public_keys());

  // Any field order and JSON whitespace.
  const std::string reordered =
      "\n{ \"encryption_public_key\" : \"" + keys->encryption.public_key().ToHex() +
      "\",\n\t\"member_id\":\"bank-of-china\",\r\n \"signing_public_key\": \"" +
      keys->signing.public_key().ToHex() + "\" }  \n";
  auto parsed_again = ParsePublicKeyJson(reordered, "b.pub.json");
  REQUIRE(parsed_again.ok());
  CHECK(*parsed_again == keys->public_keys());
}

TEST_CASE("a malformed public key JSON is refused with a clear error", "[unit][crypto]") {
  auto keys = MemberKeys::Generate("exporter");
  REQUIRE(keys.ok());
  const std::string sign_hex = keys->signing.public_key().ToHex();
  const std::string enc_hex = keys->encryption.public_key().ToHex();
  const std::string good = FormatPublicKeyJson(keys->public_keys());
  REQUIRE(ParsePublicKeyJson(good, "e.pub.json").ok());
  const auto error = [](const std::string& json) {
    const absl::Status status = ParsePublicKeyJson(json, "e.pub.json").status();
    CHECK(absl::IsInvalidArgument(status));
    CHECK_THAT(std::string(status.message()), Catch::StartsWith("public key file e.pub.json"));
    return std::string(status.message());
  };

  CHECK_THAT(error(""), Catch::Contains("expected '{'"));
  CHECK_THAT(error("[]"), Catch::Contains("expected '{'"));
  CHECK_THAT(error("{}"), Catch::Contains("missing field \"member_id\""));
  CHECK_THAT(error("{\"member_id\": \"exporter\", \"signing_public_key\": \"" + sign_hex + "\"}"),
             Catch::Contains("missing field \"encryption_public_key\""));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{"\"}", "\", \"role\": \"bank\"}"}})),
             Catch::Contains("unexpected field \"role\""));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{"\"}", "\", \"member_id\": \"x\"}"}})),
             Catch::Contains("duplicate field \"member_id\""));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{"\"exporter\"", "7"}})),
             Catch::Contains("must be a string"));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{"\"exporter\"", "\"Exporter\""}})),
             Catch::Contains("field \"member_id\""));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{sign_hex, sign_hex.substr(1)}})),
             Catch::Contains("field \"signing_public_key\""));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{enc_hex, std::string(64, 'z')}})),
             Catch::Contains("field \"encryption_public_key\""));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{enc_hex, std::string(64, '0')}})),
             Catch::Contains("low-order"));
  CHECK_THAT(error(good + "x"), Catch::Contains("after the closing"));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{"\"}", "\",}"}})), Catch::Contains("expected '\"'"));
  CHECK_THAT(error(absl::StrReplaceAll(good, {{"exporter", "ex\\u0070orter"}})),
             Catch::Contains("escape"));
  CHECK_THAT(error(good.substr(0, good.size() / 2)), Catch::Contains("unterminated"));
  CHECK_THAT(error(std::string(kPublicKeyFileBytesMax + 1, ' ')),
             Catch::Contains("4096-byte limit"));
}

TEST_CASE("a public key file that exists is not overwritten", "[unit][crypto]") {
  const TempDir dir;
  auto keys = MemberKeys::Generate("forwarder");
  REQUIRE(keys.ok());
  const std::string path = dir.File("forwarder.pub.json");
  REQUIRE(WritePublicKeyFile(path, keys->public_keys()).ok());
  CHECK(absl::IsAlreadyExists(WritePublicKeyFile(path, keys->public_keys())));
  WriteText(dir.File("bad.pub.json"), "{\"member_id\": 1}", 0644);
  CHECK(absl::IsInvalidArgument(ReadPublicKeyFile(dir.File("bad.pub.json")).status()));
}

TEST_CASE("a passphrase file loses one trailing newline and must not be empty", "[unit][crypto]") {
  const TempDir dir;
  const std::string path = dir.File("pass");

  WriteText(path, "open sesame\n", 0600);
  auto one = ReadPassphraseFile(path);
  REQUIRE(one.ok());
  CHECK(ToString(one->span()) == "open sesame");

  std::filesystem::remove(path);
  WriteText(path, "open sesame\n\n", 0600);
  auto two = ReadPassphraseFile(path);
  REQUIRE(two.ok());
  CHECK(ToString(two->span()) == "open sesame\n");

  std::filesystem::remove(path);
  WriteText(path, "no newline", 0600);
  auto none = ReadPassphraseFile(path);
  REQUIRE(none.ok());
  CHECK(ToString(none->span()) == "no newline");

  for (std::string_view empty : {"", "\n"}) {
    std::filesystem::remove(path);
    WriteText(path, empty, 0600);
    const absl::Status status = ReadPassphraseFile(path).status();
    CHECK(absl::IsInvalidArgument(status));
    CHECK(Message(status) == "passphrase file " + path + " is empty");
  }

  std::filesystem::remove(path);
  WriteText(path, "open sesame\n", 0644);
  const absl::Status loose = ReadPassphraseFile(path).status();
  CHECK(absl::IsFailedPrecondition(loose));
  CHECK_THAT(Message(loose), Catch::Contains("(mode 0644); run: chmod 600 " + path));

  std::filesystem::remove(path);
  WriteText(path, std::string(kPassphraseBytesMax + 1, 'p'), 0600);
  CHECK(absl::IsInvalidArgument(ReadPassphraseFile(path).status()));
}

}  // namespace
}  // namespace lading::crypto
