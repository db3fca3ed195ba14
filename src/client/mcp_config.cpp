#include "client/mcp_config.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/paths.h"
#include "client/private_files.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxServers = 200;
constexpr size_t kMaxNameBytes = 32;
constexpr int64_t kMaxTimeoutSeconds = 3600;

Error bad(const fs::path& file, const std::string& server, const std::string& what) {
  return Error(ErrorKind::kInvalidArgument,
               file.string() + ": " + (server.empty() ? "" : "server '" + server + "': ") + what);
}

Result<std::vector<std::string>> string_list(const json& value, const fs::path& file,
                                             const std::string& server, const char* key) {
  std::vector<std::string> out;
  if (!value.is_array())
    return bad(file, server, std::string("'") + key + "' must be a list of strings");
  for (const json& item : value) {
    if (!item.is_string()) {
      return bad(file, server, std::string("'") + key + "' must be a list of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Status string_map(const json& value, const fs::path& file, const std::string& server,
                  const char* key) {
  if (!value.is_object())
    return bad(file, server, std::string("'") + key + "' must be an object of strings");
  for (const auto& [name, item] : value.items()) {
    if (!item.is_string()) {
      return bad(file, server, std::string("'") + key + "." + name + "' must be a string");
    }
  }
  return ok_status();
}

Result<McpServerEntry> parse_server(const std::string& name, const json& definition,
                                    const fs::path& file, McpScope scope) {
  if (Status valid = check_mcp_server_name(name); !valid.ok()) {
    return bad(file, "", valid.error().message);
  }
  if (!definition.is_object()) return bad(file, name, "must be an object");
  McpServerEntry entry;
  entry.name = name;
  entry.scope = scope;
  entry.file = file;
  entry.definition = definition;
  std::string type = "stdio";
  if (auto found = definition.find("type"); found != definition.end()) {
    if (!found->is_string()) return bad(file, name, "'type' must be stdio, streamable-http or sse");
    type = found->get<std::string>();
  }
  static const std::set<std::string> kCommon = {"type",        "disabled",      "timeout",
                                                "alwaysAllow", "disabledTools", "autoApprove",
                                                "description", "watchPaths"};
  std::set<std::string> allowed = kCommon;
  if (type == "stdio") {
    entry.transport = McpTransport::kStdio;
    allowed.insert({"command", "args", "cwd", "env"});
    auto command = definition.find("command");
    if (command == definition.end() || !command->is_string() ||
        command->get<std::string>().empty()) {
      return bad(file, name,
                 "'command' is required (a program, e.g. \"npx\"), or give 'type' and 'url'");
    }
    if (auto args = definition.find("args"); args != definition.end()) {
      TRY(string_list(*args, file, name, "args"));
    }
    if (auto cwd = definition.find("cwd"); cwd != definition.end() && !cwd->is_string()) {
      return bad(file, name, "'cwd' must be a string");
    }
    if (auto env = definition.find("env"); env != definition.end()) {
      TRY(string_map(*env, file, name, "env"));
    }
  } else if (type == "streamable-http" || type == "streamableHttp" || type == "http" ||
             type == "sse") {
    entry.transport = type == "sse" ? McpTransport::kSse : McpTransport::kStreamableHttp;
    allowed.insert({"url", "headers"});
    auto url = definition.find("url");
    if (url == definition.end() || !url->is_string()) return bad(file, name, "'url' is required");
    const std::string& text = url->get_ref<const std::string&>();
    if (!text.starts_with("http://") && !text.starts_with("https://") && !text.starts_with("${")) {
      return bad(file, name, "'url' must be an http:// or https:// URL");
    }
    if (auto headers = definition.find("headers"); headers != definition.end()) {
      TRY(string_map(*headers, file, name, "headers"));
    }
  } else {
    return bad(file, name, "'type' must be stdio, streamable-http or sse, not '" + type + "'");
  }
  for (const auto& [key, value] : definition.items()) {
    if (!allowed.contains(key)) {
      return bad(file, name, "unknown key '" + key + "' for a " + type + " server");
    }
  }
  if (auto disabled = definition.find("disabled"); disabled != definition.end()) {
    if (!disabled->is_boolean()) return bad(file, name, "'disabled' must be true or false");
    entry.disabled = disabled->get<bool>();
  }
  if (auto timeout = definition.find("timeout"); timeout != definition.end()) {
    if (!timeout->is_number_integer() || timeout->get<int64_t>() < 1 ||
        timeout->get<int64_t>() > kMaxTimeoutSeconds) {
      return bad(file, name, "'timeout' must be a whole number of seconds from 1 to 3600");
    }
    entry.timeout = std::chrono::seconds(timeout->get<int64_t>());
  }
  // Roo Code writes alwaysAllow; some files say autoApprove.
  for (const char* key : {"alwaysAllow", "autoApprove"}) {
    if (auto found = definition.find(key); found != definition.end()) {
      std::vector<std::string> tools = TRY(string_list(*found, file, name, key));
      entry.always_allow.insert(entry.always_allow.end(), tools.begin(), tools.end());
    }
  }
  if (auto found = definition.find("disabledTools"); found != definition.end()) {
    entry.disabled_tools = TRY(string_list(*found, file, name, "disabledTools"));
  }
  return entry;
}

// The file's JSON object, or an empty object when it does not exist.
Result<json> read_mcp_json(const fs::path& file) {
  std::error_code error;
  if (!fs::exists(file, error)) return json::object();
  std::string text = TRY(read_file_to_string(file));
  if (text.size() > kMaxFileBytes) return bad(file, "", "larger than 1 MiB");
  json document = parse_json(text);
  if (document.is_discarded() || !document.is_object()) {
    return bad(file, "", "not a JSON object like {\"mcpServers\": {...}}");
  }
  return document;
}

json project_definitions(const McpConfig& config) {
  json servers = json::object();
  for (const McpServerEntry& entry : config.servers) {
    if (entry.scope != McpScope::kProject) continue;
    // Turning a server off or on needs no new trust; every other change does.
    json definition = entry.definition;
    definition.erase("disabled");
    servers[entry.name] = std::move(definition);
  }
  return servers;
}

// Replaces each ${env:VAR} in `text`.
Result<std::string> substitute(const std::string& text, const std::string& server,
                               const std::map<std::string, std::string>& environment) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t start = text.find("${env:", at);
    if (start == std::string::npos) break;
    size_t end = text.find('}', start);
    if (end == std::string::npos) break;
    out.append(text, at, start - at);
    const std::string variable = text.substr(start + 6, end - start - 6);
    auto found = environment.find(variable);
    if (found == environment.end()) {
      return make_error(ErrorKind::kInvalidArgument, "MCP server '" + server +
                                                         "' needs ${env:" + variable + "}, and " +
                                                         variable + " is not set");
    }
    out += found->second;
    at = end + 1;
  }
  out.append(text, at, std::string::npos);
  return out;
}

// The servers of a file's document (already read and checked to be an object).
Result<std::vector<McpServerEntry>> parse_servers(const json& document, const fs::path& file,
                                                  McpScope scope);

Status write_mcp_json(const fs::path& file, const json& document) {
  TRY(ensure_private_dir(file.parent_path()));
  return write_private_file(file, document.dump(2) + "\n");
}

// The file's document and its mcpServers object (created when missing).
Result<json> editable(const fs::path& file) {
  json document = TRY(read_mcp_json(file));
  if (!document.contains("mcpServers")) document["mcpServers"] = json::object();
  if (!document["mcpServers"].is_object()) return bad(file, "", "'mcpServers' must be an object");
  return document;
}

}  // namespace

