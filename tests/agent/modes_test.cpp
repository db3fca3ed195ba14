#include "agent/modes.h"

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/control_tools.h"
#include "agent/workspace_tools.h"
#include "base/atomic_file.h"
#include "support/temp_dir.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using G = ToolGroup;

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-modes-test"); }

std::vector<std::string> slugs(const std::vector<Mode>& modes) {
  std::vector<std::string> result;
  for (const Mode& mode : modes) result.push_back(mode.slug);
  return result;
}

std::vector<std::string> tool_names(const std::vector<ToolDefinition>& tools) {
  std::vector<std::string> result;
  for (const ToolDefinition& tool : tools) result.push_back(tool.name);
  return result;
}

std::vector<ToolDefinition> all_tools() {
  std::vector<ToolDefinition> tools = workspace_tools();
  for (ToolDefinition& tool : control_tools()) tools.push_back(std::move(tool));
  ToolDefinition mcp;
  mcp.name = "mcp--git--status";
  mcp.group = G::kMcp;
  tools.push_back(mcp);
  return tools;
}

Mode built_in(std::string_view slug) {
  Result<Mode> mode = find_mode(built_in_modes(), slug);
  EXPECT_TRUE(mode.ok());
  return mode.ok() ? *mode : Mode{};
}

class ModesFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = make_temp_dir();
    workspace_ = make_temp_dir();
  }
  void TearDown() override {
    fs::remove_all(home_);
    fs::remove_all(workspace_);
  }
  void write(const fs::path& path, std::string_view text) {
    ASSERT_TRUE(write_file_atomically(path, text).ok());
  }
  static std::string mode_entry(std::string_view slug, std::string_view name) {
    return "  - slug: " + std::string(slug) + "\n    name: " + std::string(name) +
           "\n    roleDefinition: A role.\n    groups: [read]\n";
  }

  fs::path home_;
  fs::path workspace_;
};

TEST(BuiltInModesTest, ShipsTheFiveModesWithTheirGroups) {
  std::vector<Mode> modes = built_in_modes();
  EXPECT_THAT(slugs(modes), ElementsAre("code", "architect", "ask", "debug", "orchestrator"));
  EXPECT_EQ(built_in("code").groups, (std::set<G>{G::kRead, G::kEdit, G::kCommand, G::kMcp}));
  EXPECT_EQ(built_in("architect").groups, (std::set<G>{G::kRead, G::kEdit, G::kMcp}));
  EXPECT_EQ(built_in("ask").groups, (std::set<G>{G::kRead, G::kMcp}));
  EXPECT_EQ(built_in("debug").groups, (std::set<G>{G::kRead, G::kEdit, G::kCommand, G::kMcp}));
  EXPECT_EQ(built_in("orchestrator").groups, (std::set<G>{G::kModes}));
  for (const Mode& mode : modes) {
    EXPECT_EQ(mode.source, "built-in");
    EXPECT_FALSE(mode.name.empty());
    EXPECT_FALSE(mode.role_definition.empty());
    EXPECT_FALSE(mode.when_to_use.empty());
    EXPECT_FALSE(mode.custom_instructions.empty());
  }
  ASSERT_TRUE(built_in("architect").edit_restriction.has_value());
  EXPECT_EQ(built_in("architect").edit_restriction->file_regex, "\\.md$");
}

TEST(BuiltInModesTest, ArchitectRefusesCodeButEditsMarkdown) {
  Mode architect = built_in("architect");
  EXPECT_TRUE(check_edit_allowed(architect, "docs/a.md").ok());
  Status refused = check_edit_allowed(architect, "src/a.py");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(refused.error().message,
              HasSubstr("mode 'architect' may only edit files matching \\.md$ (Markdown files "
                        "only)"));
  EXPECT_THAT(refused.error().message, HasSubstr("src/a.py"));
  EXPECT_FALSE(check_edit_allowed(architect, "notes.md.bak").ok());
}

TEST(BuiltInModesTest, ModesWithoutTheEditGroupMayNotEdit) {
  Status refused = check_edit_allowed(built_in("ask"), "README.md");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(refused.error().message, HasSubstr("mode 'ask' may not edit files"));
  EXPECT_TRUE(check_edit_allowed(built_in("code"), "src/a.py").ok());
}

