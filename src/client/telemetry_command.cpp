#include "client/telemetry_command.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/paths.h"
#include "client/exit_codes.h"
#include "client/settings.h"
#include "client/telemetry.h"

namespace joey::client {
namespace {

struct TelemetryInvocation {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::string cwd;

  int fail(int exit_code, const std::string& message) const {
    *err << "joey: error: " << message << "\n";
    return exit_code;
  }

  int run_status() const {
    std::error_code error;
    std::filesystem::path root =
        cwd.empty() ? std::filesystem::current_path(error) : std::filesystem::absolute(cwd, error);
    if (error) return fail(kExitFailed, "finding the workspace: " + error.message());
    if (!std::filesystem::is_directory(root, error)) {
      return fail(kExitUsage, "--cwd " + cwd + ": not a directory");
    }
    auto home = joey_home();
    if (!home.ok()) return fail(kExitFailed, home.error().message);
    auto settings = Settings::load(*home, root.lexically_normal(), settings_environment());
    if (!settings.ok()) return fail(kExitFailed, settings.error().message);
    const TelemetryConfig config = resolve_telemetry_config(*settings, telemetry_environment());

    *out << "telemetry: " << config.reason << "\n";
    *out << "host: " << config.host << " (" << config.host_origin << ")\n";
    if (!config.host_problem.empty()) {
      *out << "host refused: " << config.host_problem << "; nothing is sent\n";
    }
    const std::optional<std::string> machine_id = read_machine_id(*home);
    *out << "machine id: " << machine_id.value_or("none") << "\n";
    *out << "queued events: " << telemetry_queue_length(*home) << "\n";
    auto last = read_file_to_string(*home / kTelemetryLastFile);
    const nlohmann::json parsed = last.ok() ? parse_json(*last) : nlohmann::json();
    if (!last.ok() || parsed.is_discarded() || !parsed.is_object()) {
      *out << "last event sent: none\n";
    } else {
      *out << "last event sent:\n"
           << parsed.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return kExitOk;
  }
};

}  // namespace

void register_telemetry_command(CLI::App& app, int& exit_code) {
  register_telemetry_command(app, exit_code, std::cout, std::cerr);
}

void register_telemetry_command(CLI::App& app, int& exit_code, std::ostream& out,
                                std::ostream& err) {
  auto invocation = std::make_shared<TelemetryInvocation>();
  invocation->out = &out;
  invocation->err = &err;

  CLI::App* telemetry = app.add_subcommand("telemetry", "Show what anonymous telemetry sends");
  telemetry->require_subcommand(1);
  telemetry->add_option("--cwd", invocation->cwd, "workspace directory (default: current)");
  CLI::App* status = telemetry->add_subcommand(
      "status", "Whether telemetry is on and why, its host, machine id, queue and last event");
  status->fallthrough();
  status->callback([invocation, &exit_code] { exit_code = invocation->run_status(); });
}

}  // namespace joey::client
