#include "probity/contracts/standard_modules.h"

#include "probity/contracts/bank.h"
#include "probity/contracts/marketplace.h"

namespace probity::contracts {

ledger::ModuleSet StandardModules() {
  ledger::ModuleSet set;
  auto bank = std::make_unique<Bank>();
  Bank* bank_module = bank.get();
  set.fee_payer = bank.get();
  set.modules.push_back(std::move(bank));
  AddMarketplaceModules(set, bank_module);
  return set;
}

}  // namespace probity::contracts
