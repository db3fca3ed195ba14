#include "client/marketplace_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/paths.h"
#include "client/cloud_client.h"
#include "client/cloud_settings.h"
#include "client/exit_codes.h"
#include "client/marketplace.h"
#include "client/settings.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;

struct MarketFlags {
  std::string cwd;
  std::string query;
  std::string type;
  std::string id;
  std::string scope = "project";
  std::vector<std::string> params;
  size_t method = 1;
  bool force = false;
};

int fail(const Error& error) {
  const bool usage = error.kind == ErrorKind::kInvalidArgument ||
                     error.kind == ErrorKind::kNotFound || error.kind == ErrorKind::kAlreadyExists;
  std::fprintf(stderr, "joey: error: %s\n", error.message.c_str());
  return usage ? kExitUsage : kExitFailed;
}

struct Context {
  fs::path home;
  fs::path workspace;
  std::string url;
  MarketplaceFilter filter;
};

Result<Context> context(const MarketFlags& flags) {
  Context found;
  std::error_code error;
  found.workspace =
      fs::canonical(flags.cwd.empty() ? fs::current_path(error) : fs::path(flags.cwd), error);
  if (error || !fs::is_directory(found.workspace)) {
    return make_error(ErrorKind::kInvalidArgument, "--cwd " + flags.cwd + " is not a directory");
  }
  found.home = TRY(joey_home());
  Settings settings = TRY(Settings::load(found.home, found.workspace, settings_environment()));
  // The Cloud the user named (environment over settings), else the one signed in to.
  found.url = cloud_environment()["JOEY_CLOUD_URL"];
  if (found.url.empty()) found.url = settings.get_string("cloud.url");
  Result<std::optional<CloudCredentials>> credentials =
      load_cloud_credentials(found.home, settings, cloud_environment());
  if (credentials.ok() && *credentials) {
    if (found.url.empty()) found.url = (*credentials)->url;
    // The organization's choices, as the agent last fetched them (nothing is asked now).
    std::optional<CachedAgentSettings> cached = read_settings_cache(found.home, **credentials);
    if (const nlohmann::json* org = cached ? organization_settings(*cached) : nullptr) {
      found.filter.hide_mcps = org->value("hide_marketplace_mcps", false);
      for (const auto& id : org->value("hidden_mcps", nlohmann::json::array())) {
        if (id.is_string()) found.filter.hidden_mcps.push_back(id.get<std::string>());
      }
    }
  }
  if (found.url.empty()) found.url = std::string(kDefaultMarketplaceUrl);
  return found;
}

Result<std::vector<MarketplaceItem>> catalog(const Context& where, const std::string& type) {
  std::vector<MarketplaceItem> items;
  for (const char* kind : {"modes", "mcps"}) {
    if (!type.empty() && type + "s" != kind) continue;
    std::unique_ptr<llm::HttpTransport> transport =
        llm::make_curl_transport(&Cancellation::global(), {});
    std::string text = TRY(fetch_marketplace_catalog(where.home, where.url, kind, *transport));
    std::vector<MarketplaceItem> part = TRY(parse_marketplace_catalog(text, kind));
    items.insert(items.end(), part.begin(), part.end());
  }
  apply_marketplace_filter(items, where.filter);
  return items;
}

Result<MarketplaceItem> find_item(const Context& where, const std::string& id) {
  for (MarketplaceItem& item : TRY(catalog(where, ""))) {
    if (item.id == id) return std::move(item);
  }
  return make_error(ErrorKind::kNotFound,
                    "the marketplace has no item '" + id + "' (try `joey marketplace search`)");
}

std::string one_line(const std::string& text, size_t cap) {
  std::string line;
  for (char c : text) line += c == '\n' ? ' ' : c;
  if (line.size() > cap) line = line.substr(0, cap - 3) + "...";
  return line;
}

int search(const MarketFlags& flags) {
  if (!flags.type.empty() && flags.type != "mode" && flags.type != "mcp") {
    return fail(Error(ErrorKind::kInvalidArgument, "--type must be mode or mcp"));
  }
  Result<Context> where = context(flags);
  if (!where.ok()) return fail(where.error());
  Result<std::vector<MarketplaceItem>> items = catalog(*where, flags.type);
  if (!items.ok()) return fail(items.error());
  std::vector<const MarketplaceItem*> found = search_marketplace(*items, flags.query);
  if (found.empty()) {
    std::printf("Nothing in the marketplace matches \"%s\".\n", flags.query.c_str());
    return kExitOk;
  }
  for (const MarketplaceItem* item : found) {
    std::printf("%-24s %-5s %s — %s\n", item->id.c_str(), item->type.c_str(), item->name.c_str(),
                one_line(item->description, 90).c_str());
  }
  return kExitOk;
}

void print_parameters(const std::vector<MarketplaceParameter>& parameters) {
  for (const MarketplaceParameter& parameter : parameters) {
    std::printf("    --param %s=%s   %s%s\n", parameter.key.c_str(),
                parameter.placeholder.empty() ? "VALUE" : parameter.placeholder.c_str(),
                parameter.name.c_str(), parameter.optional ? " (optional)" : "");
  }
}

