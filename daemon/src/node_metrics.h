// The node's Prometheus metrics (probity_node_*): a collector that reads a running
// ledger::Node at each scrape, so the ledger keeps no metrics code of its own.
//
//   probity_node_info{chain_id,mode}              1
//   probity_node_height                           height of the last committed block
//   probity_node_blocks_committed_total           blocks committed by this process
//   probity_node_txs_committed_total              transactions in them
//   probity_node_mempool_txs / _mempool_bytes     what waits in the mempool
//   probity_node_seconds_since_commit             how old the app hash is
//   probity_node_last_block_age_seconds           wall clock minus the last block's time; on a
//                                                 follower, how far it lags the producer
//   probity_node_halted                           1 once the node stopped adding blocks
//   probity_node_follower_connected               follower: 1 while the block stream is up
//
// Thread-safety: scrapes may run while the node commits; destroy the NodeMetrics before the
// node.
#pragma once

#include <memory>

#include "probity/ledger/node.h"
#include "probity/observe/observe.h"

namespace probity::cli {

class NodeMetrics {
 public:
  // Publishes `node` (not owned) in `registry` until destroyed; afterwards scrapes keep the
  // last values.
  NodeMetrics(observe::Registry& registry, const ledger::Node& node);
  ~NodeMetrics();
  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace probity::cli
