// What a task needs beyond its own conversation, put together once per command:
// settings with the flags on top, the provider and model client, the workspace with
// its modes, rules and system prompts, the approval policy, the sandbox, hooks,
// checkpoints, the history recorder and the Cloud upload (client/cloud_sync.h). `joey run` builds
// one for its single task; the interactive session builds one and runs many tasks with it, changing
// the model or the mode between them.
//
// Thread-safety: none; one thread uses a runtime.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/approvals.h"
#include "agent/checkpoints.h"
#include "agent/events.h"
#include "agent/hooks.h"
#include "agent/modes.h"
#include "agent/sandbox.h"
#include "agent/task_loop.h"
#include "agent/workspace.h"
#include "base/cancel.h"
#include "client/cloud_sync.h"
#include "client/history_recorder.h"
#include "client/mcp_tools.h"
#include "client/settings.h"
#include "client/tee_recorder.h"
#include "client/telemetry.h"
#include "llm/http_transport.h"
#include "llm/model_client.h"
#include "llm/pricing.h"
#include "llm/provider.h"

namespace joey::client {

struct ProviderFlags {
  std::string provider;
  std::string model;
  std::string base_url;
  bool allow_insecure = false;
  std::string ca_cert;  // --ca-cert: a PEM CA trusted besides the system store
};

// The transport for a provider's requests: the system CA store plus --ca-cert.
Result<std::unique_ptr<llm::HttpTransport>> make_transport(const ProviderFlags& flags,
                                                           Cancellation& cancellation);

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
  bool sandbox = false;          // --sandbox (or the setting sandbox.enabled)
  bool sandbox_network = false;  // --sandbox-network (or sandbox.network)
  std::string task;
};

void add_provider_flags(CLI::App& command, ProviderFlags& flags);

// The provider configuration for these flags and `model`: llm::resolve_provider, or for
// --provider cloud the model proxy of the signed-in Cloud (its URL and token; kAuth
// saying how to sign in when signed out). --base-url does not apply to the Cloud.
Result<llm::ProviderConfig> resolve_provider_flags(const ProviderFlags& flags,
                                                   const std::string& model,
                                                   const std::filesystem::path& home,
                                                   const Settings& settings);

// Issue 8 §5: kPermissionDenied, in the same words as the Cloud's proxy, when the
// organization of the signed-in user forbids the configuration's model — as its
// allow-list stood when the agent last fetched the settings (client/cloud_settings.h).
// Signed out, or before a first fetch, nothing is known and everything is allowed here;
// the proxy still enforces the list for --provider cloud.
Status check_organization_policy(const llm::ProviderConfig& config,
                                 const std::filesystem::path& home, const Settings& settings);
// The flags `joey run` and the interactive session share (everything but the task).
void add_task_flags(CLI::App& command, RunFlags& flags);

llm::HttpTimeouts timeouts_from_environment();

// "joey: error: MESSAGE" on stderr; exit 2 for bad usage, else 1.
int error_exit(const Error& error);

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

// `cwd` empty: the current directory. kInvalidArgument when it is not a directory or
// the mode is unknown.
Result<WorkspaceSetup> open_workspace(const std::string& cwd, const std::string& mode_slug);

class AgentRuntime {
 public:
  // Makes the event sink once the flags are resolved (--output may come from settings).
  using EventsFactory = std::function<std::unique_ptr<agent::EventSink>(const RunFlags&)>;

  // Resolves settings and flags, the provider and the workspace; the runtime owns the
  // events `make_events` returns. Errors are for error_exit().
  static Result<std::unique_ptr<AgentRuntime>> open(RunFlags flags,
                                                    const EventsFactory& make_events);

  // A fresh task's options: a new id, the current mode and model, limits, hooks,
  // checkpoints before changes, the history recorder and, when MCP servers run, the
  // refresh of their tools before each model request (McpToolbox::refresh_tools).
  Result<agent::TaskOptions> task_options();
  // The context the tools get, with `approvals` as the gate (not owned).
  agent::ToolContext tool_context(agent::ApprovalGate& approvals);
  // Every built-in tool; the mode decides which are offered.
  static std::vector<agent::ToolDefinition> all_tools();
  // The built-in tools and those of the MCP servers that started, as last listed
  // (client/mcp_tools.h).
  std::vector<agent::ToolDefinition> tools() const;

  // Between tasks: another model of the same provider, another mode.
  Status set_model(const std::string& model);
  Status set_mode(const std::string& slug);

  const RunFlags& flags() const { return flags_; }
  const Settings& settings() const { return settings_; }
  const llm::ProviderConfig& provider() const { return config_; }
  const WorkspaceSetup& workspace_setup() const { return setup_; }
  const agent::ApprovalPolicy& approval_policy() const { return policy_; }
  agent::Checkpoints* checkpoints() { return checkpoints_ ? &*checkpoints_ : nullptr; }
  llm::ModelClient& model() { return *model_; }
  Cancellation& cancellation() { return cancellation_; }
  agent::EventSink& events() { return *events_; }
  Telemetry* telemetry() { return telemetry_.get(); }

 private:
  AgentRuntime(RunFlags flags, Settings settings, std::unique_ptr<agent::EventSink> events);
  Status connect(const std::string& model);

  RunFlags flags_;
  Settings settings_;
  std::unique_ptr<agent::EventSink> events_;
  Cancellation& cancellation_;
  llm::ProviderConfig config_;
  WorkspaceSetup setup_;
  std::unique_ptr<llm::HttpTransport> transport_;
  llm::HttpTimeouts timeouts_;
  std::optional<llm::ModelPrice> price_;
  std::unique_ptr<llm::ModelClient> model_;
  std::unique_ptr<agent::Workspace> workspace_;
  agent::ApprovalPolicy policy_;
  std::optional<agent::SandboxOptions> sandbox_;
  agent::HookCommands hooks_;
  std::optional<agent::Checkpoints> checkpoints_;
  bool checkpoint_warned_ = false;
  std::unique_ptr<HistoryRecorder> history_;
  // Uploads to the joey Cloud while its collection gate is on; drains (at most ~2 s)
  // when the runtime ends.
  std::unique_ptr<CloudSync> cloud_sync_;
  std::unique_ptr<TeeRecorder> recorder_;  // history_ then cloud_sync_
  std::shared_ptr<Telemetry> telemetry_;   // after events_: the sink holds it too
  std::unique_ptr<McpToolbox> mcp_;        // may be null (no server configured)
};

}  // namespace joey::client
