#include "probity/workloads/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "probity/primitives/encoding.h"

namespace probity::workloads {
namespace {

constexpr size_t kMaxNameBytes = 1024;
constexpr int kMaxDepth = 3;

// ---- a strict JSON subset: objects, arrays, strings, unsigned integers --------------------

struct JsonMember;

struct Json {
  enum class Kind { kObject, kArray, kString, kNumber } kind = Kind::kNumber;
  // A named member type, not std::pair<std::string, Json>: instantiating that pair while Json
  // is being completed is refused by Clang with libstdc++.
  std::vector<JsonMember> members;  // object, in file order
  std::vector<Json> items;          // array
  std::string str;
  uint64_t number = 0;

  const Json* Find(const std::string& key) const;
};

struct JsonMember {
  std::string key;
  Json value;
};

const Json* Json::Find(const std::string& key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return &v;
  }
  return nullptr;
}

class JsonParser {
 public:
  explicit JsonParser(std::string_view in) : in_(in) {}

  Result<Json> ParseDocument() {
    SkipSpace();
    PROBITY_ASSIGN_OR_RETURN(Json v, Value(0));
    SkipSpace();
    if (pos_ != in_.size()) return Error("unexpected bytes after the JSON object");
    return v;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::Corruption("safetensors header: " + what + " at byte " + std::to_string(pos_));
  }
  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  Result<Json> Value(int depth) {
    SkipSpace();
    if (pos_ >= in_.size()) return Error("unexpected end");
    char c = in_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) return Error("nesting deeper than " + std::to_string(kMaxDepth));
      return c == '{' ? Object(depth + 1) : Array(depth + 1);
    }
    if (c == '"') {
      Json j;
      j.kind = Json::Kind::kString;
      PROBITY_ASSIGN_OR_RETURN(j.str, String());
      return j;
    }
    if (c >= '0' && c <= '9') return Number();
    return Error("unsupported JSON value (only objects, arrays, strings, unsigned integers)");
  }

  Result<Json> Object(int depth) {
    ++pos_;  // '{'
    Json j;
    j.kind = Json::Kind::kObject;
    if (Eat('}')) return j;
    while (true) {
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '"') return Error("expected a string key");
      PROBITY_ASSIGN_OR_RETURN(std::string key, String());
      if (j.Find(key)) return Error("duplicate key \"" + key + "\"");
      if (!Eat(':')) return Error("expected ':'");
      PROBITY_ASSIGN_OR_RETURN(Json v, Value(depth));
      j.members.push_back({std::move(key), std::move(v)});
      if (Eat('}')) return j;
      if (!Eat(',')) return Error("expected ',' or '}'");
    }
  }

  Result<Json> Array(int depth) {
    ++pos_;  // '['
    Json j;
    j.kind = Json::Kind::kArray;
    if (Eat(']')) return j;
    while (true) {
      PROBITY_ASSIGN_OR_RETURN(Json v, Value(depth));
      j.items.push_back(std::move(v));
      if (Eat(']')) return j;
      if (!Eat(',')) return Error("expected ',' or ']'");
    }
  }

  Result<Json> Number() {
    Json j;
    j.kind = Json::Kind::kNumber;
    size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') {
      uint64_t d = static_cast<uint64_t>(in_[pos_] - '0');
      if (j.number > (UINT64_MAX - d) / 10) return Error("integer too large");
      j.number = j.number * 10 + d;
      ++pos_;
    }
    if (pos_ - start > 1 && in_[start] == '0') return Error("integer with a leading zero");
    if (pos_ < in_.size() && (in_[pos_] == '.' || in_[pos_] == 'e' || in_[pos_] == 'E')) {
      return Error("non-integer number");
    }
    return j;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  Result<uint32_t> Hex4() {
    if (in_.size() - pos_ < 4) return Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = in_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Error("bad \\u escape");
      }
    }
    return v;
  }

  // REQUIRES: in_[pos_] == '"'. Raw bytes are copied as they are (the whole header was
  // checked to be UTF-8 before parsing); escapes are decoded.
  Result<std::string> String() {
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= in_.size()) return Error("unterminated string");
      unsigned char c = static_cast<unsigned char>(in_[pos_++]);
      if (c == '"') return out;
      if (c < 0x20) return Error("control character in a string");
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      if (pos_ >= in_.size()) return Error("unterminated escape");
      char e = in_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          PROBITY_ASSIGN_OR_RETURN(uint32_t cp, Hex4());
          if (cp >= 0xdc00 && cp <= 0xdfff) return Error("unpaired low surrogate");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (in_.size() - pos_ < 2 || in_[pos_] != '\\' || in_[pos_ + 1] != 'u') {
              return Error("unpaired high surrogate");
            }
            pos_ += 2;
            PROBITY_ASSIGN_OR_RETURN(uint32_t lo, Hex4());
            if (lo < 0xdc00 || lo > 0xdfff) return Error("unpaired high surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          AppendUtf8(&out, cp);
          break;
        }
        default:
          return Error(std::string("bad escape \\") + e);
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and values beyond Unicode are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// safetensors dtype names: ours, and the ones we know but do not read.
std::optional<DType> DTypeFromSafetensors(const std::string& s) {
  if (s == "F32") return DType::kF32;
  if (s == "I32") return DType::kI32;
  if (s == "I8") return DType::kI8;
  if (s == "U8") return DType::kU8;
  if (s == "U32") return DType::kU32;
  if (s == "I64") return DType::kI64;
  return std::nullopt;
}
bool KnownUnsupportedDType(const std::string& s) {
  for (const char* d : {"BOOL", "F4", "F6_E2M3", "F6_E3M2", "F8_E4M3", "F8_E5M2", "F8_E8M0", "E8M0",
                        "U16", "I16", "F16", "BF16", "U64", "F64", "C64"}) {
    if (s == d) return true;
  }
  return false;
}
const char* SafetensorsDType(DType d) {
  switch (d) {
    case DType::kF32:
      return "F32";
    case DType::kI32:
      return "I32";
    case DType::kI8:
      return "I8";
    case DType::kU8:
      return "U8";
    case DType::kU32:
      return "U32";
    case DType::kI64:
      return "I64";
  }
  return "?";
}

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

