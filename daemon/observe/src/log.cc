// Leveled, structured log lines on standard error.
//
// Each line is built whole and handed to one write loop under a process-wide mutex, so that
// lines from different threads never interleave. Text lines are logfmt-like: the message as
// is (control characters escaped, so that one event stays one line), then key=value with the
// value quoted when it holds a space, '=', '"' or a control character. JSON lines are one
// object per line; strings are escaped per RFC 8259 and invalid UTF-8 becomes U+FFFD, so that
// a peer's bytes in a field can never break a log reader. A field whose key collides with
// ts/level/component/msg is written with a leading underscore.
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "probity/observe/observe.h"

namespace probity::observe {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::mutex g_write_mu;

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

// The length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  *out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8Length(s, i);
      if (n == 0) {
        *out += "\\ufffd";
        ++i;
      } else {
        out->append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          *out += "\\u00";
          *out += kHex[c >> 4];
          *out += kHex[c & 0xF];
        } else {
          *out += static_cast<char>(c);
        }
    }
    ++i;
  }
  *out += '"';
}

// Text mode: control characters become \n, \t, \xHH so that an event stays on one line.
void AppendTextEscaped(std::string* out, std::string_view s, bool quote) {
  static const char kHex[] = "0123456789abcdef";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      *out += "\\n";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      *out += "\\x";
      *out += kHex[c >> 4];
      *out += kHex[c & 0xF];
    } else if (quote && (c == '"' || c == '\\')) {
      *out += '\\';
      *out += ch;
    } else {
      *out += ch;
    }
  }
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char ch : v) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F || c == '=' || c == '"') return true;
  }
  return false;
}

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

const char* LevelText(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO ";
    case LogLevel::kWarn:
      return "WARN ";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO ";
}

void WriteLine(const std::string& line) {
  std::lock_guard<std::mutex> l(g_write_mu);
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = write(STDERR_FILENO, line.data() + off, line.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // stderr is gone; a log line is not worth failing for
    }
  }
}

}  // namespace

Status SetLogLevel(std::string_view level) {
  std::string l = Lower(level);
  LogLevel v;
  if (l == "debug") {
    v = LogLevel::kDebug;
  } else if (l == "info") {
    v = LogLevel::kInfo;
  } else if (l == "warn" || l == "warning") {
    v = LogLevel::kWarn;
  } else if (l == "error") {
    v = LogLevel::kError;
  } else {
    return Status::InvalidArgument("unknown log level '" + std::string(level) +
                                   "' (debug, info, warn or error)");
  }
  g_level.store(static_cast<int>(v));
  return Status::OK();
}

Status SetLogFormat(std::string_view format) {
  std::string f = Lower(format);
  if (f == "text") {
    g_format.store(static_cast<int>(LogFormat::kText));
  } else if (f == "json") {
    g_format.store(static_cast<int>(LogFormat::kJson));
  } else {
    return Status::InvalidArgument("unknown log format '" + std::string(format) +
                                   "' (text or json)");
  }
  return Status::OK();
}

Status ConfigureLogsFromEnv() {
  if (const char* l = std::getenv("PROBITY_LOG_LEVEL"); l != nullptr && *l != '\0') {
    if (Status s = SetLogLevel(l); !s.ok()) return s.WithContext("PROBITY_LOG_LEVEL");
  }
  if (const char* f = std::getenv("PROBITY_LOG_FORMAT"); f != nullptr && *f != '\0') {
    if (Status s = SetLogFormat(f); !s.ok()) return s.WithContext("PROBITY_LOG_FORMAT");
  }
  return Status::OK();
}

void Log(LogLevel level, std::string_view component, std::string_view message,
         const LogFields& fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  std::string line;
  line.reserve(96 + message.size());
  if (static_cast<LogFormat>(g_format.load(std::memory_order_relaxed)) == LogFormat::kJson) {
    line += "{\"ts\":\"" + Timestamp() + "\",\"level\":\"" + LevelName(level) + "\",";
    line += "\"component\":";
    AppendJsonString(&line, component);
    line += ",\"msg\":";
    AppendJsonString(&line, message);
    for (const auto& [k, v] : fields) {
      line += ',';
      bool reserved = k == "ts" || k == "level" || k == "component" || k == "msg";
      AppendJsonString(&line, reserved ? "_" + k : k);
      line += ':';
      AppendJsonString(&line, v);
    }
    line += "}\n";
  } else {
    line += Timestamp();
    line += ' ';
    line += LevelText(level);
    line += ' ';
    AppendTextEscaped(&line, component, false);
    line += ' ';
    AppendTextEscaped(&line, message, false);
    for (const auto& [k, v] : fields) {
      line += ' ';
      AppendTextEscaped(&line, k, false);
      line += '=';
      if (NeedsQuotes(v)) {
        line += '"';
        AppendTextEscaped(&line, v, true);
        line += '"';
      } else {
        AppendTextEscaped(&line, v, false);
      }
    }
    line += '\n';
  }
  WriteLine(line);
}

}  // namespace probity::observe
