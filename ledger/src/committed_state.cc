#include "committed_state.h"

#include <bit>
#include <string_view>

namespace probity::ledger {
namespace {

size_t HashKey(ByteView key) { return std::hash<std::string_view>()(AsChars(key)); }

}  // namespace

LastBlockView::LastBlockView(const CommittedState* committed, uint64_t version,
                             std::vector<StateWrite> writes)
    : committed_(committed), version_(version), writes_(std::move(writes)) {
  // At most half full, so that a probe ends within a few slots.
  slots_.assign(std::bit_ceil(std::max<size_t>(16, 2 * writes_.size())), 0);
  const size_t mask = slots_.size() - 1;
  for (size_t i = 0; i < writes_.size(); ++i) {
    size_t s = HashKey(writes_[i].key) & mask;
    while (slots_[s] != 0) s = (s + 1) & mask;
    slots_[s] = static_cast<uint32_t>(i + 1);
  }
}

Result<std::optional<Bytes>> LastBlockView::Get(ByteView key) const {
  if (committed_->version() == version_) {
    const size_t mask = slots_.size() - 1;
    for (size_t s = HashKey(key) & mask; slots_[s] != 0; s = (s + 1) & mask) {
      const StateWrite& w = writes_[slots_[s] - 1];
      if (BytesEqual(w.key, key)) return w.value;
    }
  }
  return committed_->Get(key);
}

}  // namespace probity::ledger
