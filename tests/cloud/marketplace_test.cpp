// The marketplace catalog and its routes: the built-in catalog is valid, complete and the
// checked-in files; GET /api/marketplace/{modes,mcps} serve it as YAML with a strong ETag,
// caching headers and 304; the answer ignores who asks (P5): no cookie is set, and a
// request with a session cookie and a token gets exactly what an anonymous one gets; a bad
// catalog is refused with an error naming the file, the item and the field.
#include "cloud/marketplace.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "base/atomic_file.h"
#include "base/strings.h"
#include "cloud/cloud_routes_fixture.h"
#include "cloud/marketplace_routes.h"

namespace joey::cloud {
namespace {

struct Raw {
  int status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string user_id;  // what the handler recorded for the access log

  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (ascii_iequals(key, name)) return value;
    }
    return "";
  }
  bool has_header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (ascii_iequals(key, name)) return true;
    }
    return false;
  }
};

Raw get(const Router& router, const std::string& path, testing::Headers headers = {}) {
  HttpRequest request;
  request.method = "GET";
  request.headers = std::move(headers);
  request.headers.emplace_back("host", "127.0.0.1:8420");
  request.remote_address = "127.0.0.1";
  const size_t question = path.find('?');
  if (question != std::string::npos) request.query = path.substr(question + 1);
  HttpResponse response = router.handle(request, path.substr(0, question));
  return Raw{response.status, response.content_type, response.body, response.headers,
             request.context.user_id};
}

Router builtin_router() {
  Router router;
  register_marketplace_routes(router);
  return router;
}

std::string read_source(const std::string& relative) {
  Result<std::string> text = read_file_to_string(std::string(JOEY_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(text.ok()) << relative;
  return text.ok() ? *text : "";
}

// --- the built-in catalog --------------------------------------------------------------

TEST(MarketplaceCatalog, BuiltInCatalogPassesValidationWithAtLeast15Items) {
  const Result<MarketplaceCatalog>& catalog = builtin_marketplace();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  EXPECT_GE(catalog->modes.ids.size(), 5u);
  EXPECT_GE(catalog->mcps.ids.size(), 10u);
  EXPECT_GE(catalog->modes.ids.size() + catalog->mcps.ids.size(), 15u);
}

TEST(MarketplaceCatalog, BuiltInCatalogIsTheCheckedInFilesByteForByte) {
  EXPECT_EQ(builtin_modes_yaml(), read_source("marketplace/modes.yaml"));
  EXPECT_EQ(builtin_mcps_yaml(), read_source("marketplace/mcps.yaml"));
}

TEST(MarketplaceCatalog, CheckedInDirectoryLoadsLikeAnOperatorCatalog) {
  Result<MarketplaceCatalog> catalog =
      load_marketplace_dir(std::filesystem::path(JOEY_SOURCE_DIR) / "marketplace");
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  EXPECT_EQ(catalog->modes.etag, builtin_marketplace()->modes.etag);
}

// Checked here with yaml-cpp independently of the validator: what joey's mode loader
// (agent/modes.cpp) requires of each mode.
TEST(MarketplaceCatalog, EveryModeIsAModeJoeysLoaderAccepts) {
  const YAML::Node root = YAML::Load(std::string(builtin_modes_yaml()));
  const std::set<std::string> joey_groups = {"read", "edit", "command", "mcp", "modes"};
  const std::regex slug_pattern("^[a-z0-9-]+$");
  ASSERT_GT(root["items"].size(), 0u);
  for (const YAML::Node& item : root["items"]) {
    const std::string id = item["id"].as<std::string>();
    SCOPED_TRACE(id);
    const YAML::Node mode = YAML::Load(item["content"].as<std::string>());
    ASSERT_TRUE(mode.IsMap());
    EXPECT_EQ(mode["slug"].as<std::string>(), id);
    EXPECT_TRUE(std::regex_match(id, slug_pattern));
    ASSERT_TRUE(mode["name"].IsScalar());
    EXPECT_FALSE(mode["name"].Scalar().empty());
    for (const char* key : {"roleDefinition", "whenToUse", "customInstructions"}) {
      ASSERT_TRUE(mode[key].IsScalar()) << key;
      EXPECT_GT(mode[key].Scalar().size(), 20u) << key;  // written out, not a stub
    }
    ASSERT_TRUE(mode["groups"].IsSequence());
    for (const YAML::Node& group : mode["groups"]) {
      const std::string name = group.IsSequence() ? group[0].Scalar() : group.Scalar();
      EXPECT_TRUE(joey_groups.count(name)) << name;
      if (group.IsSequence()) {
        EXPECT_EQ(name, "edit");
        std::regex compiled(group[1]["fileRegex"].Scalar(), std::regex::ECMAScript);
      }
    }
  }
}

TEST(MarketplaceCatalog, EveryMcpPlaceholderIsDeclaredAndEveryParameterUsed) {
  const YAML::Node root = YAML::Load(std::string(builtin_mcps_yaml()));
  size_t templates = 0;
  auto keys_of = [](const YAML::Node& parameters) {
    std::set<std::string> keys;
    if (parameters.IsDefined() && parameters.IsSequence()) {
      for (const YAML::Node& parameter : parameters) keys.insert(parameter["key"].Scalar());
    }
    return keys;
  };
  auto used_in = [](const std::string& text) {
    std::set<std::string> keys;
    const std::regex placeholder("\\{\\{([A-Za-z0-9_]+)\\}\\}");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), placeholder);
         it != std::sregex_iterator(); ++it) {
      keys.insert((*it)[1]);
    }
    return keys;
  };
  for (const YAML::Node& item : root["items"]) {
    SCOPED_TRACE(item["id"].Scalar());
    const std::set<std::string> item_keys = keys_of(item["parameters"]);
    if (item["content"].IsScalar()) {
      EXPECT_EQ(used_in(item["content"].Scalar()), item_keys);
      ++templates;
      continue;
    }
    for (const YAML::Node& method : item["content"]) {
      std::set<std::string> declared = item_keys;
      for (const std::string& key : keys_of(method["parameters"])) declared.insert(key);
      EXPECT_EQ(used_in(method["content"].Scalar()), declared) << method["name"].Scalar();
      ++templates;
    }
  }
  EXPECT_GT(templates, 15u);
}

