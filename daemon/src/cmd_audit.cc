// `probity audit JOB`: anyone holding a key the provider serves (an account bonded as a
// verifier, or the job's buyer) re-checks any committed job at any time: the commitment from
// the chain (proven reads), the openings from the provider, exact re-execution here. With
// --challenge it files MsgChallenge for a bad segment, backing it with the challenge bond.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>

#include "command.h"
#include "key_names.h"
#include "probity/client/chain.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/node_client.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/verifierd/verifierd.h"

namespace probity::cli {
namespace {

constexpr uint64_t kDefaultSample = 4;

// N distinct indices below n, uniformly at random (every index when N >= n), ascending.
Result<std::vector<uint64_t>> RandomSegments(uint64_t count, uint64_t n) {
  std::vector<uint64_t> out;
  if (count >= n) {
    for (uint64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  std::set<uint64_t> picked;
  const uint64_t limit = (UINT64_MAX / n) * n;  // reject above it: no modulo bias
  while (picked.size() < count) {
    uint8_t b[8];
    PROBITY_RETURN_IF_ERROR(RandomBytes(b, sizeof b));
    const uint64_t r = GetU64LE(b);
    if (r < limit) picked.insert(r % n);
  }
  return std::vector<uint64_t>(picked.begin(), picked.end());
}

// "all", a count, or a comma-separated list of indices (kept in the order given, once each).
Result<std::vector<uint64_t>> ParseSegments(const std::string& spec, uint64_t n) {
  if (spec == "all") return RandomSegments(n, n);
  if (spec.find(',') == std::string::npos &&
      spec.find_first_not_of("0123456789") == std::string::npos && !spec.empty()) {
    // A bare number is a count; "--segments 3," or "--segments=3,7" name indices.
    const uint64_t count = std::strtoull(spec.c_str(), nullptr, 10);
    if (count == 0 || spec.size() > 19) {
      return Status::InvalidArgument(
          "--segments takes a count of 1 or more, 'all', or a list "
          "of indices such as 0,5,9");
    }
    return RandomSegments(count, n);
  }
  std::vector<uint64_t> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 19) {
      return Status::InvalidArgument("--segments: '" + item + "' is not a segment index");
    }
    const uint64_t i = std::strtoull(item.c_str(), nullptr, 10);
    if (i >= n) {
      return Status::OutOfRange("--segments: the job has segments 0.." + std::to_string(n - 1) +
                                ", not " + std::to_string(i));
    }
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  if (out.empty()) return Status::InvalidArgument("--segments names no segment");
  return out;
}

std::string StateName(jobs::v1::JobState s) {
  std::string n = jobs::v1::JobState_Name(s);
  if (n.rfind("JOB_STATE_", 0) == 0) n = n.substr(10);
  std::transform(n.begin(), n.end(), n.begin(), [](char c) { return c == '_' ? '-' : c | 0x20; });
  return n;
}

bool Challengeable(const jobs::v1::Job& job) {
  return job.state() == jobs::v1::JOB_STATE_COMMITTED ||
         job.state() == jobs::v1::JOB_STATE_SAMPLED || job.state() == jobs::v1::JOB_STATE_VERIFIED;
}

// The segment to challenge: the first mismatch (the referee will convict on it), else the first
// segment the provider would not open properly (it must then open it on chain or be slashed).
const verifierd::SegmentCheck* ChallengeTarget(const jobs::v1::Job& job,
                                               const verifierd::JobCheck& check) {
  auto proven = [&](uint64_t i) {
    return std::find(job.proven_segments().begin(), job.proven_segments().end(), i) !=
           job.proven_segments().end();
  };
  for (auto v : {verifierd::Verdict::kMismatch, verifierd::Verdict::kWithheld,
                 verifierd::Verdict::kMalformed}) {
    for (const auto& s : check.segments) {
      if (s.verdict == v && !proven(s.index)) return &s;
    }
  }
  return nullptr;
}

struct ChallengeOutcome {
  const verifierd::SegmentCheck* target = nullptr;
  std::optional<client::TxOutcome> sent;
  Status error;
};

int RunAudit(const Args& args) {
  if (Status s = args.CheckKnown({"node-tls", "node-tls-ca", "segments", "challenge", "key", "home",
                                  "node", "genesis", "endpoint", "backend", "wait-seconds",
                                  "provider-ca"});
      !s.ok()) {
    return Fail(args, s);
  }
  if (args.positional().size() != 1) {
    return Fail(args, Status::InvalidArgument("usage: probity audit JOB [--segments N|all|i,j,k]"
                                              " [--challenge] --key NAME"));
  }
  auto job_id = Hash256FromHex(args.positional()[0]);
  if (!job_id.ok()) {
    return Fail(args, Status::InvalidArgument("JOB must be a job id of 64 hex digits"));
  }
  auto key_name = args.Require("key");
  if (!key_name.ok()) {
    return Fail(args, Status::InvalidArgument(
                          "missing --key: the provider serves openings only to the job's buyer "
                          "or an account bonded as a verifier"));
  }
  auto wait = args.GetU64("wait-seconds", 20);
  if (!wait.ok()) return Fail(args, wait.status());
  if (*wait > 3600) return Fail(args, Status::InvalidArgument("--wait-seconds is at most 3600"));
  std::string backend_name = args.GetOr("backend", "cpu");
  if (backend_name == "auto") {
    auto available = workloads::AvailableBackends();
    backend_name =
        std::find(available.begin(), available.end(), "cuda") != available.end() ? "cuda" : "cpu";
  }
  auto backend = workloads::CreateBackend(backend_name);
  if (!backend.ok()) return Fail(args, backend.status());

  const std::string home_dir = HomeDir(args);
  ledger::NodeHome home{home_dir};
  auto setup = ledger::ConnectFromHome(
      home, args.GetOr("node", ""), args.GetOr("genesis", ""),
      {.enabled = args.Has("node-tls"), .ca_file = args.GetOr("node-tls-ca", "")});
  if (!setup.ok()) return Fail(args, setup.status());
  std::shared_ptr<const ledger::NodeClient> node(std::move(setup->client));
  client::ChainReader chain(node);

  auto job = chain.Job(*job_id);
  if (!job.ok()) return Fail(args, job.status());
  if (!*job) {
    return Fail(args, Status::NotFound("no job " + ToHex(*job_id) +
                                       " on the chain (an open or cancelled order has none)"));
  }
  auto commitment = verifierd::CommitmentOf(**job);
  if (!commitment.ok()) return Fail(args, commitment.status());
  auto segments = ParseSegments(args.GetOr("segments", std::to_string(kDefaultSample)),
                                commitment->segment_count);
  if (!segments.ok()) return Fail(args, segments.status());

  auto key = LoadNamedKey(home_dir, *key_name);
  if (!key.ok()) return Fail(args, key.status());
  client::ChannelSecurity security;
  if (auto ca = args.Get("provider-ca")) {
    security.use_tls = true;
    security.ca_file = *ca;
  }
  auto provider = verifierd::ConnectProvider(chain, **job, security, args.GetOr("endpoint", ""));
  if (!provider.ok()) return Fail(args, provider.status());

  verifierd::FetchPolicy fetch;
  fetch.initial_backoff = std::chrono::milliseconds(250);
  fetch.max_backoff = std::chrono::milliseconds(4000);
  fetch.max_wait = std::chrono::seconds(*wait);
  auto checked = verifierd::CheckJob(chain, **provider, *key, *job_id, *segments, fetch,
                                     {backend->get(), &workloads::DataCatalog::Default(), {}});
  if (!checked.ok()) return Fail(args, checked.status());
  const jobs::v1::Job& j = checked->job;
  const verifierd::JobCheck& check = checked->check;
  const bool ok = check.all_ok();

  ChallengeOutcome challenge;
  if (args.Has("challenge") && !ok) {
    challenge.target = ChallengeTarget(j, check);
    if (!challenge.target) {
      challenge.error = Status::FailedPrecondition(
          "no segment to challenge: the bad ones were "
          "not decided here or are proven on chain");
    } else if (!Challengeable(j)) {
      challenge.error = Status::FailedPrecondition("the job is " + StateName(j.state()) +
                                                   "; a challenge needs it committed, sampled or "
                                                   "verified");
    } else {
      auto signer = SecretKey::FromBytes(key->SecretBytes());
      if (!signer.ok()) return Fail(args, signer.status());
      client::TxSender sender(node, setup->genesis, std::move(*signer));
      jobs::v1::MsgChallenge msg;
      msg.set_job_id(std::string(job_id->begin(), job_id->end()));
      msg.set_segment(challenge.target->index);
      auto sent = sender.Send(msg);
      if (sent.ok()) {
        challenge.sent = *sent;
      } else {
        challenge.error = sent.status();
      }
    }
  }

  size_t counts[5] = {};
  for (const auto& s : check.segments) ++counts[static_cast<int>(s.verdict)];
  XOnlyPubKey provider_key{};
  if (j.provider().size() == 32) std::memcpy(provider_key.data(), j.provider().data(), 32);
  const std::string provider_address = EncodeAddress(provider_key);
  if (args.json()) {
    std::ostringstream o;
    o << "{\"ok\":" << (ok ? "true" : "false") << ",\"job\":" << JsonString(ToHex(*job_id))
      << ",\"state\":" << JsonString(StateName(j.state()))
      << ",\"provider\":" << JsonString(provider_address)
      << ",\"endpoint\":" << JsonString((*provider)->endpoint())
      << ",\"segment_count\":" << commitment->segment_count
      << ",\"checked\":" << check.segments.size() << ",\"passed\":" << counts[0]
      << ",\"segments\":[";
    for (size_t i = 0; i < check.segments.size(); ++i) {
      const auto& s = check.segments[i];
      const bool opened =
          s.verdict == verifierd::Verdict::kOk || s.verdict == verifierd::Verdict::kMismatch;
      o << (i ? "," : "") << "{\"index\":" << s.index
        << ",\"verdict\":" << JsonString(std::string(verifierd::VerdictName(s.verdict)))
        << ",\"committed\":" << (opened ? JsonString(ToHex(s.record.output_hash)) : "null")
        << ",\"recomputed\":" << (opened ? JsonString(ToHex(s.recomputed)) : "null")
        << ",\"fetch_attempts\":" << s.fetch_attempts << ",\"seconds\":" << s.reexecute_seconds
        << ",\"detail\":" << JsonString(s.detail) << "}";
    }
    o << "],\"challenge\":";
    if (!challenge.target && challenge.error.ok()) {
      o << "null";
    } else {
      o << "{\"segment\":"
        << (challenge.target ? std::to_string(challenge.target->index) : std::string("null"));
      if (challenge.sent) {
        o << ",\"tx_id\":" << JsonString(ToHex(challenge.sent->tx_id))
          << ",\"height\":" << challenge.sent->height;
      } else {
        o << ",\"error\":" << JsonString(challenge.error.message());
      }
      o << "}";
    }
    o << "}\n";
    std::cout << o.str();
  } else {
    std::cout << "job " << ToHex(*job_id) << " (" << StateName(j.state()) << "), provider "
              << provider_address << " at " << (*provider)->endpoint() << "\n"
              << "  " << commitment->segment_count << " segments committed, output "
              << ToHex(commitment->output_hash).substr(0, 16) << "..., trace root "
              << ToHex(commitment->trace_root).substr(0, 16) << "...\n";
    for (const auto& s : check.segments) {
      char head[64];
      std::snprintf(head, sizeof head, "  segment %-8llu %-10s",
                    static_cast<unsigned long long>(s.index),
                    std::string(verifierd::VerdictName(s.verdict)).c_str());
      std::cout << head;
      if (s.verdict == verifierd::Verdict::kOk) {
        std::cout << "output " << ToHex(s.recomputed).substr(0, 16) << "... re-executed in "
                  << static_cast<int>(s.reexecute_seconds * 1000) << " ms\n";
      } else {
        std::cout << s.detail << "\n";
      }
    }
    std::cout << check.segments.size() << " checked: " << counts[0] << " ok";
    const char* names[] = {"ok", "mismatch", "withheld", "malformed", "unchecked"};
    for (int v = 1; v < 5; ++v) {
      if (counts[v]) std::cout << ", " << counts[v] << " " << names[v];
    }
    std::cout << (ok ? " — every checked segment re-executes to the commitment\n" : "\n");
    if (challenge.sent) {
      std::cout << "challenged segment " << challenge.target->index << ": tx "
                << ToHex(challenge.sent->tx_id) << " in block " << challenge.sent->height << "\n";
    } else if (!challenge.error.ok()) {
      std::cerr << "error: challenge not filed: " << challenge.error.message() << "\n";
    }
  }
  return ok ? 0 : 1;
}

}  // namespace

PROBITY_COMMAND(
    {.path = "audit",
     .usage =
         "probity audit JOB --key NAME [--segments N|all|i,j,k] [--challenge] [--home DIR]"
         " [--node HOST:PORT] [--genesis FILE] [--endpoint HOST:PORT] [--backend cpu|cuda|auto]"
         " [--wait-seconds N] [--provider-ca FILE] [--node-tls | --node-tls-ca FILE] [--json]",
     .summary = "re-check a job's segments by re-execution; --challenge disputes a bad one",
     .bool_flags = {"challenge", "node-tls"},
     .run = RunAudit});

}  // namespace probity::cli
