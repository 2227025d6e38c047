// The module interface: how contracts (bank, staking, market, jobs, verification) plug into
// the ledger without the ledger knowing them, and without knowing which driver runs the chain
// (the embedded solo driver, a follower, or later CometBFT over ABCI).
//
// A module
//   - owns a slice of the authenticated state: every key it writes is stored under
//     "<name>/" + key, so the app hash commits to it and Query can prove it;
//   - handles the messages whose Msg.type_url it lists (one message per transaction);
//   - reads its section of genesis.json (InitGenesis), runs hooks at the start and end of
//     every block (expiries, timeouts, settlement), answers queries, and emits events.
// Modules call each other through ordinary C++ APIs (e.g. contracts/bank's Bank::Transfer),
// passing the Context they were given; nothing else crosses between them.
//
// Determinism: handlers must depend only on the Context (state, block info, tx info) and the
// message: no clocks, no randomness, no I/O, no iteration over unordered containers. Two nodes
// executing the same block must write the same bytes.
//
// Atomicity: the ledger gives every message (and every hook) its own layer of writes and
// events; if the handler returns an error, both are discarded, except what the ledger did
// before the message (the nonce and the fee), which stays.
//
// Thread-safety: the ledger calls a module's execution methods (InitGenesis, BeginBlock,
// HandleMsg, EndBlock) from one thread at a time. ValidateMsg and Query may run concurrently
// with each other and with execution, so they must only read the module's own immutable
// configuration and the state passed to them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/types/v1/result.pb.h"
#include "probity/types/v1/tx.pb.h"

namespace probity::ledger {

class Module;

// The block being executed. During InitChain: height 0, the genesis time, zero hashes.
struct BlockInfo {
  std::string chain_id;
  uint64_t height = 0;
  int64_t time_unix_ms = 0;   // the proposer's clock; never earlier than the previous block
  Hash256 prev_block_hash{};  // hash of block height-1 (zeros for block 1)
  XOnlyPubKey proposer{};
};

// The transaction whose message is being handled.
struct TxInfo {
  Hash256 id{};
  XOnlyPubKey signer{};  // the account that signed (and paid the fee)
  uint64_t nonce = 0;
  uint64_t fee = 0;
  uint32_t index = 0;  // position in the block
};

// A read-only view of state. Keys are relative to the view's prefix.
class KvReader {
 public:
  virtual ~KvReader() = default;
  // nullopt when absent. An error means the node cannot read its own state (I/O); the ledger
  // then abandons the block, whatever the handler does with the error.
  virtual Result<std::optional<Bytes>> Get(ByteView key) const = 0;
  // Calls fn(key, value) for each key in [begin, end) in ascending byte order; an empty `end`
  // means "to the end of this view". Stops when fn returns false. A module may only scan
  // inside the prefixes it declares in Module::ScanPrefixes() (kFailedPrecondition otherwise).
  virtual Status Scan(ByteView begin, ByteView end,
                      const std::function<bool(ByteView key, ByteView value)>& fn) const = 0;
};

// Every key that starts with `prefix`, in order (Scan over [prefix, the next prefix)).
Status ScanPrefix(const KvReader& reader, ByteView prefix,
                  const std::function<bool(ByteView key, ByteView value)>& fn);

// A writable view; writes land in the current layer (see Atomicity above).
class KvStore : public KvReader {
 public:
  virtual void Set(ByteView key, ByteView value) = 0;
  virtual void Delete(ByteView key) = 0;
};

// What a module sees while it executes.
class Context {
 public:
  virtual ~Context() = default;
  virtual const BlockInfo& block() const = 0;
  // The state under "<module.Name()>/". Pass `*this` for your own; another module's store is
  // only for that module's own code (its API functions take the Context you pass them).
  virtual KvStore& Store(const Module& module) = 0;
  // Records an event in this layer. Type by convention "<module>.<name>"; attributes marked
  // `index` feed the node's event index (accounts as bech32m "prb1..." strings, so that
  // StreamEvents' account filter finds them).
  virtual void Emit(types::v1::Event event) = 0;
};

// What a module sees while it answers a query: committed state at one height.
class QueryContext {
 public:
  virtual ~QueryContext() = default;
  virtual uint64_t height() const = 0;
  // Scan is only available on the latest height (history keeps values, not an index).
  virtual const KvReader& Store(const Module& module) const = 0;
};

class Module {
 public:
  virtual ~Module() = default;

  // Lowercase [a-z0-9_]+, unique; the prefix of the module's state keys and event types.
  virtual std::string_view Name() const = 0;
  // The Msg.type_url values this module handles ("probity.bank.v1.MsgSend").
  virtual std::vector<std::string> MessageTypes() const = 0;
  // Key prefixes (relative to the module's slice) that the module scans in key order: order
  // books, queues by deadline. The ledger keeps an ordered copy of the keys under them; other
  // keys are only reachable by Get, which keeps a plain transfer from paying for an index it
  // never uses. "" declares the whole slice.
  virtual std::vector<std::string> ScanPrefixes() const { return {}; }

  // Writes the initial state from this module's section of genesis.json ("{}" if absent).
  virtual Status InitGenesis(Context& ctx, std::string_view section_json) = 0;

  // Stateless checks of a message (decodes, field sizes and ranges). Runs in CheckTx and
  // before execution, possibly on several threads at once.
  virtual Status ValidateMsg(const types::v1::Msg& msg) const = 0;
  // Executes a message that passed ValidateMsg. An error fails the message (its writes and
  // events are dropped): the tx result gets codespace = Name(), code = the Status code number
  // and log = the message.
  virtual Status HandleMsg(Context& ctx, const TxInfo& tx, const types::v1::Msg& msg) = 0;

  // Hooks around every block's transactions. An error here abandons the block (the node
  // halts): hooks must not fail on bad user input, only on broken state.
  virtual Status BeginBlock(Context& ctx) {
    (void)ctx;
    return Status::OK();
  }
  virtual Status EndBlock(Context& ctx) {
    (void)ctx;
    return Status::OK();
  }

  // A module query "<Name()>/<path>"; the reply is the module's own encoding (usually a
  // protobuf). kNotFound for an unknown path. Queries that need proofs use raw keys instead
  // ("store" queries on the node).
  virtual Result<Bytes> Query(const QueryContext& ctx, std::string_view path,
                              ByteView request) const {
    (void)ctx;
    (void)request;
    return Status::NotFound("no query '" + std::string(path) + "' in module " +
                            std::string(Name()));
  }
};

// The module that holds balances pays the ledger's fees. Exactly one per chain.
class FeePayer {
 public:
  virtual ~FeePayer() = default;
  // The balance from which `account` pays fees, in committed state (CheckTx).
  virtual Result<uint64_t> FeeBalance(const QueryContext& ctx,
                                      const XOnlyPubKey& account) const = 0;
  // Takes `fee` from `payer`. kFailedPrecondition (with the balance in the message) when
  // the balance is short; nothing is written then.
  virtual Status ChargeFee(Context& ctx, const XOnlyPubKey& payer, uint64_t fee) = 0;
};

}  // namespace probity::ledger
