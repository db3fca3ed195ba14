#include "client/mcp_tools.h"

#include <algorithm>
#include <cstdio>
#include <future>
#include <set>

#include <unistd.h>

#include "agent/file_tools.h"
#include "base/cancel.h"
#include "base/log.h"
#include "base/redact.h"
#include "base/subprocess.h"
#include "client/cloud_client.h"
#include "llm/provider.h"

namespace joey::client {
namespace {

using nlohmann::json;

constexpr size_t kMaxToolName = 64;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string short_hash(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (unsigned char byte : text) hash = (hash ^ byte) * 16777619u;
  char out[9];
  std::snprintf(out, sizeof out, "%08x", hash);
  return out;
}

std::string describe_size(const std::string& base64) {
  return std::to_string(base64.size() * 3 / 4) + " bytes";
}

}  // namespace

mcp::ServerConfig mcp_server_config(const McpLaunch& launch) {
  mcp::ServerConfig config;
  config.name = launch.name;
  config.command = launch.command;
  config.args = launch.args;
  config.cwd = launch.cwd;
  config.env = launch.env;
  // P2: a server is someone else's program; it never sees the keys joey reads.
  config.unset_env = llm::provider_key_variables();
  for (const auto& [name, value] : cloud_environment()) config.unset_env.push_back(name);
  config.unset_env.push_back("JOEY_CLOUD_TOKEN");
  switch (launch.transport) {
    case McpTransport::kStdio:
      config.kind = mcp::ServerConfig::Kind::kStdio;
      break;
    case McpTransport::kStreamableHttp:
      config.kind = mcp::ServerConfig::Kind::kStreamableHttp;
      break;
    case McpTransport::kSse:
      config.kind = mcp::ServerConfig::Kind::kSse;
      break;
  }
  config.url = launch.url;
  config.headers = launch.headers;
  config.timeout = launch.timeout;
  return config;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t equals = text.find('=');
    if (equals != std::string_view::npos) {
      environment.emplace(std::string(text.substr(0, equals)),
                          std::string(text.substr(equals + 1)));
    }
  }
  return environment;
}

mcp::HttpTransportFactory mcp_http_factory(std::string ca_bundle) {
  return [ca_bundle = std::move(ca_bundle)](const Cancellation* cancellation) {
    llm::TransportOptions options;
    options.ca_bundle = ca_bundle;
    return llm::make_curl_transport(cancellation ? cancellation : &Cancellation::global(),
                                    std::move(options));
  };
}

namespace {

json object_schema(const json& schema) {
  if (schema.is_object() && schema.value("type", "") == "object") return schema;
  return {{"type", "object"}, {"properties", json::object()}};
}

std::string argument_preview(const json& arguments) {
  std::string text = redact(arguments.dump(-1, ' ', false, json::error_handler_t::replace));
  if (text.size() > 200) text = text.substr(0, 197) + "...";
  return text;
}

}  // namespace

std::string mcp_tool_name(const std::string& server, const std::string& tool) {
  std::string name = "mcp--" + server + "--";
  std::string cleaned;
  for (char c : tool) cleaned += name_char(c) ? c : '_';
  name += cleaned;
  if (name.size() > kMaxToolName || cleaned != tool) {
    // Cut (or changed) names carry a hash of the original, so two never meet.
    const std::string suffix = "_" + short_hash(server + "\n" + tool);
    name = name.substr(0, std::min(name.size(), kMaxToolName - suffix.size())) + suffix;
  }
  return name;
}

std::string mcp_result_text(const mcp::ToolResult& result) {
  std::string text;
  auto add = [&text](const std::string& part) {
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += part;
  };
  for (const mcp::Content& content : result.content) {
    if (content.type == "text") {
      add(content.text);
    } else if (content.type == "image" || content.type == "audio") {
      add("[" + content.type + " " + (content.mime_type.empty() ? "" : content.mime_type + ", ") +
          describe_size(content.data) + "]");
    } else if (content.type == "resource") {
      add("[resource " + content.uri + "]" + (content.text.empty() ? "" : "\n" + content.text));
    } else if (content.type == "resource_link") {
      add("[resource link " + content.uri + "]");
    } else if (!content.data.empty()) {
      add("[binary " + (content.mime_type.empty() ? "" : content.mime_type + ", ") +
          describe_size(content.data) + "]");
    } else {
      add("[" + content.type + " content]");
    }
  }
  if (result.content.empty() && !result.structured.is_null()) add(result.structured.dump());
  if (text.empty()) text = "(the tool returned nothing)";
  return agent::to_valid_utf8(cap_head_tail(text, kMaxMcpResultBytes));
}

