// The marketplace from the agent's side (issue 9 §5): reading a catalog (bad ones named
// by item and field), searching on this machine, the organization's filter, filling
// {{key}} safely, installing a mode and an MCP server atomically, refusing to overwrite
// without force, and removing.
#include "client/marketplace.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "agent/modes.h"
#include "base/atomic_file.h"
#include "client/mcp_config.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMcps = R"(items:
  - id: filesystem
    type: mcp
    name: Filesystem
    description: Read and write files in the directories you allow.
    tags: [files, official]
    content: '{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "{{allowed_path}}"]}'
    parameters:
      - {name: Allowed directory, key: allowed_path, placeholder: /home/me}
  - id: memory
    type: mcp
    name: Memory
    description: A knowledge graph that persists between tasks.
    tags: [memory]
    content:
      - name: Default file
        content: '{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}'
      - name: Custom file
        content: '{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {"MEMORY_FILE_PATH": "{{path}}"}}'
        parameters:
          - {name: Memory file, key: path, optional: false}
)";

constexpr const char* kModes = R"(items:
  - id: test-writer
    type: mode
    name: Test Writer
    description: Writes focused tests for existing code.
    tags: [testing]
    content: |
      slug: test-writer
      name: Test Writer
      roleDefinition: You write tests that can fail.
      groups: [read, edit, command]
)";

// kModes' mode as installing it writes it into a modes file whose items are two spaces in.
constexpr const char* kInstalledTestWriter =
    "  - slug: test-writer\n"
    "    name: Test Writer\n"
    "    roleDefinition: You write tests that can fail.\n"
    "    groups: [read, edit, command]\n";

class MarketplaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-marketplace-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  fs::path root_;
};

TEST(MarketplaceCatalog, ReadsRooCodesItemSchema) {
  Result<std::vector<MarketplaceItem>> mcps = parse_marketplace_catalog(kMcps, "mcps");
  ASSERT_TRUE(mcps.ok()) << mcps.error().message;
  ASSERT_EQ(mcps->size(), 2u);
  EXPECT_EQ((*mcps)[0].parameters.at(0).key, "allowed_path");
  EXPECT_FALSE((*mcps)[0].content.empty());
  ASSERT_EQ((*mcps)[1].methods.size(), 2u);
  EXPECT_EQ((*mcps)[1].methods[1].parameters.at(0).key, "path");
  Result<std::vector<MarketplaceItem>> modes = parse_marketplace_catalog(kModes, "modes");
  ASSERT_TRUE(modes.ok());
  EXPECT_EQ(modes->at(0).type, "mode");
  // A catalog asked for the other type yields none of these items.
  EXPECT_TRUE(parse_marketplace_catalog(kModes, "mcps")->empty());
}

TEST(MarketplaceCatalog, BadCatalogsAreNamedByItemAndField) {
  const std::pair<const char*, const char*> cases[] = {
      {"items: [", "not valid YAML"},
      {"other: 1", "no 'items' list"},
      {"items: [3]", "item #1: must be a map"},
      {"items: [{type: mcp, content: x}]", "has no 'id'"},
      {"items: [{id: a, content: x}, {id: a, content: y}]", "'a': appears twice"},
      {"items: [{id: a, type: mcp}]", "'a': has no 'content'"},
      {"items: [{id: a, content: x, tags: one}]", "'tags' must be a list"},
      {"items: [{id: a, content: x, parameters: [{name: n}]}]", "a parameter has no 'key'"},
      {"items: [{id: a, content: [{name: m}]}]", "each install method"},
  };
  for (const auto& [text, expected] : cases) {
    Result<std::vector<MarketplaceItem>> parsed = parse_marketplace_catalog(text, "mcps");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kProtocol);
    EXPECT_NE(parsed.error().message.find(expected), std::string::npos)
        << text << " -> " << parsed.error().message;
  }
}

