// Micro-benchmarks of Lading's cryptographic primitives (crypto/): what a node pays per
// signature, per wrapped document key, per encrypted document and per key-file unlock.
#include <benchmark/benchmark.h>

#include <optional>

#include "crypto/aead.h"
#include "crypto/encryption.h"
#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/random.h"
#include "crypto/signing.h"

namespace lading::crypto {
namespace {

constexpr size_t kSignedMessageBytes = 256;

void BM_Ed25519Sign(benchmark::State& state) {
  const SigningKey key = SigningKey::Generate();
  const Bytes message = RandomBytes(kSignedMessageBytes);
  for (auto _ : state) {
    Signature signature = key.Sign(message);
    benchmark::DoNotOptimize(signature);
  }
  state.SetLabel("256-byte message");
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const SigningKey key = SigningKey::Generate();
  const Bytes message = RandomBytes(kSignedMessageBytes);
  const Signature signature = key.Sign(message);
  for (auto _ : state) {
    absl::Status status = VerifySignature(key.public_key(), message, signature);
    if (!status.ok()) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(status);
  }
  state.SetLabel("256-byte message");
}
BENCHMARK(BM_Ed25519Verify);

void BM_SealedBoxWrap32(benchmark::State& state) {
  const EncryptionKey recipient = EncryptionKey::Generate();
  const Bytes document_key = RandomBytes(32);
  for (auto _ : state) {
    auto wrapped = WrapKey(recipient.public_key(), document_key);
    if (!wrapped.ok()) state.SkipWithError("wrap failed");
    benchmark::DoNotOptimize(wrapped);
  }
}
BENCHMARK(BM_SealedBoxWrap32);

void BM_SealedBoxUnwrap32(benchmark::State& state) {
  const EncryptionKey recipient = EncryptionKey::Generate();
  const Bytes wrapped = *WrapKey(recipient.public_key(), RandomBytes(32));
  for (auto _ : state) {
    auto key = UnwrapKey(recipient, wrapped);
    if (!key.ok()) state.SkipWithError("unwrap failed");
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_SealedBoxUnwrap32);

void BM_AeadSeal(benchmark::State& state) {
  const AeadKey key = AeadKey::Generate();
  const AeadNonce nonce = RandomNonce();
  const Bytes plaintext = RandomBytes(static_cast<size_t>(state.range(0)));
  const Bytes associated_data = RandomBytes(64);
  for (auto _ : state) {
    Bytes sealed = AeadSeal(key, nonce, plaintext, associated_data);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AeadSeal)->Arg(1 << 10)->Arg(4 << 10)->Arg(64 << 10);

void BM_AeadOpen(benchmark::State& state) {
  const AeadKey key = AeadKey::Generate();
  const AeadNonce nonce = RandomNonce();
  const Bytes associated_data = RandomBytes(64);
  const Bytes sealed =
      AeadSeal(key, nonce, RandomBytes(static_cast<size_t>(state.range(0))), associated_data);
  for (auto _ : state) {
    auto plaintext = AeadOpen(key, nonce, sealed, associated_data);
    if (!plaintext.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(plaintext);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AeadOpen)->Arg(1 << 10)->Arg(4 << 10)->Arg(64 << 10);

void BM_Blake2b256(benchmark::State& state) {
  const Bytes data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Hash256 hash = HashWithLabel(kLabelTx, data);
    benchmark::DoNotOptimize(hash);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel("domain-separated (HashWithLabel)");
}
BENCHMARK(BM_Blake2b256)->Arg(1 << 10)->Arg(64 << 10);

// One unlock of a passphrase-protected key file at the default (moderate) Argon2id cost: the
// delay a member sees when its node or CLI loads its key.
void BM_KeyFileUnlockArgon2idModerate(benchmark::State& state) {
  const ByteSpan passphrase = AsBytes("benchmark passphrase");
  auto keys = MemberKeys::Generate("bench");
  if (!keys.ok()) {
    state.SkipWithError("key generation failed");
    return;
  }
  auto file = EncodePrivateKeyFile(
      *keys, PassphraseProtection{passphrase, PassphraseKdfLimits::Moderate()});
  if (!file.ok()) {
    state.SkipWithError("encoding the key file failed");
    return;
  }
  for (auto _ : state) {
    auto loaded = DecodePrivateKeyFile(file->span(), passphrase, "bench.key");
    if (!loaded.ok()) state.SkipWithError("unlock failed");
    benchmark::DoNotOptimize(loaded);
  }
  state.SetLabel("opslimit 3, memlimit 256 MiB");
}
BENCHMARK(BM_KeyFileUnlockArgon2idModerate)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lading::crypto