// --- the routes ------------------------------------------------------------------------

TEST(MarketplaceRoutes, ServeTheCatalogAsYamlWithEveryItem) {
  const Router router = builtin_router();
  size_t total = 0;
  for (const std::string kind : {"modes", "mcps"}) {
    SCOPED_TRACE(kind);
    Raw reply = get(router, "/api/marketplace/" + kind);
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.content_type, "application/yaml; charset=utf-8");
    const YAML::Node root = YAML::Load(reply.body);
    ASSERT_TRUE(root["items"].IsSequence());
    const std::string type = kind == "modes" ? "mode" : "mcp";
    for (const YAML::Node& item : root["items"]) EXPECT_EQ(item["type"].Scalar(), type);
    total += root["items"].size();
  }
  EXPECT_GE(total, 15u);
}

TEST(MarketplaceRoutes, AStrongEtagAndPublicCaching) {
  const Router router = builtin_router();
  Raw modes = get(router, "/api/marketplace/modes");
  Raw mcps = get(router, "/api/marketplace/mcps");
  EXPECT_TRUE(std::regex_match(modes.header("etag"), std::regex("^\"sha256-[0-9a-f]{64}\"$")))
      << modes.header("etag");
  EXPECT_NE(modes.header("etag"), mcps.header("etag"));
  EXPECT_EQ(modes.header("etag"), get(router, "/api/marketplace/modes").header("etag"));
  EXPECT_EQ(modes.header("cache-control"), "public, max-age=300");
  EXPECT_EQ(mcps.header("cache-control"), "public, max-age=300");
}

