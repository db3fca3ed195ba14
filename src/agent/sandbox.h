// Confining execute_command with bubblewrap (`bwrap`, the Debian package bubblewrap).
//
// Inside the sandbox the whole file system is visible read-only, the workspace is
// read-write, /tmp is an empty private tmpfs, /dev and /proc are fresh, the paths in
// `hidden` are covered (a directory by an empty tmpfs, a file by /dev/null), joey's
// provider key variables are unset, the process runs in its own PID namespace and
// session (no TIOCSTI into joey's terminal), dies with joey, and has no network
// (only its own loopback) unless `network` is set.
//
// What the sandbox does not stop: reading world-readable files that are not hidden,
// using CPU and memory, and — with network on — reaching anything joey could reach.
//
// Thread-safety: sandbox_available() caches its probe and is safe from any thread;
// the other functions are pure apart from reading the file system.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"
#include "llm/provider.h"

namespace joey::agent {

struct SandboxOptions {
  std::filesystem::path workspace;  // absolute, an existing directory; bound read-write
  std::filesystem::path cwd;        // where the command starts; empty: the workspace
  bool network = false;
  // Covered inside the sandbox; paths that do not exist are skipped. See
  // default_hidden_paths().
  std::vector<std::filesystem::path> hidden;
  // Environment variables removed inside the sandbox: by default the provider keys joey
  // itself reads, so a command cannot print them into the conversation.
  std::vector<std::string> unset_environment = llm::provider_key_variables();
};

// The argv that runs `command_argv` under bubblewrap:
//   bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp
//         [hidden paths that contain the workspace] --bind WS WS [other hidden paths]
//         [--unshare-net] --unshare-pid --die-with-parent --new-session
//         [--unsetenv VAR …] --chdir CWD -- COMMAND…
// Hidden paths are canonicalised (a hidden symlink hides its target); those that
// contain the workspace are mounted before it so the workspace stays visible, the
// others after it so a workspace that contains them cannot reveal them; hidden paths
// under /tmp outside the workspace are skipped, the private /tmp already hides them.
// kInvalidArgument for an empty command or a relative path, kNotFound when the
// workspace is not a directory.
Result<std::vector<std::string>> sandbox_argv(const SandboxOptions& options,
                                              const std::vector<std::string>& command_argv);

// Whether sandboxed commands can run here: the first call runs a probe sandbox (`bwrap`
// with the namespaces and mounts sandbox_argv uses, running `true`, 5 s timeout) and
// every call returns its outcome. kNotFound "… install the bubblewrap package" when
// bwrap is missing; kIo with bwrap's own message when it cannot create namespaces.
Status sandbox_available();

// The probe itself, uncached, with the bubblewrap program to run (tests point it at a
// missing program).
Status probe_sandbox(const std::string& bwrap_program);

// The existing paths among the places credentials usually live: `joey_home`, and under
// `home` .ssh, .aws, .config, .gnupg, .netrc, .docker, .kube, .npmrc, .pypirc,
// .git-credentials, .azure, .pgpass, .password-store, .vault-token, .terraform.d,
// .cargo/credentials(.toml), .local/share/keyrings; also `runtime_dir`
// ($XDG_RUNTIME_DIR: agent and keyring sockets) and the Docker socket.
std::vector<std::filesystem::path> default_hidden_paths(
    const std::filesystem::path& home, const std::filesystem::path& joey_home,
    const std::filesystem::path& runtime_dir = {});

// Options for a sandboxed command in `workspace`, hiding default_hidden_paths() for
// $HOME, $JOEY_HOME (joey_home()) and $XDG_RUNTIME_DIR.
Result<SandboxOptions> default_sandbox_options(const std::filesystem::path& workspace,
                                               bool network);

}  // namespace joey::agent
