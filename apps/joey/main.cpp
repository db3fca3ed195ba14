// joey: the command-line entry point. Parses arguments and hands over to src/;
// every command has one outer boundary that turns an Error into a message and an
// exit status (0 done, 1 failed, 2 bad usage, 3 needs a decision, 130 interrupted).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "agent/system_prompt.h"
#include "base/cancel.h"
#include "base/paths.h"
#include "base/redact.h"
#include "client/agent_runtime.h"
#include "client/auth_command.h"
#include "client/checkpoints_command.h"
#include "client/config_command.h"
#include "client/exit_codes.h"
#include "client/history_command.h"
#include "client/interactive_session.h"
#include "client/login_command.h"
#include "client/marketplace_command.h"
#include "client/mcp_command.h"
#include "client/modes_command.h"
#include "client/privacy_command.h"
#include "client/run_command.h"
#include "client/secret_store.h"
#include "client/telemetry_command.h"
#include "llm/egress_log.h"
#include "llm/model_client.h"

namespace {

using namespace joey;

int list_models_command(const client::ProviderFlags& flags) {
  std::string model = flags.model.empty() ? "-" : flags.model;  // listing needs no model
  Result<std::filesystem::path> home = joey_home();
  if (!home.ok()) return client::error_exit(home.error());
  Result<client::Settings> settings = client::Settings::load(*home, std::filesystem::current_path(),
                                                             client::settings_environment());
  if (!settings.ok()) return client::error_exit(settings.error());
  Result<llm::ProviderConfig> config =
      client::resolve_provider_flags(flags, model, *home, *settings);
  if (!config.ok()) return client::error_exit(config.error());
  if (config->api_key) register_secret(*config->api_key);
  Cancellation& cancellation = Cancellation::global();
  cancellation.install_signal_handlers();
  Result<std::unique_ptr<llm::HttpTransport>> transport =
      client::make_transport(flags, cancellation);
  if (!transport.ok()) return client::error_exit(transport.error());
  Result<std::vector<std::string>> models =
      llm::list_models(*config, **transport, client::timeouts_from_environment());
  if (!models.ok()) return client::error_exit(models.error());
  for (const std::string& id : *models) std::printf("%s\n", id.c_str());
  return client::kExitOk;
}

int system_prompt_command(const std::string& cwd, const std::string& mode_slug) {
  Result<client::WorkspaceSetup> setup = client::open_workspace(cwd, mode_slug);
  if (!setup.ok()) return client::error_exit(setup.error());
  std::string prompt = setup->system_prompt_for(setup->mode);
  nlohmann::json tools = nlohmann::json::array();
  std::vector<agent::ToolDefinition> definitions =
      agent::tools_for_mode(setup->mode, client::AgentRuntime::all_tools());
  for (const agent::ToolDefinition& tool : definitions) {
    tools.push_back({{"name", tool.name},
                     {"description", tool.description},
                     {"input_schema", tool.input_schema}});
  }
  std::string tools_text = tools.dump();
  std::printf("%s", prompt.c_str());
  std::fprintf(stderr,
               "joey: system prompt ≈ %zu tokens (%zu bytes); tool definitions ≈ %zu tokens "
               "(%zu bytes, %zu tools)\n",
               agent::estimate_tokens(prompt), prompt.size(), agent::estimate_tokens(tools_text),
               tools_text.size(), definitions.size());
  return client::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "joey — a privacy-first coding agent that works on your files with the model you choose"};
  app.set_version_flag("--version", std::string("joey ") + JOEY_VERSION);
  app.require_subcommand(0, 1);
  app.footer(
      "Run `joey` alone for an interactive session in the current directory, or\n"
      "`joey run \"TASK\"` for one task without a person at the keyboard.");
  // `joey` alone opens an interactive session; these flags apply to it.
  client::RunFlags session_flags;
  client::add_task_flags(app, session_flags);

  client::RunFlags run_flags;
  CLI::App* run = app.add_subcommand("run", "run one task headless and exit");
  client::add_task_flags(*run, run_flags);
  run->add_option("--output", run_flags.output, "text (default) or json (JSON Lines events)")
      ->check(CLI::IsMember({"text", "json"}));
  run->add_option("task", run_flags.task, "what joey should do");

  client::ProviderFlags models_flags;
  CLI::App* models = app.add_subcommand("models", "list the models a provider offers");
  client::add_provider_flags(*models, models_flags);

  std::string prompt_cwd;
  std::string prompt_mode = agent::kDefaultModeSlug;
  CLI::App* prompt = app.add_subcommand("system-prompt", "print the system prompt joey would send");
  prompt->add_option("--cwd", prompt_cwd, "workspace directory");
  prompt->add_option("--mode", prompt_mode, "mode slug (default: code)");

  // Keys come from their environment variable first, then from `joey auth set`'s store.
  llm::set_stored_key_lookup([](const std::string& provider) -> Result<std::optional<std::string>> {
    Result<std::filesystem::path> home = joey_home();
    if (!home.ok()) return home.error();
    return client::stored_key(*home, provider);
  });

  // Every outbound request is noted in $JOEY_HOME/egress.log (P13): `joey privacy report`.
  if (Result<std::filesystem::path> egress = llm::EgressLog::default_path(); egress.ok()) {
    llm::set_default_egress_log(std::make_shared<llm::EgressLog>(*egress));
  }

  int command_exit = 0;  // set by the subcommands that src/client registers
  client::register_config_command(app, command_exit);
  client::register_modes_command(app, command_exit);
  client::register_mcp_command(app, command_exit);
  client::register_marketplace_command(app, command_exit);
  client::register_history_command(app, command_exit);
  client::register_checkpoints_command(app, command_exit);
  client::register_auth_command(app, command_exit);
  client::register_privacy_command(app, command_exit);
  client::register_telemetry_command(app, command_exit);
  client::register_login_commands(app, command_exit);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "joey: %s\nRun 'joey --help' for usage.\n", e.what());
    return client::kExitUsage;
  }

  for (const char* command : {"config", "modes", "mcp", "marketplace", "history", "checkpoints",
                              "auth", "privacy", "telemetry", "login", "whoami", "logout"}) {
    if (app.got_subcommand(command)) return command_exit;
  }
  if (run->parsed()) return client::run_task(run_flags);
  if (models->parsed()) return list_models_command(models_flags);
  if (prompt->parsed()) return system_prompt_command(prompt_cwd, prompt_mode);
  return client::run_interactive(session_flags);
}
