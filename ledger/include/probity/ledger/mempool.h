// The mempool: checked transactions waiting for a block.
//
// Order: a block takes the best-paying transactions first (fee, then arrival), but an
// account's transactions always in nonce order, so an account's cheap transaction delays its
// later ones (as in Ethereum's pool). Each account's pending transactions form one run of
// consecutive nonces starting at its next unused nonce: a transaction that would leave a gap
// is refused (kNonceGap), one that reuses a pending nonce replaces it only with a higher fee.
// An account's pending fees together must not exceed its fee balance.
//
// Limits: max_txs and max_bytes in total, max_per_sender per account. When full, a newcomer
// evicts the worst tail (the lowest-fee last transaction of some account, newest first) if it
// pays strictly more; otherwise it is refused (kMempoolFull). Evicting a tail never leaves a
// gap.
//
// After each block, Update drops the included transactions and re-checks the accounts they
// touched against the new state (stale nonces, gaps, fees no longer covered); other accounts
// are re-checked round-robin, a number per block bounded by the block's size (MempoolLimits),
// so that a block's cost stays bounded however full the pool is.
//
// Thread-safety: all methods are safe from any thread (one internal mutex).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "probity/ledger/app.h"
#include "probity/ledger/tx.h"

namespace probity::ledger {

struct MempoolLimits {
  uint64_t max_txs = 50000;
  uint64_t max_bytes = 64u << 20;
  uint64_t max_per_sender = 256;
  // Accounts re-checked per block beyond those the block touched: a quarter of the block's
  // transaction count, but at least recheck_min_per_block and at most recheck_per_block, so
  // that this cost grows with the block's own work (an untouched account changes only through
  // other modules' actions, such as a slash, which are rare).
  uint64_t recheck_per_block = 4096;
  uint64_t recheck_min_per_block = 256;
  // SubmitTx waits (up to a second) while the pool holds this many transactions, so that
  // checking new arrivals does not starve block production of CPU; 0 = never wait.
  uint64_t backpressure_txs = 20000;
};

// A transaction leaving the pool without being committed, and why.
struct DroppedTx {
  Hash256 id;
  TxVerdict reason;
};

class Mempool {
 public:
  explicit Mempool(MempoolLimits limits) : limits_(limits) {}

  // Counts Update calls. A caller reads it before CheckTx reads the state, and passes it to
  // Add: if a block was applied in between, the account state in `checked` may predate the
  // pool's contents, and Add asks for a fresh check instead of judging nonces on stale data.
  uint64_t generation() const;

  // Adds `tx`, which passed CheckTx(kNew) with response `checked`, computed from state read
  // after generation() returned `generation`. Sets *stale (and adds nothing) when Update ran
  // since: run CheckTx again and retry. On success, `evicted` (if not null) receives the
  // transactions pushed out to make room.
  TxVerdict Add(ByteView tx, const CheckTxResponse& checked, uint64_t generation,
                std::vector<DroppedTx>* evicted, bool* stale);

  // Up to `max_txs` transactions totalling at most `max_bytes`, best first, each account's in
  // nonce order. The pool is unchanged. The bytes are shared with the pool (never modified).
  std::vector<std::shared_ptr<const Bytes>> Reap(uint64_t max_txs, uint64_t max_bytes) const;

  // After a block: removes `included`, then re-checks accounts with `recheck` (which runs
  // CheckTx(kRecheck) on one of the account's transactions, without the pool's lock held).
  // Returns what was dropped. REQUIRES: one caller at a time (the node's commit path).
  std::vector<DroppedTx> Update(const std::vector<Hash256>& included,
                                const std::function<CheckTxResponse(ByteView)>& recheck);

  bool Contains(const Hash256& id) const;
  uint64_t size() const;
  uint64_t bytes() const;

 private:
  struct Entry {
    std::shared_ptr<const Bytes> tx;  // shared, so that Reap and Update copy no bytes under mu_
    Hash256 id{};
    uint64_t fee = 0;
    uint64_t seq = 0;  // arrival order
  };
  struct Sender {
    std::map<uint64_t, Entry> txs;  // nonce -> entry
  };
  struct KeyHash {
    size_t operator()(const std::array<uint8_t, 32>& k) const {
      size_t v;
      std::memcpy(&v, k.data(), sizeof(v));
      return v;
    }
  };
  // Eviction order: lowest fee first, then the newest arrival.
  struct Tail {
    uint64_t fee;
    uint64_t seq;
    XOnlyPubKey sender;
    bool operator<(const Tail& o) const {
      if (fee != o.fee) return fee < o.fee;
      if (seq != o.seq) return seq > o.seq;
      return sender < o.sender;
    }
  };

  // REQUIRES: mu_ held. Removes one entry and keeps tails_, counters and maps consistent;
  // erases the sender when it has nothing left.
  void RemoveLocked(const XOnlyPubKey& sender, uint64_t nonce);
  void SetTailLocked(const XOnlyPubKey& sender, const Sender& s);
  void ClearTailLocked(const XOnlyPubKey& sender, const Sender& s);
  // REQUIRES: mu_ held. Drops the sender's transactions that `c` (CheckTx(kRecheck) on one
  // of them, against the committed state) shows can no longer be included.
  void ApplyRecheckLocked(const XOnlyPubKey& sender, const CheckTxResponse& c,
                          std::vector<DroppedTx>* dropped);

  const MempoolLimits limits_;
  mutable std::mutex mu_;
  std::map<XOnlyPubKey, Sender> senders_;  // ordered: round-robin rechecks
  std::unordered_map<Hash256, std::pair<XOnlyPubKey, uint64_t>, KeyHash> by_id_;
  std::set<Tail> tails_;
  uint64_t bytes_ = 0, next_seq_ = 0;
  // Written under mu_, read without it by size() and generation(), which every submission
  // calls (the lock is busy enough already).
  std::atomic<uint64_t> count_{0}, generation_{0};
  XOnlyPubKey recheck_cursor_{};  // round-robin position for untouched accounts
};

}  // namespace probity::ledger