TEST(BuiltInModesTest, ToolsAreOfferedByGroup) {
  std::vector<ToolDefinition> ask_tools = tools_for_mode(built_in("ask"), all_tools());
  for (const ToolDefinition& tool : ask_tools) {
    EXPECT_TRUE(tool.group == G::kRead || tool.group == G::kMcp || tool.group == G::kAlways)
        << tool.name;
  }
  EXPECT_THAT(tool_names(ask_tools),
              ::testing::IsSupersetOf({"read_file", "search_files", "list_files",
                                       "attempt_completion", "mcp--git--status"}));
  EXPECT_THAT(tool_names(ask_tools), Not(::testing::Contains("write_to_file")));
  EXPECT_THAT(tool_names(ask_tools), Not(::testing::Contains("execute_command")));

  EXPECT_THAT(tool_names(tools_for_mode(built_in("orchestrator"), all_tools())),
              ElementsAre("attempt_completion", "ask_followup_question", "update_todo_list",
                          "switch_mode", "new_task"));
  std::vector<std::string> code_tools = tool_names(tools_for_mode(built_in("code"), all_tools()));
  EXPECT_THAT(code_tools, ::testing::Contains("execute_command"));
  EXPECT_THAT(code_tools, ::testing::Contains("apply_diff"));
  EXPECT_THAT(code_tools, ::testing::Contains("switch_mode"));  // any mode may hand over
  EXPECT_THAT(code_tools, Not(::testing::Contains("new_task")));
}

TEST(BuiltInModesTest, RefusedToolErrorNamesTheMode) {
  Error error = tool_not_allowed_error(built_in("ask"), "execute_command");
  EXPECT_EQ(error.kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(error.message, "mode 'ask' may not use execute_command (it has the groups: read, mcp)");
}

TEST(BuiltInModesTest, FindModeListsTheSlugsWhenUnknown) {
  Result<Mode> missing = find_mode(built_in_modes(), "reviewer");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(missing.error().message,
              HasSubstr("unknown mode 'reviewer' (available: code, architect, ask, debug, "
                        "orchestrator)"));
}

TEST(BuiltInModesTest, PromptSectionHasRoleInstructionsAndOtherModesForDelegation) {
  std::vector<Mode> modes = built_in_modes();
  std::string orchestrator = mode_prompt_section(built_in("orchestrator"), modes);
  EXPECT_THAT(orchestrator, ::testing::StartsWith(built_in("orchestrator").role_definition));
  EXPECT_THAT(orchestrator, HasSubstr(built_in("orchestrator").custom_instructions));
  EXPECT_THAT(orchestrator, HasSubstr("- debug (Debug): " + built_in("debug").when_to_use));
  EXPECT_THAT(orchestrator, Not(HasSubstr("- orchestrator (")));

  std::string architect = mode_prompt_section(built_in("architect"), modes);
  EXPECT_THAT(architect, HasSubstr("`\\.md$` (Markdown files only)"));
  EXPECT_THAT(architect, Not(HasSubstr("Other modes")));  // no modes group: cannot switch
  EXPECT_THAT(mode_prompt_section(built_in("ask"), modes),
              HasSubstr("You cannot change files in this mode."));
}

TEST(ParseModesTest, ReadsRooCodeYaml) {
  Result<std::vector<Mode>> modes = parse_modes_text(R"(customModes:
  - slug: docs-writer
    name: Docs Writer
    roleDefinition: You write documentation.
    whenToUse: Writing docs.
    customInstructions: |
      Be brief.
    groups:
      - read
      - - edit
        - fileRegex: \.(md|mdx)$
          description: Markdown only
      - command
      - browser
    source: project
)",
                                                     ".roomodes");
  ASSERT_TRUE(modes.ok()) << modes.error().message;
  ASSERT_EQ(modes->size(), 1u);
  const Mode& mode = modes->front();
  EXPECT_EQ(mode.slug, "docs-writer");
  EXPECT_EQ(mode.name, "Docs Writer");
  EXPECT_EQ(mode.role_definition, "You write documentation.");
  EXPECT_EQ(mode.when_to_use, "Writing docs.");
  EXPECT_EQ(mode.custom_instructions, "Be brief.\n");
  EXPECT_EQ(mode.groups, (std::set<G>{G::kRead, G::kEdit, G::kCommand}));
  ASSERT_TRUE(mode.edit_restriction.has_value());
  EXPECT_EQ(mode.edit_restriction->file_regex, "\\.(md|mdx)$");
  EXPECT_EQ(mode.edit_restriction->description, "Markdown only");
  EXPECT_EQ(mode.source, ".roomodes");
  EXPECT_TRUE(check_edit_allowed(mode, "guide/intro.mdx").ok());
  EXPECT_FALSE(check_edit_allowed(mode, "src/intro.ts").ok());
}

