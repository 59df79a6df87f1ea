#include "contracts/state.h"

#include <catch2/catch.hpp>

#include "contracts/records.h"
#include "crypto/hash.h"

namespace lading::contracts {
namespace {

Bytes Value(std::string_view text) { return ToBytes(text); }

TEST_CASE("state key and value hashes use their own domain labels", "[unit][contracts]") {
  CHECK(StateKeyHash("member/fangxin") ==
        crypto::HashWithLabel(crypto::kLabelStateKey, AsBytes("member/fangxin")));
  CHECK(StateValueHash(AsBytes("x")) ==
        crypto::HashWithLabel(crypto::kLabelStateValue, AsBytes("x")));
  CHECK(StateKeyHash("x") != StateValueHash(AsBytes("x")));
}

TEST_CASE("an overlay reads its own writes first, then its base", "[unit][contracts]") {
  MemoryState base;
  const Hash256 a = StateKeyHash("a");
  const Hash256 b = StateKeyHash("b");
  const Hash256 c = StateKeyHash("c");
  base.Apply({{a, Value("base-a")}, {b, Value("base-b")}});

  StateOverlay overlay(&base);
  overlay.Put(a, Value("new-a"));
  overlay.Delete(b);
  CHECK(**overlay.Get(a) == Value("new-a"));
  CHECK(!overlay.Get(b)->has_value());
  CHECK(!overlay.Get(c)->has_value());
  // The base is untouched.
  CHECK(**base.Get(a) == Value("base-a"));
  CHECK(**base.Get(b) == Value("base-b"));
}

TEST_CASE("overlay writes come out ordered by key hash, each key once", "[unit][contracts]") {
  MemoryState base;
  StateOverlay overlay(&base);
  for (const char* key : {"z", "a", "m", "a", "q"}) overlay.Put(StateKeyHash(key), Value(key));
  overlay.Delete(StateKeyHash("m"));
  const std::vector<StateWrite> writes = overlay.Writes();
  REQUIRE(writes.size() == 4);
  for (size_t i = 1; i < writes.size(); ++i) CHECK(writes[i - 1].key_hash < writes[i].key_hash);
  for (const StateWrite& write : writes) {
    if (write.key_hash == StateKeyHash("m")) {
      CHECK(!write.value.has_value());
    } else {
      CHECK(write.value.has_value());
    }
  }
}

TEST_CASE("absorbing a child overlay moves its changes up, the child winning",
          "[unit][contracts]") {
  MemoryState base;
  const Hash256 a = StateKeyHash("a");
  const Hash256 b = StateKeyHash("b");
  StateOverlay parent(&base);
  parent.Put(a, Value("parent"));
  {
    StateOverlay child(&parent);
    child.Put(a, Value("child"));
    child.Put(b, Value("child-b"));
    CHECK(**parent.Get(a) == Value("parent"));  // not visible before Absorb
    parent.Absorb(std::move(child));
  }
  CHECK(**parent.Get(a) == Value("child"));
  CHECK(**parent.Get(b) == Value("child-b"));

  // A child that is dropped leaves the parent as it was.
  const std::vector<StateWrite> before = parent.Writes();
  {
    StateOverlay discarded(&parent);
    discarded.Delete(a);
  }
  CHECK(parent.Writes() == before);
}

TEST_CASE("a corrupt or oversize state record is reported as data loss naming the key",
          "[unit][contracts]") {
  MemoryState state;
  state.Apply({{StateKeyHash("member/fangxin"), Bytes{0xff, 0xff, 0xff}}});
  auto member = ReadMember(state, "fangxin");
  REQUIRE(member.status().code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(member.status().message()) ==
        "state record member/fangxin (3 bytes) does not parse as Member");

  state.Apply({{StateKeyHash("account/fangxin"), Bytes(kStateValueBytesMax + 1, 0)}});
  auto nonce = ReadNextNonce(state, "fangxin");
  REQUIRE(nonce.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(nonce.status().message()),
             Catch::StartsWith("state record account/fangxin is "));

  // Absent records: no member, first nonce 1.
  MemoryState empty;
  CHECK(!ReadMember(empty, "fangxin")->has_value());
  CHECK(*ReadNextNonce(empty, "fangxin") == 1);
}

TEST_CASE("records round-trip through an overlay under their documented keys",
          "[unit][contracts]") {
  MemoryState base;
  StateOverlay overlay(&base);
  WriteNextNonce(&overlay, "fangxin", 42);
  CHECK(*ReadNextNonce(overlay, "fangxin") == 42);
  CHECK(overlay.Get(StateKeyHash("account/fangxin"))->has_value());
}

}  // namespace
}  // namespace lading::contracts