const char* mcp_scope_name(McpScope scope) {
  return scope == McpScope::kGlobal ? "global" : "project";
}

const char* mcp_transport_name(McpTransport transport) {
  switch (transport) {
    case McpTransport::kStdio:
      return "stdio";
    case McpTransport::kStreamableHttp:
      return "streamable-http";
    case McpTransport::kSse:
      return "sse";
  }
  return "stdio";
}

fs::path global_mcp_file(const fs::path& joey_home) { return joey_home / "mcp.json"; }
fs::path project_mcp_file(const fs::path& workspace) { return workspace / ".joey" / "mcp.json"; }
fs::path mcp_trust_file(const fs::path& joey_home) { return joey_home / "mcp-trust.json"; }

Status check_mcp_server_name(const std::string& name) {
  const bool valid = !name.empty() && name.size() <= kMaxNameBytes &&
                     name.find("--") == std::string::npos &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-';
                     });
  if (valid) return ok_status();
  return make_error(ErrorKind::kInvalidArgument,
                    "'" + name +
                        "' is not a valid MCP server name: use letters, digits, '_' and '-', at "
                        "most 32 characters, without \"--\"");
}

Result<std::vector<McpServerEntry>> parse_mcp_file(std::string_view text, const fs::path& file,
                                                   McpScope scope) {
  if (text.size() > kMaxFileBytes) return bad(file, "", "larger than 1 MiB");
  json document = parse_json(text);
  if (document.is_discarded() || !document.is_object()) {
    return bad(file, "", "not a JSON object like {\"mcpServers\": {...}}");
  }
  return parse_servers(document, file, scope);
}

namespace {

Result<std::vector<McpServerEntry>> parse_servers(const json& document, const fs::path& file,
                                                  McpScope scope) {
  std::vector<McpServerEntry> entries;
  auto servers = document.find("mcpServers");
  if (servers == document.end()) return entries;
  if (!servers->is_object()) return bad(file, "", "'mcpServers' must be an object");
  if (servers->size() > kMaxServers) return bad(file, "", "more than 200 servers");
  for (const auto& [name, definition] : servers->items()) {
    entries.push_back(TRY(parse_server(name, definition, file, scope)));
  }
  return entries;
}

}  // namespace

