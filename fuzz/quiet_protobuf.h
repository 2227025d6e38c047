// Protobuf logs an error for every string field with invalid UTF-8 it is asked to parse; the
// fuzz targets that parse protobuf messages turn that off, or the log is all they do.
#pragma once

#include <google/protobuf/stubs/logging.h>

namespace probity::fuzz {

inline void SilenceProtobufLogs() { google::protobuf::SetLogHandler(nullptr); }

}  // namespace probity::fuzz
