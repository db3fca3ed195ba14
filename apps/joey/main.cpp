// joey: the command-line entry point. Parses arguments and hands over to src/;
// every command has one outer boundary that turns an Error into a message and an
// exit status (0 done, 1 failed, 2 bad usage, 3 needs a decision, 130 interrupted).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>

#include "agent/approvals.h"
#include "agent/checkpoints.h"
#include "agent/control_tools.h"
#include "agent/events.h"
#include "agent/modes.h"
#include "agent/rules.h"
#include "agent/system_prompt.h"
#include "agent/task_loop.h"
#include "agent/workspace.h"
#include "agent/workspace_tools.h"
#include "base/cancel.h"
#include "base/ids.h"
#include "base/paths.h"
#include "client/checkpoints_command.h"
#include "client/config_command.h"
#include "client/history_command.h"
#include "client/history_recorder.h"
#include "client/history_store.h"
#include "client/modes_command.h"
#include "client/settings.h"
#include "llm/model_catalog.h"
#include "llm/model_client.h"
#include "llm/pricing.h"
#include "llm/provider.h"

namespace {

using namespace joey;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct ProviderFlags {
  std::string provider;
  std::string model;
  std::string base_url;
  bool allow_insecure = false;
};

void add_provider_flags(CLI::App& command, ProviderFlags& flags) {
  command.add_option("--provider", flags.provider,
                     "openai, anthropic, openrouter, openai-compatible, ollama or lmstudio");
  command.add_option("--model", flags.model, "model id, e.g. gpt-4.1 or claude-sonnet-4-5");
  command.add_option("--base-url", flags.base_url, "override the provider's API base URL");
  command.add_flag("--allow-insecure", flags.allow_insecure,
                   "allow plain http to hosts other than this machine");
}

// A non-negative integer from the environment, or `fallback` when unset or malformed.
long env_integer(const char* name, long fallback) {
  const char* value = std::getenv(name);
  if (!value || !*value) return fallback;
  char* end = nullptr;
  long parsed = std::strtol(value, &end, 10);
  return end && *end == '\0' && parsed >= 0 ? parsed : fallback;
}

std::chrono::milliseconds env_milliseconds(const char* name, long fallback) {
  return std::chrono::milliseconds(env_integer(name, fallback));
}

llm::HttpTimeouts timeouts_from_environment() {
  llm::HttpTimeouts timeouts;
  timeouts.connect = env_milliseconds("JOEY_CONNECT_TIMEOUT_MS", 10'000);
  timeouts.first_byte = env_milliseconds("JOEY_FIRST_BYTE_TIMEOUT_MS", 120'000);
  timeouts.idle = env_milliseconds("JOEY_IDLE_TIMEOUT_MS", 90'000);
  return timeouts;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "joey: %s\n", message.c_str());
  return kExitUsage;
}

// Bad usage (exit 2) versus a failure while running (exit 1).
int error_exit(const Error& error) {
  std::fprintf(stderr, "joey: error: %s\n", error.message.c_str());
  bool usage = error.kind == ErrorKind::kInvalidArgument || error.kind == ErrorKind::kPermissionDenied;
  return usage ? kExitUsage : kExitFailed;
}

std::optional<llm::ModelPrice> price_for(const llm::ProviderConfig& config,
                                         llm::HttpTransport& transport,
                                         const llm::HttpTimeouts& timeouts) {
  if (config.info.local) return llm::ModelPrice{};
  if (config.info.name == "openrouter") {
    // OpenRouter publishes prices in its models listing; fetch them once per run.
    llm::HttpRequest request;
    request.method = "GET";
    request.url = llm::models_endpoint(config);
    std::string body;
    llm::HttpCallbacks callbacks;
    callbacks.on_body = [&](std::string_view chunk) -> Status {
      if (body.size() + chunk.size() > (64u << 20)) {
        return make_error(ErrorKind::kProtocol, "models listing too large");
      }
      body.append(chunk);
      return ok_status();
    };
    Result<llm::HttpResponseHead> head = transport.perform(request, timeouts, callbacks);
    if (head.ok() && head->status == 200) {
      Result<llm::PriceTable> table = llm::PriceTable::parse_openrouter_models(body);
      if (table.ok()) return table->find(config.model);
    }
    return std::nullopt;
  }
  return llm::PriceTable::builtin().find(config.model);
}

// The workspace a command works in: its root, joey's home, the modes available there
// and the system prompt for each mode (built once per mode, rules included).
struct WorkspaceSetup {
  std::filesystem::path root;
  std::filesystem::path home;
  std::vector<agent::Mode> modes;
  agent::Mode mode;
  std::vector<std::string> notes;  // rules files skipped or cut, for the user
  std::function<std::string(const agent::Mode&)> system_prompt_for;
};

Result<std::filesystem::path> workspace_root(const std::string& cwd) {
  std::error_code fs_error;
  std::filesystem::path root = std::filesystem::canonical(
      cwd.empty() ? std::filesystem::current_path() : std::filesystem::path(cwd), fs_error);
  if (fs_error || !std::filesystem::is_directory(root)) {
    return make_error(ErrorKind::kInvalidArgument, "--cwd " + cwd + " is not a directory");
  }
  return root;
}

Result<WorkspaceSetup> open_workspace(const std::string& cwd, const std::string& mode_slug) {
  WorkspaceSetup setup;
  setup.root = TRY(workspace_root(cwd));
  setup.home = TRY(joey_home());
  setup.modes = TRY(agent::load_modes(setup.home, setup.root));
  Result<agent::Mode> mode = agent::find_mode(setup.modes, mode_slug);
  if (!mode.ok()) return make_error(ErrorKind::kInvalidArgument, mode.error().message);
  setup.mode = std::move(mode).value();

  auto facts = std::make_shared<agent::WorkspaceFacts>(agent::gather_workspace_facts(setup.root));
  auto cache = std::make_shared<std::map<std::string, std::string>>();
  auto notes = std::make_shared<std::vector<std::string>>();
  setup.system_prompt_for = [facts, cache, notes, home = setup.home, root = setup.root,
                             modes = setup.modes](const agent::Mode& mode) {
    auto cached = cache->find(mode.slug);
    if (cached != cache->end()) return cached->second;
    std::string rules_section;
    Result<agent::LoadedRules> rules = agent::load_rules(home, root, mode.slug);
    if (rules.ok()) {
      rules_section = rules->prompt_section;
      notes->insert(notes->end(), rules->notes.begin(), rules->notes.end());
    }
    std::string prompt = agent::build_system_prompt(agent::mode_prompt_section(mode, modes),
                                                     *facts, rules_section);
    cache->emplace(mode.slug, prompt);
    return prompt;
  };
  setup.system_prompt_for(setup.mode);  // load the rules now, so their notes show at start
  setup.notes = *notes;
  return setup;
}

// Empty (or negative) means "not given": the setting of that name applies.
struct RunFlags {
  ProviderFlags provider;
  std::string mode;
  bool yes = false;
  std::string output;
  std::string cwd;
  int max_requests = 0;
  double max_cost = -1;
  std::string resume;
  std::string task;
};

// Layered settings (defaults < global < workspace < environment) with the flags given
// on top: the flags a user typed always win.
Result<RunFlags> apply_settings(RunFlags flags, client::Settings& settings) {
  auto pick = [&](std::string& flag, const char* key, const char* name) -> Status {
    if (!flag.empty()) return settings.set_from_flag(key, flag, name);
    flag = settings.get_string(key);
    return ok_status();
  };
  TRY(pick(flags.provider.provider, "provider", "--provider"));
  TRY(pick(flags.provider.model, "model", "--model"));
  TRY(pick(flags.provider.base_url, "base_url", "--base-url"));
  TRY(pick(flags.mode, "mode", "--mode"));
  TRY(pick(flags.output, "output", "--output"));
  if (flags.max_requests == 0) flags.max_requests = static_cast<int>(settings.get_int("max_requests"));
  if (flags.max_cost < 0) flags.max_cost = settings.get_float("max_cost").value_or(-1);
  return flags;
}

int run_task(RunFlags flags) {
  if (flags.task.empty()) return usage_error("joey run needs a task, e.g. joey run \"fix the failing test\"");
  Result<std::filesystem::path> root_path = workspace_root(flags.cwd);
  if (!root_path.ok()) return error_exit(root_path.error());
  Result<std::filesystem::path> home = joey_home();
  if (!home.ok()) return error_exit(home.error());
  Result<client::Settings> settings =
      client::Settings::load(*home, *root_path, client::settings_environment());
  if (!settings.ok()) return error_exit(settings.error());
  Result<RunFlags> resolved = apply_settings(std::move(flags), *settings);
  if (!resolved.ok()) return error_exit(resolved.error());
  flags = std::move(resolved).value();
  if (flags.max_requests <= 0) flags.max_requests = 100;

  Result<llm::ProviderConfig> config = llm::resolve_provider(
      flags.provider.provider, flags.provider.base_url, flags.provider.model,
      flags.provider.allow_insecure);
  if (!config.ok()) return error_exit(config.error());

  Result<WorkspaceSetup> setup = open_workspace(root_path->string(), flags.mode);
  if (!setup.ok()) return error_exit(setup.error());
  const std::filesystem::path& root = setup->root;

  Cancellation& cancellation = Cancellation::global();
  cancellation.install_signal_handlers();
  std::unique_ptr<agent::EventSink> events = flags.output == "json"
                                                 ? agent::make_json_lines_events(stdout, stderr)
                                                 : agent::make_text_events(stdout, stderr);
  std::unique_ptr<llm::HttpTransport> transport = llm::make_curl_transport(&cancellation);
  llm::HttpTimeouts timeouts = timeouts_from_environment();

  agent::TaskOptions options;
  options.task_id = new_task_id();
  if (!flags.resume.empty()) {
    // Continue a stored task: same id, its messages first, then the new request.
    Result<std::filesystem::path> path = client::default_history_path();
    if (!path.ok()) return error_exit(path.error());
    Result<std::unique_ptr<client::HistoryStore>> store = client::HistoryStore::open(*path);
    if (!store.ok()) return error_exit(store.error());
    Result<std::vector<llm::Message>> earlier = (*store)->load_messages(flags.resume);
    if (!earlier.ok()) return usage_error(earlier.error().message);
    options.task_id = flags.resume;
    options.prior_messages = std::move(earlier).value();
  }
  options.provider_name = config->info.name;
  options.model = config->model;
  options.mode = setup->mode;
  options.modes = setup->modes;
  options.system_prompt_for = setup->system_prompt_for;
  options.max_requests = flags.max_requests;
  options.auto_approve = flags.yes;
  options.price = price_for(*config, *transport, timeouts);
  options.workspace = root.string();
  options.context_window_tokens = settings->get_int("context.window_tokens");
  if (long from_env = env_integer("JOEY_CONTEXT_WINDOW_TOKENS", 0); from_env > 0) {
    options.context_window_tokens = from_env;
  }
  if (options.context_window_tokens == 0) {
    options.context_window_tokens = llm::context_window_or_default(config->model);
  }
  if (flags.max_cost >= 0) {
    if (!options.price) {
      return usage_error("--max-cost needs the model's price, and the price of '" + config->model +
                         "' is not known");
    }
    options.max_cost_usd = flags.max_cost;
  }

  llm::ModelClientOptions client_options;
  client_options.timeouts = timeouts;
  client_options.retry.base_delay = env_milliseconds("JOEY_RETRY_BASE_MS", 1000);
  client_options.cancellation = &cancellation;
  client_options.on_retry = [&events](const llm::RetryNotice& notice) {
    char delay[32];
    std::snprintf(delay, sizeof delay, "%.1f", static_cast<double>(notice.delay.count()) / 1000.0);
    events->notice(notice.reason + "; retrying in " + delay + " s (attempt " +
                   std::to_string(notice.next_attempt) + " of " +
                   std::to_string(notice.max_attempts) + ")");
  };
  std::unique_ptr<llm::ModelClient> model =
      llm::make_model_client(*config, *transport, std::move(client_options));

  agent::Workspace workspace(root);
  agent::ApprovalPolicy policy;
  policy.yes = flags.yes;
  policy.auto_write = settings->get_bool("auto_approve.write");
  policy.auto_command = settings->get_bool("auto_approve.command");
  policy.auto_mode_switch = settings->get_bool("auto_approve.mode_switch");
  policy.auto_subtasks = settings->get_bool("auto_approve.subtasks");
  policy.commands.allowed = settings->get_strings("commands.allowed");
  policy.commands.denied = settings->get_strings("commands.denied");
  agent::HeadlessApprovalGate approvals(std::move(policy), *events);
  agent::ToolContext context;
  context.workspace = &workspace;
  context.approvals = &approvals;
  context.cancel = cancellation.flag();
  context.on_command_output = [&events](std::string_view chunk) { events->command_output(chunk); };

  std::vector<agent::ToolDefinition> tools = agent::workspace_tools();
  for (agent::ToolDefinition& tool : agent::control_tools()) tools.push_back(std::move(tool));

  for (const std::string& note : setup->notes) events->notice(note);
  std::unique_ptr<client::HistoryRecorder> history = client::make_history_recorder(stderr);
  options.recorder = history.get();

  // A checkpoint before every write or command, so `joey checkpoints restore` can undo.
  std::optional<agent::Checkpoints> checkpoints;
  if (Result<agent::Checkpoints> opened = agent::Checkpoints::open(root); opened.ok()) {
    checkpoints.emplace(std::move(opened).value());
  } else {
    events->notice("checkpoints are off: " + opened.error().message);
  }
  bool checkpoint_warned = false;
  options.before_change = [&](const std::string& task_id, const std::string& label) {
    if (!checkpoints) return;
    Result<agent::Snapshot> snapshot = checkpoints->snapshot(task_id, label);
    if (!snapshot.ok() && !checkpoint_warned) {
      checkpoint_warned = true;
      events->notice("could not take a checkpoint (" + snapshot.error().message +
                     "); going on without");
    }
  };
  agent::TaskLoop loop(std::move(options), *model, *events, context, std::move(tools));
  agent::TaskOutcome outcome = loop.run(flags.task);
  return agent::exit_code_for(outcome.status);
}

int list_models_command(const ProviderFlags& flags) {
  std::string model = flags.model.empty() ? "-" : flags.model;  // listing needs no model
  Result<llm::ProviderConfig> config =
      llm::resolve_provider(flags.provider, flags.base_url, model, flags.allow_insecure);
  if (!config.ok()) return error_exit(config.error());
  Cancellation& cancellation = Cancellation::global();
  cancellation.install_signal_handlers();
  std::unique_ptr<llm::HttpTransport> transport = llm::make_curl_transport(&cancellation);
  Result<std::vector<std::string>> models =
      llm::list_models(*config, *transport, timeouts_from_environment());
  if (!models.ok()) return error_exit(models.error());
  for (const std::string& id : *models) std::printf("%s\n", id.c_str());
  return 0;
}

int system_prompt_command(const std::string& cwd, const std::string& mode_slug) {
  Result<WorkspaceSetup> setup = open_workspace(cwd, mode_slug);
  if (!setup.ok()) return error_exit(setup.error());
  std::string prompt = setup->system_prompt_for(setup->mode);
  nlohmann::json tools = nlohmann::json::array();
  std::vector<agent::ToolDefinition> definitions = agent::workspace_tools();
  for (agent::ToolDefinition& tool : agent::control_tools()) definitions.push_back(std::move(tool));
  definitions = agent::tools_for_mode(setup->mode, std::move(definitions));
  for (const agent::ToolDefinition& tool : definitions) {
    tools.push_back({{"name", tool.name}, {"description", tool.description}, {"input_schema", tool.input_schema}});
  }
  std::string tools_text = tools.dump();
  std::printf("%s", prompt.c_str());
  std::fprintf(stderr,
               "joey: system prompt ≈ %zu tokens (%zu bytes); tool definitions ≈ %zu tokens "
               "(%zu bytes, %zu tools)\n",
               agent::estimate_tokens(prompt), prompt.size(), agent::estimate_tokens(tools_text),
               tools_text.size(), definitions.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"joey — a privacy-first coding agent that works on your files with the model you choose"};
  app.set_version_flag("--version", std::string("joey ") + JOEY_VERSION);
  app.require_subcommand(0, 1);

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand("run", "run one task headless and exit");
  add_provider_flags(*run, run_flags.provider);
  run->add_option("--mode", run_flags.mode, "mode slug: code, architect, ask, debug, orchestrator or a custom mode (default: the mode setting, code)");
  run->add_flag("--yes,-y", run_flags.yes, "approve writes and commands inside the workspace");
  run->add_option("--output", run_flags.output, "text (default) or json (JSON Lines events)")
      ->check(CLI::IsMember({"text", "json"}));
  run->add_option("--cwd", run_flags.cwd, "workspace directory (default: the current directory)");
  run->add_option("--max-requests", run_flags.max_requests, "stop after this many model requests (default: 100)")
      ->check(CLI::PositiveNumber);
  run->add_option("--max-cost", run_flags.max_cost, "stop once the task has cost this many USD")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--resume", run_flags.resume, "continue a task from `joey history` by its id");
  run->add_option("task", run_flags.task, "what joey should do");

  ProviderFlags models_flags;
  CLI::App* models = app.add_subcommand("models", "list the models a provider offers");
  add_provider_flags(*models, models_flags);

  std::string prompt_cwd;
  std::string prompt_mode = agent::kDefaultModeSlug;
  CLI::App* prompt = app.add_subcommand("system-prompt", "print the system prompt joey would send");
  prompt->add_option("--cwd", prompt_cwd, "workspace directory");
  prompt->add_option("--mode", prompt_mode, "mode slug (default: code)");

  int command_exit = 0;  // set by the subcommands that src/client registers
  client::register_config_command(app, command_exit);
  client::register_modes_command(app, command_exit);
  client::register_history_command(app, command_exit);
  client::register_checkpoints_command(app, command_exit);

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
    return kExitUsage;
  }

  for (const char* command : {"config", "modes", "history", "checkpoints"}) {
    if (app.got_subcommand(command)) return command_exit;
  }
  if (run->parsed()) return run_task(run_flags);
  if (models->parsed()) return list_models_command(models_flags);
  if (prompt->parsed()) return system_prompt_command(prompt_cwd, prompt_mode);
  std::fprintf(stderr,
               "%s\njoey: the interactive session is not built yet; use: joey run \"TASK\"\n",
               app.help().c_str());
  return kExitUsage;
}
