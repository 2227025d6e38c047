#include "command.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace probity::cli {

Result<Args> Args::Parse(const std::vector<std::string>& words,
                         const std::vector<std::string>& bool_flags) {
  Args a;
  auto is_bool = [&](const std::string& n) {
    for (const auto& b : bool_flags)
      if (b == n) return true;
    return n == "json" || n == "help";
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.size() > 2 && w.rfind("--", 0) == 0) {
      std::string name = w.substr(2), value;
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (!is_bool(name)) {
        if (i + 1 >= words.size()) {
          return Status::InvalidArgument("flag --" + name + " needs a value");
        }
        value = words[++i];
      } else {
        value = "true";
      }
      a.flags_[name] = value;
      a.all_[name].push_back(value);
    } else {
      a.positional_.push_back(w);
    }
  }
  return a;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = all_.find(name);
  return it == all_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::GetOr(const std::string& name, const std::string& dflt) const {
  auto v = Get(name);
  return v ? *v : dflt;
}

Result<std::string> Args::Require(const std::string& name) const {
  auto v = Get(name);
  if (!v) return Status::InvalidArgument("missing --" + name);
  return *v;
}

Result<uint64_t> Args::GetU64(const std::string& name, uint64_t dflt) const {
  auto v = Get(name);
  if (!v) return dflt;
  if (v->empty() || v->size() > 20 || v->find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("--" + name + " must be a non-negative integer, got '" + *v +
                                   "'");
  }
  errno = 0;
  unsigned long long x = std::strtoull(v->c_str(), nullptr, 10);
  if (errno == ERANGE) return Status::OutOfRange("--" + name + " is too large");
  return static_cast<uint64_t>(x);
}

Status Args::CheckKnown(const std::vector<std::string>& known) const {
  for (const auto& [name, _] : flags_) {
    bool ok = name == "json" || name == "help";
    for (const auto& k : known) ok = ok || k == name;
    if (!ok) return Status::InvalidArgument("unknown flag --" + name);
  }
  return Status::OK();
}

std::map<std::string, Command>& CommandRegistry() {
  static std::map<std::string, Command> r;
  return r;
}
bool RegisterCommand(Command c) {
  std::string p = c.path;
  CommandRegistry().emplace(p, std::move(c));
  return true;
}
std::map<std::string, BenchSuite>& BenchRegistry() {
  static std::map<std::string, BenchSuite> r;
  return r;
}
bool RegisterBenchSuite(BenchSuite s) {
  std::string n = s.name;
  BenchRegistry().emplace(n, std::move(s));
  return true;
}

std::string JsonString(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

int Fail(const Args& args, const Status& status) {
  if (args.json()) {
    std::cout << "{\"ok\":false,\"code\":" << JsonString(std::string(CodeName(status.code())))
              << ",\"error\":" << JsonString(status.message()) << "}\n";
  } else {
    std::cerr << "error: " << status.message() << "\n";
  }
  return 1;
}

std::string DefaultHome() {
  if (const char* h = std::getenv("PROBITY_HOME"); h && *h) return h;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.probity";
}

std::string HomeDir(const Args& args) { return args.GetOr("home", DefaultHome()); }

namespace {
Result<std::string> PromptNoEcho(const std::string& prompt) {
  if (!::isatty(STDIN_FILENO)) {
    return Status::InvalidArgument(
        "no passphrase: set PROBITY_PASSPHRASE or run on a terminal to be prompted");
  }
  std::cerr << prompt << std::flush;
  termios old{};
  bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios t = old;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return line;
}
}  // namespace

Result<std::string> ReadPassphrase(const std::string& prompt, bool confirm) {
  if (const char* p = std::getenv("PROBITY_PASSPHRASE"); p != nullptr) return std::string(p);
  PROBITY_ASSIGN_OR_RETURN(std::string first, PromptNoEcho(prompt));
  if (confirm) {
    PROBITY_ASSIGN_OR_RETURN(std::string again, PromptNoEcho("Repeat passphrase: "));
    if (again != first) return Status::InvalidArgument("the passphrases do not match");
  }
  return first;
}

}  // namespace probity::cli