Result<Entry> ParseEntry(const std::string& name, const Json& info) {
  auto bad = [&name](const std::string& what) {
    return Status::Corruption("safetensors tensor \"" + name + "\": " + what);
  };
  if (name.empty() || name.size() > kMaxNameBytes) return bad("name length out of range");
  if (info.kind != Json::Kind::kObject) return bad("description is not an object");
  for (const auto& [k, v] : info.members) {
    if (k != "dtype" && k != "shape" && k != "data_offsets") return bad("unknown field " + k);
  }
  const Json* dtype = info.Find("dtype");
  const Json* shape = info.Find("shape");
  const Json* offsets = info.Find("data_offsets");
  if (!dtype || !shape || !offsets) return bad("needs dtype, shape and data_offsets");
  if (dtype->kind != Json::Kind::kString) return bad("dtype is not a string");
  Entry e;
  e.name = name;
  auto dt = DTypeFromSafetensors(dtype->str);
  if (!dt) {
    if (KnownUnsupportedDType(dtype->str)) {
      return Status::Unsupported("safetensors tensor \"" + name + "\": dtype " + dtype->str +
                                 " is not supported (F32, I32, I8, U8, U32, I64)");
    }
    return bad("unknown dtype \"" + dtype->str + "\"");
  }
  e.dtype = *dt;
  if (shape->kind != Json::Kind::kArray) return bad("shape is not an array");
  if (shape->items.size() > static_cast<size_t>(kMaxRank)) return bad("rank above 8");
  for (const Json& d : shape->items) {
    if (d.kind != Json::Kind::kNumber) return bad("shape entry is not an integer");
    if (d.number > static_cast<uint64_t>(kMaxDim)) return bad("dimension too large");
    e.shape.push_back(static_cast<int64_t>(d.number));
  }
  auto numel = ShapeElements(e.shape);
  if (!numel.ok()) return bad(numel.status().message());
  if (offsets->kind != Json::Kind::kArray || offsets->items.size() != 2 ||
      offsets->items[0].kind != Json::Kind::kNumber ||
      offsets->items[1].kind != Json::Kind::kNumber) {
    return bad("data_offsets must be [begin, end]");
  }
  e.begin = offsets->items[0].number;
  e.end = offsets->items[1].number;
  if (e.end < e.begin) return bad("data_offsets end before begin");
  const uint64_t want = static_cast<uint64_t>(*numel) * DTypeSize(e.dtype);
  if (e.end - e.begin != want) {
    return bad("data_offsets cover " + std::to_string(e.end - e.begin) + " bytes, shape " +
               ShapeString(e.shape) + " of " + dtype->str + " needs " + std::to_string(want));
  }
  return e;
}

}  // namespace

