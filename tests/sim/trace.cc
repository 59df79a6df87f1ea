#include "tests/sim/trace.h"

#include <utility>
#include <variant>

namespace lading::sim {
namespace {

uint32_t Prefix(const Hash256& hash) {
  return (uint32_t{hash.bytes[0]} << 24) | (uint32_t{hash.bytes[1]} << 16) |
         (uint32_t{hash.bytes[2]} << 8) | uint32_t{hash.bytes[3]};
}

// splitmix64's finaliser: every field of every entry moves the digest.
uint64_t Mix(uint64_t digest, uint64_t value) {
  uint64_t z = digest ^ (value + 0x9e3779b97f4a7c15ULL + (digest << 6) + (digest >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

const char* StepName(int32_t step) {
  switch (step) {
    case 1:
      return "propose";
    case 2:
      return "prevote";
    case 3:
      return "precommit";
    default:
      return "step?";
  }
}

const char* MessageName(uint8_t type) {
  switch (type) {
    case 1:
      return "proposal";
    case 2:
      return "prevote";
    case 3:
      return "precommit";
    default:
      return "message";
  }
}

std::string Hex8(uint32_t prefix) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i) {
    out[i] = kDigits[prefix & 0xf];
    prefix >>= 4;
  }
  return out;
}

}  // namespace

void DescribeMessage(const consensus::ConsensusMessage& message, TraceEntry* entry) {
  if (const auto* proposal = std::get_if<consensus::Proposal>(&message)) {
    entry->message_type = 1;
    entry->height = proposal->height;
    entry->round = proposal->round;
    entry->extra = proposal->pol_round;
    entry->validator = proposal->proposer;
    entry->has_block = true;
    entry->block_prefix = Prefix(proposal->value.hash);
    return;
  }
  const auto& vote = std::get<consensus::Vote>(message);
  entry->message_type = vote.type == consensus::VoteType::kPrevote ? 2 : 3;
  entry->height = vote.height;
  entry->round = vote.round;
  entry->validator = vote.validator;
  entry->has_block = vote.block_hash.has_value();
  if (vote.block_hash) entry->block_prefix = Prefix(*vote.block_hash);
}

Trace::Trace(size_t capacity, std::ostream* stream) : capacity_(capacity), stream_(stream) {
  ring_.reserve(capacity_);
}

void Trace::Record(TraceEntry entry) {
  uint64_t d = Mix(digest_, entry.time_ms);
  d = Mix(d, static_cast<uint64_t>(entry.kind));
  d = Mix(d, (uint64_t{entry.endpoint} << 32) | entry.peer);
  d = Mix(d, entry.message_type);
  d = Mix(d, entry.height);
  d = Mix(d, (static_cast<uint64_t>(static_cast<uint32_t>(entry.round)) << 32) |
                 static_cast<uint32_t>(entry.extra));
  d = Mix(d, (uint64_t{entry.validator} << 32) | entry.block_prefix);
  d = Mix(d, (uint64_t{entry.has_block} << 1) | uint64_t{entry.flag});
  for (char c : entry.note) d = Mix(d, static_cast<unsigned char>(c));
  digest_ = d;
  ++recorded_;
  if (stream_ != nullptr) *stream_ << Format(entry) << "\n";
  if (capacity_ == 0) return;
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(entry));
  } else {
    ring_[next_] = std::move(entry);
  }
  next_ = (next_ + 1) % capacity_;
}

void Trace::Print(std::ostream& out) const {
  const size_t start = ring_.size() < capacity_ ? 0 : next_;
  for (size_t i = 0; i < ring_.size(); ++i) {
    out << Format(ring_[(start + i) % ring_.size()]) << "\n";
  }
}

std::string Trace::Format(const TraceEntry& e) const {
  auto name = [this](uint32_t endpoint) {
    return endpoint < names_.size() ? names_[endpoint] : "e" + std::to_string(endpoint);
  };
  auto message = [&e]() {
    std::string out = std::string(MessageName(e.message_type)) + " h=" + std::to_string(e.height) +
                      " r=" + std::to_string(e.round);
    if (e.message_type == 1) out += " pol=" + std::to_string(e.extra);
    out += (e.message_type == 1 ? " proposer=" : " validator=") + std::to_string(e.validator);
    out += " block=" + (e.has_block ? Hex8(e.block_prefix) : std::string("nil"));
    return out;
  };
  const bool network_wide = e.kind == TraceKind::kPartition || e.kind == TraceKind::kHeal ||
                            e.kind == TraceKind::kFaultsStop;
  std::string line =
      "t=" + std::to_string(e.time_ms) + "ms " + (network_wide ? "net" : name(e.endpoint)) + " ";
  switch (e.kind) {
    case TraceKind::kDeliver:
      line += "<- " + name(e.peer) + " deliver " + message();
      break;
    case TraceKind::kLost:
      line += "-> " + name(e.peer) + " lost " + message() + " (" + e.note + ")";
      break;
    case TraceKind::kRejected:
      line += "<- " + name(e.peer) + " rejected " + message() + " (" + e.note + ")";
      break;
    case TraceKind::kDiscarded:
      line += "<- " + name(e.peer) + " discarded while down " + message();
      break;
    case TraceKind::kTimeout:
      line += "timeout h=" + std::to_string(e.height) + " r=" + std::to_string(e.round) + " " +
              StepName(e.extra);
      break;
    case TraceKind::kValueReady:
      line += "value ready h=" + std::to_string(e.height) + " r=" + std::to_string(e.round) +
              " block=" + Hex8(e.block_prefix);
      break;
    case TraceKind::kValidated:
      line += "validated h=" + std::to_string(e.height) + " r=" + std::to_string(e.round) +
              " block=" + Hex8(e.block_prefix) + (e.flag ? " valid" : " invalid");
      break;
    case TraceKind::kSignState:
      line += "sign state durable h=" + std::to_string(e.height) + " r=" + std::to_string(e.round) +
              " " + StepName(e.extra);
      break;
    case TraceKind::kDecide:
      line += std::string(e.flag ? "DECIDE (block sync) h=" : "DECIDE h=") +
              std::to_string(e.height) + " r=" + std::to_string(e.round) +
              " block=" + Hex8(e.block_prefix);
      break;
    case TraceKind::kCrash:
      line += "CRASH";
      break;
    case TraceKind::kRestart:
      line += "RESTART at h=" + std::to_string(e.height) + " sign state " + e.note;
      break;
    case TraceKind::kPartition:
      line += "PARTITION " + e.note;
      break;
    case TraceKind::kHeal:
      line += "HEAL";
      break;
    case TraceKind::kFaultsStop:
      line += "FAULTS STOP (heal, restart all, no losses)";
      break;
    case TraceKind::kEvidence:
      line += "evidence against validator " + std::to_string(e.validator) +
              " h=" + std::to_string(e.height) + " r=" + std::to_string(e.round) + " " + e.note;
      break;
    case TraceKind::kCommittee:
      line += "committee for h=" + std::to_string(e.height) + ": " + e.note;
      break;
  }
  return line;
}

}  // namespace lading::sim