std::unique_ptr<McpToolbox> McpToolbox::open(
    const McpConfig& config, const std::map<std::string, std::string>& environment,
    mcp::HttpTransportFactory http, const std::function<void(const std::string&)>& notice) {
  std::unique_ptr<McpToolbox> box(new McpToolbox());
  std::vector<std::string> untrusted;
  for (const McpServerEntry& entry : config.servers) {
    if (entry.scope == McpScope::kProject && !config.project_trusted && !entry.disabled) {
      untrusted.push_back(entry.name);
    }
  }
  if (!untrusted.empty()) {
    std::string names;
    for (const std::string& name : untrusted) names += (names.empty() ? "" : ", ") + name;
    notice("this workspace's MCP servers (" + names +
           ") are off until you trust them: read .joey/mcp.json, then run `joey mcp trust`");
  }
  box->notice_ = notice;
  // Connect all at once; each bounded by its own timeout.
  using Listed = std::pair<mcp::Client*, std::vector<mcp::Tool>>;
  std::vector<std::pair<std::unique_ptr<Running>, std::future<Result<Listed>>>> starting;
  for (const McpServerEntry* entry : startable_servers(config)) {
    Result<McpLaunch> launch = resolve_launch(*entry, environment);
    if (!launch.ok()) {
      notice(launch.error().message + "; it stays off for this run");
      continue;
    }
    auto running = std::make_unique<Running>();
    running->entry = *entry;
    running->server = std::make_unique<mcp::Server>(mcp_server_config(*launch), http);
    mcp::Server* server = running->server.get();
    starting.emplace_back(std::move(running),
                          std::async(std::launch::async, [server]() -> Result<Listed> {
                            mcp::Client* client = TRY(server->client());
                            std::vector<mcp::Tool> tools = TRY(client->list_tools());
                            return Listed{client, std::move(tools)};
                          }));
  }
  for (auto& [running, tools] : starting) {
    Result<Listed> listed = tools.get();
    if (!listed.ok()) {
      // The client's errors name the server already ("the MCP server NAME …").
      notice(listed.error().message + "; its tools are not offered in this run");
      continue;
    }
    running->listed_from = listed->first;
    running->listed = std::move(listed->second);
    box->servers_.push_back(std::move(running));
  }
  box->rebuild_tools();
  return box;
}

bool McpToolbox::refresh_tools() {
  bool changed = false;
  for (const std::unique_ptr<Running>& running : servers_) {
    mcp::Client* client = running->server->connected_client();
    if (!client) continue;  // down: the next call restarts it, and a later refresh re-lists
    const bool announced = client->tools_changed();
    const bool restarted = client != running->listed_from;
    if (!announced && !restarted && running->relist_retries == 0) continue;
    running->relist_retries = announced || restarted ? kRelistRetries : running->relist_retries - 1;
    running->listed_from = client;
    Result<std::vector<mcp::Tool>> listed = client->list_tools();
    if (!listed.ok()) {
      if (!running->relist_failure_said && notice_) {
        notice_(listed.error().message + "; joey keeps offering the tools it listed before");
      }
      running->relist_failure_said = true;
      continue;
    }
    running->relist_retries = 0;
    running->relist_failure_said = false;
    log::info("mcp_tools_relisted",
              {log::field("server", running->entry.name), log::field("restarted", restarted),
               log::field("tools", listed->size())});
    if (*listed == running->listed) continue;
    running->listed = std::move(listed).value();
    changed = true;
  }
  if (changed) rebuild_tools();
  return changed;
}

void McpToolbox::rebuild_tools() {
  tools_.clear();
  for (const std::unique_ptr<Running>& running : servers_) add_server_tools(*running);
  if (!servers_.empty()) add_resource_tool();
}

