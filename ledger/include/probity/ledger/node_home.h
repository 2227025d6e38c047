// The layout of a node's home directory (`probity init --home DIR`):
//
//   DIR/config/config.toml   how this node runs (node_config.h)
//   DIR/config/genesis.json  the chain (genesis.h); also the CLI's trust anchor
//   DIR/config/node.key      the node's key (keystore format; the proposer's, on a producer)
//   DIR/data/                the RocksDB database (storage.h)
//   DIR/data/node.addr       written by a running node: the gRPC address it bound
//   DIR/keys/NAME.key        account keys of `probity keys`
#pragma once

#include <string>

#include "probity/primitives/status.h"

namespace probity::ledger {

struct NodeHome {
  std::string root;

  std::string config_dir() const { return root + "/config"; }
  std::string config_file() const { return root + "/config/config.toml"; }
  std::string genesis_file() const { return root + "/config/genesis.json"; }
  std::string node_key_file() const { return root + "/config/node.key"; }
  std::string data_dir() const { return root + "/data"; }
  std::string address_file() const { return root + "/data/node.addr"; }
  std::string keys_dir() const { return root + "/keys"; }
  std::string key_file(const std::string& name) const { return root + "/keys/" + name + ".key"; }
};

// Writes `text` to `path` through a synced temporary file and a rename, so that a reader
// sees the old file or the new one. Mode 0644. kIOError naming the path.
Status WriteFileAtomically(const std::string& path, const std::string& text);
// The whole file; kNotFound when it does not exist.
Result<std::string> ReadFileToString(const std::string& path);

}  // namespace probity::ledger