TEST(ParseModesTest, ReadsRooCodeJson) {
  Result<std::vector<Mode>> modes = parse_modes_text(
      "{\n\t\"customModes\": [\n\t\t{\n\t\t\t\"slug\": \"tester\",\n\t\t\t\"name\": \"Tester\",\n"
      "\t\t\t\"roleDefinition\": \"You write tests.\\nOnly tests.\",\n"
      "\t\t\t\"groups\": [\"read\", [\"edit\", {\"fileRegex\": \"_test\\\\.cpp$\", "
      "\"description\": \"tests \\u00e9\"}]]\n\t\t}\n\t]\n}\n",
      ".roomodes");
  ASSERT_TRUE(modes.ok()) << modes.error().message;
  ASSERT_EQ(modes->size(), 1u);
  EXPECT_EQ(modes->front().role_definition, "You write tests.\nOnly tests.");
  ASSERT_TRUE(modes->front().edit_restriction.has_value());
  EXPECT_EQ(modes->front().edit_restriction->file_regex, "_test\\.cpp$");
  EXPECT_EQ(modes->front().edit_restriction->description, "tests \xC3\xA9");
  EXPECT_TRUE(check_edit_allowed(modes->front(), "tests/a_test.cpp").ok());
  EXPECT_FALSE(check_edit_allowed(modes->front(), "src/a.cpp").ok());
}

TEST(ParseModesTest, EmptyFileHoldsNoModes) {
  for (std::string_view text : {"", "# nothing yet\n", "customModes: []\n", "customModes:\n"}) {
    Result<std::vector<Mode>> modes = parse_modes_text(text, "modes.yaml");
    ASSERT_TRUE(modes.ok()) << text << ": " << modes.error().message;
    EXPECT_TRUE(modes->empty());
  }
}

struct BadModesCase {
  const char* text;
  const char* expected;  // a substring of the error
};

TEST(ParseModesTest, BadFilesAreErrorsNamingFileLineAndMode) {
  const std::string head = "customModes:\n  - slug: good\n    name: Good\n    roleDefinition: R\n";
  const BadModesCase cases[] = {
      {"customModes: [ {slug: a\n", "m.yaml:2:"},
      {"- just\n- a list\n", "m.yaml:1: expected a map with a 'customModes' list"},
      {"custom_modes: []\n", "expected a top-level 'customModes' list"},
      {"customModes: {slug: a}\n", "'customModes' must be a list"},
      {"customModes:\n  - slug: Bad_Slug\n    name: N\n    roleDefinition: R\n    groups: []\n",
       "m.yaml:2: mode #1: slug 'Bad_Slug' may hold only lowercase letters"},
      {"customModes:\n  - name: N\n    roleDefinition: R\n    groups: []\n",
       "m.yaml:2: mode #1: 'slug' is required"},
      {"customModes:\n  - slug: a\n    roleDefinition: R\n    groups: []\n",
       "m.yaml:2: mode 'a': 'name' is required"},
      {"customModes:\n  - slug: a\n    name: [x]\n    roleDefinition: R\n    groups: []\n",
       "m.yaml:3: mode 'a': 'name' must be a string"},
      {"customModes:\n  - slug: a\n    name: N\n    roleDefinition: R\n",
       "mode 'a': 'groups' is required"},
      {"customModes:\n  - slug: a\n    name: N\n    roleDefinition: R\n    groups:\n      - read\n"
       "      - shell\n",
       "m.yaml:7: mode 'a': unknown group 'shell'"},
      {"customModes:\n  - slug: a\n    name: N\n    roleDefinition: R\n    groups: [read, read]\n",
       "mode 'a': group 'read' is listed twice"},
      {"customModes:\n  - slug: a\n    name: N\n    roleDefinition: R\n    groups:\n"
       "      - [edit, {fileRegex: '(unclosed'}]\n",
       "m.yaml:6: mode 'a': invalid fileRegex '(unclosed'"},
      {"customModes:\n  - slug: a\n    name: N\n    roleDefinition: R\n    groups:\n"
       "      - [edit, {fileRegex: 'a{4444444444444444444}'}]\n",
       "m.yaml:6: mode 'a': invalid fileRegex 'a{4444444444444444444}': a repetition count or "
       "back-reference above 1000"},
      {"customModes:\n  - slug: a\n    name: N\n    roleDefinition: R\n    groups:\n"
       "      - [read, {fileRegex: x}]\n",
       "only the edit group takes options"},
      {"customModes:\n  - slug: a\n    name: N\n    roleDefinition: R\n    groups: [always]\n",
       "unknown group 'always'"},
  };
  for (const BadModesCase& bad : cases) {
    Result<std::vector<Mode>> modes = parse_modes_text(bad.text, "m.yaml");
    ASSERT_FALSE(modes.ok()) << bad.text;
    EXPECT_EQ(modes.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_THAT(modes.error().message, HasSubstr(bad.expected)) << bad.text;
  }
  Result<std::vector<Mode>> twice =
      parse_modes_text(head + "    groups: []\n" + head.substr(13) + "    groups: []\n", "m.yaml");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.error().message, HasSubstr("m.yaml:6: mode 'good': slug 'good' is defined "
                                               "twice in this file"));
}

