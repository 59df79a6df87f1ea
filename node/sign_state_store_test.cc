#include "node/sign_state_store.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "proto/ledger.h"
#include "tests/testing/temp_files.h"

namespace lading::node {
namespace {

SignRecord SampleRecord() {
  SignRecord record;
  record.state.height = 7;
  record.state.round = 2;
  record.state.step = consensus::Step::kPrecommit;
  record.state.locked_round = 1;
  record.state.locked_value = consensus::Value{Hash256{}, Bytes{1, 2, 3}};
  record.state.locked_value->hash.bytes[0] = 0xab;
  record.signed_messages = {Bytes{9, 9}, Bytes{8}};
  return record;
}

TEST_CASE("A new sign-state directory reads as nothing signed", "[unit][sign_state]") {
  test_files::TempDir dir;
  absl::StatusOr<std::unique_ptr<SignStateStore>> store = SignStateStore::Open(dir.File("c"));
  REQUIRE(store.ok());
  REQUIRE((*store)->last() == SignRecord{});
  struct stat info {};
  REQUIRE(::stat(dir.File("c").c_str(), &info) == 0);
  REQUIRE((info.st_mode & 0777) == 0700);
}

TEST_CASE("A saved sign state is read back after reopening", "[unit][sign_state]") {
  test_files::TempDir dir;
  {
    auto store = *SignStateStore::Open(dir.path());
    REQUIRE(store->Save(SampleRecord()).ok());
    REQUIRE(store->last() == SampleRecord());
  }
  auto reopened = *SignStateStore::Open(dir.path());
  REQUIRE(reopened->last() == SampleRecord());
}

TEST_CASE("A sign-state file with any byte changed is refused as corrupt", "[unit][sign_state]") {
  const Bytes good = EncodeSignRecordFile(SampleRecord());
  REQUIRE(DecodeSignRecordFile(good, "f").ok());
  for (size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    absl::StatusOr<SignRecord> decoded = DecodeSignRecordFile(bad, "f");
    INFO("byte " << i);
    REQUIRE(decoded.status().code() == absl::StatusCode::kDataLoss);
    REQUIRE(decoded.status().message().find("sign state file f is corrupt") == 0);
  }
  REQUIRE(DecodeSignRecordFile(Bytes(good.begin(), good.begin() + 10), "f").status().code() ==
          absl::StatusCode::kDataLoss);
}

TEST_CASE("Opening a directory whose sign-state file is corrupt fails", "[unit][sign_state]") {
  test_files::TempDir dir;
  {
    std::ofstream out(dir.File("sign_state"), std::ios::binary);
    out << "LSS1 not a record";
  }
  absl::StatusOr<std::unique_ptr<SignStateStore>> store = SignStateStore::Open(dir.path());
  REQUIRE(store.status().code() == absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace lading::node
