// TEST ONLY: a ledger::Context over an in-memory ordered map, for calling a module's C++ API
// (Staking::Slash, Staking::PickVerifier) directly. Writes apply at once (no layers): tests
// that need the ledger's atomicity use the chain harness instead.
#pragma once

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "probity/ledger/module.h"

namespace probity::contracts::testing {

class MemContext final : public ledger::Context {
 public:
  MemContext() { block_.chain_id = "test-chain"; }
  ledger::BlockInfo& mutable_block() { return block_; }
  const ledger::BlockInfo& block() const override { return block_; }
  ledger::KvStore& Store(const ledger::Module& m) override {
    std::string prefix = std::string(m.Name()) + "/";
    for (auto& s : stores_) {
      if (s->prefix == prefix) return *s;
    }
    stores_.push_back(std::make_unique<View>(&data_, prefix));
    return *stores_.back();
  }
  void Emit(types::v1::Event event) override { events.push_back(std::move(event)); }
  std::vector<types::v1::Event> events;

 private:
  using Map = std::map<std::string, Bytes>;
  struct View final : ledger::KvStore {
    View(Map* d, std::string p) : data(d), prefix(std::move(p)) {}
    std::string Full(ByteView k) const { return prefix + std::string(AsChars(k)); }
    Result<std::optional<Bytes>> Get(ByteView key) const override {
      auto it = data->find(Full(key));
      if (it == data->end()) return std::optional<Bytes>();
      return std::optional<Bytes>(it->second);
    }
    Status Scan(ByteView begin, ByteView end,
                const std::function<bool(ByteView, ByteView)>& fn) const override {
      std::string b = Full(begin);
      std::string e = end.empty() ? std::string() : Full(end);
      for (auto it = data->lower_bound(b); it != data->end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        if (!e.empty() && it->first >= e) break;
        std::string_view k(it->first);
        k.remove_prefix(prefix.size());
        if (!fn(AsBytes(k), it->second)) break;
      }
      return Status::OK();
    }
    void Set(ByteView key, ByteView value) override {
      (*data)[Full(key)] = Bytes(value.begin(), value.end());
    }
    void Delete(ByteView key) override { data->erase(Full(key)); }
    Map* data;
    std::string prefix;
  };
  ledger::BlockInfo block_;
  Map data_;
  std::vector<std::unique_ptr<View>> stores_;
};

}  // namespace probity::contracts::testing
