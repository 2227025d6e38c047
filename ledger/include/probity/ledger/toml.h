// A strict parser for the subset of TOML 1.0 that node configs use.
//
// Accepted: comments (# to end of line), blank lines, table headers [name] (bare keys
// [A-Za-z0-9_-]+), and `key = value` with bare keys, where a value is a basic string
// ("..." with \" \\ \n \t \uXXXX escapes), a decimal integer (optional sign, _ separators
// between digits), or true / false. Everything else in TOML (arrays, inline tables, dotted
// keys, floats, dates, literal and multi-line strings) is refused with the line number, as
// are duplicate keys and duplicate tables: a config that does not mean what it seems to is
// an error, never a silent default.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "probity/primitives/status.h"

namespace probity::ledger {

using TomlValue = std::variant<std::string, int64_t, bool>;

// table name ("" for keys before the first header) -> key -> value.
using TomlDocument = std::map<std::string, std::map<std::string, TomlValue>>;

Result<TomlDocument> ParseToml(std::string_view text);

}  // namespace probity::ledger
