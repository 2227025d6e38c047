#include "probity/ledger/canonical_proto.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstring>

namespace probity::ledger {
namespace {

bool HasUnknownFields(const google::protobuf::Message& m) {
  const google::protobuf::Reflection* r = m.GetReflection();
  if (!r->GetUnknownFields(m).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (HasUnknownFields(r->GetRepeatedMessage(m, f, i))) return true;
      }
    } else if (HasUnknownFields(r->GetMessage(m, f))) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string SerializeCanonical(const google::protobuf::Message& m) {
  std::string out;
  out.reserve(m.ByteSizeLong());
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&cos);
  }
  return out;
}

bool IsCanonicalEncoding(const google::protobuf::Message& m, ByteView bytes) {
  if (HasUnknownFields(m)) return false;
  if (m.ByteSizeLong() != bytes.size()) return false;
  std::string out = SerializeCanonical(m);
  return out.size() == bytes.size() &&
         (bytes.empty() || std::memcmp(out.data(), bytes.data(), bytes.size()) == 0);
}

bool ParseCanonical(ByteView bytes, google::protobuf::Message* m) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return false;
  if (!m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  return IsCanonicalEncoding(*m, bytes);
}

}  // namespace probity::ledger