TEST(ParseModesTest, OversizedTextIsRefused) {
  Result<std::vector<Mode>> modes = parse_modes_text(std::string(2 << 20, '#'), "big.yaml");
  ASSERT_FALSE(modes.ok());
  EXPECT_THAT(modes.error().message, HasSubstr("big.yaml: larger than"));
}

TEST_F(ModesFilesTest, WithoutFilesTheBuiltInsAreAll) {
  Result<std::vector<Mode>> modes = load_modes(home_, workspace_);
  ASSERT_TRUE(modes.ok()) << modes.error().message;
  EXPECT_THAT(slugs(*modes), ElementsAre("code", "architect", "ask", "debug", "orchestrator"));
}

TEST_F(ModesFilesTest, WorkspaceOverridesGlobalWhichOverridesBuiltIn) {
  write(home_ / "modes.yaml",
        "customModes:\n" + mode_entry("code", "Global Code") + mode_entry("review", "Global"));
  write(workspace_ / ".roomodes",
        "customModes:\n" + mode_entry("review", "Roo Review") + mode_entry("ask", "Roo Ask"));
  write(workspace_ / ".joey" / "modes.yaml", "customModes:\n" + mode_entry("ask", "Joey Ask"));
  Result<std::vector<Mode>> modes = load_modes(home_, workspace_);
  ASSERT_TRUE(modes.ok()) << modes.error().message;
  EXPECT_THAT(slugs(*modes),
              ElementsAre("code", "architect", "ask", "debug", "orchestrator", "review"));
  EXPECT_EQ(find_mode(*modes, "code")->name, "Global Code");
  EXPECT_EQ(find_mode(*modes, "code")->source, (home_ / "modes.yaml").string());
  EXPECT_EQ(find_mode(*modes, "review")->name, "Roo Review");
  EXPECT_EQ(find_mode(*modes, "ask")->name, "Joey Ask");
  EXPECT_EQ(find_mode(*modes, "ask")->source, (workspace_ / ".joey" / "modes.yaml").string());
  EXPECT_EQ(find_mode(*modes, "debug")->source, "built-in");
  // An override replaces the whole mode: the custom "ask" has only the read group.
  EXPECT_EQ(find_mode(*modes, "ask")->groups, (std::set<G>{G::kRead}));
}

TEST_F(ModesFilesTest, BrokenFileIsAnErrorNamingItsPath) {
  write(workspace_ / ".roomodes",
        "customModes:\n  - slug: x\n    name: X\n    roleDefinition: R\n"
        "    groups: [write]\n");
  Result<std::vector<Mode>> modes = load_modes(home_, workspace_);
  ASSERT_FALSE(modes.ok());
  const std::string expected =
      (workspace_ / ".roomodes").string() + ":5: mode 'x': unknown group 'write'";
  EXPECT_THAT(modes.error().message, HasSubstr(expected));
}

TEST_F(ModesFilesTest, DirectoryInPlaceOfTheFileIsAnError) {
  fs::create_directories(workspace_ / ".roomodes");
  Result<std::vector<Mode>> modes = load_modes(home_, workspace_);
  ASSERT_FALSE(modes.ok());
  EXPECT_THAT(modes.error().message, HasSubstr(".roomodes: not a regular file"));
}

}  // namespace
}  // namespace joey::agent
