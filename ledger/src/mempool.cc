#include "probity/ledger/mempool.h"

#include <algorithm>
#include <queue>

namespace probity::ledger {
namespace {

TxVerdict Refuse(TxCode c, std::string why) { return TxVerdict::Ledger(c, std::move(why)); }

}  // namespace

void Mempool::SetTailLocked(const XOnlyPubKey& sender, const Sender& s) {
  if (s.txs.empty()) return;
  const Entry& last = s.txs.rbegin()->second;
  tails_.insert(Tail{last.fee, last.seq, sender});
}

void Mempool::ClearTailLocked(const XOnlyPubKey& sender, const Sender& s) {
  if (s.txs.empty()) return;
  const Entry& last = s.txs.rbegin()->second;
  tails_.erase(Tail{last.fee, last.seq, sender});
}

void Mempool::RemoveLocked(const XOnlyPubKey& sender, uint64_t nonce) {
  auto sit = senders_.find(sender);
  if (sit == senders_.end()) return;
  Sender& s = sit->second;
  auto it = s.txs.find(nonce);
  if (it == s.txs.end()) return;
  ClearTailLocked(sender, s);
  by_id_.erase(it->second.id);
  count_ -= 1;
  bytes_ -= it->second.tx->size();
  s.txs.erase(it);
  if (s.txs.empty()) {
    senders_.erase(sit);
  } else {
    SetTailLocked(sender, s);
  }
}

uint64_t Mempool::generation() const { return generation_.load(); }

TxVerdict Mempool::Add(ByteView tx, const CheckTxResponse& checked, uint64_t generation,
                       std::vector<DroppedTx>* evicted, bool* stale) {
  const DecodedTx& d = checked.tx;
  // Copied before the lock is taken (wasted when refused, which is the rare case).
  auto bytes = std::make_shared<const Bytes>(tx.begin(), tx.end());
  std::lock_guard<std::mutex> l(mu_);
  *stale = generation != generation_;
  if (*stale) return TxVerdict::Ledger(TxCode::kNotAccepting, "state changed; check again");
  if (by_id_.count(d.id)) return Refuse(TxCode::kDuplicate, "the transaction is already pending");

  auto sit = senders_.find(d.signer);
  const Sender* s = sit == senders_.end() ? nullptr : &sit->second;
  uint64_t expected = checked.account_next_nonce;
  if (s != nullptr && s->txs.rbegin()->first + 1 > expected) expected = s->txs.rbegin()->first + 1;

  const Entry* replaced = nullptr;
  if (s != nullptr) {
    auto it = s->txs.find(d.nonce);
    if (it != s->txs.end()) {
      if (d.fee <= it->second.fee) {
        return Refuse(TxCode::kDuplicate,
                      "nonce " + std::to_string(d.nonce) + " is already pending with fee " +
                          std::to_string(it->second.fee) + "; a replacement must pay more");
      }
      replaced = &it->second;
    }
  }
  if (replaced == nullptr && d.nonce != expected) {
    return Refuse(TxCode::kNonceGap, "nonce " + std::to_string(d.nonce) +
                                         " is out of order: the next expected nonce is " +
                                         std::to_string(expected));
  }
  if (replaced == nullptr && s != nullptr && s->txs.size() >= limits_.max_per_sender) {
    return Refuse(TxCode::kSenderLimit, "this account already has " +
                                            std::to_string(s->txs.size()) +
                                            " pending transactions (the limit)");
  }
  // Fees of the account's still-uncommitted pending transactions, with this one.
  uint64_t fees = d.fee;
  bool overflow = false;
  if (s != nullptr) {
    for (auto it = s->txs.lower_bound(checked.account_next_nonce); it != s->txs.end(); ++it) {
      if (it->first == d.nonce) continue;  // the one being replaced
      if (fees > UINT64_MAX - it->second.fee) overflow = true;
      fees += it->second.fee;
    }
  }
  if (overflow || fees > checked.account_fee_balance) {
    return Refuse(TxCode::kInsufficientFee,
                  "balance " + std::to_string(checked.account_fee_balance) +
                      " cannot pay this fee with the account's pending ones (" +
                      (overflow ? std::string("overflow") : std::to_string(fees)) + " in all)");
  }
  // Room, by evicting lower-paying tails of other accounts.
  uint64_t freed_count = replaced ? 1 : 0;
  uint64_t freed_bytes = replaced ? replaced->tx->size() : 0;
  while (count_ - freed_count + 1 > limits_.max_txs ||
         bytes_ - freed_bytes + tx.size() > limits_.max_bytes) {
    auto victim = tails_.begin();
    if (victim == tails_.end() || victim->fee >= d.fee || victim->sender == d.signer) {
      uint64_t floor = victim == tails_.end() ? 0 : victim->fee;
      return Refuse(TxCode::kMempoolFull, "the mempool is full (" + std::to_string(count_.load()) +
                                              " transactions); offer a fee above " +
                                              std::to_string(floor));
    }
    XOnlyPubKey vs = victim->sender;
    const Entry& ve = senders_.at(vs).txs.rbegin()->second;
    if (evicted) {
      evicted->push_back(
          {ve.id, Refuse(TxCode::kMempoolFull, "evicted from a full mempool by a higher fee")});
    }
    RemoveLocked(vs, senders_.at(vs).txs.rbegin()->first);
  }
  if (replaced != nullptr) {
    if (evicted) {
      evicted->push_back({replaced->id, Refuse(TxCode::kDuplicate, "replaced by a higher fee")});
    }
    RemoveLocked(d.signer, d.nonce);
  }
  Sender& dst = senders_[d.signer];
  ClearTailLocked(d.signer, dst);
  Entry e;
  e.tx = std::move(bytes);
  e.id = d.id;
  e.fee = d.fee;
  e.seq = next_seq_++;
  dst.txs.emplace(d.nonce, std::move(e));
  SetTailLocked(d.signer, dst);
  by_id_[d.id] = {d.signer, d.nonce};
  count_ += 1;
  bytes_ += tx.size();
  return TxVerdict::Ok();
}

std::vector<std::shared_ptr<const Bytes>> Mempool::Reap(uint64_t max_txs,
                                                        uint64_t max_bytes) const {
  std::lock_guard<std::mutex> l(mu_);
  struct Head {
    uint64_t fee, seq;
    const Sender* sender;
    std::map<uint64_t, Entry>::const_iterator it;
    bool operator<(const Head& o) const {  // priority_queue: top = highest fee, earliest
      if (fee != o.fee) return fee < o.fee;
      return seq > o.seq;
    }
  };
  std::vector<Head> heads;
  heads.reserve(senders_.size());
  for (const auto& [key, s] : senders_) {
    auto it = s.txs.begin();
    heads.push_back(Head{it->second.fee, it->second.seq, &s, it});
  }
  std::priority_queue<Head> q(std::less<Head>(), std::move(heads));  // one heapify
  std::vector<std::shared_ptr<const Bytes>> out;
  uint64_t bytes = 0;
  while (!q.empty() && out.size() < max_txs) {
    Head h = q.top();
    q.pop();
    const Entry& e = h.it->second;
    if (bytes + e.tx->size() > max_bytes) continue;  // this account waits for the next block
    bytes += e.tx->size();
    out.push_back(e.tx);
    auto next = std::next(h.it);
    if (next != h.sender->txs.end() && next->first == h.it->first + 1) {
      q.push(Head{next->second.fee, next->second.seq, h.sender, next});
    }
  }
  return out;
}

void Mempool::ApplyRecheckLocked(const XOnlyPubKey& sender, const CheckTxResponse& c,
                                 std::vector<DroppedTx>* dropped) {
  auto sit = senders_.find(sender);
  if (sit == senders_.end()) return;
  // Decided in one pass over the account's run and removed afterwards (removing would
  // invalidate the walk); the common case, nothing to drop, allocates nothing.
  std::vector<uint64_t> drop_nonces;
  auto drop = [&](uint64_t nonce, const Hash256& id, TxVerdict why) {
    dropped->push_back({id, std::move(why)});
    drop_nonces.push_back(nonce);
  };
  const uint64_t next = c.account_next_nonce;
  const bool state_known =
      c.verdict.ok() || c.verdict.code == static_cast<uint32_t>(TxCode::kNonceUsed);
  uint64_t expect = next, fees = 0;
  bool cut = false;
  TxVerdict cut_reason;
  for (const auto& [n, e] : sit->second.txs) {
    if (!state_known) {
      // The account's transactions no longer pass the stateless checks (cannot happen for a
      // fixed chain, but a node must not keep what it cannot check).
      drop(n, e.id, c.verdict);
      continue;
    }
    if (n < next) {
      drop(n, e.id,
           Refuse(TxCode::kNonceUsed,
                  "nonce " + std::to_string(n) + " was used by a committed transaction"));
      continue;
    }
    if (!cut && n != expect) {
      cut = true;
      cut_reason = Refuse(TxCode::kNonceGap, "nonce " + std::to_string(n) +
                                                 " no longer follows the account's next nonce " +
                                                 std::to_string(expect));
    }
    if (!cut && (fees > UINT64_MAX - e.fee || fees + e.fee > c.account_fee_balance)) {
      cut = true;
      cut_reason =
          Refuse(TxCode::kInsufficientFee, "balance " + std::to_string(c.account_fee_balance) +
                                               " no longer covers the pending fees");
    }
    if (cut) {
      drop(n, e.id, cut_reason);
      continue;
    }
    fees += e.fee;
    ++expect;
  }
  for (uint64_t n : drop_nonces) RemoveLocked(sender, n);
}

std::vector<DroppedTx> Mempool::Update(const std::vector<Hash256>& included,
                                       const std::function<CheckTxResponse(ByteView)>& recheck) {
  // Three steps, so that submitters are not held up while the state is read: under the lock,
  // remove what the block included and pick the accounts to re-check (holding on to the last
  // transaction of each); without it, run `recheck` on those; under the lock again, apply the
  // answers. Only the account's next nonce and fee balance are taken from an answer, and
  // those come from the committed state, which only the block after this one changes; a
  // transaction added in between was checked against that same state (Add refuses one checked
  // before the generation changed).
  std::vector<std::pair<XOnlyPubKey, std::shared_ptr<const Bytes>>> to_recheck;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++generation_;
    std::vector<XOnlyPubKey> touched;
    touched.reserve(included.size());
    for (const auto& id : included) {
      auto it = by_id_.find(id);
      if (it == by_id_.end()) continue;
      auto [sender, nonce] = it->second;
      touched.push_back(sender);
      RemoveLocked(sender, nonce);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    auto pick = [&](const auto& sender_it) {
      to_recheck.emplace_back(sender_it->first, sender_it->second.txs.rbegin()->second.tx);
    };
    for (const auto& sender : touched) {
      if (auto sit = senders_.find(sender); sit != senders_.end()) pick(sit);
    }
    // Round-robin over the others, a bounded number per block.
    uint64_t budget =
        std::min<uint64_t>(limits_.recheck_per_block,
                           std::max<uint64_t>(limits_.recheck_min_per_block, included.size() / 4));
    auto it = senders_.upper_bound(recheck_cursor_);
    for (size_t visited = 0; budget > 0 && visited < senders_.size(); ++visited) {
      if (it == senders_.end()) it = senders_.begin();
      if (it == senders_.end()) break;
      const XOnlyPubKey& key = it->first;
      recheck_cursor_ = key;
      if (!std::binary_search(touched.begin(), touched.end(), key)) {
        --budget;
        pick(it);
      }
      ++it;
    }
  }
  std::vector<CheckTxResponse> answers;
  answers.reserve(to_recheck.size());
  for (const auto& [sender, tx] : to_recheck) answers.push_back(recheck(*tx));
  std::vector<DroppedTx> dropped;
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < to_recheck.size(); ++i) {
    ApplyRecheckLocked(to_recheck[i].first, answers[i], &dropped);
  }
  return dropped;
}

bool Mempool::Contains(const Hash256& id) const {
  std::lock_guard<std::mutex> l(mu_);
  return by_id_.count(id) > 0;
}

uint64_t Mempool::size() const { return count_.load(); }

uint64_t Mempool::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

}  // namespace probity::ledger
