// Test helpers for block store files: a temporary directory removed on destruction, and raw
// RocksDB access to a block store's column families (to corrupt or inspect records as a disk
// fault or a careless operator would).
//
// Ownership: each object owns its directory or database handle.
// Thread-safety: not thread-safe.
#ifndef LADING_NODE_TESTING_STORE_FILES_H_
#define LADING_NODE_TESTING_STORE_FILES_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/bytes.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace lading::node::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `name` inside the directory.
  std::string Sub(std::string_view name) const;

 private:
  std::string path_;
};

// The RocksDB database of a closed block store, opened directly with all its column families.
// REQUIRES: no RocksDbBlockStore has the same path open.
class RawStore {
 public:
  static absl::StatusOr<std::unique_ptr<RawStore>> Open(const std::string& path);
  ~RawStore();
  RawStore(const RawStore&) = delete;
  RawStore& operator=(const RawStore&) = delete;

  // `column_family` is one of kBlockStoreColumnFamilies. Get returns std::nullopt when absent;
  // every failure stops the test process (LADING_CHECK), as nothing sensible can follow it.
  std::optional<Bytes> Get(std::string_view column_family, ByteSpan key) const;
  void Put(std::string_view column_family, ByteSpan key, ByteSpan value);
  void Delete(std::string_view column_family, ByteSpan key);
  // Every key of a column family, in order.
  std::vector<Bytes> Keys(std::string_view column_family) const;

 private:
  RawStore() = default;
  rocksdb::ColumnFamilyHandle* Handle(std::string_view column_family) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default first, then the store's
};

}  // namespace lading::node::testing

#endif  // LADING_NODE_TESTING_STORE_FILES_H_