TEST(MarketplaceRoutes, MatchingIfNoneMatchGets304WithNoBody) {
  const Router router = builtin_router();
  const std::string etag = get(router, "/api/marketplace/mcps").header("etag");
  for (const std::string& value : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    SCOPED_TRACE(value);
    Raw reply = get(router, "/api/marketplace/mcps", {{"if-none-match", value}});
    EXPECT_EQ(reply.status, 304);
    EXPECT_TRUE(reply.body.empty());
    EXPECT_EQ(reply.header("etag"), etag);
    EXPECT_EQ(reply.header("cache-control"), "public, max-age=300");
  }
}

TEST(MarketplaceRoutes, AStaleIfNoneMatchGetsTheFullCatalog) {
  const Router router = builtin_router();
  const std::string modes_etag = get(router, "/api/marketplace/modes").header("etag");
  Raw reply = get(router, "/api/marketplace/mcps", {{"if-none-match", modes_etag}});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, builtin_mcps_yaml());
}

TEST(MarketplaceRoutes, SetNoCookieAndRecordNoCaller) {
  const Router router = builtin_router();
  for (const std::string path : {"/api/marketplace/modes", "/api/marketplace/mcps"}) {
    for (int status_wanted : {200, 304}) {
      testing::Headers headers;
      if (status_wanted == 304) {
        headers.emplace_back("if-none-match", get(router, path).header("etag"));
      }
      Raw reply = get(router, path, headers);
      EXPECT_EQ(reply.status, status_wanted);
      EXPECT_FALSE(reply.has_header("set-cookie")) << path;
      EXPECT_TRUE(reply.user_id.empty()) << path;
    }
  }
}

TEST(MarketplaceRoutes, ACookieATokenAndAQueryChangeNothing) {
  const Router router = builtin_router();
  for (const std::string path : {"/api/marketplace/modes", "/api/marketplace/mcps"}) {
    Raw anonymous = get(router, path);
    Raw identified = get(router, path + "?machine=abc123",
                         {{"authorization", "Bearer joey_pat_0123456789abcdef0123456789abcdef"},
                          {"cookie", "joey_session=0123456789abcdef; other=1"},
                          {"x-joey-machine-id", "machine-42"}});
    EXPECT_EQ(identified.status, anonymous.status);
    EXPECT_EQ(identified.content_type, anonymous.content_type);
    EXPECT_EQ(identified.body, anonymous.body);
    EXPECT_EQ(identified.headers, anonymous.headers);
    EXPECT_TRUE(identified.user_id.empty());
  }
}

TEST(MarketplaceRoutes, OnlyGetIsServed) {
  const Router router = builtin_router();
  HttpRequest request;
  request.method = "POST";
  EXPECT_EQ(router.handle(request, "/api/marketplace/modes").status, 405);
}

TEST(MarketplaceRoutes, AnOperatorCatalogReplacesTheBuiltInOne) {
  Router router = builtin_router();
  Result<MarketplaceCatalog> own = parse_catalog(
      "items: []\n", "own/modes.yaml",
      "items:\n  - {id: only-one, type: mcp, name: Only, description: The one server, tags: [],"
      " url: 'https://example.com', content: '{\"command\": \"only-one\"}'}\n",
      "own/mcps.yaml");
  ASSERT_TRUE(own.ok()) << own.error().message;
  add_marketplace_routes(router, std::make_shared<const MarketplaceCatalog>(*own));
  EXPECT_EQ(get(router, "/api/marketplace/modes").body, "items: []\n");
  EXPECT_EQ(YAML::Load(get(router, "/api/marketplace/mcps").body)["items"].size(), 1u);
  EXPECT_EQ(router.routes().size(), 2u);
}

// A signed-in user's real session (the cookie opens their task list) gets the anonymous
// answer, and nothing about them is recorded.
class MarketplaceSignedInTest : public testing::CloudRoutesTest {};

