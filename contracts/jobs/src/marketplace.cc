#include "probity/contracts/marketplace.h"

#include <memory>

#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/contracts/staking.h"

namespace probity::contracts {

void AddMarketplaceModules(ledger::ModuleSet& set, Bank* bank, const MarketplaceOptions& options) {
  auto staking = std::make_unique<Staking>(bank);
  auto market = std::make_unique<Market>(bank, staking.get());
  auto jobs = std::make_unique<Jobs>(bank, staking.get(), market.get(),
                                     std::make_unique<verifier::Referee>(options.catalog));
  market->SetAssignmentListener(jobs.get());
  set.modules.push_back(std::move(staking));
  set.modules.push_back(std::move(market));
  set.modules.push_back(std::move(jobs));
}

std::map<std::string, std::string> MarketplaceDefaultGenesis() {
  return {{std::string(Staking::kName), Staking::DefaultGenesisJson()},
          {std::string(Market::kName), Market::DefaultGenesisJson()},
          {std::string(Jobs::kName), Jobs::DefaultGenesisJson()}};
}

}  // namespace probity::contracts
