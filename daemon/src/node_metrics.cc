#include "node_metrics.h"

#include <chrono>
#include <mutex>

namespace probity::cli {

// Shared with the collector, which outlives this object inside the registry.
struct NodeMetrics::State {
  std::mutex mu;
  const ledger::Node* node = nullptr;
};

namespace {

// Counters only go up; the node's totals are copied in as increments.
void CatchUp(observe::Counter& c, uint64_t total) {
  if (total > c.value()) c.Inc(total - c.value());
}

void Collect(observe::Registry& r, const ledger::Node& node) {
  ledger::NodeStatus s = node.Describe();
  r.GetGauge("probity_node_info", "The chain this node serves and its role (value 1).",
             {{"chain_id", node.genesis().chain_id}, {"mode", s.mode}})
      .Set(1);
  r.GetGauge("probity_node_height", "Height of the last committed block.")
      .Set(static_cast<double>(s.height));
  CatchUp(r.GetCounter("probity_node_blocks_committed_total",
                       "Blocks committed by this process (produced, or verified and applied)."),
          s.blocks_committed);
  CatchUp(r.GetCounter("probity_node_txs_committed_total",
                       "Transactions in the blocks committed by this process."),
          s.txs_committed);
  r.GetGauge("probity_node_mempool_txs", "Transactions waiting in the mempool.")
      .Set(static_cast<double>(s.mempool_txs));
  r.GetGauge("probity_node_mempool_bytes", "Bytes of the transactions waiting in the mempool.")
      .Set(static_cast<double>(s.mempool_bytes));
  r.GetGauge("probity_node_seconds_since_commit",
             "Seconds since this node last committed a block (the age of its app hash).")
      .Set(s.seconds_since_commit);
  if (s.height > 0) {
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    r.GetGauge("probity_node_last_block_age_seconds",
               "Wall-clock time minus the last block's timestamp; on a follower, its lag behind "
               "the producer.")
        .Set(static_cast<double>(now_ms - s.time_unix_ms) / 1000.0);
  }
  r.GetGauge("probity_node_halted", "1 once the node has stopped adding blocks (see its log).")
      .Set(s.halted.empty() ? 0 : 1);
  if (node.is_follower()) {
    r.GetGauge("probity_node_follower_connected",
               "1 while the stream of blocks from the followed node is up.")
        .Set(s.follower_connected ? 1 : 0);
  }
}

}  // namespace

NodeMetrics::NodeMetrics(observe::Registry& registry, const ledger::Node& node)
    : state_(std::make_shared<State>()) {
  state_->node = &node;
  registry.AddCollector([state = state_](observe::Registry& r) {
    std::lock_guard<std::mutex> l(state->mu);
    if (state->node != nullptr) Collect(r, *state->node);
  });
}

NodeMetrics::~NodeMetrics() {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->node = nullptr;
}

}  // namespace probity::cli
