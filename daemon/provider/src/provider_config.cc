// The daemon's settings from text (provider.h): ParseProviderConfig reads
// HOME/config/provider.toml through the ledger's strict TOML reader; ParseProviderFault reads
// PROBITY_TEST_PROVIDER_FAULT.
#include <set>

#include "pricing.h"
#include "probity/ledger/toml.h"
#include "probity/provider/provider.h"

namespace probity::provider {

Result<ProviderFileConfig> ParseProviderConfig(std::string_view text) {
  PROBITY_ASSIGN_OR_RETURN(ledger::TomlDocument doc, ledger::ParseToml(text));
  static const std::set<std::string> kStrings = {
      "key",       "node",    "listen",          "advertise", "backend",           "metrics",
      "tls_cert",  "tls_key", "pricing_command", "data_dir",  "fashion_mnist_dir", "log_level",
      "log_format"};
  static const std::set<std::string> kNumbers = {"capacity", "bond", "max_blob_bytes",
                                                 "offer_lifetime_blocks", "auth_window_ms"};
  static const std::set<std::string> kBools = {"recalibrate"};
  ProviderFileConfig config;
  for (const auto& [table, keys] : doc) {
    if (table == "provider") {
      for (const auto& [key, value] : keys) {
        std::string flag = key;
        for (char& c : flag) c = c == '_' ? '-' : c;
        const std::string where = "provider.toml: [provider] " + key;
        if (kStrings.count(key)) {
          const std::string* s = std::get_if<std::string>(&value);
          if (!s) return Status::InvalidArgument(where + " must be a string");
          config.flags[flag] = *s;
        } else if (kNumbers.count(key)) {
          const int64_t* n = std::get_if<int64_t>(&value);
          if (!n || *n < 0) return Status::InvalidArgument(where + " must be a whole number >= 0");
          config.flags[flag] = std::to_string(*n);
        } else if (kBools.count(key)) {
          const bool* b = std::get_if<bool>(&value);
          if (!b) return Status::InvalidArgument(where + " must be true or false");
          if (*b) config.flags[flag] = "true";
        } else {
          return Status::InvalidArgument("provider.toml: unknown key '" + key + "' in [provider]");
        }
      }
    } else if (table == "prices") {
      for (const auto& [key, value] : keys) {
        auto kind = KindFromName(key);
        if (!kind.ok()) return kind.status().WithContext("provider.toml: [prices]");
        const int64_t* n = std::get_if<int64_t>(&value);
        if (!n || *n <= 0) {
          return Status::InvalidArgument("provider.toml: [prices] " + key +
                                         " must be a whole number >= 1");
        }
        config.prices[*kind] = static_cast<uint64_t>(*n);
      }
    } else if (table.empty() && keys.empty()) {
      continue;
    } else {
      return Status::InvalidArgument("provider.toml: unknown table [" + table +
                                     "] (expected [provider] and [prices])");
    }
  }
  return config;
}

Result<ProviderFault> ParseProviderFault(std::string_view text) {
  ProviderFault f;
  if (text.empty()) return f;
  std::string_view rest = text;
  for (bool more = true; more;) {
    const size_t comma = rest.find(',');
    more = comma != std::string_view::npos;
    std::string_view item = rest.substr(0, comma);
    if (more) rest = rest.substr(comma + 1);
    if (item == "withhold-openings") {
      f.withhold_openings = true;
    } else if (item.rfind("corrupt-segment:", 0) == 0) {
      std::string_view n = item.substr(std::string_view("corrupt-segment:").size());
      if (n.empty() || n.size() > 19 ||
          n.find_first_not_of("0123456789") != std::string_view::npos) {
        return Status::InvalidArgument("corrupt-segment:I needs a segment number, got '" +
                                       std::string(item) + "'");
      }
      f.corrupt_segment = std::stoull(std::string(n));
    } else {
      return Status::InvalidArgument("unknown provider fault '" + std::string(item) +
                                     "' (corrupt-segment:I, withhold-openings)");
    }
  }
  return f;
}

}  // namespace probity::provider
