#include "data_directory.h"

#include <filesystem>
#include <map>

namespace probity::provider {

Result<std::vector<DataDirectoryEntry>> AddDataDirectory(const std::string& dir,
                                                         workloads::DataCatalog& catalog) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::NotFound("data directory " + dir + " does not exist");
  }
  const std::string images_suffix = "-images-idx3-ubyte";
  const std::string labels_suffix = "-labels-idx1-ubyte";
  std::map<std::string, std::pair<std::string, std::string>> pairs;  // name -> (images, labels)
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::string file = entry.path().filename().string();
    std::string stem = file;
    if (stem.size() > 3 && stem.compare(stem.size() - 3, 3, ".gz") == 0) {
      stem.resize(stem.size() - 3);
    }
    auto ends = [&](const std::string& suffix) {
      return stem.size() > suffix.size() &&
             stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    // An uncompressed file wins over its .gz twin (the order of the listing is arbitrary).
    const bool gz = stem != file;
    if (ends(images_suffix)) {
      auto& slot = pairs[stem.substr(0, stem.size() - images_suffix.size())].first;
      if (slot.empty() || !gz) slot = entry.path().string();
    } else if (ends(labels_suffix)) {
      auto& slot = pairs[stem.substr(0, stem.size() - labels_suffix.size())].second;
      if (slot.empty() || !gz) slot = entry.path().string();
    }
  }
  if (ec) return Status::IOError("cannot list " + dir + ": " + ec.message());
  std::vector<DataDirectoryEntry> added;
  for (const auto& [name, files] : pairs) {
    if (files.first.empty() || files.second.empty()) continue;
    auto data = workloads::LoadIdxDataset(files.first, files.second);
    if (!data.ok()) return data.status().WithContext("data set " + name + " in " + dir);
    added.push_back({name, data->id, data->count});
    catalog.Add(std::make_shared<const workloads::Dataset>(std::move(data).value()));
  }
  return added;
}

}  // namespace probity::provider
