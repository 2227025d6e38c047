#include "probity/contracts/standard_modules.h"

#include "probity/contracts/bank.h"

namespace probity::contracts {

ledger::ModuleSet StandardModules() {
  ledger::ModuleSet set;
  auto bank = std::make_unique<Bank>();
  set.fee_payer = bank.get();
  set.modules.push_back(std::move(bank));
  return set;
}

}  // namespace probity::contracts
