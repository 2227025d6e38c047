// Training data sets a provider holds besides Fashion-MNIST: every IDX pair
//   DIR/NAME-images-idx3-ubyte[.gz]  +  DIR/NAME-labels-idx1-ubyte[.gz]
// in a directory (Fashion-MNIST's own files follow this naming too: NAME = "train", "t10k"),
// loaded and added to the catalog under their content id (dataset.h), so that job specs
// naming that id run here. `probity provider --data-dir DIR` (repeatable).
//
// Thread-safety: as DataCatalog.
#pragma once

#include <string>
#include <vector>

#include "probity/primitives/status.h"
#include "probity/workloads/dataset.h"

namespace probity::provider {

struct DataDirectoryEntry {
  std::string name;
  Hash256 id{};
  uint32_t count = 0;
};

// kNotFound for a directory that does not exist; the loader's error naming the files for a
// pair that does not load. Images without labels (or the reverse) are skipped.
Result<std::vector<DataDirectoryEntry>> AddDataDirectory(const std::string& dir,
                                                         workloads::DataCatalog& catalog);

}  // namespace probity::provider