TEST(MarketplaceCatalog, SearchRunsLocallyNamesFirst) {
  std::vector<MarketplaceItem> items = parse_marketplace_catalog(kMcps, "mcps").value();
  auto ids = [](const std::vector<const MarketplaceItem*>& found) {
    std::vector<std::string> out;
    for (const MarketplaceItem* item : found) out.push_back(item->id);
    return out;
  };
  EXPECT_EQ(ids(search_marketplace(items, "")), (std::vector<std::string>{"filesystem", "memory"}));
  EXPECT_EQ(ids(search_marketplace(items, "FILES")), std::vector<std::string>{"filesystem"});
  EXPECT_EQ(ids(search_marketplace(items, "memory tasks")), std::vector<std::string>{"memory"});
  EXPECT_TRUE(search_marketplace(items, "files memory").empty());
  // "persists" is only in memory's description; "files" is in filesystem's name.
  EXPECT_EQ(ids(search_marketplace(items, "e")).front(), "filesystem");
}

TEST(MarketplaceCatalog, TheOrganizationHidesWhatItChooses) {
  std::vector<MarketplaceItem> items = parse_marketplace_catalog(kMcps, "mcps").value();
  std::vector<MarketplaceItem> modes = parse_marketplace_catalog(kModes, "modes").value();
  items.insert(items.end(), modes.begin(), modes.end());
  std::vector<MarketplaceItem> some = items;
  apply_marketplace_filter(some, {false, {"memory"}});
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].id, "filesystem");
  apply_marketplace_filter(items, {true, {}});
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].type, "mode");
}

TEST(MarketplaceCatalog, ValuesCannotChangeTheShapeOfAConfiguration) {
  const std::vector<MarketplaceParameter> parameters = {{"Path", "p", "", false},
                                                        {"Extra", "x", "", true}};
  Result<std::string> filled = fill_marketplace_template(
      R"({"args": ["{{p}}", "{{x}}"]})", parameters, {{"p", R"(a", "--evil": "1)"}}, true);
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(*filled, R"({"args": ["a\", \"--evil\": \"1", ""]})");
  Result<std::string> missing = fill_marketplace_template("{{p}}", parameters, {}, true);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("--param p=VALUE"), std::string::npos);
}

TEST_F(MarketplaceTest, InstallsAnMcpServerWithItsParametersAndRemovesIt) {
  std::vector<MarketplaceItem> items = parse_marketplace_catalog(kMcps, "mcps").value();
  const fs::path file = root_ / ".joey" / "mcp.json";
  ASSERT_TRUE(
      install_marketplace_item(items[0], 0, {{"allowed_path", "/src/my app"}}, file, false).ok());
  Result<std::vector<McpServerEntry>> servers =
      parse_mcp_file(read_file_to_string(file).value(), file, McpScope::kProject);
  ASSERT_TRUE(servers.ok()) << servers.error().message;
  ASSERT_EQ(servers->size(), 1u);
  EXPECT_EQ(servers->at(0).name, "filesystem");
  EXPECT_EQ(servers->at(0).definition["args"][2], "/src/my app");

  Result<fs::path> again =
      install_marketplace_item(items[0], 0, {{"allowed_path", "/x"}}, file, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  // The second install method needs its own parameter; the first none.
  EXPECT_FALSE(install_marketplace_item(items[1], 1, {}, file, false).ok());
  ASSERT_TRUE(install_marketplace_item(items[1], 1, {{"path", "/m.jsonl"}}, file, false).ok());
  EXPECT_FALSE(install_marketplace_item(items[1], 5, {}, file, true).ok());

  ASSERT_TRUE(remove_marketplace_item(items[0], file).ok());
  EXPECT_EQ(remove_marketplace_item(items[0], file).error().kind, ErrorKind::kNotFound);
}

TEST_F(MarketplaceTest, InstallsAModeJoeyLoadsAndKeepsTheOthers) {
  const fs::path file = root_ / ".joey" / "modes.yaml";
  fs::create_directories(file.parent_path());
  ASSERT_TRUE(write_file_atomically(file,
                                    "customModes:\n  - slug: mine\n    name: Mine\n"
                                    "    roleDefinition: Mine.\n    groups: [read]\n")
                  .ok());
  MarketplaceItem mode = parse_marketplace_catalog(kModes, "modes").value().at(0);
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  Result<std::vector<agent::Mode>> loaded =
      agent::parse_modes_text(read_file_to_string(file).value(), file.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ(loaded->at(0).slug, "mine");
  EXPECT_EQ(loaded->at(1).slug, "test-writer");
  EXPECT_EQ(install_marketplace_item(mode, 0, {}, file, false).error().kind,
            ErrorKind::kAlreadyExists);
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, true).ok());
  ASSERT_TRUE(remove_marketplace_item(mode, file).ok());
  loaded = agent::parse_modes_text(read_file_to_string(file).value(), file.string());
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);

  MarketplaceItem broken = mode;
  broken.content = "slug: x\ngroups: [flying]\n";
  EXPECT_FALSE(install_marketplace_item(broken, 0, {}, file, false).ok());
}

