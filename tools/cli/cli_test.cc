// Runs the built `lading` binary (LADING_CLI_PATH) as a user would.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/key_file.h"
#include "tests/testing/run_program.h"
#include "tests/testing/temp_files.h"

extern char** environ;

namespace lading::cli {
namespace {

using test_files::ReadText;
using test_files::TempDir;
using test_files::WriteText;


using test_files::RunResult;

// Runs `lading args...` with its output captured.
RunResult RunLading(const std::vector<std::string>& args) {
  return test_files::RunProgram(LADING_CLI_PATH, args);
}

TEST_CASE("lading keygen writes a key pair that lading key show loads", "[unit][cli]") {
  const TempDir dir;
  const std::string keys_dir = dir.File("keys/nested");
  const RunResult keygen = RunLading({"keygen", "--name", "milchpulver", "--out", keys_dir});
  INFO(keygen.err);
  REQUIRE(keygen.exit_code == 0);
  CHECK(keygen.err.empty());

  const std::string key_file = keys_dir + "/milchpulver.key";
  auto public_keys = crypto::ReadPublicKeyFile(keys_dir + "/milchpulver.pub.json");
  REQUIRE(public_keys.ok());
  CHECK(public_keys->member_id == "milchpulver");
  CHECK_THAT(keygen.out, Catch::Contains("member id:") && Catch::Contains("milchpulver") &&
                             Catch::Contains(public_keys->signing_public_key.ToHex()) &&
                             Catch::Contains(public_keys->encryption_public_key.ToHex()) &&
                             Catch::Contains(key_file));

  struct stat info {};
  REQUIRE(::stat(key_file.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
  REQUIRE(::stat(keys_dir.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0700);

  const RunResult show = RunLading({"key", "show", "--key", key_file});
  INFO(show.err);
  REQUIRE(show.exit_code == 0);
  CHECK_THAT(show.out, Catch::Contains("milchpulver") &&
                           Catch::Contains(public_keys->signing_public_key.ToHex()) &&
                           Catch::Contains(public_keys->encryption_public_key.ToHex()));

  const RunResult show_json = RunLading({"key", "show", "--key", key_file, "--json"});
  REQUIRE(show_json.exit_code == 0);
  CHECK(show_json.out == "{\"member_id\": \"milchpulver\", \"signing_public_key\": \"" +
                             public_keys->signing_public_key.ToHex() +
                             "\", \"encryption_public_key\": \"" +
                             public_keys->encryption_public_key.ToHex() +
                             "\", \"private_key_file\": \"" + key_file + "\"}\n");
}

TEST_CASE("lading key show refuses a key file readable by others, with exit code 1",
          "[unit][cli]") {
  const TempDir dir;
  const std::string keys_dir = dir.File("keys");
  REQUIRE(RunLading({"keygen", "--name", "fangxin", "--out", keys_dir, "--json"}).exit_code ==
          0);
  const std::string key_file = keys_dir + "/fangxin.key";
  REQUIRE(RunLading({"key", "show", "--key", key_file}).exit_code == 0);

  REQUIRE(::chmod(key_file.c_str(), 0644) == 0);
  const RunResult show = RunLading({"key", "show", "--key", key_file});
  CHECK(show.exit_code == 1);
  CHECK(show.out.empty());
  CHECK(show.err == "lading: key file " + key_file +
                        " is readable by group or others (mode 0644); run: chmod 600 " + key_file +
                        "\n");
}

TEST_CASE("lading keygen --json prints one JSON object and never overwrites keys", "[unit][cli]") {
  const TempDir dir;
  const std::string keys_dir = dir.File("keys");
  const RunResult first = RunLading({"keygen", "--name", "mrt", "--out", keys_dir, "--json"});
  REQUIRE(first.exit_code == 0);
  auto public_keys = crypto::ReadPublicKeyFile(keys_dir + "/mrt.pub.json");
  REQUIRE(public_keys.ok());
  CHECK(first.out ==
        "{\"member_id\": \"mrt\", \"signing_public_key\": \"" +
            public_keys->signing_public_key.ToHex() + "\", \"encryption_public_key\": \"" +
            public_keys->encryption_public_key.ToHex() + "\", \"private_key_file\": \"" + keys_dir +
            "/mrt.key\", \"public_key_file\": \"" + keys_dir +
            "/mrt.pub.json\", \"passphrase_protected\": false}\n");

  const std::string before = ReadText(keys_dir + "/mrt.key");
  const RunResult second = RunLading({"keygen", "--name", "mrt", "--out", keys_dir});
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err, Catch::StartsWith("lading: key file ") &&
                             Catch::Contains("already exists") && Catch::EndsWith("\n"));
  CHECK(std::count(second.err.begin(), second.err.end(), '\n') == 1);
  CHECK(ReadText(keys_dir + "/mrt.key") == before);
}

TEST_CASE("a passphrase-protected key needs the right passphrase file", "[unit][cli]") {
  const TempDir dir;
  const std::string keys_dir = dir.File("keys");
  const std::string passphrase = dir.File("pass");
  const std::string wrong = dir.File("wrong");
  WriteText(passphrase, "Tianjin 2024\n", 0600);
  WriteText(wrong, "Tianjin 2025\n", 0600);

  const RunResult keygen =
      RunLading({"keygen", "--name", "suto", "--out", keys_dir, "--passphrase-file",
                      passphrase, "--kdf", "interactive"});
  INFO(keygen.err);
  REQUIRE(keygen.exit_code == 0);
  CHECK_THAT(keygen.out, Catch::Contains("passphrase-protected, Argon2id interactive"));
  const std::string key_file = keys_dir + "/suto.key";

  const RunResult no_passphrase = RunLading({"key", "show", "--key", key_file});
  CHECK(no_passphrase.exit_code == 1);
  CHECK_THAT(no_passphrase.err, Catch::Contains("passphrase-protected"));

  const RunResult wrong_passphrase =
      RunLading({"key", "show", "--key", key_file, "--passphrase-file", wrong});
  CHECK(wrong_passphrase.exit_code == 1);
  CHECK(wrong_passphrase.err ==
        "lading: wrong passphrase or corrupted key file " + key_file + "\n");

  const RunResult right =
      RunLading({"key", "show", "--key", key_file, "--passphrase-file", passphrase});
  INFO(right.err);
  CHECK(right.exit_code == 0);
  CHECK_THAT(right.out, Catch::Contains("suto"));

  REQUIRE(::chmod(passphrase.c_str(), 0640) == 0);
  const RunResult loose =
      RunLading({"key", "show", "--key", key_file, "--passphrase-file", passphrase});
  CHECK(loose.exit_code == 1);
  CHECK_THAT(loose.err, Catch::Contains("passphrase file") && Catch::Contains("chmod 600"));
}

TEST_CASE("command-line mistakes exit with code 2 and a one-line reason", "[unit][cli]") {
  const TempDir dir;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"keygen", "--out", dir.File("k")},
           {"keygen", "--name", "Bad Name", "--out", dir.File("k")},
           {"keygen", "--name", "ok", "--out", dir.File("k"), "--kdf", "weak"},
           {"key"},
           {"key", "show"},
           {"key", "show", "--key", "x", "--unknown"},
       }) {
    std::string joined;
    for (const std::string& arg : args) joined += arg + " ";
    CAPTURE(joined);
    const RunResult result = RunLading(args);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::StartsWith("lading: ") && Catch::EndsWith("\n"));
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  }
  CHECK(!std::filesystem::exists(dir.File("k")));

  const RunResult help = RunLading({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("keygen"));
}

TEST_CASE("a failing command exits with code 1 and a one-line reason", "[unit][cli]") {
  const TempDir dir;
  const RunResult missing = RunLading({"key", "show", "--key", dir.File("none.key")});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err ==
        "lading: cannot open key file " + dir.File("none.key") + ": No such file or directory\n");

  WriteText(dir.File("file"), "x", 0600);
  const RunResult not_dir = RunLading({"keygen", "--name", "a", "--out", dir.File("file")});
  CHECK(not_dir.exit_code == 1);
  CHECK_THAT(not_dir.err, Catch::Contains("is not a directory"));
}

}  // namespace
}  // namespace lading::cli
