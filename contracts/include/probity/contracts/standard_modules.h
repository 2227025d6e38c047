// The module set of the Probity chain: what `probity node` runs and what genesis.json's
// "modules" sections configure. Adding a module to the chain means adding it here (and to
// contracts/CMakeLists.txt); the ledger does not change.
#pragma once

#include "probity/ledger/chain_app.h"

namespace probity::contracts {

// A fresh set: bank (which also pays fees). Hooks run in this order.
ledger::ModuleSet StandardModules();

}  // namespace probity::contracts
