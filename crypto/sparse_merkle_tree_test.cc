#include "crypto/sparse_merkle_tree.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "crypto/hash.h"

namespace lading::crypto {
namespace {

using KeyValueMap = std::map<Hash256, Hash256>;

Hash256 RandomHash(std::mt19937_64& rng) {
  Hash256 out;
  for (size_t i = 0; i < Hash256::kSize; i += 8) {
    const uint64_t word = rng();
    for (size_t j = 0; j < 8; ++j) out.bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  return out;
}

Hash256 FlipBit(Hash256 h, size_t index) {
  h.bytes[index / 8] ^= static_cast<uint8_t>(0x80 >> (index % 8));
  return h;
}

// The canonical root straight from the definition in sparse_merkle_tree.h, written without the
// tree code (labels and layout from hash.h / smt_node.h), as an independent oracle.
Hash256 ReferenceRoot(const std::vector<std::pair<Hash256, Hash256>>& entries, size_t depth) {
  if (entries.empty()) return Hash256{};
  if (entries.size() == 1) {
    return HashWithLabel(kLabelSmtLeaf, {entries[0].first.span(), entries[0].second.span()});
  }
  std::vector<std::pair<Hash256, Hash256>> left, right;
  for (const auto& entry : entries) (entry.first.Bit(depth) ? right : left).push_back(entry);
  const Hash256 left_root = ReferenceRoot(left, depth + 1);
  const Hash256 right_root = ReferenceRoot(right, depth + 1);
  return HashWithLabel(kLabelSmtNode, {left_root.span(), right_root.span()});
}

Hash256 ReferenceRoot(const KeyValueMap& map) {
  return ReferenceRoot(std::vector<std::pair<Hash256, Hash256>>(map.begin(), map.end()), 0);
}

// Walks every node reachable from `root`; fails if one is missing from `store`.
void CollectReachable(const MemorySmtNodeStore& store, const Hash256& root,
                      std::unordered_set<Hash256, Hash256Hasher>* out) {
  if (root.IsZero()) return;
  const auto node = store.Get(root);
  REQUIRE(node.ok());
  INFO("node " << root.ToHex());
  REQUIRE(node->has_value());
  out->insert(root);
  if ((*node)->kind == SmtNode::Kind::kInternal) {
    CollectReachable(store, (*node)->left, out);
    CollectReachable(store, (*node)->right, out);
  }
}

// A tree in a memory store plus the std::map it should equal.
struct Harness {
  Harness() = default;
  Harness(const Harness&) = delete;  // `tree` points at `store`
  Harness& operator=(const Harness&) = delete;

  MemorySmtNodeStore store;
  SparseMerkleTree tree{&store};
  Hash256 root;
  KeyValueMap map;

  // Applies a batch to the tree and the map, writes the new nodes, and checks the root against
  // the reference and `new_nodes` against the definition (each new, correct, and reachable).
  void Apply(const std::vector<SmtUpdate>& updates, bool check_nodes = true) {
    auto result = tree.Update(root, updates);
    REQUIRE(result.ok());
    std::unordered_set<Hash256, Hash256Hasher> fresh;
    for (const auto& [hash, node] : result->new_nodes) {
      REQUIRE(node.Hash() == hash);
      REQUIRE(fresh.insert(hash).second);
    }
    store.Apply(result->new_nodes);
    root = result->root;
    for (const SmtUpdate& update : updates) {
      if (update.value_hash.has_value()) {
        map[update.key] = *update.value_hash;
      } else {
        map.erase(update.key);
      }
    }
    REQUIRE(root == ReferenceRoot(map));
    if (check_nodes) {
      std::unordered_set<Hash256, Hash256Hasher> reachable;
      CollectReachable(store, root, &reachable);
      for (const Hash256& hash : fresh) REQUIRE(reachable.count(hash) == 1);
    }
  }
};

void RequireGetMatches(const Harness& h, const std::vector<Hash256>& keys) {
  for (const Hash256& key : keys) {
    const auto got = h.tree.Get(h.root, key);
    REQUIRE(got.ok());
    const auto it = h.map.find(key);
    if (it == h.map.end()) {
      REQUIRE_FALSE(got->has_value());
    } else {
      REQUIRE(got->has_value());
      REQUIRE(**got == it->second);
    }
  }
}

// Every present key proves membership; `absent` keys prove non-membership (through an encode /
// decode round trip). Returns how many absent keys ended at an empty slot and at another leaf.
std::pair<size_t, size_t> RequireProofsVerify(const Harness& h, const std::vector<Hash256>& absent) {
  for (const auto& [key, value] : h.map) {
    const auto proof = h.tree.Prove(h.root, key);
    REQUIRE(proof.ok());
    REQUIRE(proof->end == SmtProof::End::kKeyLeaf);
    const auto decoded = SmtProof::Decode(proof->Encode());
    REQUIRE(decoded.ok());
    REQUIRE(*decoded == *proof);
    REQUIRE(VerifyMembership(h.root, key, value, *decoded).ok());
  }
  size_t ends_empty = 0, ends_other = 0;
  for (const Hash256& key : absent) {
    REQUIRE(h.map.count(key) == 0);
    const auto proof = h.tree.Prove(h.root, key);
    REQUIRE(proof.ok());
    const auto decoded = SmtProof::Decode(proof->Encode());
    REQUIRE(decoded.ok());
    REQUIRE(*decoded == *proof);
    REQUIRE(VerifyNonMembership(h.root, key, *decoded).ok());
    REQUIRE_FALSE(VerifyMembership(h.root, key, Hash256{}, *decoded).ok());
    (decoded->end == SmtProof::End::kEmpty ? ends_empty : ends_other) += 1;
  }
  return {ends_empty, ends_other};
}

std::vector<SmtUpdate> InsertAll(const KeyValueMap& map) {
  std::vector<SmtUpdate> updates;
  for (const auto& [key, value] : map) updates.push_back({key, value});
  return updates;
}

TEST_CASE("a randomized tree agrees with std::map through inserts, updates and deletes",
          "[unit][crypto][smt]") {
  for (const uint64_t seed : {20240601u, 7u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Harness h;
    std::vector<Hash256> touched;  // every key ever written, present or deleted since

    for (int batch = 0; batch < 10; ++batch) {
      std::vector<SmtUpdate> updates;
      for (int i = 0; i < 1000; ++i) {
        touched.push_back(RandomHash(rng));
        updates.push_back({touched.back(), RandomHash(rng)});
      }
      h.Apply(updates, batch % 3 == 0);
      RequireGetMatches(h, touched);
    }
    REQUIRE(h.map.size() == 10000);

    std::vector<Hash256> absent;
    for (int i = 0; i < 3000; ++i) absent.push_back(RandomHash(rng));
    const auto [mid_empty, mid_other] = RequireProofsVerify(h, absent);
    REQUIRE(mid_empty > 0);
    REQUIRE(mid_other > 0);
    const Hash256 snapshot_root = h.root;
    const KeyValueMap snapshot_map = h.map;

    for (int batch = 0; batch < 20; ++batch) {
      std::vector<SmtUpdate> updates;
      std::set<Hash256> in_batch;
      for (int i = 0; i < 500; ++i) {
        const uint64_t choice = rng() % 4;
        Hash256 key = choice == 3 ? RandomHash(rng) : touched[rng() % touched.size()];
        if (!in_batch.insert(key).second) continue;
        if (choice == 3) touched.push_back(key);
        // Keys picked from `touched` may be present or already deleted: both paths are wanted.
        if (choice == 0) {
          updates.push_back({key, std::nullopt});
        } else {
          updates.push_back({key, RandomHash(rng)});
        }
      }
      h.Apply(updates, batch % 5 == 0);
      RequireGetMatches(h, touched);
    }

    std::vector<Hash256> end_absent;
    for (const Hash256& key : touched) {
      if (h.map.count(key) == 0) end_absent.push_back(key);
    }
    REQUIRE(end_absent.size() > 1000);
    for (int i = 0; i < 2000; ++i) end_absent.push_back(RandomHash(rng));
    const auto [end_empty, end_other] = RequireProofsVerify(h, end_absent);
    REQUIRE(end_empty > 0);
    REQUIRE(end_other > 0);

    // The tree is persistent: the root taken mid-way still answers as it did then.
    for (size_t i = 0; i < touched.size(); i += 7) {
      const auto got = h.tree.Get(snapshot_root, touched[i]);
      REQUIRE(got.ok());
      const auto it = snapshot_map.find(touched[i]);
      REQUIRE(got->has_value() == (it != snapshot_map.end()));
      if (it != snapshot_map.end()) REQUIRE(**got == it->second);
    }
  }
}

// A tree of `count` random keys, with as many random absent keys beside it.
struct ProvenTree {
  ProvenTree(uint64_t seed, size_t count) {
    std::mt19937_64 rng(seed);
    std::vector<SmtUpdate> updates;
    for (size_t i = 0; i < count; ++i) {
      present.push_back(RandomHash(rng));
      updates.push_back({present.back(), RandomHash(rng)});
    }
    h.Apply(updates);
    for (size_t i = 0; i < count; ++i) absent.push_back(RandomHash(rng));
  }

  Harness h;
  std::vector<Hash256> present;
  std::vector<Hash256> absent;
};

// An absent key whose path ends at another key's leaf, and one whose path ends empty.
std::pair<Hash256, Hash256> AbsentByEnd(const ProvenTree& t) {
  std::optional<Hash256> at_other, at_empty;
  for (const Hash256& key : t.absent) {
    const auto proof = t.h.tree.Prove(t.h.root, key);
    REQUIRE(proof.ok());
    if (proof->end == SmtProof::End::kOtherLeaf && !at_other) at_other = key;
    if (proof->end == SmtProof::End::kEmpty && !at_empty) at_empty = key;
  }
  REQUIRE(at_other.has_value());
  REQUIRE(at_empty.has_value());
  return {*at_other, *at_empty};
}

TEST_CASE("a membership proof is rejected for a wrong value, key or root", "[unit][crypto][smt]") {
  const ProvenTree t(11, 2000);
  const Hash256& key = t.present[5];
  const Hash256 value = t.h.map.at(key);
  const auto proof = t.h.tree.Prove(t.h.root, key);
  REQUIRE(proof.ok());
  REQUIRE(VerifyMembership(t.h.root, key, value, *proof).ok());

  const absl::Status wrong_value = VerifyMembership(t.h.root, key, FlipBit(value, 9), *proof);
  REQUIRE(wrong_value.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE_THAT(std::string(wrong_value.message()), Catch::Contains(t.h.root.ToHex()));
  // Another present key with its own correct value, checked with this key's proof.
  REQUIRE_FALSE(VerifyMembership(t.h.root, t.present[6], t.h.map.at(t.present[6]), *proof).ok());
  // The same key with the last bit flipped follows the same path almost to the bottom.
  REQUIRE_FALSE(VerifyMembership(t.h.root, FlipBit(key, 255), value, *proof).ok());
  REQUIRE_FALSE(VerifyMembership(FlipBit(t.h.root, 100), key, value, *proof).ok());
  REQUIRE_FALSE(VerifyMembership(Hash256{}, key, value, *proof).ok());
}

TEST_CASE("a non-membership proof is rejected for a wrong key or root", "[unit][crypto][smt]") {
  const ProvenTree t(12, 2000);
  const auto [at_other, at_empty] = AbsentByEnd(t);
  for (const Hash256& key : {at_other, at_empty}) {
    CAPTURE(key.ToHex());
    const auto proof = t.h.tree.Prove(t.h.root, key);
    REQUIRE(proof.ok());
    REQUIRE(VerifyNonMembership(t.h.root, key, *proof).ok());
    REQUIRE_FALSE(VerifyNonMembership(FlipBit(t.h.root, 3), key, *proof).ok());
    // A key diverging at the first bit walks a different path.
    REQUIRE_FALSE(VerifyNonMembership(t.h.root, FlipBit(key, 0), *proof).ok());
  }
}

TEST_CASE("a present key can never be shown absent", "[unit][crypto][smt]") {
  const ProvenTree t(13, 2000);
  const auto [at_other, at_empty] = AbsentByEnd(t);

  SECTION("Prove on a present key gives a membership proof that non-membership rejects") {
    for (const Hash256& key : t.present) {
      const auto proof = t.h.tree.Prove(t.h.root, key);
      REQUIRE(proof.ok());
      REQUIRE(proof->end == SmtProof::End::kKeyLeaf);
      REQUIRE_FALSE(VerifyNonMembership(t.h.root, key, *proof).ok());
    }
  }
  SECTION("a proof ending at a present key's leaf does not show that key absent") {
    const auto proof = t.h.tree.Prove(t.h.root, at_other);
    REQUIRE(proof.ok());
    REQUIRE(t.h.map.count(proof->other_key) == 1);
    const absl::Status status = VerifyNonMembership(t.h.root, proof->other_key, *proof);
    REQUIRE_FALSE(status.ok());
    REQUIRE_THAT(std::string(status.message()), Catch::Contains("same key"));
  }
  SECTION("a membership proof relabelled as ending empty or at another leaf fails") {
    const Hash256& key = t.present[0];
    auto proof = t.h.tree.Prove(t.h.root, key);
    REQUIRE(proof.ok());
    proof->end = SmtProof::End::kEmpty;
    REQUIRE_FALSE(VerifyNonMembership(t.h.root, key, *proof).ok());
    proof->end = SmtProof::End::kOtherLeaf;
    proof->other_key = FlipBit(key, 255);
    proof->other_value_hash = t.h.map.at(key);
    REQUIRE_FALSE(VerifyNonMembership(t.h.root, key, *proof).ok());
  }
  SECTION("a proof cut short above a present key's leaf fails") {
    const Hash256& key = t.present[1];
    const auto full = t.h.tree.Prove(t.h.root, key);
    REQUIRE(full.ok());
    REQUIRE(full->depth >= 2);
    SmtProof cut = *full;
    cut.depth = full->depth - 1;
    if (cut.SiblingPresent(cut.depth)) {
      cut.sibling_bitmap[cut.depth / 8] &= static_cast<uint8_t>(~(0x80 >> (cut.depth % 8)));
      cut.siblings.pop_back();
    }
    cut.end = SmtProof::End::kEmpty;
    REQUIRE_FALSE(VerifyNonMembership(t.h.root, key, cut).ok());
  }
  SECTION("another leaf that does not share the path prefix is rejected") {
    auto proof = t.h.tree.Prove(t.h.root, at_other);
    REQUIRE(proof.ok());
    REQUIRE(proof->depth >= 1);
    proof->other_key = FlipBit(proof->other_key, 0);
    const absl::Status status = VerifyNonMembership(t.h.root, at_other, *proof);
    REQUIRE_FALSE(status.ok());
    REQUIRE_THAT(std::string(status.message()), Catch::Contains("does not share"));
  }
  SECTION("the empty-ending proof of an absent key does not serve a present key") {
    const auto proof = t.h.tree.Prove(t.h.root, at_empty);
    REQUIRE(proof.ok());
    for (size_t i = 0; i < 200; ++i) REQUIRE_FALSE(VerifyNonMembership(t.h.root, t.present[i], *proof).ok());
  }
}

TEST_CASE("flipping any bit of an encoded proof makes it fail to decode or to verify",
          "[unit][crypto][smt]") {
  const ProvenTree t(14, 3000);
  const auto [at_other, at_empty] = AbsentByEnd(t);
  struct Case {
    Hash256 key;
    bool member;
  };
  const std::vector<Case> cases = {{t.present[0], true}, {t.present[1], true},
                                   {at_other, false}, {at_empty, false}};
  for (const Case& c : cases) {
    CAPTURE(c.key.ToHex(), c.member);
    const auto proof = t.h.tree.Prove(t.h.root, c.key);
    REQUIRE(proof.ok());
    const Bytes encoded = proof->Encode();
    auto verify = [&](const SmtProof& p) {
      return c.member ? VerifyMembership(t.h.root, c.key, t.h.map.at(c.key), p)
                      : VerifyNonMembership(t.h.root, c.key, p);
    };
    REQUIRE(verify(*SmtProof::Decode(encoded)).ok());
    size_t decoded_but_rejected = 0;
    for (size_t bit = 0; bit < encoded.size() * 8; ++bit) {
      CAPTURE(bit);
      Bytes flipped = encoded;
      flipped[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
      const auto decoded = SmtProof::Decode(flipped);
      if (!decoded.ok()) continue;
      REQUIRE_FALSE(verify(*decoded).ok());
      ++decoded_but_rejected;
    }
    // Most flips land in a sibling hash, which decodes fine: the root check must catch them.
    REQUIRE(decoded_but_rejected > encoded.size() * 4);
  }
}

TEST_CASE("malformed proof encodings are rejected with a reason", "[unit][crypto][smt]") {
  const ProvenTree t(15, 500);
  const auto [at_other, at_empty] = AbsentByEnd(t);
  const auto member = t.h.tree.Prove(t.h.root, t.present[0]);
  const auto other = t.h.tree.Prove(t.h.root, at_other);
  REQUIRE(member.ok());
  REQUIRE(other.ok());
  const Bytes good = member->Encode();
  REQUIRE(SmtProof::Decode(good).ok());
  auto message = [](const Bytes& b) {
    const auto decoded = SmtProof::Decode(b);
    REQUIRE_FALSE(decoded.ok());
    REQUIRE(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(decoded.status().message());
  };

  SECTION("empty and tiny inputs") {
    REQUIRE_THAT(message({}), Catch::Contains("at least 3"));
    REQUIRE_THAT(message({0, 0}), Catch::Contains("at least 3"));
  }
  SECTION("depth above 256") {
    Bytes b = {0x01, 0x01};
    b.resize(40, 0);
    REQUIRE_THAT(message(b), Catch::Contains("depth 257"));
  }
  SECTION("trailing bytes") {
    Bytes b = good;
    b.push_back(0);
    REQUIRE_THAT(message(b), Catch::Contains("trailing"));
  }
  SECTION("truncated at every length") {
    for (size_t n = 0; n < good.size(); ++n) {
      REQUIRE_FALSE(SmtProof::Decode(ByteSpan(good.data(), n)).ok());
    }
    const Bytes other_encoded = other->Encode();
    REQUIRE_THAT(message(Bytes(other_encoded.begin(), other_encoded.end() - 1)),
                 Catch::Contains("header describes"));
  }
  SECTION("bitmap marking more siblings than are present") {
    Bytes b = {0x00, 0x03, 0xe0, 0x01};  // depth 3, three siblings marked, none given
    REQUIRE_THAT(message(b), Catch::Contains("marks 3 siblings"));
  }
  SECTION("bitmap bits beyond the depth") {
    Bytes b = {0x00, 0x03, 0x10, 0x00};
    REQUIRE_THAT(message(b), Catch::Contains("beyond the path depth"));
  }
  SECTION("a zero sibling marked non-empty") {
    Bytes b = {0x00, 0x01, 0x80};
    b.resize(b.size() + 32, 0);
    b.push_back(0x01);
    REQUIRE_THAT(message(b), Catch::Contains("empty hash"));
  }
  SECTION("an unknown end byte") {
    Bytes b = good;
    b.back() = 7;
    REQUIRE_THAT(message(b), Catch::Contains("unknown end kind 7"));
  }
  SECTION("input above the size cap") {
    REQUIRE_THAT(message(Bytes(SmtProof::kEncodedBytesMax + 1, 0)), Catch::Contains("maximum"));
  }
  SECTION("the largest valid proof decodes and is exactly at the cap") {
    SmtProof full;
    full.depth = 256;
    full.sibling_bitmap.fill(0xff);
    full.siblings.assign(256, FlipBit(Hash256{}, 7));
    full.end = SmtProof::End::kOtherLeaf;
    full.other_key = FlipBit(Hash256{}, 1);
    const Bytes b = full.Encode();
    REQUIRE(b.size() == SmtProof::kEncodedBytesMax);
    const auto decoded = SmtProof::Decode(b);
    REQUIRE(decoded.ok());
    REQUIRE(*decoded == full);
  }
  SECTION("in-memory proofs that are inconsistent are rejected by the verifiers") {
    SmtProof bad = *member;
    bad.siblings.push_back(FlipBit(Hash256{}, 0));
    REQUIRE_THAT(std::string(VerifyMembership(t.h.root, t.present[0], t.h.map.at(t.present[0]), bad).message()),
                 Catch::Contains("bitmap marks"));
    SmtProof deep = *member;
    deep.depth = 300;
    REQUIRE_THAT(std::string(VerifyMembership(t.h.root, t.present[0], t.h.map.at(t.present[0]), deep).message()),
                 Catch::Contains("depth 300"));
  }
}

TEST_CASE("the same final map gives the same root whatever the order of updates",
          "[unit][crypto][smt]") {
  const uint64_t seed = 99;
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  KeyValueMap target;
  for (int i = 0; i < 3000; ++i) target[RandomHash(rng)] = RandomHash(rng);
  const Hash256 expected = ReferenceRoot(target);

  Harness one_batch;
  one_batch.Apply(InsertAll(target));
  REQUIRE(one_batch.root == expected);

  Harness small_batches;
  {
    std::vector<SmtUpdate> all = InsertAll(target);
    std::shuffle(all.begin(), all.end(), rng);
    // A third of the keys first get a value they will not keep.
    std::vector<SmtUpdate> interim(all.begin(), all.begin() + all.size() / 3);
    for (SmtUpdate& update : interim) update.value_hash = RandomHash(rng);
    all.insert(all.begin(), interim.begin(), interim.end());
    for (size_t at = 0; at < all.size();) {
      const size_t n = std::min<size_t>(1 + rng() % 60, all.size() - at);
      std::vector<SmtUpdate> batch(all.begin() + at, all.begin() + at + n);
      // The interim value and the final one may fall in the same slice; keep the later one.
      std::map<Hash256, SmtUpdate> last;
      for (const SmtUpdate& update : batch) last.insert_or_assign(update.key, update);
      batch.clear();
      for (const auto& [key, update] : last) batch.push_back(update);
      small_batches.Apply(batch, false);
      at += n;
    }
  }
  REQUIRE(small_batches.root == expected);

  Harness with_extras;
  {
    std::vector<Hash256> extras;
    for (int i = 0; i < 1500; ++i) extras.push_back(RandomHash(rng));
    std::vector<SmtUpdate> first;
    for (const Hash256& key : extras) first.push_back({key, RandomHash(rng)});
    std::vector<SmtUpdate> rest = InsertAll(target);
    std::shuffle(rest.begin(), rest.end(), rng);
    first.insert(first.end(), rest.begin(), rest.begin() + 1500);
    with_extras.Apply(first);
    std::vector<SmtUpdate> second(rest.begin() + 1500, rest.end());
    for (const Hash256& key : extras) second.push_back({key, std::nullopt});
    std::shuffle(second.begin(), second.end(), rng);
    for (size_t at = 0; at < second.size(); at += 250) {
      with_extras.Apply(std::vector<SmtUpdate>(second.begin() + at,
                                               second.begin() + std::min(at + 250, second.size())),
                        false);
    }
  }
  REQUIRE(with_extras.root == expected);

  // Deleting every key, in shuffled batches, gives the empty root.
  std::vector<SmtUpdate> deletes;
  for (const auto& [key, value] : target) deletes.push_back({key, std::nullopt});
  std::shuffle(deletes.begin(), deletes.end(), rng);
  for (size_t at = 0; at < deletes.size(); at += 400) {
    one_batch.Apply(std::vector<SmtUpdate>(deletes.begin() + at,
                                           deletes.begin() + std::min(at + 400, deletes.size())),
                    false);
  }
  REQUIRE(one_batch.root.IsZero());
  REQUIRE(with_extras.tree.Update(with_extras.root, deletes)->root.IsZero());
}

TEST_CASE("keys that differ only in the last bit sit 256 levels down", "[unit][crypto][smt]") {
  Harness h;
  Hash256 a;
  a.bytes.fill(0x5a);
  const Hash256 b = FlipBit(a, 255);
  const Hash256 value_a = FlipBit(Hash256{}, 10), value_b = FlipBit(Hash256{}, 20);
  h.Apply({{a, value_a}});
  REQUIRE(h.root == SmtNode::Leaf(a, value_a).Hash());
  h.Apply({{b, value_b}});
  REQUIRE(h.store.size() == 2 + 256);

  for (const auto& [key, value] : h.map) {
    const auto proof = h.tree.Prove(h.root, key);
    REQUIRE(proof.ok());
    REQUIRE(proof->depth == 256);
    REQUIRE(proof->siblings.size() == 1);
    REQUIRE(VerifyMembership(h.root, key, value, *proof).ok());
    const auto decoded = SmtProof::Decode(proof->Encode());
    REQUIRE(decoded.ok());
    REQUIRE(VerifyMembership(h.root, key, value, *decoded).ok());
  }
  // A key that leaves the shared prefix at bit 254 finds an empty slot at depth 255.
  const Hash256 c = FlipBit(a, 254);
  const auto proof_c = h.tree.Prove(h.root, c);
  REQUIRE(proof_c.ok());
  REQUIRE(proof_c->end == SmtProof::End::kEmpty);
  REQUIRE(proof_c->depth == 255);
  REQUIRE(VerifyNonMembership(h.root, c, *proof_c).ok());
  REQUIRE_FALSE(VerifyNonMembership(h.root, a, *proof_c).ok());
  // Adding it joins the chain at depth 254; deleting it and then b collapses back to a's leaf.
  h.Apply({{c, value_a}});
  h.Apply({{c, std::nullopt}});
  h.Apply({{b, std::nullopt}});
  REQUIRE(h.root == SmtNode::Leaf(a, value_a).Hash());
  // The all-zero and all-one keys are ordinary keys.
  Hash256 ones;
  ones.bytes.fill(0xff);
  h.Apply({{Hash256{}, value_b}, {ones, value_a}});
  REQUIRE(*h.tree.Get(h.root, Hash256{}) == value_b);
  REQUIRE(VerifyMembership(h.root, ones, value_a, *h.tree.Prove(h.root, ones)).ok());
}

TEST_CASE("no-op batches keep the root and create no nodes", "[unit][crypto][smt]") {
  const ProvenTree t(16, 1000);
  const SparseMerkleTree& tree = t.h.tree;
  auto require_no_op = [&](const Hash256& root, std::vector<SmtUpdate> updates) {
    const auto result = tree.Update(root, std::move(updates));
    REQUIRE(result.ok());
    REQUIRE(result->root == root);
    REQUIRE(result->new_nodes.empty());
  };
  const Hash256& key = t.present[3];
  const Hash256 value = t.h.map.at(key);
  const Hash256 one_leaf = tree.Update(Hash256{}, {{key, value}})->root;

  SECTION("an empty batch") {
    require_no_op(t.h.root, {});
    require_no_op(Hash256{}, {});
  }
  SECTION("a key set to the value it already has") {
    require_no_op(t.h.root, {{key, value}});
    require_no_op(t.h.root, {{key, value}, {t.present[4], t.h.map.at(t.present[4])}});
    require_no_op(one_leaf, {{key, value}});
  }
  SECTION("deleting absent keys") {
    require_no_op(t.h.root, {{t.absent[0], std::nullopt}, {t.absent[1], std::nullopt}});
    require_no_op(Hash256{}, {{t.absent[0], std::nullopt}});
  }
  SECTION("a changed value does change the root") {
    const auto result = tree.Update(t.h.root, {{key, FlipBit(value, 0)}});
    REQUIRE(result.ok());
    REQUIRE(result->root != t.h.root);
    REQUIRE_FALSE(result->new_nodes.empty());
  }
}

TEST_CASE("a key twice in one batch is rejected naming the key", "[unit][crypto][smt]") {
  MemorySmtNodeStore store;
  SparseMerkleTree tree(&store);
  Hash256 key;
  key.bytes[31] = 0x42;
  const auto result = tree.Update(Hash256{}, {{key, Hash256{}}, {FlipBit(key, 0), key}, {key, std::nullopt}});
  REQUIRE(result.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE_THAT(std::string(result.status().message()), Catch::Contains(key.ToHex()));
  REQUIRE(tree.Update(Hash256{}, {{key, Hash256{}}, {FlipBit(key, 0), key}}).ok());
}

TEST_CASE("a node missing from the store is DataLoss naming the node", "[unit][crypto][smt]") {
  const ProvenTree t(17, 200);
  const auto root_node = t.h.store.Get(t.h.root);
  REQUIRE(root_node.ok());
  REQUIRE(root_node->has_value());
  const Hash256 missing = (*root_node)->left;
  REQUIRE_FALSE(missing.IsZero());

  // A store holding every reachable node but the root's left child.
  std::unordered_set<Hash256, Hash256Hasher> reachable;
  CollectReachable(t.h.store, t.h.root, &reachable);
  SmtNodeBatch copy;
  for (const Hash256& hash : reachable) {
    if (hash != missing) copy.emplace_back(hash, **t.h.store.Get(hash));
  }
  MemorySmtNodeStore partial;
  partial.Apply(copy);
  const SparseMerkleTree tree(&partial);

  Hash256 left_key = t.present[0];
  for (const Hash256& key : t.present) {
    if (!key.Bit(0)) left_key = key;
  }
  Hash256 right_key = t.present[0];
  for (const Hash256& key : t.present) {
    if (key.Bit(0)) right_key = key;
  }
  REQUIRE_FALSE(left_key.Bit(0));
  REQUIRE(right_key.Bit(0));

  auto require_data_loss = [&](const absl::Status& status) {
    REQUIRE(status.code() == absl::StatusCode::kDataLoss);
    REQUIRE_THAT(std::string(status.message()), Catch::Contains(missing.ToHex()));
  };
  require_data_loss(tree.Update(t.h.root, {{left_key, std::nullopt}}).status());
  require_data_loss(tree.Get(t.h.root, left_key).status());
  require_data_loss(tree.Prove(t.h.root, left_key).status());
  // Paths that avoid the missing node still work.
  REQUIRE(tree.Get(t.h.root, right_key).ok());
  REQUIRE(tree.Update(t.h.root, {{right_key, std::nullopt}}).ok());
  // A root the store has never seen.
  const Hash256 unknown_root = FlipBit(t.h.root, 0);
  const auto status = tree.Get(unknown_root, right_key).status();
  REQUIRE(status.code() == absl::StatusCode::kDataLoss);
  REQUIRE_THAT(std::string(status.message()), Catch::Contains(unknown_root.ToHex()));
}

class FailingStore final : public SmtNodeReader {
 public:
  absl::StatusOr<std::optional<SmtNode>> Get(const Hash256&) const override {
    return absl::UnavailableError("disk on fire");
  }
};

TEST_CASE("a store read error is passed on with its code", "[unit][crypto][smt]") {
  FailingStore store;
  const SparseMerkleTree tree(&store);
  Hash256 root;
  root.bytes[0] = 1;
  const auto status = tree.Get(root, Hash256{}).status();
  REQUIRE(status.code() == absl::StatusCode::kUnavailable);
  REQUIRE_THAT(std::string(status.message()), Catch::Contains("disk on fire"));
  REQUIRE(tree.Update(root, {{Hash256{}, std::nullopt}}).status().code() ==
          absl::StatusCode::kUnavailable);
  // The empty root needs no read.
  REQUIRE(tree.Get(Hash256{}, Hash256{}).ok());
}

TEST_CASE("a leaf stored off its key's path is DataLoss", "[unit][crypto][smt]") {
  Hash256 right_key;
  right_key.bytes[0] = 0x80;  // bit 0 set: belongs on the right
  const SmtNode leaf = SmtNode::Leaf(right_key, right_key);
  Hash256 other_right = right_key;
  other_right.bytes[31] = 1;
  const SmtNode other_leaf = SmtNode::Leaf(other_right, right_key);
  const SmtNode root = SmtNode::Internal(leaf.Hash(), other_leaf.Hash());  // wrongly on the left
  MemorySmtNodeStore store;
  store.Apply({{leaf.Hash(), leaf}, {other_leaf.Hash(), other_leaf}, {root.Hash(), root}});
  const SparseMerkleTree tree(&store);
  const Hash256 left_key;  // all zero: goes left
  REQUIRE(tree.Get(root.Hash(), left_key).status().code() == absl::StatusCode::kDataLoss);
  REQUIRE(tree.Prove(root.Hash(), left_key).status().code() == absl::StatusCode::kDataLoss);
  REQUIRE(tree.Update(root.Hash(), {{left_key, right_key}}).status().code() ==
          absl::StatusCode::kDataLoss);
  // The correctly placed leaf on the right is readable.
  REQUIRE(tree.Get(root.Hash(), other_right)->has_value());
}

}  // namespace
}  // namespace lading::crypto
