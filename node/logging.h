// The process-wide log setup: spdlog's default logger (the one spdlog::info() and friends write
// to), named "lading", writing to stderr or appending to a file.
//
// Lines look like "2024-05-01T12:00:00.123+00:00 info [lading] message": ISO 8601 local time with
// milliseconds and UTC offset, level, logger name, message. Warnings and errors are flushed at
// once; everything else at least every second, so a crash loses at most a second of info lines.
//
// Ownership: the logger belongs to spdlog's registry. Thread-safety: logging is thread-safe;
// call ConfigureLogging from one thread (normally once, at start-up, before other threads log).
// A later call replaces the default logger; lines already handed to the old one are flushed.
#ifndef LADING_NODE_LOGGING_H_
#define LADING_NODE_LOGGING_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace lading::node {

// Makes spdlog's default logger write lines of at least `level` (trace, debug, info, warn or
// error) to stderr when `file` is empty, else appended to `file` (created with its parent
// directories when missing).
// Errors: InvalidArgument naming `level` when it is not one of the five; Unavailable naming
// `file` and the system's reason when it cannot be opened for appending. On error the current
// logger is left as it was.
absl::Status ConfigureLogging(std::string_view level, const std::string& file);

}  // namespace lading::node

#endif  // LADING_NODE_LOGGING_H_
