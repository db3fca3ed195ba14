#include "client/mcp_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/paths.h"
#include "base/redact.h"
#include "client/exit_codes.h"
#include "client/mcp_config.h"
#include "client/mcp_tools.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct McpFlags {
  std::string cwd;
  bool json = false;
  std::string name;
  std::string scope = "global";
  std::vector<std::string> env;
  std::string server_cwd;
  unsigned timeout = 0;
  std::vector<std::string> always_allow;
  bool force = false;
  std::string url;
  std::string type;
  std::vector<std::string> headers;
  std::vector<std::string> command;
  bool yes = false;
};

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "joey: error: %s\n", message.c_str());
  return code;
}

int fail(const Error& error) {
  const bool usage = error.kind == ErrorKind::kInvalidArgument ||
                     error.kind == ErrorKind::kNotFound || error.kind == ErrorKind::kAlreadyExists;
  return fail(usage ? kExitUsage : kExitFailed, error.message);
}

struct Place {
  fs::path home;
  fs::path workspace;
};

Result<Place> place(const std::string& cwd) {
  std::error_code error;
  fs::path root = fs::canonical(cwd.empty() ? fs::current_path(error) : fs::path(cwd), error);
  if (error || !fs::is_directory(root)) {
    return make_error(ErrorKind::kInvalidArgument, "--cwd " + cwd + " is not a directory");
  }
  return Place{TRY(joey_home()), root};
}

Result<fs::path> scoped_file(const McpFlags& flags) {
  Place where = TRY(place(flags.cwd));
  if (flags.scope == "global") return global_mcp_file(where.home);
  if (flags.scope == "project") return project_mcp_file(where.workspace);
  return make_error(ErrorKind::kInvalidArgument,
                    "--scope must be global or project, not '" + flags.scope + "'");
}

