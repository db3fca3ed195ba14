#include "client/agent_runtime.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "agent/control_tools.h"
#include "agent/rules.h"
#include "agent/system_prompt.h"
#include "agent/workspace_tools.h"
#include "base/ids.h"
#include "base/paths.h"
#include "base/redact.h"
#include "client/exit_codes.h"
#include "client/history_store.h"
#include "client/telemetry_events.h"
#include "llm/model_catalog.h"

namespace joey::client {
namespace {

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

Result<std::filesystem::path> workspace_root(const std::string& cwd) {
  std::error_code fs_error;
  std::filesystem::path root = std::filesystem::canonical(
      cwd.empty() ? std::filesystem::current_path() : std::filesystem::path(cwd), fs_error);
  if (fs_error || !std::filesystem::is_directory(root)) {
    return make_error(ErrorKind::kInvalidArgument, "--cwd " + cwd + " is not a directory");
  }
  return root;
}

std::optional<llm::ModelPrice> price_for(const llm::ProviderConfig& config,
                                         llm::HttpTransport& transport,
                                         const llm::HttpTimeouts& timeouts) {
  if (config.info.local) return llm::ModelPrice{};
  if (config.info.name == "openrouter") {
    // OpenRouter publishes prices in its models listing; fetch them once per model.
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
  // Through the Cloud proxy the price is the upstream model's (the proxy charges it too).
  return llm::PriceTable::builtin().find(llm::policy_subject(config).second);
}

// The signed-in Cloud at its normalized URL; nullopt when signed out or when the
// credentials or URL are unusable (the reason in `why`, when asked).
std::optional<CloudCredentials> signed_in_cloud(const std::filesystem::path& home,
                                                const Settings& settings, bool allow_insecure,
                                                std::string* why = nullptr) {
  Result<std::optional<CloudCredentials>> credentials =
      load_cloud_credentials(home, settings, cloud_environment());
  if (!credentials.ok()) {
    if (why) *why = credentials.error().message;
    return std::nullopt;
  }
  if (!*credentials) return std::nullopt;
  Result<std::string> url = normalize_cloud_url((*credentials)->url, allow_insecure);
  if (!url.ok()) {
    if (why) *why = url.error().message;
    return std::nullopt;
  }
  CloudCredentials signed_in = **credentials;
  signed_in.url = *url;
  return signed_in;
}

// Layered settings (defaults < global < workspace < environment) with the flags given
// on top: the flags a user typed always win.
Result<RunFlags> apply_settings(RunFlags flags, Settings& settings) {
  auto pick = [&](std::string& flag, const char* key, const char* name) -> Status {
    if (!flag.empty()) return settings.set_from_flag(key, flag, name);
    flag = settings.get_string(key);
    return ok_status();
  };
  TRY(pick(flags.provider.provider, "provider", "--provider"));
  TRY(pick(flags.provider.model, "model", "--model"));
  TRY(pick(flags.provider.base_url, "base_url", "--base-url"));
  TRY(pick(flags.provider.ca_cert, "tls.ca_cert", "--ca-cert"));
  TRY(pick(flags.mode, "mode", "--mode"));
  TRY(pick(flags.output, "output", "--output"));
  if (flags.max_requests == 0)
    flags.max_requests = static_cast<int>(settings.get_int("max_requests"));
  if (flags.max_requests <= 0) flags.max_requests = 100;
  if (flags.max_cost < 0) flags.max_cost = settings.get_float("max_cost").value_or(-1);
  flags.sandbox = flags.sandbox || flags.sandbox_network || settings.get_bool("sandbox.enabled");
  flags.sandbox_network = flags.sandbox_network || settings.get_bool("sandbox.network");
  return flags;
}

// The PEM of --ca-cert for the agent's side channels (Cloud upload, MCP over HTTP), or ""
// when none is given or it cannot be read (make_transport reports that for the model).
std::string extra_ca_bundle(const ProviderFlags& flags) {
  if (flags.ca_cert.empty()) return std::string();
  Result<std::string> bundle = llm::build_ca_bundle(flags.ca_cert);
  return bundle.ok() ? std::move(bundle).value() : std::string();
}

// The Cloud upload for the signed-in user, or one that does nothing (signed out, or
// the credentials or the server URL are not usable: said once as a notice).
std::unique_ptr<CloudSync> open_cloud_sync(const std::filesystem::path& home,
                                           const Settings& settings, const ProviderFlags& flags,
                                           agent::EventSink& events) {
  std::string why;
  std::optional<CloudCredentials> signed_in =
      signed_in_cloud(home, settings, flags.allow_insecure, &why);
  if (!why.empty()) events.notice("not uploading to the joey Cloud: " + why);
  CloudSyncOptions options;
  options.make_transport = [ca_bundle = extra_ca_bundle(flags)](const Cancellation* cancel) {
    llm::TransportOptions transport;
    transport.ca_bundle = ca_bundle;
    return llm::make_curl_transport(cancel, std::move(transport));
  };
  return CloudSync::open(home, std::move(signed_in), std::move(options));
}

// The MCP servers this workspace may use, connected; null when none is configured. A
// broken mcp.json is said as a notice and the task goes on without MCP.
std::unique_ptr<McpToolbox> open_mcp_toolbox(const std::filesystem::path& home,
                                             const std::filesystem::path& root,
                                             const ProviderFlags& flags, agent::EventSink& events) {
  Result<McpConfig> config = load_mcp_config(home, root);
  if (!config.ok()) {
    events.notice("MCP servers are off: " + config.error().message);
    return nullptr;
  }
  if (config->servers.empty()) return nullptr;
  return McpToolbox::open(*config, process_environment(), mcp_http_factory(extra_ca_bundle(flags)),
                          [&events](const std::string& text) { events.notice(text); });
}

}  // namespace

Result<llm::ProviderConfig> resolve_provider_flags(const ProviderFlags& flags,
                                                   const std::string& model,
                                                   const std::filesystem::path& home,
                                                   const Settings& settings) {
  if (flags.provider != "cloud") {
    return llm::resolve_provider(flags.provider, flags.base_url, model, flags.allow_insecure);
  }
  std::string why;
  std::optional<CloudCredentials> cloud =
      signed_in_cloud(home, settings, flags.allow_insecure, &why);
  if (!cloud) {
    if (why.empty()) return llm::resolve_provider("cloud", "", model, flags.allow_insecure);
    return make_error(ErrorKind::kAuth, "--provider cloud: " + why);
  }
  return llm::resolve_cloud_provider({cloud->url, cloud->token}, model, flags.allow_insecure);
}

Status check_organization_policy(const llm::ProviderConfig& config,
                                 const std::filesystem::path& home, const Settings& settings) {
  std::optional<CloudCredentials> cloud = signed_in_cloud(home, settings, config.allow_insecure);
  if (!cloud) return ok_status();
  std::optional<CachedAgentSettings> cached = read_settings_cache(home, *cloud);
  if (!cached) return ok_status();
  auto [provider, model] = llm::policy_subject(config);
  if (std::optional<std::string> refusal = organization_model_refusal(*cached, provider, model)) {
    return make_error(ErrorKind::kPermissionDenied, *refusal);
  }
  return ok_status();
}

void add_provider_flags(CLI::App& command, ProviderFlags& flags) {
  command.add_option("--provider", flags.provider,
                     "openai, anthropic, openrouter, openai-compatible, ollama, lmstudio, or "
                     "cloud (the model proxy of the joey Cloud you are signed in to)");
  command.add_option("--model", flags.model, "model id, e.g. gpt-4.1 or claude-sonnet-4-5");
  command.add_option("--base-url", flags.base_url, "override the provider's API base URL");
  command.add_flag("--allow-insecure", flags.allow_insecure,
                   "allow plain http to hosts other than this machine");
  command.add_option("--ca-cert", flags.ca_cert,
                     "trust this PEM CA certificate in addition to the system store");
}

Result<std::unique_ptr<llm::HttpTransport>> make_transport(const ProviderFlags& flags,
                                                           Cancellation& cancellation) {
  llm::TransportOptions options;
  if (!flags.ca_cert.empty()) {
    Result<std::string> bundle = llm::build_ca_bundle(flags.ca_cert);
    if (!bundle.ok()) {
      return make_error(ErrorKind::kInvalidArgument, "--ca-cert: " + bundle.error().message);
    }
    options.ca_bundle = std::move(bundle).value();
  }
  return llm::make_curl_transport(&cancellation, std::move(options));
}

void add_task_flags(CLI::App& command, RunFlags& flags) {
  add_provider_flags(command, flags.provider);
  command.add_option("--mode", flags.mode,
                     "mode slug: code, architect, ask, debug, orchestrator or a custom mode "
                     "(default: the mode setting, code)");
  command.add_flag("--yes,-y", flags.yes, "approve writes and commands inside the workspace");
  command.add_option("--cwd", flags.cwd, "workspace directory (default: the current directory)");
  command
      .add_option("--max-requests", flags.max_requests,
                  "stop a task after this many model requests (default: 100)")
      ->check(CLI::PositiveNumber);
  command.add_option("--max-cost", flags.max_cost, "stop a task once it has cost this many USD")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--resume", flags.resume, "continue a task from `joey history` by its id");
  command.add_flag("--sandbox", flags.sandbox,
                   "run commands under bubblewrap: only the workspace writable, credentials "
                   "hidden, no network");
  command.add_flag("--sandbox-network", flags.sandbox_network,
                   "like --sandbox, but commands may reach the network");
}

llm::HttpTimeouts timeouts_from_environment() {
  llm::HttpTimeouts timeouts;
  timeouts.connect = env_milliseconds("JOEY_CONNECT_TIMEOUT_MS", 10'000);
  timeouts.first_byte = env_milliseconds("JOEY_FIRST_BYTE_TIMEOUT_MS", 120'000);
  timeouts.idle = env_milliseconds("JOEY_IDLE_TIMEOUT_MS", 90'000);
  return timeouts;
}

int error_exit(const Error& error) {
  std::fprintf(stderr, "joey: error: %s\n", error.message.c_str());
  bool usage =
      error.kind == ErrorKind::kInvalidArgument || error.kind == ErrorKind::kPermissionDenied;
  return usage ? kExitUsage : kExitFailed;
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
    std::string prompt =
        agent::build_system_prompt(agent::mode_prompt_section(mode, modes), *facts, rules_section);
    cache->emplace(mode.slug, prompt);
    return prompt;
  };
  setup.system_prompt_for(setup.mode);  // load the rules now, so their notes show at start
  setup.notes = *notes;
  return setup;
}

AgentRuntime::AgentRuntime(RunFlags flags, Settings settings,
                           std::unique_ptr<agent::EventSink> events)
    : flags_(std::move(flags)),
      settings_(std::move(settings)),
      events_(std::move(events)),
      cancellation_(Cancellation::global()) {}

Result<std::unique_ptr<AgentRuntime>> AgentRuntime::open(RunFlags flags,
                                                         const EventsFactory& make_events) {
  std::filesystem::path root = TRY(workspace_root(flags.cwd));
  std::filesystem::path home = TRY(joey_home());
  Settings settings = TRY(Settings::load(home, root, settings_environment()));
  flags = TRY(apply_settings(std::move(flags), settings));
  flags.cwd = root.string();

  // Anonymous, allow-listed telemetry (P4): events derived from the task's own events.
  std::shared_ptr<Telemetry> telemetry =
      Telemetry::open(resolve_telemetry_config(settings, telemetry_environment()), home);
  telemetry->show_first_run_notice(std::cerr);
  std::unique_ptr<agent::EventSink> event_sink =
      std::make_unique<TelemetryEvents>(make_events(flags), telemetry);
  std::unique_ptr<AgentRuntime> runtime(
      new AgentRuntime(std::move(flags), std::move(settings), std::move(event_sink)));
  runtime->telemetry_ = std::move(telemetry);
  AgentRuntime& self = *runtime;
  agent::EventSink& events = *self.events_;
  self.setup_ = TRY(open_workspace(root.string(), self.flags_.mode));
  self.cancellation_.install_signal_handlers();
  self.transport_ = TRY(make_transport(self.flags_.provider, self.cancellation_));
  self.timeouts_ = timeouts_from_environment();
  TRY(self.connect(self.flags_.provider.model));

  self.workspace_ = std::make_unique<agent::Workspace>(root);
  agent::ApprovalPolicy& policy = self.policy_;
  policy.yes = self.flags_.yes;
  policy.auto_write = self.settings_.get_bool("auto_approve.write");
  policy.auto_command = self.settings_.get_bool("auto_approve.command");
  policy.auto_mode_switch = self.settings_.get_bool("auto_approve.mode_switch");
  policy.auto_subtasks = self.settings_.get_bool("auto_approve.subtasks");
  policy.auto_mcp = self.settings_.get_bool("auto_approve.mcp");
  policy.commands.allowed = self.settings_.get_strings("commands.allowed");
  policy.commands.denied = self.settings_.get_strings("commands.denied");

  if (self.flags_.sandbox) {
    // Refuse to start rather than run commands unconfined when the user asked for a sandbox.
    if (Status available = agent::sandbox_available(); !available.ok()) {
      return make_error(available.error().kind,
                        "--sandbox cannot be used here: " + available.error().message);
    }
    self.sandbox_ = TRY(agent::default_sandbox_options(root, self.flags_.sandbox_network));
  }
  self.hooks_.pre_tool = self.settings_.get_string("hooks.pre_tool");
  self.hooks_.post_tool = self.settings_.get_string("hooks.post_tool");
  self.hooks_.on_complete = self.settings_.get_string("hooks.on_complete");

  for (const std::string& note : self.setup_.notes) events.notice(note);
  self.history_ = make_history_recorder(stderr);
  // The settings fetch (the collection gate) runs on the upload's own thread, so a slow
  // or absent Cloud never delays the task; until it answers nothing leaves the machine.
  self.cloud_sync_ = open_cloud_sync(home, self.settings_, self.flags_.provider, events);
  self.recorder_ = std::make_unique<TeeRecorder>(
      std::vector<agent::TaskRecorder*>{self.history_.get(), self.cloud_sync_.get()});
  self.mcp_ = open_mcp_toolbox(home, root, self.flags_.provider, events);
  if (Result<agent::Checkpoints> opened = agent::Checkpoints::open(root); opened.ok()) {
    self.checkpoints_.emplace(std::move(opened).value());
  } else {
    events.notice("checkpoints are off: " + opened.error().message);
  }
  return runtime;
}

Status AgentRuntime::connect(const std::string& model) {
  llm::ProviderConfig config =
      TRY(resolve_provider_flags(flags_.provider, model, setup_.home, settings_));
  if (config.api_key) register_secret(*config.api_key);  // redacted wherever it might show
  TRY(check_organization_policy(config, setup_.home, settings_));
  std::optional<llm::ModelPrice> price = price_for(config, *transport_, timeouts_);
  if (flags_.max_cost >= 0 && !price) {
    return make_error(
        ErrorKind::kInvalidArgument,
        "--max-cost needs the model's price, and the price of '" + config.model + "' is not known");
  }
  llm::ModelClientOptions client_options;
  client_options.timeouts = timeouts_;
  client_options.retry.base_delay = env_milliseconds("JOEY_RETRY_BASE_MS", 1000);
  client_options.cancellation = &cancellation_;
  client_options.on_retry = [&events = *events_](const llm::RetryNotice& notice) {
    char delay[32];
    std::snprintf(delay, sizeof delay, "%.1f", static_cast<double>(notice.delay.count()) / 1000.0);
    events.notice(notice.reason + "; retrying in " + delay + " s (attempt " +
                  std::to_string(notice.next_attempt) + " of " +
                  std::to_string(notice.max_attempts) + ")");
  };
  model_ = llm::make_model_client(config, *transport_, std::move(client_options));
  config_ = std::move(config);
  price_ = price;
  flags_.provider.model = config_.model;
  return ok_status();
}

Status AgentRuntime::set_model(const std::string& model) { return connect(model); }

Status AgentRuntime::set_mode(const std::string& slug) {
  Result<agent::Mode> mode = agent::find_mode(setup_.modes, slug);
  if (!mode.ok()) return make_error(ErrorKind::kInvalidArgument, mode.error().message);
  setup_.mode = std::move(mode).value();
  flags_.mode = slug;
  return ok_status();
}

Result<agent::TaskOptions> AgentRuntime::task_options() {
  // Again for every task: the Cloud upload refreshes the organization's settings while
  // the agent runs, and an admin may have narrowed the allow-list since the start.
  TRY(check_organization_policy(config_, setup_.home, settings_));
  agent::TaskOptions options;
  options.task_id = new_task_id();
  options.provider_name = config_.info.name;
  options.model = config_.model;
  options.mode = setup_.mode;
  options.modes = setup_.modes;
  options.system_prompt_for = setup_.system_prompt_for;
  options.max_requests = flags_.max_requests;
  options.auto_approve = flags_.yes;
  options.price = price_;
  options.workspace = setup_.root.string();
  options.hooks = hooks_;
  options.context_window_tokens = settings_.get_int("context.window_tokens");
  if (long from_env = env_integer("JOEY_CONTEXT_WINDOW_TOKENS", 0); from_env > 0) {
    options.context_window_tokens = from_env;
  }
  if (options.context_window_tokens == 0) {
    options.context_window_tokens = llm::context_window_or_default(config_.model);
  }
  if (flags_.max_cost >= 0) options.max_cost_usd = flags_.max_cost;
  options.recorder = recorder_.get();
  if (mcp_) {
    // MCP servers may change their tools mid-task (notifications/tools/list_changed, a
    // restart); the model sees the new list from its next request on.
    options.refresh_tools = [this]() -> std::optional<std::vector<agent::ToolDefinition>> {
      if (!mcp_->refresh_tools()) return std::nullopt;
      return tools();
    };
  }
  // A checkpoint before every write or command, so `joey checkpoints restore` can undo.
  options.before_change = [this](const std::string& task_id, const std::string& label) {
    if (!checkpoints_) return;
    Result<agent::Snapshot> snapshot = checkpoints_->snapshot(task_id, label);
    if (!snapshot.ok() && !checkpoint_warned_) {
      checkpoint_warned_ = true;
      events_->notice("could not take a checkpoint (" + snapshot.error().message +
                      "); going on without");
    }
  };
  if (!flags_.resume.empty()) {
    // Continue a stored task: same id, its messages first, then the new request.
    std::filesystem::path path = TRY(default_history_path());
    std::unique_ptr<HistoryStore> store = TRY(HistoryStore::open(path));
    Result<std::vector<llm::Message>> earlier = store->load_messages(flags_.resume);
    if (!earlier.ok()) return make_error(ErrorKind::kInvalidArgument, earlier.error().message);
    options.task_id = flags_.resume;
    options.prior_messages = std::move(earlier).value();
    flags_.resume.clear();  // once
  }
  return options;
}

agent::ToolContext AgentRuntime::tool_context(agent::ApprovalGate& approvals) {
  agent::ToolContext context;
  context.workspace = workspace_.get();
  context.approvals = &approvals;
  context.cancel = cancellation_.flag();
  context.on_command_output = [&events = *events_](std::string_view chunk) {
    events.command_output(chunk);
  };
  context.sandbox = sandbox_ ? &*sandbox_ : nullptr;
  return context;
}

std::vector<agent::ToolDefinition> AgentRuntime::tools() const {
  std::vector<agent::ToolDefinition> tools = all_tools();
  if (mcp_) tools.insert(tools.end(), mcp_->tools().begin(), mcp_->tools().end());
  return tools;
}

std::vector<agent::ToolDefinition> AgentRuntime::all_tools() {
  std::vector<agent::ToolDefinition> tools = agent::workspace_tools();
  for (agent::ToolDefinition& tool : agent::control_tools()) tools.push_back(std::move(tool));
  return tools;
}

}  // namespace joey::client
