// `probity job submit|status|wait|result|cancel|list`: the buyer's command line over
// probity/buyer/buyer.h.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "command.h"
#include "job_cli.h"
#include "key_names.h"
#include "probity/buyer/buyer.h"
#include "probity/ledger/node_client.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/workloads/dataset.h"
#include "probity/workloads/model.h"
#include "probity/workloads/tensor.h"
#include "probity/workloads/workloads.h"

namespace probity::cli {
namespace {

using buyer::JobView;

const std::vector<std::string> kConnFlags = {"home", "node", "genesis", "key",
                                             "json", "tls",  "tls-ca"};

std::vector<std::string> With(std::vector<std::string> extra) {
  extra.insert(extra.end(), kConnFlags.begin(), kConnFlags.end());
  return extra;
}

Result<std::unique_ptr<buyer::Buyer>> OpenBuyer(const Args& args) {
  ledger::NodeHome home{HomeDir(args)};
  PROBITY_ASSIGN_OR_RETURN(
      ledger::ClientSetup setup,
      ledger::ConnectFromHome(home, args.GetOr("node", ""), args.GetOr("genesis", ""),
                              {.enabled = args.Has("tls"), .ca_file = args.GetOr("tls-ca", "")}));
  PROBITY_ASSIGN_OR_RETURN(SecretKey key, LoadNamedKey(home.root, args.GetOr("key", "buyer")));
  std::shared_ptr<const ledger::NodeClient> node(std::move(setup.client));
  auto b = std::make_unique<buyer::Buyer>(home.root, node, setup.genesis, std::move(key));
  InstallSelfVerifier(*b);
  return b;
}

Result<Hash256> JobIdArg(const Args& args) {
  if (args.positional().empty()) return Status::InvalidArgument("missing JOB (the job id, hex)");
  return Hash256FromHex(args.positional()[0]);
}

void PrintView(const JobView& v, const Args& args) {
  if (args.json()) {
    std::cout << JobViewJson(v) << "\n";
    return;
  }
  std::cout << "job      " << ToHex(v.job_id) << "\n"
            << "state    " << v.state << (v.terminal ? " (final)" : "") << "\n";
  if (v.job) {
    std::cout << "provider " << EncodeAddress(ToKey(v.job->provider())) << "\n"
              << "price    " << v.job->price_per_unit() << " per unit x " << v.job->units()
              << " units\n";
    if (v.job->segment_count())
      std::cout << "segments " << v.job->segment_count() << ", sampled " << v.job->sample_size()
                << "\n";
  }
  if (!v.note.empty()) std::cout << "note     " << v.note << "\n";
}

int RunSubmit(const Args& args) {
  if (Status s = args.CheckKnown(With(SpecFlags())); !s.ok()) return Fail(args, s);
  auto request = RequestFromArgs(args);
  if (!request.ok()) return Fail(args, request.status());
  auto b = OpenBuyer(args);
  if (!b.ok()) return Fail(args, b.status());
  auto id = (*b)->Submit(*request);
  if (!id.ok()) return Fail(args, id.status());
  if (!args.json()) std::cout << "order placed: job " << ToHex(*id) << "\n";
  // Once matched, hand the inputs to the provider (submit's promise); --wait follows through.
  const bool wait_all = args.Has("wait");
  auto timeout = std::chrono::seconds(*args.GetU64("timeout", wait_all ? 3600 : 120));
  Result<JobView> v = Status::Internal("not waited");
  if (wait_all) {
    ProgressBar bar(!args.json());
    v = (*b)->Wait(*id, timeout, [&](const JobView& view) { bar.Show(view); });
    bar.Done();
  } else {
    // Until the inputs are with the provider (or the job moved past needing them).
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    for (;;) {
      v = (*b)->Advance(*id);
      if (!v.ok()) break;
      if (!args.json() && v->note != last) std::cerr << "  " << v->state << ": " << v->note << "\n";
      last = v->note;
      auto rec = (*b)->Record(*id);
      bool moved_on = v->state != "open" && v->state != "assigned";
      if (v->terminal || moved_on || (rec.ok() && rec->uploaded())) break;
      if (std::chrono::steady_clock::now() >= deadline) break;  // still open: it waits in the book
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (!v.ok()) return Fail(args, v.status());
  if (args.json()) {
    std::cout << JobViewJson(*v) << "\n";
  } else {
    PrintView(*v, args);
  }
  return v->state == "slashed" || v->state == "cancelled" ? 1 : 0;
}

int RunStatus(const Args& args) {
  if (Status s = args.CheckKnown(kConnFlags); !s.ok()) return Fail(args, s);
  auto id = JobIdArg(args);
  if (!id.ok()) return Fail(args, id.status());
  auto b = OpenBuyer(args);
  if (!b.ok()) return Fail(args, b.status());
  auto v = (*b)->Advance(*id);
  if (!v.ok()) return Fail(args, v.status());
  PrintView(*v, args);
  return 0;
}

int RunWait(const Args& args) {
  if (Status s = args.CheckKnown(With({"timeout", "until"})); !s.ok()) return Fail(args, s);
  auto id = JobIdArg(args);
  if (!id.ok()) return Fail(args, id.status());
  auto b = OpenBuyer(args);
  if (!b.ok()) return Fail(args, b.status());
  auto timeout = args.GetU64("timeout", 3600);
  if (!timeout.ok()) return Fail(args, timeout.status());
  ProgressBar bar(!args.json());
  auto v = (*b)->Wait(
      *id, std::chrono::seconds(*timeout), [&](const JobView& view) { bar.Show(view); },
      args.GetOr("until", ""));
  bar.Done();
  if (!v.ok()) return Fail(args, v.status());
  PrintView(*v, args);
  return v->state == "settled" || v->state == args.GetOr("until", "-") ? 0 : 1;
}

int RunResult(const Args& args) {
  if (Status s = args.CheckKnown(With({"out"})); !s.ok()) return Fail(args, s);
  auto id = JobIdArg(args);
  if (!id.ok()) return Fail(args, id.status());
  auto b = OpenBuyer(args);
  if (!b.ok()) return Fail(args, b.status());
  Bytes file;
  auto result = (*b)->FetchResult(*id, &file);
  if (!result.ok()) return Fail(args, result.status());
  std::string out = args.GetOr("out", ToHex(*id).substr(0, 16) + ".result.safetensors");
  if (Status s = ledger::WriteFileAtomically(out, std::string(file.begin(), file.end())); !s.ok()) {
    return Fail(args, s);
  }
  if (args.json()) {
    std::cout << "{\"ok\":true,\"job\":" << JsonString(ToHex(*id))
              << ",\"file\":" << JsonString(out) << ",\"bytes\":" << file.size()
              << ",\"verified\":true}\n";
  } else {
    std::cout << "result of job " << ToHex(*id) << " written to " << out << " (" << file.size()
              << " bytes), checked against the on-chain output hash\n";
  }
  return 0;
}

int RunCancel(const Args& args) {
  if (Status s = args.CheckKnown(kConnFlags); !s.ok()) return Fail(args, s);
  auto id = JobIdArg(args);
  if (!id.ok()) return Fail(args, id.status());
  auto b = OpenBuyer(args);
  if (!b.ok()) return Fail(args, b.status());
  auto out = (*b)->Cancel(*id);
  if (!out.ok()) return Fail(args, out.status());
  if (args.json()) {
    std::cout << "{\"ok\":true,\"job\":" << JsonString(ToHex(*id))
              << ",\"tx_id\":" << JsonString(ToHex(out->tx_id)) << ",\"height\":" << out->height
              << "}\n";
  } else {
    std::cout << "cancelled job " << ToHex(*id) << " in block " << out->height
              << "; its escrow is refunded\n";
  }
  return 0;
}

int RunList(const Args& args) {
  if (Status s = args.CheckKnown(kConnFlags); !s.ok()) return Fail(args, s);
  auto b = OpenBuyer(args);
  if (!b.ok()) return Fail(args, b.status());
  std::string json = "[";
  for (const auto& r : (*b)->Records()) {
    if (r.job_id().size() != 32) continue;
    Hash256 id = ToHash(r.job_id());
    auto v = (*b)->chain().Job(id);
    std::string state = v.ok() && *v ? buyer::StateName((*v)->state()) : "open";
    if (args.json()) {
      if (json.size() > 1) json += ",";
      json += "{\"id\":" + JsonString(ToHex(id)) + ",\"label\":" + JsonString(r.label()) +
              ",\"state\":" + JsonString(state) + "}";
    } else {
      std::cout << ToHex(id) << "  " << state << "  " << r.label() << "\n";
    }
  }
  if (args.json()) std::cout << "{\"ok\":true,\"jobs\":" << json << "]}\n";
  return 0;
}

const char* const kConn =
    " [--key NAME] [--home DIR] [--node HOST:PORT] [--genesis FILE] [--tls | --tls-ca FILE] "
    "[--json]";

}  // namespace

PROBITY_COMMAND({.path = "job submit",
                 .usage = std::string("probity job submit (--spec FILE | --kind KIND [spec "
                                      "flags]) --max-price N [--verify K] [--self-verify] "
                                      "[--deadline-blocks N] [--wait] [--timeout S]") +
                          kConn,
                 .summary = "order a job, upload its inputs once matched (--wait: to the end)",
                 .bool_flags = {"json", "tls", "self-verify", "wait"},
                 .run = RunSubmit});
PROBITY_COMMAND({.path = "job status",
                 .usage = std::string("probity job status JOB") + kConn,
                 .summary = "where a job stands (and do what the buyer owes it)",
                 .bool_flags = {"json", "tls"},
                 .run = RunStatus});
PROBITY_COMMAND({.path = "job wait",
                 .usage = std::string("probity job wait JOB [--until STATE] [--timeout S]") + kConn,
                 .summary = "follow a job through its lifecycle with a progress bar",
                 .bool_flags = {"json", "tls"},
                 .run = RunWait});
PROBITY_COMMAND({.path = "job result",
                 .usage = std::string("probity job result JOB [--out FILE]") + kConn,
                 .summary = "download the result, checked against the on-chain commitment",
                 .bool_flags = {"json", "tls"},
                 .run = RunResult});
PROBITY_COMMAND({.path = "job cancel",
                 .usage = std::string("probity job cancel JOB") + kConn,
                 .summary = "cancel an order still in the book (escrow refunded)",
                 .bool_flags = {"json", "tls"},
                 .run = RunCancel});
PROBITY_COMMAND({.path = "job list",
                 .usage = std::string("probity job list") + kConn,
                 .summary = "the jobs this home has ordered",
                 .bool_flags = {"json", "tls"},
                 .run = RunList});

}  // namespace probity::cli