// A modes file is the user's own: installing and removing a mode edit its customModes
// list as text, and every comment, blank line, quote and indentation the user wrote
// stays. Install then remove gives back the very bytes.
TEST_F(MarketplaceTest, InstallingAndRemovingAModeKeepTheFilesCommentsAndLayout) {
  const fs::path file = root_ / "modes.yaml";
  const std::string original =
      "# my modes, written by hand\n"
      "customModes:\n"
      "  # the one I use daily\n"
      "  - slug: mine\n"
      "    name: Mine   # short\n"
      "    roleDefinition: \"Mine.\"\n"
      "    groups: [read]\n"
      "\n"
      "# more to come\n";
  ASSERT_TRUE(write_file_atomically(file, original).ok());
  MarketplaceItem mode = parse_marketplace_catalog(kModes, "modes").value().at(0);
  const std::string item = kInstalledTestWriter;
  const size_t list_end = original.find("\n\n# more") + 1;
  const std::string installed = original.substr(0, list_end) + item + original.substr(list_end);
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  EXPECT_EQ(read_file_to_string(file).value(), installed);
  Result<std::vector<agent::Mode>> loaded = agent::parse_modes_text(installed, file.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ(loaded->at(1).slug, "test-writer");
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, true).ok());  // replaced in place
  EXPECT_EQ(read_file_to_string(file).value(), installed);
  ASSERT_TRUE(remove_marketplace_item(mode, file).ok());
  EXPECT_EQ(read_file_to_string(file).value(), original);

  // A list at the left margin keeps its margin; a file without customModes gets one.
  ASSERT_TRUE(write_file_atomically(file,
                                    "customModes:\n- slug: mine\n  name: Mine\n"
                                    "  roleDefinition: Mine.\n  groups: [read]\n")
                  .ok());
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  EXPECT_NE(read_file_to_string(file).value().find("  groups: [read]\n- slug: test-writer\n"),
            std::string::npos)
      << read_file_to_string(file).value();
  ASSERT_TRUE(write_file_atomically(file, "# nothing yet\n").ok());
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  EXPECT_EQ(read_file_to_string(file).value(), "# nothing yet\ncustomModes:\n" + item);

  // A layout the text edit does not handle (a flow list) is written whole: the mode is
  // installed all the same.
  ASSERT_TRUE(write_file_atomically(file, "customModes: []  # none\n").ok());
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  loaded = agent::parse_modes_text(read_file_to_string(file).value(), file.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->at(0).slug, "test-writer");
}

