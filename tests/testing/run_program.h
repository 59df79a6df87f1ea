// Runs a program to completion with its output captured, for tests that drive the built
// binaries (lading, ladingd) as a user would.
//
// Header-only, no Catch2 dependency. Thread-compatible.
#ifndef LADING_TESTS_TESTING_RUN_PROGRAM_H_
#define LADING_TESTS_TESTING_RUN_PROGRAM_H_

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/testing/temp_files.h"

extern char** environ;

namespace lading::test_files {

struct RunResult {
  // The exit status; 128 + N when killed by signal N; -1 when the program could not be spawned
  // (then `err` says why).
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `program args...` and waits for it. Its environment is ours without the variables named
// in `unset_env`, plus `extra_env` ("NAME=value" entries, which win over ours).
inline RunResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env = {},
                            const std::vector<std::string>& unset_env = {}) {
  const TempDir capture;
  const std::string out_path = capture.File("stdout.txt");
  const std::string err_path = capture.File("stderr.txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const auto overridden = [&](const char* entry) {
    const auto named = [&](const std::string& name) {
      return std::strncmp(entry, name.c_str(), name.size()) == 0 && entry[name.size()] == '=';
    };
    for (const std::string& name : unset_env) {
      if (named(name)) return true;
    }
    for (const std::string& assignment : extra_env) {
      if (named(assignment.substr(0, assignment.find('=')))) return true;
    }
    return false;
  };
  std::vector<std::string> env_strings = extra_env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!overridden(*entry)) env_strings.emplace_back(*entry);
  }
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(),
                                  envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return RunResult{-1, "", "cannot spawn " + program + ": " + std::strerror(spawned)};
  }
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return RunResult{-1, "", "waitpid failed"};
  }
  const int exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                               : 128 + WTERMSIG(wait_status);
  return RunResult{exit_code, ReadText(out_path), ReadText(err_path)};
}

}  // namespace lading::test_files

#endif  // LADING_TESTS_TESTING_RUN_PROGRAM_H_