Result<McpConfig> load_mcp_config(const fs::path& joey_home, const fs::path& workspace) {
  McpConfig config;
  std::map<std::string, McpServerEntry> merged;
  const std::pair<fs::path, McpScope> files[] = {
      {global_mcp_file(joey_home), McpScope::kGlobal},
      {workspace / ".roo" / "mcp.json", McpScope::kProject},
      {project_mcp_file(workspace), McpScope::kProject},
  };
  for (const auto& [file, scope] : files) {
    json document = TRY(read_mcp_json(file));
    for (McpServerEntry& entry : TRY(parse_servers(document, file, scope))) {
      merged[entry.name] = std::move(entry);
    }
  }
  for (auto& [name, entry] : merged) config.servers.push_back(std::move(entry));

  json project = project_definitions(config);
  if (project.empty()) return config;
  config.project_trusted = false;
  std::error_code error;
  if (fs::exists(mcp_trust_file(joey_home), error)) {
    Result<json> trust = read_mcp_json(mcp_trust_file(joey_home));
    if (trust.ok()) {
      auto workspaces = trust->find("workspaces");
      if (workspaces != trust->end() && workspaces->is_object()) {
        auto trusted = workspaces->find(workspace.string());
        config.project_trusted = trusted != workspaces->end() && *trusted == project;
      }
    }
  }
  return config;
}

Result<McpLaunch> resolve_launch(const McpServerEntry& entry,
                                 const std::map<std::string, std::string>& environment) {
  McpLaunch launch;
  launch.name = entry.name;
  launch.transport = entry.transport;
  launch.timeout = entry.timeout;
  const json& definition = entry.definition;
  auto text = [&](const char* key) -> Result<std::string> {
    auto found = definition.find(key);
    if (found == definition.end()) return std::string();
    return substitute(found->get<std::string>(), entry.name, environment);
  };
  if (entry.transport == McpTransport::kStdio) {
    launch.command = TRY(text("command"));
    launch.cwd = TRY(text("cwd"));
    if (auto args = definition.find("args"); args != definition.end()) {
      for (const json& arg : *args) {
        launch.args.push_back(TRY(substitute(arg.get<std::string>(), entry.name, environment)));
      }
    }
    if (auto env = definition.find("env"); env != definition.end()) {
      for (const auto& [key, value] : env->items()) {
        launch.env[key] = TRY(substitute(value.get<std::string>(), entry.name, environment));
      }
    }
  } else {
    launch.url = TRY(text("url"));
    if (auto headers = definition.find("headers"); headers != definition.end()) {
      for (const auto& [key, value] : headers->items()) {
        launch.headers.emplace_back(
            key, TRY(substitute(value.get<std::string>(), entry.name, environment)));
      }
    }
  }
  return launch;
}

std::vector<const McpServerEntry*> startable_servers(const McpConfig& config) {
  std::vector<const McpServerEntry*> servers;
  for (const McpServerEntry& entry : config.servers) {
    if (entry.disabled) continue;
    if (entry.scope == McpScope::kProject && !config.project_trusted) continue;
    servers.push_back(&entry);
  }
  return servers;
}

Status trust_project_servers(const fs::path& joey_home, const fs::path& workspace,
                             const McpConfig& config) {
  const fs::path file = mcp_trust_file(joey_home);
  json trust = TRY(read_mcp_json(file));
  if (!trust.contains("workspaces") || !trust["workspaces"].is_object()) {
    trust["workspaces"] = json::object();
  }
  trust["workspaces"][workspace.string()] = project_definitions(config);
  return write_mcp_json(file, trust);
}

Status add_mcp_server(const fs::path& file, const std::string& name, const json& definition,
                      bool replace) {
  TRY(check_mcp_server_name(name));
  TRY(parse_server(name, definition, file, McpScope::kGlobal));
  json document = TRY(editable(file));
  if (document["mcpServers"].contains(name) && !replace) {
    return make_error(ErrorKind::kAlreadyExists, file.string() +
                                                     " already defines the MCP server '" + name +
                                                     "' (pass --force to replace it)");
  }
  document["mcpServers"][name] = definition;
  return write_mcp_json(file, document);
}

Status remove_mcp_server(const fs::path& file, const std::string& name) {
  json document = TRY(editable(file));
  if (document["mcpServers"].erase(name) == 0) {
    return make_error(ErrorKind::kNotFound,
                      file.string() + " defines no MCP server '" + name + "'");
  }
  return write_mcp_json(file, document);
}

Status set_mcp_server_disabled(const fs::path& file, const std::string& name, bool disabled) {
  json document = TRY(editable(file));
  if (!document["mcpServers"].contains(name) || !document["mcpServers"][name].is_object()) {
    return make_error(ErrorKind::kNotFound,
                      file.string() + " defines no MCP server '" + name + "'");
  }
  if (disabled) {
    document["mcpServers"][name]["disabled"] = true;
  } else {
    document["mcpServers"][name].erase("disabled");
  }
  return write_mcp_json(file, document);
}

}  // namespace joey::client
