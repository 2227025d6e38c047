// The marketplace modules (staking, market, jobs) wired together, for the chain's module set.
#pragma once

#include "probity/contracts/bank.h"
#include "probity/ledger/chain_app.h"
#include "probity/workloads/dataset.h"

namespace probity::contracts {

struct MarketplaceOptions {
  // Where the dispute referee finds training data sets (not owned; outlives the modules).
  workloads::DataCatalog* catalog = &workloads::DataCatalog::Default();
};

// Appends staking, market and jobs to `set`, in that order (their hooks run in that order,
// after the modules already there). REQUIRES: `bank` is in `set`.
void AddMarketplaceModules(ledger::ModuleSet& set, Bank* bank,
                           const MarketplaceOptions& options = {});

// The genesis sections of the three modules with their default parameters, by module name
// (what `probity init` writes under "modules").
std::map<std::string, std::string> MarketplaceDefaultGenesis();

}  // namespace probity::contracts