TEST_P(MarketplaceSignedInTest, ASignedInUserGetsTheAnonymousAnswer) {
  if (stopped()) return;
  register_marketplace_routes(router_);
  const testing::Person alice = sign_up("alice@example.com");
  ASSERT_EQ(call(alice, "GET", "/api/tasks").status, 200);
  for (const std::string path : {"/api/marketplace/modes", "/api/marketplace/mcps"}) {
    Raw anonymous = get(router_, path);
    Raw signed_in = get(router_, path, {{"cookie", alice.cookie}});
    EXPECT_EQ(signed_in.status, 200);
    EXPECT_EQ(signed_in.body, anonymous.body);
    EXPECT_EQ(signed_in.headers, anonymous.headers);
    EXPECT_TRUE(signed_in.user_id.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, MarketplaceSignedInTest, ::testing::Values("sqlite"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// --- bad catalogs ------------------------------------------------------------------------

constexpr char kGoodMcp[] =
    "  - id: files\n"
    "    type: mcp\n"
    "    name: Files\n"
    "    description: Reads files\n"
    "    tags: [files]\n"
    "    url: https://example.com/files\n"
    "    content: '{\"command\": \"npx\", \"args\": [\"{{path}}\"]}'\n"
    "    parameters:\n"
    "      - {name: Path, key: path}\n";

constexpr char kGoodMode[] =
    "  - id: reviewer\n"
    "    type: mode\n"
    "    name: Reviewer\n"
    "    description: Reviews code\n"
    "    tags: []\n"
    "    content: |\n"
    "      slug: reviewer\n"
    "      name: Reviewer\n"
    "      roleDefinition: You review code.\n"
    "      groups: [read, [edit, {fileRegex: '\\.md$'}]]\n";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The error for a file holding `items`, or "" when it is accepted.
std::string error_for(CatalogKind kind, const std::string& items) {
  const char* name = kind == CatalogKind::kModes ? "bad/modes.yaml" : "bad/mcps.yaml";
  Result<CatalogFile> file = parse_catalog_file("items:\n" + items, name, kind);
  return file.ok() ? "" : file.error().message;
}

TEST(MarketplaceValidation, TheSampleItemsAreValid) {
  EXPECT_EQ(error_for(CatalogKind::kMcps, kGoodMcp), "");
  EXPECT_EQ(error_for(CatalogKind::kModes, kGoodMode), "");
}

TEST(MarketplaceValidation, ADuplicateIdNamesTheFileTheItemAndTheField) {
  const std::string message = error_for(CatalogKind::kMcps, std::string(kGoodMcp) + kGoodMcp);
  EXPECT_NE(message.find("bad/mcps.yaml:11: item 'files': field 'id'"), std::string::npos)
      << message;
}

TEST(MarketplaceValidation, AnIdUsedByAModeAndAnMcpIsRefused) {
  Result<MarketplaceCatalog> catalog = parse_catalog(
      "items:\n" + replaced(replaced(kGoodMode, "reviewer", "files"), "reviewer", "files"),
      "bad/modes.yaml", std::string("items:\n") + kGoodMcp, "bad/mcps.yaml");
  ASSERT_FALSE(catalog.ok());
  EXPECT_NE(catalog.error().message.find("item 'files': field 'id'"), std::string::npos)
      << catalog.error().message;
}

TEST(MarketplaceValidation, AMissingFieldIsNamed) {
  for (const auto& [line, field] : std::vector<std::pair<std::string, std::string>>{
           {"    name: Files\n", "name"},
           {"    description: Reads files\n", "description"},
           {"    tags: [files]\n", "tags"},
           {"    url: https://example.com/files\n", "url"},
           {"    type: mcp\n", "type"}}) {
    const std::string message = error_for(CatalogKind::kMcps, replaced(kGoodMcp, line, ""));
    EXPECT_NE(message.find("item 'files': field '" + field + "'"), std::string::npos) << message;
  }
  const std::string no_content = error_for(
      CatalogKind::kMcps,
      replaced(kGoodMcp, "    content: '{\"command\": \"npx\", \"args\": [\"{{path}}\"]}'\n", ""));
  EXPECT_NE(no_content.find("field 'content'"), std::string::npos) << no_content;
}

TEST(MarketplaceValidation, AnUndeclaredPlaceholderIsRefused) {
  const std::string message =
      error_for(CatalogKind::kMcps, replaced(kGoodMcp, "{{path}}", "{{path}}/{{root}}"));
  EXPECT_NE(message.find("bad/mcps.yaml:8: item 'files': field 'content': placeholder {{root}} "
                         "is not declared"),
            std::string::npos)
      << message;
}

TEST(MarketplaceValidation, AnUnusedParameterIsRefused) {
  const std::string message = error_for(CatalogKind::kMcps, replaced(kGoodMcp, "{{path}}", "/"));
  EXPECT_NE(message.find("parameter 'path' is declared but never used"), std::string::npos)
      << message;
}

TEST(MarketplaceValidation, InstallMethodsCheckTheirOwnAndTheItemsParameters) {
  const std::string methods =
      "  - id: files\n    type: mcp\n    name: Files\n    description: d\n    tags: []\n"
      "    url: https://example.com\n"
      "    parameters: [{name: Token, key: token}]\n"
      "    content:\n"
      "      - name: Local\n"
      "        content: '{\"command\": \"x\", \"env\": {\"T\": \"{{token}}\"}}'\n"
      "      - name: Remote\n"
      "        content: '{\"url\": \"https://{{host}}/mcp\", \"headers\": {\"A\": "
      "\"{{token}}\"}}'\n"
      "        parameters: [{name: Host, key: host, placeholder: example.com, optional: false}]\n";
  EXPECT_EQ(error_for(CatalogKind::kMcps, methods), "");
  const std::string undeclared =
      error_for(CatalogKind::kMcps, replaced(methods, "{{host}}/mcp", "{{hostname}}/mcp"));
  EXPECT_NE(undeclared.find("field 'content[2].content': placeholder {{hostname}}"),
            std::string::npos)
      << undeclared;
  const std::string unused =
      error_for(CatalogKind::kMcps, replaced(methods, "{\"T\": \"{{token}}\"}", "{}"));
  EXPECT_NE(unused.find("field 'content[1].content': parameter 'token' is declared but never"),
            std::string::npos)
      << unused;
  const std::string twice = error_for(CatalogKind::kMcps, replaced(methods, "Remote", "Local"));
  EXPECT_NE(twice.find("used twice"), std::string::npos) << twice;
}

TEST(MarketplaceValidation, BadYamlNamesTheFileAndLine) {
  Result<CatalogFile> file = parse_catalog_file("items:\n  - {id: files, name: [unclosed\n",
                                                "bad/mcps.yaml", CatalogKind::kMcps);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.error().message.starts_with("bad/mcps.yaml:")) << file.error().message;
  EXPECT_NE(file.error().message.find("not valid YAML"), std::string::npos);
  for (const char* text : {"", "items: 3\n", "- a\n", "items: []\nextra: 1\n", "\xff\xfe"}) {
    EXPECT_FALSE(parse_catalog_file(text, "bad/mcps.yaml", CatalogKind::kMcps).ok()) << text;
  }
}

TEST(MarketplaceValidation, MalformedItemsAreRefusedWithTheirField) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"id: files", "id: Files_1", "field 'id': 'Files_1' is not kebab-case"},
      {"type: mcp", "type: mode", "field 'type': must be 'mcp'"},
      {"    tags: [files]\n", "    tags: [files]\n    autorUrl: https://x.y\n",
       "field 'autorUrl': unknown field"},
      {"url: https://example.com/files", "url: ftp://example.com", "field 'url'"},
      {"{{path}}\"]}'", "{{path}}\"]'", "field 'content': must be a JSON object"},
      {"{\"command\": \"npx\",", "{\"cmd\": \"npx\",", "either \"command\""},
      {"{{path}}", "{{ path }}", "malformed placeholder"},
      {"{name: Path, key: path}", "{name: Path, key: path, optional: maybe}", "'optional'"},
      {"{name: Path, key: path}", "{name: Path, key: a-b}", "may hold only letters"},
  };
  for (const auto& [from, to, expected] : cases) {
    const std::string message = error_for(CatalogKind::kMcps, replaced(kGoodMcp, from, to));
    EXPECT_NE(message.find(expected), std::string::npos) << to << " -> " << message;
  }
}

