// `joey login`, `joey whoami`, `joey logout`: signing the agent in to a joey Cloud.
//
//   joey login [--server URL] [--token TOKEN|-] [--no-browser] [--allow-insecure] [--ca-cert F]
//       Without --token: the device authorization flow (RFC 8628 style). joey asks the
//       server for a code, prints the verification URL and the code (and opens a browser
//       when there is a display), then polls until the user approves in the web app, the
//       code expires, or Ctrl-C. With --token (or --token - to read it from stdin, which
//       keeps it out of the process list): the token is checked with GET /api/me.
//       Either way the token goes to the secret store under "cloud" and the server URL to
//       the user's config (cloud.url). The server is --server, else cloud.url, else
//       JOEY_CLOUD_URL.
//   joey whoami [--json]   who the token belongs to, and their organizations
//   joey logout            revokes the token on the server (POST /api/auth/logout) and
//                          removes it from the store; when the server cannot be reached
//                          the local token is still removed and a warning says so.
//
// Exit status: 0 done, 1 failed (server refused, unreachable, code expired, not signed
// in), 2 bad usage, 130 interrupted. The token is never printed.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>

#include "client/cloud_client.h"

namespace joey::client {

struct LoginCommandIo {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  int input_fd = 0;
  std::filesystem::path joey_home;  // empty: $JOEY_HOME
  // Opens a URL in a browser; default: xdg-open when DISPLAY or WAYLAND_DISPLAY is set.
  std::function<void(const std::string& url)> open_browser;
  // Makes the transport for Cloud requests; default libcurl (with --ca-cert). Tests
  // inject a scripted one.
  std::function<std::unique_ptr<llm::HttpTransport>()> make_transport;
  // How long one "second" of the server's poll interval lasts (tests shorten it).
  std::chrono::milliseconds poll_second{1000};
};

// Registers `login`, `whoami` and `logout` on `app` (stdin, std::cout, std::cerr).
void register_login_commands(CLI::App& app, int& exit_code);
void register_login_commands(CLI::App& app, int& exit_code, const LoginCommandIo& io);

}  // namespace joey::client