Result<Bytes> EncodeSafetensors(const TensorMap& tensors) {
  std::string header = "{";
  uint64_t offset = 0;
  bool first = true;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name.size() > kMaxNameBytes) {
      return Status::InvalidArgument("safetensors: tensor name length must be 1.." +
                                     std::to_string(kMaxNameBytes));
    }
    if (name == "__metadata__") {
      return Status::InvalidArgument("safetensors: \"__metadata__\" is not a tensor name");
    }
    if (!first) header += ",";
    first = false;
    header += JsonQuote(name) + ":{\"dtype\":\"" + SafetensorsDType(t.dtype()) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape().size(); ++i) {
      header += (i ? "," : "") + std::to_string(t.shape()[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + t.byte_size()) + "]}";
    offset += t.byte_size();
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  Bytes out;
  out.reserve(8 + header.size() + offset);
  ByteWriter w(&out);
  w.U64(header.size());
  w.Raw(AsBytes(header));
  for (const auto& [name, t] : tensors) w.Raw(t.bytes());
  return out;
}

Result<TensorMap> DecodeSafetensors(ByteView file) {
  if (file.size() < 8) return Status::Corruption("safetensors: shorter than the 8-byte length");
  const uint64_t n = GetU64LE(file.data());
  if (n > kMaxSafetensorsHeaderBytes) {
    return Status::Corruption("safetensors: header length " + std::to_string(n) +
                              " exceeds the limit of " +
                              std::to_string(kMaxSafetensorsHeaderBytes));
  }
  if (n > file.size() - 8) {
    return Status::Corruption("safetensors: truncated: header of " + std::to_string(n) +
                              " bytes, file has " + std::to_string(file.size() - 8));
  }
  std::string_view header = AsChars(file.subspan(8, n));
  if (header.empty() || header[0] != '{') {
    return Status::Corruption("safetensors: header does not start with '{'");
  }
  if (!ValidUtf8(header)) return Status::Corruption("safetensors: header is not UTF-8");
  PROBITY_ASSIGN_OR_RETURN(Json doc, JsonParser(header).ParseDocument());
  ByteView data = file.subspan(8 + n);

  std::vector<Entry> entries;
  for (const auto& [name, info] : doc.members) {
    if (name == "__metadata__") {
      if (info.kind != Json::Kind::kObject) {
        return Status::Corruption("safetensors: __metadata__ is not an object");
      }
      for (const auto& [k, v] : info.members) {
        if (v.kind != Json::Kind::kString) {
          return Status::Corruption("safetensors: __metadata__ value of \"" + k +
                                    "\" is not a string");
        }
      }
      continue;
    }
    PROBITY_ASSIGN_OR_RETURN(Entry e, ParseEntry(name, info));
    entries.push_back(std::move(e));
  }
  // The byte ranges must tile the data exactly: sorted by start, each begins where the last
  // ended, the last ends at the end of the file.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  for (const Entry* e : by_offset) {
    if (e->begin < at) {
      return Status::Corruption("safetensors: tensor \"" + e->name +
                                "\" overlaps the previous tensor's bytes");
    }
    if (e->begin > at) {
      return Status::Corruption("safetensors: " + std::to_string(e->begin - at) +
                                " unused bytes before tensor \"" + e->name + "\"");
    }
    at = e->end;
  }
  if (at > data.size()) {
    return Status::Corruption("safetensors: truncated: tensors need " + std::to_string(at) +
                              " data bytes, file has " + std::to_string(data.size()));
  }
  if (at < data.size()) {
    return Status::Corruption("safetensors: " + std::to_string(data.size() - at) +
                              " bytes after the last tensor");
  }
  TensorMap out;
  for (const Entry& e : entries) {
    PROBITY_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(e.dtype, e.shape));
    if (t.byte_size() > 0)
      std::memcpy(t.mutable_bytes().data(), data.data() + e.begin, t.byte_size());
    out.emplace(e.name, std::move(t));
  }
  return out;
}

Status WriteSafetensorsFile(const std::string& path, const TensorMap& tensors) {
  PROBITY_ASSIGN_OR_RETURN(Bytes bytes, EncodeSafetensors(tensors));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return Status::IOError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::OK();
}

Result<TensorMap> ReadSafetensorsFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound("no such file: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("cannot read " + path);
  auto r = DecodeSafetensors(bytes);
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

}  // namespace probity::workloads