McpToolbox::~McpToolbox() {
  for (auto& running : servers_) running->server->shutdown();
}

void McpToolbox::add_server_tools(Running& running) {
  std::set<std::string> disabled(running.entry.disabled_tools.begin(),
                                 running.entry.disabled_tools.end());
  std::set<std::string> always(running.entry.always_allow.begin(),
                               running.entry.always_allow.end());
  for (const mcp::Tool& tool : running.listed) {
    if (disabled.contains(tool.name)) continue;
    agent::ToolDefinition definition;
    definition.name = mcp_tool_name(running.entry.name, tool.name);
    std::string description = tool.description.empty() ? tool.title : tool.description;
    definition.description = "(MCP server " + running.entry.name + ", tool " + tool.name + ") " +
                             (description.empty() ? "No description." : description);
    definition.input_schema = object_schema(tool.input_schema);
    definition.group = agent::ToolGroup::kMcp;
    mcp::Server* server = running.server.get();
    definition.run = [server, server_name = running.entry.name, tool_name = tool.name,
                      model_name = definition.name, ask = !always.contains(tool.name)](
                         const json& args,
                         agent::ToolContext& context) -> Result<agent::ToolOutput> {
      const json arguments = args.is_object() ? args : json::object();
      const std::string summary = server_name + " → " + tool_name;
      if (ask && context.approvals) {
        TRY(context.approvals->request(
            {agent::ActionKind::kMcp, model_name,
             "call the MCP tool " + summary + " with " + argument_preview(arguments)}));
      }
      mcp::Client* client = TRY(server->client());
      mcp::ToolResult result = TRY(client->call_tool(tool_name, arguments, context.cancel));
      std::string text = mcp_result_text(result);
      if (result.is_error) {
        return make_error(ErrorKind::kInvalidArgument,
                          "the MCP tool " + summary + " reported an error:\n" + text);
      }
      return agent::ToolOutput{std::move(text), "MCP " + summary};
    };
    tools_.push_back(std::move(definition));
  }
}

void McpToolbox::add_resource_tool() {
  agent::ToolDefinition definition;
  definition.name = "access_mcp_resource";
  std::string names;
  for (const auto& running : servers_) names += (names.empty() ? "" : ", ") + running->entry.name;
  definition.description =
      "Read a resource an MCP server provides (a file, a document, data) by its URI. Servers: " +
      names + ".";
  definition.input_schema = {
      {"type", "object"},
      {"properties",
       {{"server_name", {{"type", "string"}, {"description", "the MCP server's name"}}},
        {"uri", {{"type", "string"}, {"description", "the resource's URI"}}}}},
      {"required", {"server_name", "uri"}}};
  definition.group = agent::ToolGroup::kMcp;
  std::map<std::string, mcp::Server*> servers;
  for (const auto& running : servers_) servers[running->entry.name] = running->server.get();
  definition.run = [servers](const json& args,
                             agent::ToolContext& context) -> Result<agent::ToolOutput> {
    // Roo Code says server_name; "server" is accepted too.
    std::string name = args.value("server_name", args.value("server", ""));
    const std::string uri = args.value("uri", "");
    auto found = servers.find(name);
    if (found == servers.end()) {
      return make_error(ErrorKind::kInvalidArgument,
                        "'server_name' must name a running MCP server");
    }
    if (uri.empty()) return make_error(ErrorKind::kInvalidArgument, "'uri' is required");
    if (context.approvals) {
      TRY(context.approvals->request({agent::ActionKind::kMcp, "access_mcp_resource",
                                      "read the MCP resource " + uri + " from " + name}));
    }
    mcp::Client* client = TRY(found->second->client());
    std::vector<mcp::ResourceContents> contents = TRY(client->read_resource(uri));
    mcp::ToolResult as_result;
    for (const mcp::ResourceContents& content : contents) {
      mcp::Content part;
      part.type = content.text.empty() && !content.blob.empty() ? "blob" : "text";
      part.text = content.text;
      part.data = content.blob;
      part.mime_type = content.mime_type;
      as_result.content.push_back(std::move(part));
    }
    return agent::ToolOutput{mcp_result_text(as_result), "MCP resource " + uri};
  };
  tools_.push_back(std::move(definition));
}

}  // namespace joey::client