// A last mode whose last text is a `|+` block owns the blank lines after it (they are that
// text's final line breaks): a mode installed after it goes after them, and removing it
// takes them along; the file is edited, not rewritten, so its comments stay.
TEST_F(MarketplaceTest, AModeEndingInAKeptBlockKeepsItsBlankLines) {
  const fs::path file = root_ / "modes.yaml";
  const std::string first =
      "# my modes\n"
      "customModes:\n"
      "  - slug: mine\n"
      "    name: Mine\n"
      "    roleDefinition: Mine.\n"
      "    groups: [read]\n";
  const std::string kept =
      "  - slug: keeper  # keeps its breaks\n"
      "    name: Keeper\n"
      "    roleDefinition: Keeps.\n"
      "    groups: [read]\n"
      "    whenToUse: |+\n"
      "      Always.\n"
      "        Indented further.\n"
      "\n"
      "\n";
  ASSERT_TRUE(write_file_atomically(file, first + kept).ok());
  MarketplaceItem mode = parse_marketplace_catalog(kModes, "modes").value().at(0);
  const std::string item = kInstalledTestWriter;
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  EXPECT_EQ(read_file_to_string(file).value(), first + kept + item);
  Result<std::vector<agent::Mode>> loaded =
      agent::parse_modes_text(read_file_to_string(file).value(), file.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 3u);
  EXPECT_EQ(loaded->at(1).when_to_use, "Always.\n  Indented further.\n\n\n");
  ASSERT_TRUE(remove_marketplace_item(mode, file).ok());
  EXPECT_EQ(read_file_to_string(file).value(), first + kept);

  // Removing the kept block's mode takes its blank lines, and nothing else.
  MarketplaceItem keeper = mode;
  keeper.content = "slug: keeper\nname: Keeper\nroleDefinition: Keeps.\ngroups: [read]\n";
  ASSERT_TRUE(write_file_atomically(file, first + kept + "# the end\n").ok());
  ASSERT_TRUE(remove_marketplace_item(keeper, file).ok());
  EXPECT_EQ(read_file_to_string(file).value(), first + "# the end\n");

  // A block that drops its final line breaks (`|-`, `|`) owns no blank lines.
  std::string clipped = kept;
  clipped.replace(clipped.find("|+"), 2, "|");
  ASSERT_TRUE(write_file_atomically(file, first + clipped + "# the end\n").ok());
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  EXPECT_EQ(read_file_to_string(file).value(),
            first + clipped.substr(0, clipped.size() - 2) + item + "\n\n# the end\n");
}