Result<json> pairs_object(const std::vector<std::string>& pairs, const char* flag) {
  json object = json::object();
  for (const std::string& pair : pairs) {
    size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      return make_error(ErrorKind::kInvalidArgument,
                        std::string(flag) + " takes KEY=VALUE, not '" + pair + "'");
    }
    object[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
  return object;
}

std::string describe(const McpServerEntry& entry) {
  const json& definition = entry.definition;
  if (entry.transport != McpTransport::kStdio) return definition.value("url", "");
  std::string line = definition.value("command", "");
  if (auto args = definition.find("args"); args != definition.end()) {
    for (const json& arg : *args) line += " " + arg.get<std::string>();
  }
  return line;
}

std::string state(const McpConfig& config, const McpServerEntry& entry) {
  if (entry.disabled) return "disabled";
  if (entry.scope == McpScope::kProject && !config.project_trusted) return "untrusted";
  return "enabled";
}

int list_servers(const McpFlags& flags) {
  Result<Place> where = place(flags.cwd);
  if (!where.ok()) return fail(where.error());
  Result<McpConfig> config = load_mcp_config(where->home, where->workspace);
  if (!config.ok()) return fail(kExitFailed, config.error().message);
  if (flags.json) {
    json list = json::array();
    for (const McpServerEntry& entry : config->servers) {
      list.push_back({{"name", entry.name},
                      {"scope", mcp_scope_name(entry.scope)},
                      {"transport", mcp_transport_name(entry.transport)},
                      {"state", state(*config, entry)},
                      {"file", entry.file.string()},
                      {"definition", entry.definition}});
    }
    // Definitions may hold tokens in headers or env: shown redacted, like every key joey prints.
    std::printf("%s\n", redact(list.dump(2, ' ', false, json::error_handler_t::replace)).c_str());
    return kExitOk;
  }
  if (config->servers.empty()) {
    std::printf(
        "No MCP servers are configured. Add one with `joey mcp add NAME -- COMMAND [ARGS…]`,\n"
        "or `joey mcp add NAME --url URL` for a server over HTTP.\n");
    return kExitOk;
  }
  for (const McpServerEntry& entry : config->servers) {
    std::printf("%-20s %-8s %-16s %-10s %s\n", entry.name.c_str(), mcp_scope_name(entry.scope),
                mcp_transport_name(entry.transport), state(*config, entry).c_str(),
                describe(entry).c_str());
  }
  if (!config->project_trusted) {
    std::printf(
        "\nThis workspace's own servers (scope project) do not start until you trust them:\n"
        "run `joey mcp trust` here after reading what they run.\n");
  }
  return kExitOk;
}

int add_server(const McpFlags& flags) {
  Result<fs::path> file = scoped_file(flags);
  if (!file.ok()) return fail(file.error());
  json definition = json::object();
  if (!flags.url.empty()) {
    if (!flags.command.empty()) {
      return fail(kExitUsage, "give either --url or a command after --, not both");
    }
    definition["type"] = flags.type.empty() ? "streamable-http" : flags.type;
    definition["url"] = flags.url;
    if (!flags.headers.empty()) {
      Result<json> headers = pairs_object(flags.headers, "--header");
      if (!headers.ok()) return fail(headers.error());
      definition["headers"] = *headers;
    }
  } else {
    if (flags.command.empty()) {
      return fail(kExitUsage,
                  "say how to start the server: joey mcp add NAME -- COMMAND [ARGS…] (e.g. -- npx "
                  "-y @modelcontextprotocol/server-filesystem /path), or --url URL");
    }
    if (!flags.type.empty() && flags.type != "stdio") {
      return fail(kExitUsage, "--type " + flags.type + " needs --url");
    }
    definition["command"] = flags.command.front();
    definition["args"] = std::vector<std::string>(flags.command.begin() + 1, flags.command.end());
    if (!flags.server_cwd.empty()) definition["cwd"] = flags.server_cwd;
  }
  if (!flags.env.empty()) {
    Result<json> env = pairs_object(flags.env, "--env");
    if (!env.ok()) return fail(env.error());
    definition["env"] = *env;
  }
  if (flags.timeout > 0) definition["timeout"] = flags.timeout;
  if (!flags.always_allow.empty()) definition["alwaysAllow"] = flags.always_allow;
  Status added = add_mcp_server(*file, flags.name, definition, flags.force);
  if (!added.ok()) return fail(added.error());
  std::printf("Added the MCP server '%s' to %s.\n", flags.name.c_str(), file->c_str());
  if (flags.scope == "project") {
    std::printf("It starts once you trust this workspace's servers: joey mcp trust\n");
  }
  return kExitOk;
}

int remove_server(const McpFlags& flags) {
  Result<fs::path> file = scoped_file(flags);
  if (!file.ok()) return fail(file.error());
  Status removed = remove_mcp_server(*file, flags.name);
  if (!removed.ok()) return fail(removed.error());
  std::printf("Removed the MCP server '%s' from %s.\n", flags.name.c_str(), file->c_str());
  return kExitOk;
}

int toggle_server(const McpFlags& flags, bool disabled) {
  Result<fs::path> file = scoped_file(flags);
  if (!file.ok()) return fail(file.error());
  Status changed = set_mcp_server_disabled(*file, flags.name, disabled);
  if (!changed.ok()) return fail(changed.error());
  std::printf("The MCP server '%s' is %s.\n", flags.name.c_str(),
              disabled ? "disabled" : "enabled");
  return kExitOk;
}

int trust_servers(const McpFlags& flags) {
  Result<Place> where = place(flags.cwd);
  if (!where.ok()) return fail(where.error());
  Result<McpConfig> config = load_mcp_config(where->home, where->workspace);
  if (!config.ok()) return fail(kExitFailed, config.error().message);
  std::vector<const McpServerEntry*> project;
  for (const McpServerEntry& entry : config->servers) {
    if (entry.scope == McpScope::kProject) project.push_back(&entry);
  }
  if (project.empty()) {
    std::printf("This workspace defines no MCP servers of its own: nothing to trust.\n");
    return kExitOk;
  }
  std::printf("This workspace (%s) defines these MCP servers, which run with your rights:\n",
              where->workspace.c_str());
  for (const McpServerEntry* entry : project) {
    std::printf("  %-20s %s\n", entry->name.c_str(), describe(*entry).c_str());
  }
  if (!flags.yes) {
    if (!isatty(STDIN_FILENO)) {
      return fail(kExitUsage, "nobody to ask: read the list above and pass --yes to trust them");
    }
    std::printf("Trust them? [y/N] ");
    std::fflush(stdout);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::printf("Not trusted; they stay off.\n");
      return kExitOk;
    }
  }
  Status trusted = trust_project_servers(where->home, where->workspace, *config);
  if (!trusted.ok()) return fail(kExitFailed, trusted.error().message);
  std::printf("Trusted. Any change to these definitions needs `joey mcp trust` again.\n");
  return kExitOk;
}

