#include "probity/ledger/toml.h"

#include <cctype>
#include <limits>

namespace probity::ledger {
namespace {

bool IsBareKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

class LineParser {
 public:
  LineParser(std::string_view line, int number) : s_(line), line_(number) {}

  Status Error(const std::string& what) const {
    return Status::InvalidArgument("config line " + std::to_string(line_) + ": " + what);
  }
  void SkipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t')) ++p_;
  }
  // After the value: only spaces and an optional comment may follow.
  Status ExpectEnd() {
    SkipSpace();
    if (p_ < s_.size() && s_[p_] != '#') return Error("unexpected text after the value");
    return Status::OK();
  }
  Result<std::string> BareKey() {
    size_t start = p_;
    while (p_ < s_.size() && IsBareKeyChar(s_[p_])) ++p_;
    if (p_ == start) return Error("expected a key ([A-Za-z0-9_-]+)");
    return std::string(s_.substr(start, p_ - start));
  }
  bool Consume(char c) {
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool AtEnd() const { return p_ >= s_.size(); }
  char Peek() const { return s_[p_]; }

  Result<TomlValue> Value() {
    if (AtEnd()) return Error("missing value");
    char c = Peek();
    if (c == '"') return String();
    if (s_.substr(p_, 4) == "true") {
      p_ += 4;
      return TomlValue(true);
    }
    if (s_.substr(p_, 5) == "false") {
      p_ += 5;
      return TomlValue(false);
    }
    if (c == '+' || c == '-' || std::isdigit(static_cast<unsigned char>(c))) return Integer();
    return Error("unsupported value (strings, integers and true/false only)");
  }

 private:
  Result<TomlValue> String() {
    ++p_;  // opening quote
    if (s_.substr(p_, 2) == "\"\"") return Error("multi-line strings are not supported");
    std::string out;
    while (true) {
      if (AtEnd()) return Error("unterminated string");
      char c = s_[p_++];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        return Error("control character in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (AtEnd()) return Error("unterminated escape");
      char e = s_[p_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'u': {
          if (p_ + 4 > s_.size()) return Error("short \\u escape");
          uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            char h = s_[p_++];
            int d = std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                    : (h >= 'a' && h <= 'f')                    ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F')                    ? h - 'A' + 10
                                                                : -1;
            if (d < 0) return Error("bad hex digit in \\u escape");
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) return Error("surrogate in \\u escape");
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default:
          return Error(std::string("unknown escape \\") + e);
      }
    }
    return TomlValue(out);
  }

  Result<TomlValue> Integer() {
    bool neg = false;
    if (Peek() == '+' || Peek() == '-') neg = s_[p_++] == '-';
    if (AtEnd() || !std::isdigit(static_cast<unsigned char>(Peek()))) {
      return Error("expected digits");
    }
    if (Peek() == '0' && p_ + 1 < s_.size() &&
        (std::isdigit(static_cast<unsigned char>(s_[p_ + 1])) || s_[p_ + 1] == '_' ||
         s_[p_ + 1] == 'x' || s_[p_ + 1] == 'o' || s_[p_ + 1] == 'b')) {
      return Error("leading zeros and non-decimal integers are not supported");
    }
    // Accumulate as a negative number so that INT64_MIN fits.
    int64_t v = 0;
    bool last_digit = false;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '_') {
        if (!last_digit) return Error("'_' must sit between digits");
        last_digit = false;
        ++p_;
        continue;
      }
      if (!std::isdigit(static_cast<unsigned char>(c))) break;
      int d = c - '0';
      if (v < (std::numeric_limits<int64_t>::min() + d) / 10) {
        return Error("integer out of range");
      }
      v = v * 10 - d;
      last_digit = true;
      ++p_;
    }
    if (!last_digit) return Error("'_' must sit between digits");
    if (!AtEnd() && (Peek() == '.' || Peek() == 'e' || Peek() == 'E')) {
      return Error("floats are not supported");
    }
    if (!neg) {
      if (v == std::numeric_limits<int64_t>::min()) return Error("integer out of range");
      v = -v;
    }
    return TomlValue(v);
  }

  std::string_view s_;
  int line_;
  size_t p_ = 0;
};

}  // namespace

Result<TomlDocument> ParseToml(std::string_view text) {
  TomlDocument doc;
  doc[""];
  std::string table;
  std::map<std::string, bool> seen_tables;
  int number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    ++number;
    LineParser p(line, number);
    p.SkipSpace();
    if (p.AtEnd() || p.Peek() == '#') continue;
    if (p.Consume('[')) {
      if (p.Consume('[')) return p.Error("arrays of tables are not supported");
      p.SkipSpace();
      PROBITY_ASSIGN_OR_RETURN(std::string name, p.BareKey());
      p.SkipSpace();
      if (!p.AtEnd() && p.Peek() == '.') return p.Error("dotted table names are not supported");
      if (!p.Consume(']')) return p.Error("expected ']'");
      PROBITY_RETURN_IF_ERROR(p.ExpectEnd());
      if (seen_tables[name]) return p.Error("table [" + name + "] appears twice");
      seen_tables[name] = true;
      table = name;
      doc[table];
      continue;
    }
    PROBITY_ASSIGN_OR_RETURN(std::string key, p.BareKey());
    p.SkipSpace();
    if (!p.AtEnd() && p.Peek() == '.') return p.Error("dotted keys are not supported");
    if (!p.Consume('=')) return p.Error("expected '=' after the key");
    p.SkipSpace();
    PROBITY_ASSIGN_OR_RETURN(TomlValue value, p.Value());
    PROBITY_RETURN_IF_ERROR(p.ExpectEnd());
    auto& t = doc[table];
    if (t.count(key)) {
      return p.Error("key '" + key + "' appears twice in [" + table + "]");
    }
    t[key] = std::move(value);
    if (nl == text.size()) break;
  }
  return doc;
}

}  // namespace probity::ledger
