#include "node/testing/store_files.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "crypto/status.h"
#include "node/rocksdb_block_store.h"

namespace lading::node::testing {
namespace {

rocksdb::Slice ToSlice(ByteSpan bytes) {
  return rocksdb::Slice(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp", "/lading-test-XXXXXX");
  LADING_CHECK_MSG(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::Sub(std::string_view name) const {
  return absl::StrCat(path_, "/", std::string(name));
}

absl::StatusOr<std::unique_ptr<RawStore>> RawStore::Open(const std::string& path) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (std::string_view name : kBlockStoreColumnFamilies) {
    descriptors.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
  }
  std::unique_ptr<RawStore> raw(new RawStore());
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &raw->handles_, &db);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("opening raw store ", path, ": ", status.ToString()));
  }
  raw->db_.reset(db);
  return raw;
}

RawStore::~RawStore() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db_->Close().PermitUncheckedError();
}

rocksdb::ColumnFamilyHandle* RawStore::Handle(std::string_view column_family) const {
  for (size_t i = 0; i < kBlockStoreColumnFamilies.size(); ++i) {
    if (kBlockStoreColumnFamilies[i] == column_family) return handles_[i + 1];
  }
  LADING_CHECK_MSG(false, "unknown column family");
}

std::optional<Bytes> RawStore::Get(std::string_view column_family, ByteSpan key) const {
  std::string value;
  const rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), Handle(column_family), ToSlice(key), &value);
  if (status.IsNotFound()) return std::nullopt;
  LADING_CHECK_MSG(status.ok(), status.ToString().c_str());
  return ToBytes(value);
}

void RawStore::Put(std::string_view column_family, ByteSpan key, ByteSpan value) {
  const rocksdb::Status status =
      db_->Put(rocksdb::WriteOptions(), Handle(column_family), ToSlice(key), ToSlice(value));
  LADING_CHECK_MSG(status.ok(), status.ToString().c_str());
}

void RawStore::Delete(std::string_view column_family, ByteSpan key) {
  const rocksdb::Status status =
      db_->Delete(rocksdb::WriteOptions(), Handle(column_family), ToSlice(key));
  LADING_CHECK_MSG(status.ok(), status.ToString().c_str());
}

std::vector<Bytes> RawStore::Keys(std::string_view column_family) const {
  std::vector<Bytes> keys;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), Handle(column_family)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(ToBytes(it->key().ToStringView()));
  LADING_CHECK_MSG(it->status().ok(), it->status().ToString().c_str());
  return keys;
}

}  // namespace lading::node::testing