// The named server, connected (even when disabled: the user asked for it by name); never
// an untrusted workspace server.
Result<std::unique_ptr<mcp::Server>> connect_named(const McpFlags& flags) {
  Place where = TRY(place(flags.cwd));
  McpConfig config = TRY(load_mcp_config(where.home, where.workspace));
  for (const McpServerEntry& entry : config.servers) {
    if (entry.name != flags.name) continue;
    if (entry.scope == McpScope::kProject && !config.project_trusted) {
      return make_error(ErrorKind::kPermissionDenied,
                        "'" + entry.name +
                            "' is defined by this workspace and not trusted yet: read "
                            ".joey/mcp.json, then run `joey mcp trust`");
    }
    McpLaunch launch = TRY(resolve_launch(entry, process_environment()));
    return std::make_unique<mcp::Server>(mcp_server_config(launch), mcp_http_factory(""));
  }
  return make_error(ErrorKind::kNotFound,
                    "no MCP server is named '" + flags.name + "' here (see `joey mcp list`)");
}

std::string first_line(const std::string& text, size_t cap) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > cap) line = line.substr(0, cap - 3) + "...";
  return line;
}

int list_tools(const McpFlags& flags) {
  Result<std::unique_ptr<mcp::Server>> server = connect_named(flags);
  if (!server.ok()) return fail(server.error());
  Result<mcp::Client*> client = (*server)->client();
  if (!client.ok()) return fail(kExitFailed, client.error().message);
  Result<std::vector<mcp::Tool>> tools = (*client)->list_tools();
  if (!tools.ok()) return fail(kExitFailed, tools.error().message);
  if (flags.json) {
    json list = json::array();
    for (const mcp::Tool& tool : *tools) {
      list.push_back({{"name", tool.name},
                      {"model_name", mcp_tool_name(flags.name, tool.name)},
                      {"description", tool.description},
                      {"input_schema", tool.input_schema}});
    }
    std::printf("%s\n", list.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  for (const mcp::Tool& tool : *tools) {
    std::printf("%-32s %s\n", tool.name.c_str(),
                first_line(tool.description.empty() ? tool.title : tool.description, 100).c_str());
  }
  std::printf("%zu tools; the model sees them as %s…\n", tools->size(),
              mcp_tool_name(flags.name, "").c_str());
  return kExitOk;
}

int test_server(const McpFlags& flags) {
  Result<std::unique_ptr<mcp::Server>> server = connect_named(flags);
  if (!server.ok()) return fail(server.error());
  const auto started = std::chrono::steady_clock::now();
  Result<mcp::Client*> client = (*server)->client();
  if (!client.ok()) return fail(kExitFailed, client.error().message);
  const auto connected = std::chrono::steady_clock::now();
  const json& info = (*client)->server_info();
  std::printf(
      "connected to %s %s in %lld ms (MCP %s)\n", info.value("name", flags.name).c_str(),
      info.value("version", "").c_str(),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(connected - started).count()),
      (*client)->protocol_version().c_str());
  Result<std::vector<mcp::Tool>> tools = (*client)->list_tools();
  if (!tools.ok()) return fail(kExitFailed, tools.error().message);
  std::printf("tools: %zu\n", tools->size());
  if ((*client)->server_capabilities().contains("resources")) {
    Result<std::vector<mcp::Resource>> resources = (*client)->list_resources();
    if (!resources.ok()) return fail(kExitFailed, resources.error().message);
    std::printf("resources: %zu\n", resources->size());
  }
  const auto before_ping = std::chrono::steady_clock::now();
  Status pinged = (*client)->ping();
  if (!pinged.ok()) return fail(kExitFailed, pinged.error().message);
  std::printf("ping: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - before_ping)
                                         .count()));
  return kExitOk;
}

}  // namespace

