// Greps the consensus and contracts sources for what a deterministic layer must not use (STYLE.md
// "Layout", DESIGN §2): threads, locks, clocks, randomness, files, console I/O, network and
// storage libraries, floating point, unordered containers (whose iteration order could leak into
// outputs or state), and includes from the layers above it. The simulator can only drive the
// consensus core, and every node can only reach the same state from the same blocks, because of
// this; the scan keeps the ways they could not out of the code.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// Headers the core must not include, and what they stand for. A quoted or angled include whose
// path contains one of kForbiddenPathParts is refused as well ("boost/asio.hpp").
const std::map<std::string, std::string>& ForbiddenHeaders() {
  static const std::map<std::string, std::string> headers = {
      {"thread", "threads or locks"},
      {"mutex", "threads or locks"},
      {"shared_mutex", "threads or locks"},
      {"condition_variable", "threads or locks"},
      {"future", "threads or locks"},
      {"atomic", "threads or locks"},
      {"chrono", "clocks"},
      {"ctime", "clocks"},
      {"time.h", "clocks"},
      {"random", "randomness"},
      {"fstream", "file or console I/O"},
      {"iostream", "file or console I/O"},
      {"cstdio", "file or console I/O"},
      {"stdio.h", "file or console I/O"},
  };
  return headers;
}
const std::vector<std::string> kForbiddenPathParts = {"asio", "grpc", "rocksdb", "sodium"};
// A scanned layer: its folder and the include prefixes of the layers above it
// (crypto <- proto <- consensus <- contracts <- node <- tools).
struct Layer {
  std::string name;
  std::vector<std::string> forbidden_prefixes;
};
const Layer kConsensus = {"consensus/", {"contracts/", "node/", "tools/", "tests/"}};
const Layer kContracts = {"contracts/", {"node/", "tools/", "tests/"}};

// Identifiers the core must not use (matched as whole identifiers outside comments and strings).
const std::map<std::string, std::string>& ForbiddenIdentifiers() {
  static const std::map<std::string, std::string> identifiers = {
      {"thread", "threads or locks"},
      {"jthread", "threads or locks"},
      {"mutex", "threads or locks"},
      {"system_clock", "clocks"},
      {"steady_clock", "clocks"},
      {"high_resolution_clock", "clocks"},
      {"gettimeofday", "clocks"},
      {"clock_gettime", "clocks"},
      {"random_device", "randomness"},
      {"mt19937", "randomness"},
      {"mt19937_64", "randomness"},
      {"default_random_engine", "randomness"},
      {"rand", "randomness"},
      {"srand", "randomness"},
      {"randombytes_buf", "randomness"},
      {"cout", "file or console I/O"},
      {"cerr", "file or console I/O"},
      {"printf", "file or console I/O"},
      {"fprintf", "file or console I/O"},
      {"fopen", "file or console I/O"},
      {"getenv", "file or console I/O"},
      {"asio", "network or storage library"},
      {"grpc", "network or storage library"},
      {"rocksdb", "network or storage library"},
      {"float", "floating point"},
      {"double", "floating point"},
      {"unordered_map", "unordered container"},
      {"unordered_set", "unordered container"},
      {"unordered_multimap", "unordered container"},
      {"unordered_multiset", "unordered container"},
  };
  return identifiers;
}

// Drops // comments and the contents of string and character literals, so that prose may name
// what code may not use.
std::string StripCommentsAndStrings(const std::string& line) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
        out += c;
      }
      continue;
    }
    if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') break;
    if (c == '"' || c == '\'') quote = c;
    out += c;
  }
  return out;
}

std::vector<std::string> Identifiers(const std::string& code) {
  std::vector<std::string> identifiers;
  std::string current;
  for (const char c : code + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      current += c;
    } else if (!current.empty()) {
      if (!std::isdigit(static_cast<unsigned char>(current[0]))) identifiers.push_back(current);
      current.clear();
    }
  }
  return identifiers;
}

// A decimal number with a fraction ("0.5", "1.0e3") that is not part of an identifier.
bool HasFloatingLiteral(const std::string& code) {
  for (size_t i = 0; i + 2 < code.size(); ++i) {
    const auto digit = [&](size_t at) {
      return std::isdigit(static_cast<unsigned char>(code[at]));
    };
    if (!digit(i) || code[i + 1] != '.' || !digit(i + 2)) continue;
    size_t start = i;
    while (start > 0 &&
           (std::isalnum(static_cast<unsigned char>(code[start - 1])) || code[start - 1] == '_')) {
      --start;
    }
    if (digit(start)) return true;
  }
  return false;
}

// Why an include line is forbidden, or "" when it is allowed.
std::string ForbiddenInclude(const std::string& line, const Layer& layer) {
  const size_t open = line.find_first_of("<\"", line.find("include"));
  if (open == std::string::npos) return "";
  const size_t close = line.find_first_of(">\"", open + 1);
  const std::string path =
      close == std::string::npos ? line.substr(open + 1) : line.substr(open + 1, close - open - 1);
  const auto header = ForbiddenHeaders().find(path);
  if (header != ForbiddenHeaders().end()) return header->second;
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const std::string& part : kForbiddenPathParts) {
    if (lower.find(part) != std::string::npos) return "network, storage or crypto library";
  }
  for (const std::string& prefix : layer.forbidden_prefixes) {
    if (path.starts_with(prefix)) return "a layer above " + layer.name;
  }
  return "";
}

