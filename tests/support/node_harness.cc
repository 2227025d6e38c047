#include "node_harness.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "probity/bank/v1/bank.pb.h"
#include "probity/contracts/bank.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"

namespace probity::ledger::testing {

std::string FundFlag(int accounts, uint64_t amount) {
  std::string s;
  for (int i = 1; i <= accounts; ++i) {
    if (i > 1) s += ",";
    s +=
        EncodeAddress(TestKey(static_cast<uint64_t>(i)).PublicKey()) + "=" + std::to_string(amount);
  }
  return s;
}

Bytes Transfer(int from, const XOnlyPubKey& to, uint64_t amount, uint64_t nonce, uint64_t fee,
               const std::string& chain) {
  bank::v1::MsgSend m;
  m.set_to(to.data(), 32);
  m.set_amount(amount);
  ledger::TxFields f;
  f.chain_id = chain;
  f.nonce = nonce;
  f.fee = fee;
  f.msg_type_url = std::string(contracts::Bank::kMsgSend);
  std::string v = ledger::SerializeCanonical(m);
  f.msg_value.assign(v.begin(), v.end());
  return ledger::BuildSignedTx(TestKey(static_cast<uint64_t>(from)), f).value();
}

Status InitHome(const std::string& home, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {ProbityBinary(), "init", "--home", home};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CommandResult r = RunCommand(argv, {kPassphraseEnv});
  if (r.code != 0) return Status::Internal("probity init failed: " + r.output);
  return Status::OK();
}

Result<std::unique_ptr<NodeProcess>> NodeProcess::Start(const std::string& home,
                                                        const std::vector<std::string>& extra,
                                                        const std::vector<std::string>& env) {
  ledger::NodeHome h{home};
  std::error_code ec;
  std::filesystem::remove(h.address_file(), ec);  // a killed node leaves its old one behind
  std::vector<std::string> argv = {ProbityBinary(), "node",       "--home", home,
                                   "--listen",      "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::vector<std::string> full_env = {kPassphraseEnv};
  full_env.insert(full_env.end(), env.begin(), env.end());
  auto n = std::unique_ptr<NodeProcess>(new NodeProcess());
  PROBITY_ASSIGN_OR_RETURN(n->process_, ChildProcess::Start(argv, full_env, home + "/node.log"));
  PROBITY_ASSIGN_OR_RETURN(n->genesis_, ledger::LoadGenesisFile(h.genesis_file()));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!n->process_->Running()) {
      return Status::Internal("probity node exited: " + n->process_->Output());
    }
    auto addr = ledger::ReadFileToString(h.address_file());
    if (addr.ok() && !addr->empty() && addr->back() == '\n') {
      n->address_ = addr->substr(0, addr->size() - 1);
      return n;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded("probity node did not start: " + n->process_->Output());
}

std::unique_ptr<ledger::NodeClient> NodeProcess::Client() const {
  return std::make_unique<ledger::NodeClient>(
      address_, ledger::TrustAnchor{genesis_.chain_id, genesis_.proposer});
}

uint64_t NodeProcess::Height() const {
  auto s = Client()->GetStatus();
  return s.ok() ? s->height() : 0;
}

bool NodeProcess::WaitForHeight(uint64_t height, int ms) const {
  auto client = Client();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = client->GetStatus();
    if (s.ok() && s->height() >= height) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace probity::ledger::testing
