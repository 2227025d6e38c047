// Transactions from the network: the wire decoding (ledger::DecodeTx), the signature check,
// and the chain's admission check (ChainApp::CheckTx: the stateless checks — chain id, fee,
// every module's ValidateMsg, openings included — then nonce, fee balance and signature
// against committed state). Input: the SignedTx bytes.
#include <cstdlib>

#include "fixtures.h"
#include "probity/ledger/tx.h"
#include "quiet_protobuf.h"

using namespace probity;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SilenceProtobufLogs();
  fuzz::Chain();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView in(data, size);
  ledger::DecodedTx tx;
  const ledger::TxVerdict v = ledger::DecodeTx(in, 8u << 20, &tx);
  if (v.ok()) {
    ledger::VerifyTxSignature(tx);
    if (tx.id != ledger::TxId(in) || tx.size != size) std::abort();
  }
  auto r = fuzz::Chain().CheckTx(in, ledger::CheckTxKind::kNew);
  // Admission never accepts what the decoder refuses.
  if (r.verdict.ok() && !v.ok()) std::abort();
  return 0;
}
