// Implementation notes:
// - Echo is turned off with termios (ECHO cleared, ECHONL set so Enter still moves the
//   cursor). While the terminal is in that state, SIGINT/SIGTERM/SIGHUP/SIGQUIT get a
//   handler that restores it (tcsetattr is async-signal-safe) and records the signal;
//   the handler is installed without SA_RESTART, and the wait is a poll() with a short
//   timeout so a signal landing between the flag check and the wait is seen too.
//   The previous handlers (joey's Cancellation) are put back afterwards.
// - The key is read with read(2) byte by byte so nothing past the first line is
//   consumed and no stdio buffer keeps a copy.
#include "client/auth_command.h"

#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/strings.h"
#include "client/exit_codes.h"
#include "llm/provider.h"

namespace joey::client {
namespace {

constexpr size_t kMaxLineBytes = 16384;
constexpr int kPollIntervalMs = 100;
constexpr std::array<int, 4> kRestoringSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// State the signal handler reads; set before the handler is installed.
int g_terminal_fd = -1;
struct termios g_saved_terminal {};
volatile sig_atomic_t g_interrupted = 0;

void restore_terminal_on_signal(int) {
  if (g_terminal_fd >= 0) tcsetattr(g_terminal_fd, TCSANOW, &g_saved_terminal);
  g_interrupted = 1;
}

// Echo off for its lifetime; restores the terminal and the signal handlers on every path.
class EchoOff {
 public:
  explicit EchoOff(int fd) {
    g_interrupted = 0;
    struct termios current {};
    if (tcgetattr(fd, &current) != 0) return;
    g_saved_terminal = current;
    g_terminal_fd = fd;
    struct sigaction action {};
    action.sa_handler = restore_terminal_on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: the read must return
    for (size_t i = 0; i < kRestoringSignals.size(); ++i) {
      sigaction(kRestoringSignals[i], &action, &previous_[i]);
    }
    struct termios silent = current;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    silent.c_lflag |= ECHONL;
    active_ = tcsetattr(fd, TCSAFLUSH, &silent) == 0;
  }
  ~EchoOff() {
    if (g_terminal_fd < 0) return;
    tcsetattr(g_terminal_fd, TCSANOW, &g_saved_terminal);
    for (size_t i = 0; i < kRestoringSignals.size(); ++i) {
      sigaction(kRestoringSignals[i], &previous_[i], nullptr);
    }
    g_terminal_fd = -1;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

  bool active() const { return active_; }

 private:
  std::array<struct sigaction, kRestoringSignals.size()> previous_{};
  bool active_ = false;
};

Result<std::string> read_line(int fd) {
  std::string line;
  while (true) {
    if (g_interrupted) return make_error(ErrorKind::kCancelled, "interrupted");
    // A signal that lands between the check above and read() would leave read()
    // blocked, so wait in short polls and look at the flag again after each.
    struct pollfd readable {
      fd, POLLIN, 0
    };
    const int ready = poll(&readable, 1, kPollIntervalMs);
    if (ready == 0) continue;
    if (ready < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::kIo, std::string("reading the key: ") + std::strerror(errno));
    }
    char byte = 0;
    const ssize_t got = read(fd, &byte, 1);
    if (got < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::kIo, std::string("reading the key: ") + std::strerror(errno));
    }
    if (got == 0 || byte == '\n') break;
    if (line.size() >= kMaxLineBytes) {
      return make_error(ErrorKind::kInvalidArgument, "the key is longer than any API key");
    }
    line.push_back(byte);
  }
  return std::string(trim(line));
}

bool valid_variable_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || (name[0] >= '0' && name[0] <= '9')) return false;
  for (const char c : name) {
    const bool allowed =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!allowed) return false;
  }
  return true;
}

bool variable_set(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value && *value;
}

// A provider that takes a key. The name is not echoed: it might be a mistyped key.
Result<llm::ProviderInfo> keyed_provider(const std::string& name) {
  std::string keyed;
  for (const llm::ProviderInfo& provider : llm::all_providers()) {
    if (!provider.key_variable.empty()) keyed += (keyed.empty() ? "" : ", ") + provider.name;
  }
  Result<llm::ProviderInfo> provider = llm::find_provider(name);
  if (!provider.ok()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "unknown provider (providers with API keys: " + keyed + ")");
  }
  if (provider->key_variable.empty()) {
    return make_error(ErrorKind::kInvalidArgument,
                      provider->name +
                          " runs on your machine and takes no API key (providers "
                          "with API keys: " +
                          keyed + ")");
  }
  return provider;
}

// `path` with the user's home directory shown as "~".
std::string display_path(const std::filesystem::path& path) {
  const char* home = std::getenv("HOME");
  if (!home || !*home) return path.string();
  const std::filesystem::path relative = path.lexically_relative(home);
  if (relative.empty() || relative.native().rfind("..", 0) == 0) return path.string();
  return (std::filesystem::path("~") / relative).string();
}

std::string shown_last4(const std::string& last4) { return "…" + last4; }

struct AuthInvocation {
  AuthCommandIo io;
  std::string provider;
  std::string from_env;

  int fail(int exit_code, const std::string& message) const {
    *io.err << "joey: error: " << message << "\n";
    return exit_code;
  }

  int exit_for(const Error& error) const {
    switch (error.kind) {
      case ErrorKind::kInvalidArgument:
        return fail(kExitUsage, error.message);
      case ErrorKind::kCancelled:
        return fail(kExitInterrupted, "interrupted; nothing was stored");
      default:
        return fail(kExitFailed, error.message);
    }
  }