// "<name>:<line>: <reasons>: <text>" for every offending line of `source`.
std::vector<std::string> Offenders(const std::string& name, const std::string& source,
                                   const Layer& layer) {
  std::vector<std::string> found;
  std::istringstream lines(source);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::set<std::string> reasons;
    const size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] == '#' &&
        line.find("include") != std::string::npos) {
      const std::string reason = ForbiddenInclude(line, layer);
      if (!reason.empty()) reasons.insert(reason);
    } else {
      const std::string code = StripCommentsAndStrings(line);
      for (const std::string& identifier : Identifiers(code)) {
        const auto it = ForbiddenIdentifiers().find(identifier);
        if (it != ForbiddenIdentifiers().end())
          reasons.insert(it->second + " (" + identifier + ")");
      }
      if (HasFloatingLiteral(code)) reasons.insert("floating point literal");
    }
    if (reasons.empty()) continue;
    std::string joined;
    for (const std::string& reason : reasons) joined += (joined.empty() ? "" : ", ") + reason;
    found.push_back(name + ":" + std::to_string(number) + ": " + joined + ": " + line);
  }
  return found;
}

TEST_CASE("the purity scan flags forbidden uses and ignores comments", "[unit][purity]") {
  const std::string bad =
      "#include <thread>\n"
      "#include \"boost/asio.hpp\"\n"
      "double share = 0.5;\n"
      "auto now = std::chrono::steady_clock::now();\n"
      "std::unordered_map<int, int> counts;\n"
      "std::random_device seed;\n"
      "  #  include <fstream>\n"
      "#include \"node/block_store.h\"\n";
  const std::vector<std::string> found = Offenders("bad.cc", bad, kContracts);
  REQUIRE(found.size() == 8);
  CHECK_THAT(found[0], Catch::StartsWith("bad.cc:1: threads or locks"));
  CHECK_THAT(found[1], Catch::StartsWith("bad.cc:2: network, storage or crypto library"));
  CHECK_THAT(found[2], Catch::StartsWith("bad.cc:3: floating point (double)"));
  CHECK_THAT(found[3], Catch::Contains("steady_clock"));
  CHECK_THAT(found[6], Catch::StartsWith("bad.cc:7: file or console I/O"));
  CHECK_THAT(found[7], Catch::StartsWith("bad.cc:8: a layer above contracts/"));
  const std::string clean =
      "// no threads, no double, no steady_clock here\n"
      "int turns = 0;  // never a float\n"
      "const char* s = \"float\";\n"
      "char c = '\"'; int doubled = 2; auto v2 = x.v1;\n"
      "#include \"consensus/types.h\"\n"
      "#include \"proto/ledger.pb.h\"\n"
      "uint64_t timeout_ms = 0;\n";
  CHECK(Offenders("clean.cc", clean, kContracts).empty());
  // The consensus core may not include the contracts layer above it.
  const std::vector<std::string> up = Offenders("up.cc", "#include \"contracts/state.h\"\n", kConsensus);
  REQUIRE(up.size() == 1);
  CHECK_THAT(up[0], Catch::StartsWith("up.cc:1: a layer above consensus/"));
}

// Every non-test source of `layer` under the project root, with its offenders.
std::vector<std::string> ScanLayer(const Layer& layer, size_t files_min) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(LADING_SOURCE_DIR) / layer.name;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const fs::path& path = entry.path();
    const std::string name = path.filename().string();
    const bool source = path.extension() == ".h" || path.extension() == ".cc";
    // Tests and their helpers (testing/, the consensus test harness) are not run by a node.
    const std::string relative = fs::relative(path, root).string();
    const bool test = name.ends_with("_test.cc") || name == "test_harness.h" ||
                      relative.starts_with("testing/");
    if (entry.is_regular_file() && source && !test) files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= files_min);
  std::vector<std::string> offenders;
  for (const fs::path& path : files) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::stringstream contents;
    contents << in.rdbuf();
    const std::vector<std::string> found =
        Offenders(layer.name + fs::relative(path, root).string(), contents.str(), layer);
    offenders.insert(offenders.end(), found.begin(), found.end());
  }
  return offenders;
}

std::string Report(const std::vector<std::string>& offenders) {
  std::string report;
  for (const std::string& offender : offenders) report += offender + "\n";
  return report;
}

TEST_CASE("consensus sources use no threads, clocks, randomness, I/O or floating point",
          "[unit][purity]") {
  const std::vector<std::string> offenders = ScanLayer(kConsensus, 6);
  INFO("forbidden uses in consensus/:\n" << Report(offenders));
  CHECK(offenders.empty());
}

TEST_CASE("contracts sources use no threads, clocks, randomness, I/O or floating point",
          "[unit][purity]") {
  const std::vector<std::string> offenders = ScanLayer(kContracts, 10);
  INFO("forbidden uses in contracts/:\n" << Report(offenders));
  CHECK(offenders.empty());
}

}  // namespace