void register_mcp_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<McpFlags>();
  CLI::App* mcp = app.add_subcommand("mcp", "Configure the MCP servers tasks can use");
  mcp->require_subcommand(1);
  auto with_cwd = [&](CLI::App* command) {
    command->add_option("--cwd", flags->cwd, "workspace directory (default: the current one)");
  };
  auto with_scope = [&](CLI::App* command) {
    command
        ->add_option("--scope", flags->scope,
                     "global ($JOEY_HOME/mcp.json) or project (.joey/mcp.json)")
        ->capture_default_str();
    with_cwd(command);
  };

  CLI::App* list = mcp->add_subcommand("list", "List the configured MCP servers");
  with_cwd(list);
  list->add_flag("--json", flags->json, "print JSON");
  list->callback([flags, &exit_code] { exit_code = list_servers(*flags); });

  CLI::App* add = mcp->add_subcommand("add", "Add an MCP server: NAME -- COMMAND [ARGS…]");
  add->add_option("name", flags->name, "server name")->required();
  with_scope(add);
  add->add_option("--url", flags->url, "the server's URL (an HTTP server)");
  add->add_option("--type", flags->type, "streamable-http (default with --url) or sse");
  add->add_option("--header", flags->headers, "KEY=VALUE sent with every HTTP request");
  add->add_option("--env", flags->env, "KEY=VALUE in the server's environment");
  add->add_option("--cwd-dir", flags->server_cwd, "the server's working directory");
  add->add_option("--timeout", flags->timeout, "seconds a request may take (default 60)")
      ->check(CLI::Range(1U, 3600U));
  add->add_option("--always-allow", flags->always_allow, "a tool to call without asking");
  add->add_flag("--force", flags->force, "replace a server of the same name");
  add->add_option("command", flags->command, "the command that starts it, after --");
  add->callback([flags, &exit_code] { exit_code = add_server(*flags); });

  CLI::App* remove = mcp->add_subcommand("remove", "Remove an MCP server");
  remove->add_option("name", flags->name, "server name")->required();
  with_scope(remove);
  remove->callback([flags, &exit_code] { exit_code = remove_server(*flags); });

  for (bool disabled : {false, true}) {
    CLI::App* toggle = mcp->add_subcommand(
        disabled ? "disable" : "enable",
        disabled ? "Stop offering an MCP server's tools" : "Offer an MCP server's tools again");
    toggle->add_option("name", flags->name, "server name")->required();
    with_scope(toggle);
    toggle->callback(
        [flags, &exit_code, disabled] { exit_code = toggle_server(*flags, disabled); });
  }

  CLI::App* tools = mcp->add_subcommand("tools", "Start a server and list its tools");
  tools->add_option("name", flags->name, "server name")->required();
  with_cwd(tools);
  tools->add_flag("--json", flags->json, "print JSON, with each tool's schema");
  tools->callback([flags, &exit_code] { exit_code = list_tools(*flags); });

  CLI::App* test = mcp->add_subcommand("test", "Start a server and check that it answers");
  test->add_option("name", flags->name, "server name")->required();
  with_cwd(test);
  test->callback([flags, &exit_code] { exit_code = test_server(*flags); });

  CLI::App* trust = mcp->add_subcommand("trust", "Trust the MCP servers this workspace defines");
  with_cwd(trust);
  trust->add_flag("--yes,-y", flags->yes, "trust without asking");
  trust->callback([flags, &exit_code] { exit_code = trust_servers(*flags); });
}

}  // namespace joey::client
