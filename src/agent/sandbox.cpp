#include "agent/sandbox.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <system_error>

#include "base/paths.h"
#include "base/subprocess.h"

namespace joey::agent {

namespace fs = std::filesystem;

namespace {

constexpr std::chrono::seconds kProbeTimeout{5};
constexpr size_t kProbeMessageBytes = 1024;

// Whether `path` is `ancestor` or lies under it (both absolute and normalised).
bool is_within(const fs::path& path, const fs::path& ancestor) {
  auto [ancestor_end, path_end] =
      std::mismatch(ancestor.begin(), ancestor.end(), path.begin(), path.end());
  (void)path_end;
  return ancestor_end == ancestor.end();
}

// The canonical form of an existing path; the lexically normal form otherwise.
fs::path resolved(const fs::path& path) {
  std::error_code error;
  fs::path canonical = fs::canonical(path, error);
  return error ? path.lexically_normal() : canonical;
}

void append_hidden(std::vector<std::string>& argv, const fs::path& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) {
    argv.insert(argv.end(), {"--tmpfs", path.string()});
  } else {
    argv.insert(argv.end(), {"--ro-bind", "/dev/null", path.string()});
  }
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > kProbeMessageBytes) text.resize(kProbeMessageBytes);
  return text;
}

}  // namespace

Result<std::vector<std::string>> sandbox_argv(const SandboxOptions& options,
                                              const std::vector<std::string>& command_argv) {
  if (command_argv.empty() || command_argv[0].empty()) {
    return make_error(ErrorKind::kInvalidArgument, "no command to run in the sandbox");
  }
  if (!options.workspace.is_absolute()) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "the sandbox workspace must be an absolute path: " + options.workspace.string());
  }
  std::error_code error;
  if (!fs::is_directory(options.workspace, error)) {
    return make_error(ErrorKind::kNotFound,
                      "the sandbox workspace is not a directory: " + options.workspace.string());
  }
  fs::path workspace = resolved(options.workspace);
  fs::path cwd = options.cwd.empty() ? workspace : options.cwd;
  if (!cwd.is_absolute()) {
    return make_error(ErrorKind::kInvalidArgument,
                      "the sandbox working directory must be an absolute path: " + cwd.string());
  }
  cwd = resolved(cwd);

  std::vector<std::string> argv = {"bwrap", "--ro-bind", "/",     "/",       "--dev",
                                   "/dev",  "--proc",    "/proc", "--tmpfs", "/tmp"};
  std::vector<fs::path> before_workspace;
  std::vector<fs::path> after_workspace;
  for (const fs::path& hidden : options.hidden) {
    if (hidden.empty() || !hidden.is_absolute() || !fs::exists(hidden, error)) continue;
    fs::path path = resolved(hidden);
    if (path == "/") continue;  // hiding everything is not a sandbox, it is a mistake
    if (is_within(path, "/tmp") && !is_within(path, workspace)) continue;
    (is_within(workspace, path) ? before_workspace : after_workspace).push_back(path);
  }
  for (const fs::path& path : before_workspace) append_hidden(argv, path);
  argv.insert(argv.end(), {"--bind", workspace.string(), workspace.string()});
  for (const fs::path& path : after_workspace) append_hidden(argv, path);
  if (!options.network) argv.push_back("--unshare-net");
  argv.insert(argv.end(), {"--unshare-pid", "--die-with-parent", "--new-session"});
  for (const std::string& variable : options.unset_environment) {
    argv.insert(argv.end(), {"--unsetenv", variable});
  }
  argv.insert(argv.end(), {"--chdir", cwd.string(), "--"});
  argv.insert(argv.end(), command_argv.begin(), command_argv.end());
  return argv;
}

Status probe_sandbox(const std::string& bwrap_program) {
  ProcessOptions options;
  options.argv = {bwrap_program,
                  "--ro-bind",
                  "/",
                  "/",
                  "--dev",
                  "/dev",
                  "--proc",
                  "/proc",
                  "--tmpfs",
                  "/tmp",
                  "--unshare-net",
                  "--unshare-pid",
                  "--die-with-parent",
                  "--new-session",
                  "true"};
  options.timeout = kProbeTimeout;
  options.output_cap_bytes = 16 * 1024;
  auto result = run_process(options);
  if (!result.ok()) {
    if (result.error().kind == ErrorKind::kNotFound) {
      return make_error(ErrorKind::kNotFound,
                        "bubblewrap (" + bwrap_program +
                            ") is not installed, so commands cannot run in a sandbox: install "
                            "the bubblewrap package (apt install bubblewrap)");
    }
    return result.error().with_context("starting bubblewrap for the sandbox");
  }
  if (result->timed_out) {
    return make_error(ErrorKind::kTimeout, "bubblewrap did not start a sandbox within " +
                                               std::to_string(kProbeTimeout.count()) + " seconds");
  }
  if (result->signaled || result->exit_code != 0) {
    std::string message = trimmed(result->stderr_text);
    return make_error(ErrorKind::kIo,
                      "bubblewrap cannot create a sandbox here; user namespaces may be disabled "
                      "(sysctl kernel.unprivileged_userns_clone=1) or blocked by the container "
                      "joey runs in. bwrap said: " +
                          (message.empty() ? "(nothing)" : message));
  }
  return ok_status();
}

Status sandbox_available() {
  static std::once_flag probed;
  static Status outcome;
  std::call_once(probed, [] { outcome = probe_sandbox("bwrap"); });
  return outcome;
}

std::vector<fs::path> default_hidden_paths(const fs::path& home, const fs::path& joey_home,
                                           const fs::path& runtime_dir) {
  std::vector<fs::path> candidates;
  if (!joey_home.empty()) candidates.push_back(joey_home);
  if (!home.empty()) {
    for (const char* name :
         {".ssh", ".aws", ".config", ".gnupg", ".netrc", ".docker", ".kube", ".npmrc", ".pypirc",
          ".git-credentials", ".azure", ".pgpass", ".password-store", ".vault-token",
          ".terraform.d", ".cargo/credentials", ".cargo/credentials.toml",
          ".local/share/keyrings"}) {
      candidates.push_back(home / name);
    }
  }
  if (!runtime_dir.empty()) candidates.push_back(runtime_dir);
  candidates.push_back("/var/run/docker.sock");
  candidates.push_back("/run/docker.sock");

  std::vector<fs::path> existing;
  for (const fs::path& candidate : candidates) {
    std::error_code error;
    if (fs::exists(candidate, error) &&
        std::find(existing.begin(), existing.end(), candidate) == existing.end()) {
      existing.push_back(candidate);
    }
  }
  return existing;
}

Result<SandboxOptions> default_sandbox_options(const fs::path& workspace, bool network) {
  fs::path joey_home_path = TRY(joey_home());
  const char* home = std::getenv("HOME");
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
  SandboxOptions options;
  options.workspace = workspace;
  options.network = network;
  options.hidden =
      default_hidden_paths(home != nullptr ? fs::path(home) : fs::path(), joey_home_path,
                           runtime_dir != nullptr ? fs::path(runtime_dir) : fs::path());
  return options;
}

}  // namespace joey::agent
