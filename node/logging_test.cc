#include "node/logging.h"

#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "tests/testing/temp_files.h"

namespace lading::node {
namespace {

using test_files::ReadText;
using test_files::TempDir;

// Puts logging back on stderr at info so that later tests log as usual.
struct RestoreLogging {
  ~RestoreLogging() { REQUIRE(ConfigureLogging("info", "").ok()); }
};

TEST_CASE("logging to a file writes ISO-timestamped lines at or above the level",
          "[unit][logging]") {
  TempDir dir;
  RestoreLogging restore;
  const std::string path = dir.File("node.log");
  REQUIRE(ConfigureLogging("info", path).ok());
  spdlog::debug("not written: below info");
  spdlog::info("block {} committed", 12);
  spdlog::warn("peer {} is slow", "validator-2");  // flushes the file at once

  const std::string text = ReadText(path);
  INFO(text);
  const std::regex kLine(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2} info \[lading\] block 12 committed
\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2} warning \[lading\] peer validator-2 is slow
)");
  CHECK(std::regex_match(text, kLine));
  CHECK(text.find("not written") == std::string::npos);
}

TEST_CASE("logging appends to an existing file and creates missing directories",
          "[unit][logging]") {
  TempDir dir;
  RestoreLogging restore;
  const std::string path = dir.File("logs/deeper/node.log");
  REQUIRE(ConfigureLogging("debug", path).ok());
  spdlog::warn("first run");
  REQUIRE(ConfigureLogging("warn", path).ok());
  spdlog::info("not written: below warn");
  spdlog::error("second run");

  const std::string text = ReadText(path);
  INFO(text);
  CHECK(text.find("first run") != std::string::npos);
  CHECK(text.find("second run") != std::string::npos);
  CHECK(text.find("first run") < text.find("second run"));
  CHECK(text.find("not written") == std::string::npos);
}

TEST_CASE("info lines reach the file within about a second without a flush", "[unit][logging]") {
  TempDir dir;
  RestoreLogging restore;
  const std::string path = dir.File("node.log");
  REQUIRE(ConfigureLogging("trace", path).ok());
  spdlog::trace("traced");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ReadText(path).find("traced") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(ReadText(path).find("trace [lading] traced") != std::string::npos);
}

TEST_CASE("an unknown log level is refused by name and keeps the current logger",
          "[unit][logging]") {
  TempDir dir;
  RestoreLogging restore;
  const std::string path = dir.File("node.log");
  REQUIRE(ConfigureLogging("info", path).ok());
  for (const char* level : {"verbose", "INFO", "", "warning", "critical"}) {
    CAPTURE(level);
    const absl::Status status = ConfigureLogging(level, "");
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(status.message() ==
          "log level '" + std::string(level) + "' is not one of trace, debug, info, warn, error");
  }
  spdlog::warn("still here");
  CHECK(ReadText(path).find("still here") != std::string::npos);
}

TEST_CASE("a log file that cannot be opened is refused by path", "[unit][logging]") {
  TempDir dir;
  RestoreLogging restore;
  const std::string path = dir.File("node.log");
  REQUIRE(ConfigureLogging("info", path).ok());
  // A directory cannot be opened for appending, even by root.
  const absl::Status status = ConfigureLogging("info", dir.path());
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(status.message().find("cannot open log file " + dir.path() + " for appending") == 0);
  spdlog::warn("still here");
  CHECK(ReadText(path).find("still here") != std::string::npos);
}

}  // namespace
}  // namespace lading::node