  Result<SecretStore> open_store() const {
    std::filesystem::path home = io.joey_home;
    if (home.empty()) home = TRY(joey_home());
    return SecretStore::open(home, io.backend);
  }

  Result<std::string> read_key(const llm::ProviderInfo& info) const {
    if (!from_env.empty()) {
      if (!valid_variable_name(from_env)) {
        return make_error(ErrorKind::kInvalidArgument,
                          "--from-env takes the name of an environment variable");
      }
      const char* value = std::getenv(from_env.c_str());
      if (!value || !*value) {
        return make_error(ErrorKind::kInvalidArgument, from_env + " is not set or is empty");
      }
      return std::string(trim(value));
    }
    return read_secret_line(io.input_fd, *io.err,
                            "Paste the " + info.name + " API key (input is hidden): ");
  }

  int run_set() const {
    Result<llm::ProviderInfo> info = keyed_provider(provider);
    if (!info.ok()) return exit_for(info.error());
    Result<std::string> key = read_key(*info);
    if (!key.ok()) return exit_for(key.error());
    if (key->empty()) {
      return fail(kExitUsage, "the key is empty; nothing was stored");
    }
    Result<SecretStore> store = open_store();
    if (!store.ok()) return exit_for(store.error());
    Status stored = store->set(info->name, *key);
    if (!stored.ok()) return exit_for(stored.error());
    *io.out << "stored the " << info->name << " key (" << shown_last4(key_last4(*key)) << ") in ";
    if (store->backend() == SecretStore::Backend::kKeyring) {
      *io.out << "the system keyring\n";
    } else {
      *io.out << display_path(store->file_path()) << " (0600)\n";
    }
    if (variable_set(info->key_variable)) {
      *io.out << "note: " << info->key_variable
              << " is set in this environment and takes precedence over the stored key\n";
    }
    return kExitOk;
  }

  int run_list() const {
    Result<SecretStore> store = open_store();
    if (!store.ok()) return exit_for(store.error());
    Result<std::vector<StoredKey>> keys = store->list();
    if (!keys.ok()) return exit_for(keys.error());
    size_t width = 0;
    for (const StoredKey& key : *keys) width = std::max(width, key.provider.size());
    for (const StoredKey& key : *keys) {
      *io.out << key.provider << std::string(width - key.provider.size() + 2, ' ')
              << shown_last4(key.last4) << "  " << backend_name(key.backend);
      Result<llm::ProviderInfo> info = llm::find_provider(key.provider);
      if (info.ok() && !info->key_variable.empty() && variable_set(info->key_variable)) {
        *io.out << "  (overridden by " << info->key_variable << " in the environment)";
      }
      *io.out << "\n";
    }
    if (keys->empty()) *io.out << "no stored keys (`joey auth set PROVIDER` stores one)\n";
    for (const llm::ProviderInfo& info : llm::all_providers()) {
      if (info.key_variable.empty() || !variable_set(info.key_variable)) continue;
      bool stored = false;
      for (const StoredKey& key : *keys) stored = stored || key.provider == info.name;
      if (!stored) {
        *io.out << info.name << ": no stored key; " << info.key_variable
                << " is set in the environment and is used\n";
      }
    }
    return kExitOk;
  }

  int run_remove() const {
    Result<llm::ProviderInfo> info = keyed_provider(provider);
    if (!info.ok()) return exit_for(info.error());
    Result<SecretStore> store = open_store();
    if (!store.ok()) return exit_for(store.error());
    Result<bool> removed = store->remove(info->name);
    if (!removed.ok()) return exit_for(removed.error());
    if (!*removed) return fail(kExitFailed, "no stored key for " + info->name);
    *io.out << "removed the stored " << info->name << " key\n";
    return kExitOk;
  }
};

}  // namespace

Result<std::string> read_secret_line(int fd, std::ostream& prompt_out, const std::string& prompt) {
  g_interrupted = 0;
  if (!isatty(fd)) return read_line(fd);
  prompt_out << prompt << std::flush;
  EchoOff echo_off(fd);
  return read_line(fd);
}

void register_auth_command(CLI::App& app, int& exit_code) {
  AuthCommandIo io;
  io.out = &std::cout;
  io.err = &std::cerr;
  io.input_fd = STDIN_FILENO;
  register_auth_command(app, exit_code, io);
}

void register_auth_command(CLI::App& app, int& exit_code, const AuthCommandIo& io) {
  auto invocation = std::make_shared<AuthInvocation>();
  invocation->io = io;
  CLI::App* auth = app.add_subcommand("auth", "Store, list and remove provider API keys");
  auth->require_subcommand(1);

  CLI::App* set = auth->add_subcommand(
      "set", "store PROVIDER's key, read from stdin (hidden on a terminal) or --from-env VAR");
  set->add_option("provider", invocation->provider, "provider name, e.g. anthropic")->required();
  set->add_option("--from-env", invocation->from_env,
                  "read the key from this environment variable instead of stdin");
  set->callback([invocation, &exit_code] { exit_code = invocation->run_set(); });

  CLI::App* list =
      auth->add_subcommand("list", "stored keys: provider, last four characters, backend");
  list->callback([invocation, &exit_code] { exit_code = invocation->run_list(); });

  CLI::App* remove = auth->add_subcommand("remove", "remove PROVIDER's stored key");
  remove->add_option("provider", invocation->provider, "provider name")->required();
  remove->callback([invocation, &exit_code] { exit_code = invocation->run_remove(); });
}

}  // namespace joey::client
