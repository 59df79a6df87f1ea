// Greps the consensus sources for what the pure core must not use (STYLE.md "Layout"): threads,
// locks, clocks, randomness, files, console I/O, network and storage libraries, floating point,
// and unordered containers (whose iteration order could leak into outputs).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace {

struct Rule {
  const char* pattern;
  const char* why;
};

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> rules = {
      {R"(#\s*include\s*<(thread|mutex|shared_mutex|condition_variable|future|atomic)>)",
       "threads or locks"},
      {R"(\bstd::(thread|jthread|mutex|async)\b)", "threads or locks"},
      {R"(#\s*include\s*<(chrono|ctime|time\.h)>)", "clocks"},
      {R"(\b(system_clock|steady_clock|high_resolution_clock|gettimeofday|clock_gettime)\b)",
       "clocks"},
      {R"(#\s*include\s*<random>)", "randomness"},
      {R"(\b(random_device|mt19937|rand|srand|randombytes\w*)\b)", "randomness"},
      {R"(#\s*include\s*<(fstream|iostream|cstdio|stdio\.h)>)", "file or console I/O"},
      {R"(\b(std::cout|std::cerr|printf|fopen|getenv)\b)", "file or console I/O"},
      {R"(\b(asio|grpc|grpcpp|rocksdb|sodium)\b)", "I/O or crypto library in the core"},
      {R"(\b(float|double)\b)", "floating point"},
      {R"(\bunordered_(map|set|multimap|multiset)\b)", "unordered container"},
  };
  return rules;
}

// Drops // comments and the contents of string literals, so that prose may name what code may
// not use.
std::string StripCommentsAndStrings(const std::string& line) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        out += '"';
      }
      continue;
    }
    if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') break;
    if (c == '"') in_string = true;
    out += c;
  }
  return out;
}

// "<name>:<line>: <why>: <text>" for every offending line of `source`.
std::vector<std::string> Offenders(const std::string& name, const std::string& source) {
  std::vector<std::string> found;
  std::istringstream lines(source);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    // A preprocessor include keeps its path: "#include "x/asio.h"" must still be caught.
    const bool include = line.find("#include") != std::string::npos;
    const std::string code = include ? line.substr(0, line.find("//")) : StripCommentsAndStrings(line);
    for (const Rule& rule : Rules()) {
      if (std::regex_search(code, std::regex(rule.pattern))) {
        found.push_back(name + ":" + std::to_string(number) + ": " + rule.why + ": " + line);
      }
    }
  }
  return found;
}

TEST_CASE("the purity scan flags forbidden uses and ignores comments", "[unit][consensus]") {
  const std::string bad =
      "#include <thread>\n"
      "#include \"boost/asio.hpp\"\n"
      "double share = 0.5;\n"
      "auto now = std::chrono::steady_clock::now();\n"
      "std::unordered_map<int, int> counts;\n"
      "std::random_device seed;\n";
  const std::vector<std::string> found = Offenders("bad.cc", bad);
  CHECK(found.size() == 6);
  CHECK_THAT(found[0], Catch::StartsWith("bad.cc:1: threads or locks"));
  const std::string clean =
      "// no threads, no double, no steady_clock here\n"
      "int turns = 0;  // never a float\n"
      "const char* s = \"float\";\n"
      "uint64_t timeout_ms = 0;\n";
  CHECK(Offenders("clean.cc", clean).empty());
}

TEST_CASE("consensus sources use no threads, clocks, randomness, I/O or floating point",
          "[unit][consensus]") {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(CONSENSUS_SOURCE_DIR)) {
    const fs::path& path = entry.path();
    const std::string name = path.filename().string();
    const bool source = path.extension() == ".h" || path.extension() == ".cc";
    // Tests (and this scanner, which must name what it looks for) are not the core.
    const bool test = name.ends_with("_test.cc") || name == "test_harness.h";
    if (entry.is_regular_file() && source && !test) files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 6);
  std::vector<std::string> offenders;
  for (const fs::path& path : files) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::stringstream contents;
    contents << in.rdbuf();
    const std::vector<std::string> found =
        Offenders(fs::relative(path, CONSENSUS_SOURCE_DIR).string(), contents.str());
    offenders.insert(offenders.end(), found.begin(), found.end());
  }
  std::string report;
  for (const std::string& offender : offenders) report += offender + "\n";
  INFO("forbidden uses in consensus/:\n" << report);
  CHECK(offenders.empty());
}

}  // namespace