int show(const MarketFlags& flags) {
  Result<Context> where = context(flags);
  if (!where.ok()) return fail(where.error());
  Result<MarketplaceItem> item = find_item(*where, flags.id);
  if (!item.ok()) return fail(item.error());
  std::printf("%s (%s): %s\n%s\n", item->name.c_str(), item->type.c_str(), item->id.c_str(),
              item->description.c_str());
  if (!item->author.empty()) {
    std::printf("by %s%s%s\n", item->author.c_str(), item->author_url.empty() ? "" : " ",
                item->author_url.c_str());
  }
  if (!item->url.empty()) std::printf("%s\n", item->url.c_str());
  for (const std::string& needed : item->prerequisites) std::printf("needs: %s\n", needed.c_str());
  if (!item->parameters.empty()) {
    std::printf("parameters:\n");
    print_parameters(item->parameters);
  }
  for (size_t i = 0; i < item->methods.size(); ++i) {
    std::printf("install method %zu: %s\n", i + 1, item->methods[i].name.c_str());
    print_parameters(item->methods[i].parameters);
  }
  std::printf("\n%s\n", item->content.empty() ? item->methods.front().content.c_str()
                                              : item->content.c_str());
  return kExitOk;
}

Result<fs::path> target_file(const Context& where, const MarketplaceItem& item,
                             const std::string& scope) {
  if (scope != "project" && scope != "global") {
    return make_error(ErrorKind::kInvalidArgument, "--scope must be project or global");
  }
  const bool project = scope == "project";
  if (item.type == "mode") {
    return project ? where.workspace / ".joey" / "modes.yaml" : where.home / "modes.yaml";
  }
  return project ? where.workspace / ".joey" / "mcp.json" : where.home / "mcp.json";
}

// The item --id names and the file --scope puts it in.
struct Placement {
  MarketplaceItem item;
  fs::path file;
};

Result<Placement> placement(const MarketFlags& flags) {
  Context where = TRY(context(flags));
  MarketplaceItem item = TRY(find_item(where, flags.id));
  fs::path file = TRY(target_file(where, item, flags.scope));
  return Placement{std::move(item), std::move(file)};
}

int install(const MarketFlags& flags) {
  Result<Placement> placed = placement(flags);
  if (!placed.ok()) return fail(placed.error());
  const MarketplaceItem& item = placed->item;
  const fs::path& file = placed->file;
  std::map<std::string, std::string> values;
  for (const std::string& pair : flags.params) {
    size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      return fail(
          Error(ErrorKind::kInvalidArgument, "--param takes KEY=VALUE, not '" + pair + "'"));
    }
    values[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
  // Ask for what is missing when someone is at the keyboard.
  std::vector<MarketplaceParameter> needed = item.parameters;
  if (item.content.empty() && flags.method >= 1 && flags.method <= item.methods.size()) {
    const auto& extra = item.methods[flags.method - 1].parameters;
    needed.insert(needed.end(), extra.begin(), extra.end());
  }
  for (const MarketplaceParameter& parameter : needed) {
    if (values.contains(parameter.key) || parameter.optional || !isatty(STDIN_FILENO)) continue;
    std::printf("%s (%s)%s: ", parameter.name.c_str(), parameter.key.c_str(),
                parameter.placeholder.empty() ? "" : (", e.g. " + parameter.placeholder).c_str());
    std::fflush(stdout);
    std::string answer;
    if (!std::getline(std::cin, answer)) break;
    values[parameter.key] = answer;
  }
  Result<fs::path> written =
      install_marketplace_item(item, flags.method - 1, values, file, flags.force);
  if (!written.ok()) return fail(written.error());
  std::printf("Installed the %s '%s' into %s.\n", item.type == "mode" ? "mode" : "MCP server",
              item.id.c_str(), written->c_str());
  if (item.type == "mcp" && flags.scope == "project") {
    std::printf("This workspace's servers start once trusted: joey mcp trust\n");
  }
  return kExitOk;
}

int remove(const MarketFlags& flags) {
  Result<Placement> placed = placement(flags);
  if (!placed.ok()) return fail(placed.error());
  const MarketplaceItem& item = placed->item;
  const fs::path& file = placed->file;
  Status removed = remove_marketplace_item(item, file);
  if (!removed.ok()) return fail(removed.error());
  std::printf("Removed '%s' from %s.\n", item.id.c_str(), file.c_str());
  return kExitOk;
}

}  // namespace

void register_marketplace_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<MarketFlags>();
  CLI::App* market = app.add_subcommand("marketplace", "Find and install modes and MCP servers");
  market->require_subcommand(1);
  auto common = [&](CLI::App* command) {
    command->add_option("--cwd", flags->cwd, "workspace directory (default: the current one)");
  };
  CLI::App* find = market->add_subcommand("search", "Search the marketplace (on this machine)");
  find->add_option("query", flags->query, "words to look for (none: everything)");
  find->add_option("--type", flags->type, "mode or mcp");
  common(find);
  find->callback([flags, &exit_code] { exit_code = search(*flags); });

  CLI::App* show_command = market->add_subcommand("show", "Show one item");
  show_command->add_option("id", flags->id, "item id")->required();
  common(show_command);
  show_command->callback([flags, &exit_code] { exit_code = show(*flags); });

  CLI::App* add = market->add_subcommand("install", "Install a mode or an MCP server");
  add->add_option("id", flags->id, "item id")->required();
  add->add_option("--scope", flags->scope, "project (.joey/) or global ($JOEY_HOME)")
      ->capture_default_str();
  add->add_option("--param", flags->params, "KEY=VALUE for the item's parameters");
  add->add_option("--method", flags->method, "which install method (1, 2, …)")
      ->check(CLI::Range(size_t{1}, size_t{100}));
  add->add_flag("--force", flags->force, "replace an entry of the same name");
  common(add);
  add->callback([flags, &exit_code] { exit_code = install(*flags); });

  CLI::App* drop = market->add_subcommand("remove", "Remove an installed item");
  drop->add_option("id", flags->id, "item id")->required();
  drop->add_option("--scope", flags->scope, "project or global")->capture_default_str();
  common(drop);
  drop->callback([flags, &exit_code] { exit_code = remove(*flags); });
}

}  // namespace joey::client
