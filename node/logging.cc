#include "node/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lading::node {

namespace {

constexpr char kLoggerName[] = "lading";
constexpr char kPattern[] = "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v";

std::optional<spdlog::level::level_enum> ParseLevel(std::string_view level) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 5> kLevels = {
      {{"trace", spdlog::level::trace},
       {"debug", spdlog::level::debug},
       {"info", spdlog::level::info},
       {"warn", spdlog::level::warn},
       {"error", spdlog::level::err}}};
  for (const auto& [name, value] : kLevels) {
    if (name == level) return value;
  }
  return std::nullopt;
}

}  // namespace

absl::Status ConfigureLogging(std::string_view level, const std::string& file) {
  const std::optional<spdlog::level::level_enum> parsed = ParseLevel(level);
  if (!parsed.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "log level '", std::string(level), "' is not one of trace, debug, info, warn, error"));
  }
  spdlog::sink_ptr sink;
  if (file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    // spdlog reports an unopenable file by throwing; this is the edge where that stops.
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, /*truncate=*/false);
    } catch (const spdlog::spdlog_ex& error) {
      return absl::UnavailableError(
          absl::StrCat("cannot open log file ", file, " for appending: ", error.what()));
    }
  }
  auto logger = std::make_shared<spdlog::logger>(kLoggerName, std::move(sink));
  logger->set_pattern(kPattern);
  logger->set_level(*parsed);
  logger->flush_on(spdlog::level::warn);
  if (const std::shared_ptr<spdlog::logger> previous = spdlog::default_logger()) {
    previous->flush();
  }
  spdlog::set_default_logger(std::move(logger));
  spdlog::flush_every(std::chrono::seconds(1));
  return absl::OkStatus();
}

}  // namespace lading::node