// A mode's texts of several lines go into the user's file as literal blocks, the way a
// person writes them, not as one double-quoted line of "\n" escapes; texts a block
// cannot hold as they are keep yaml-cpp's quoting. Either way joey reads back the mode.
TEST_F(MarketplaceTest, AModesLongTextsAreWrittenAsLiteralBlocks) {
  const fs::path file = root_ / "modes.yaml";
  MarketplaceItem mode = parse_marketplace_catalog(kModes, "modes").value().at(0);
  mode.content =
      "slug: test-writer\n"
      "name: Test Writer\n"
      "roleDefinition: You write tests that can fail.\n"
      "customInstructions: |-\n"
      "  1. Find how the project tests.\n"
      "     Follow its conventions.\n"
      "\n"
      "  2. Run the tests.\n"
      "whenToUse: |+\n"
      "  Adding tests.\n"
      "\n"
      "groups: [read, edit, command]\n";
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  const std::string written = read_file_to_string(file).value();
  EXPECT_EQ(written,
            "customModes:\n"
            "  - slug: test-writer\n"
            "    name: Test Writer\n"
            "    roleDefinition: You write tests that can fail.\n"
            "    customInstructions: |-\n"
            "      1. Find how the project tests.\n"
            "         Follow its conventions.\n"
            "\n"
            "      2. Run the tests.\n"
            "    whenToUse: |+\n"
            "      Adding tests.\n"
            "\n"
            "    groups: [read, edit, command]\n");
  Result<std::vector<agent::Mode>> loaded = agent::parse_modes_text(written, file.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->at(0).custom_instructions,
            "1. Find how the project tests.\n   Follow its conventions.\n\n2. Run the tests.");
  EXPECT_EQ(loaded->at(0).when_to_use, "Adding tests.\n\n");
  ASSERT_TRUE(remove_marketplace_item(mode, file).ok());
  EXPECT_EQ(read_file_to_string(file).value(), "customModes:\n");

  // One long line is folded (>-) at single spaces, within 92 columns where it can be; a
  // double space, a tab and a word longer than a line stay as they are.
  std::string role = "You are joey, a test engineer.";
  for (int i = 0; i < 6; ++i) role += " A test is worth keeping only if it can fail.";
  role += "  Two spaces\there, and " + std::string(100, 'x') + " at the end.";
  mode.content = "slug: test-writer\nname: Test Writer\nroleDefinition: \"" +
                 std::string(role).replace(role.find('\t'), 1, "\\t") + "\"\ngroups: [read]\n";
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  const std::string folded = read_file_to_string(file).value();
  EXPECT_NE(folded.find("    roleDefinition: >-\n      You are joey, a test engineer. A test"),
            std::string::npos)
      << folded;
  size_t longest = 0;
  for (size_t start = 0, end; (end = folded.find('\n', start)) != std::string::npos;
       start = end + 1) {
    if (folded.compare(start, 10, "      xxxx") != 0) longest = std::max(longest, end - start);
  }
  EXPECT_LE(longest, 92u) << folded;
  loaded = agent::parse_modes_text(folded, file.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->at(0).role_definition, role);
  ASSERT_TRUE(remove_marketplace_item(mode, file).ok());

  // A first line that starts with a space, a carriage return: quoted as before.
  mode.content =
      "slug: test-writer\nname: Test Writer\nroleDefinition: You write tests.\n"
      "customInstructions: \"  indented first\\nthen\\r\\nmore\"\ngroups: [read]\n";
  ASSERT_TRUE(install_marketplace_item(mode, 0, {}, file, false).ok());
  loaded = agent::parse_modes_text(read_file_to_string(file).value(), file.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->at(0).custom_instructions, "  indented first\nthen\r\nmore");
  EXPECT_EQ(read_file_to_string(file).value().find("|"), std::string::npos);
}

TEST_F(MarketplaceTest, EveryBuiltInItemReadsAndInstallsAsJoeyExpects) {
  // The catalog joeyd ships (marketplace/), read by the agent's own parser: every mode
  // installs into a modes file joey loads, and every MCP item into an mcp.json joey reads.
  size_t items = 0;
  for (const char* type : {"modes", "mcps"}) {
    const fs::path file = fs::path(JOEY_SOURCE_DIR) / "marketplace" / (std::string(type) + ".yaml");
    Result<std::vector<MarketplaceItem>> catalog =
        parse_marketplace_catalog(read_file_to_string(file).value(), type);
    ASSERT_TRUE(catalog.ok()) << catalog.error().message;
    for (const MarketplaceItem& item : *catalog) {
      ++items;
      std::map<std::string, std::string> values;
      for (const MarketplaceParameter& parameter : item.parameters) values[parameter.key] = "v";
      for (const MarketplaceMethod& method : item.methods) {
        for (const MarketplaceParameter& parameter : method.parameters) values[parameter.key] = "v";
      }
      const size_t methods = std::max<size_t>(1, item.methods.size());
      for (size_t method = 0; method < methods; ++method) {
        const fs::path target = root_ / type / (item.id + std::to_string(method)) /
                                (item.type == "mode" ? "modes.yaml" : "mcp.json");
        Result<fs::path> installed = install_marketplace_item(item, method, values, target, false);
        ASSERT_TRUE(installed.ok()) << item.id << ": " << installed.error().message;
        const std::string text = read_file_to_string(target).value();
        if (item.type == "mode") {
          EXPECT_TRUE(agent::parse_modes_text(text, target.string()).ok()) << item.id;
        } else {
          EXPECT_TRUE(parse_mcp_file(text, target, McpScope::kGlobal).ok()) << item.id;
        }
      }
    }
  }
  EXPECT_GE(items, 15u);
}

}  // namespace
}  // namespace joey::client