TEST(MarketplaceValidation, AModeMustBeOneJoeyCanLoad) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"slug: reviewer", "slug: other", "slug 'other' must equal the item's id"},
      {"[read, [edit", "[read, browse, [edit", "unknown group 'browse'"},
      {"[read, [edit", "[read, read, [edit", "listed twice"},
      {"'\\.md$'", "'(['", "invalid fileRegex"},
      {"      roleDefinition: You review code.\n", "", "'roleDefinition' is required"},
      {"      groups: [read, [edit, {fileRegex: '\\.md$'}]]\n", "", "'groups' is required"},
      {"      name: Reviewer\n", "      name: Reviewer\n      rolDefinition: x\n",
       "unknown mode field 'rolDefinition'"},
      {"      slug: reviewer\n", "      slug: reviewer\n      - oops\n", "not valid YAML"},
  };
  for (const auto& [from, to, expected] : cases) {
    const std::string message = error_for(CatalogKind::kModes, replaced(kGoodMode, from, to));
    EXPECT_NE(message.find("bad/modes.yaml:"), std::string::npos) << message;
    EXPECT_NE(message.find("item 'reviewer': field 'content'"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << to << " -> " << message;
  }
}

TEST(MarketplaceValidation, HostileInputIsRefusedWithoutCrashing) {
  const std::vector<std::string> inputs = {
      std::string(5000, '['), "items: " + std::string(3000, '{'), "items: &a [*a]\n",
      std::string("items:\n  - \0\n", 12), "items:\n  - id: x\n    content: !!binary AAAA\n"};
  for (const std::string& input : inputs) {
    EXPECT_FALSE(parse_catalog_file(input, "bad/mcps.yaml", CatalogKind::kMcps).ok());
    EXPECT_FALSE(parse_catalog_file(input, "bad/modes.yaml", CatalogKind::kModes).ok());
  }
  EXPECT_FALSE(
      parse_catalog_file(std::string(kMaxCatalogFileBytes + 1, ' '), "big.yaml", CatalogKind::kMcps)
          .ok());
}

TEST(MarketplaceValidation, AMarketplaceDirectoryWithoutBothFilesIsRefused) {
  std::string pattern = (std::filesystem::temp_directory_path() / "joey-market-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  ASSERT_TRUE(write_file_atomically(dir / "modes.yaml", "items: []\n").ok());
  Result<MarketplaceCatalog> missing = load_marketplace_dir(dir);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kIo);
  EXPECT_NE(missing.error().message.find((dir / "mcps.yaml").string()), std::string::npos);
  ASSERT_TRUE(write_file_atomically(dir / "mcps.yaml", std::string("items:\n") + kGoodMcp).ok());
  Result<MarketplaceCatalog> loaded = load_marketplace_dir(dir);
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_TRUE(write_file_atomically(dir / "mcps.yaml", "items: [\n").ok());
  Result<MarketplaceCatalog> bad = load_marketplace_dir(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().message.starts_with((dir / "mcps.yaml").string())) << bad.error().message;
  std::filesystem::remove_all(dir);
}

TEST(MarketplaceTemplates, PlaceholdersAreFoundOnceEachInOrder) {
  Result<std::vector<std::string>> keys = template_keys("{{b}} x {{a_1}} {{b}} }} { {");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"b", "a_1"}));
  for (const char* bad : {"{{}}", "{{a", "{{a}", "{{a-b}}", "{{ a }}"}) {
    EXPECT_FALSE(template_keys(bad).ok()) << bad;
  }
}

TEST(MarketplaceTemplates, IfNoneMatchUsesWeakComparison) {
  EXPECT_TRUE(if_none_match_matches("\"x\"", "\"x\""));
  EXPECT_TRUE(if_none_match_matches("W/\"x\"", "\"x\""));
  EXPECT_TRUE(if_none_match_matches(" \"a\" , \"x\" ", "\"x\""));
  EXPECT_TRUE(if_none_match_matches("*", "\"x\""));
  EXPECT_FALSE(if_none_match_matches("\"y\"", "\"x\""));
  EXPECT_FALSE(if_none_match_matches("", "\"x\""));
  EXPECT_FALSE(if_none_match_matches("x", "\"x\""));
}

}  // namespace
}  // namespace joey::cloud
