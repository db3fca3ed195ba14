#include "client/modes_command.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "support/temp_dir.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-modes-command-test"); }

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class ModesCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = make_temp_dir();
    workspace_ = make_temp_dir();
    const char* previous = std::getenv("JOEY_HOME");
    if (previous) previous_home_ = previous;
    had_home_ = previous != nullptr;
    setenv("JOEY_HOME", home_.c_str(), 1);
  }
  void TearDown() override {
    if (had_home_) {
      setenv("JOEY_HOME", previous_home_.c_str(), 1);
    } else {
      unsetenv("JOEY_HOME");
    }
    fs::remove_all(home_);
    fs::remove_all(workspace_);
  }

  // Runs `joey ARGS...` with only the modes command registered.
  CommandRun run(std::vector<std::string> args) {
    CLI::App app{"joey"};
    CommandRun result;
    register_modes_command(app, result.exit_code);
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    try {
      app.parse(args);
    } catch (const CLI::ParseError&) {
      result.exit_code = 2;
    }
    result.out = ::testing::internal::GetCapturedStdout();
    result.err = ::testing::internal::GetCapturedStderr();
    return result;
  }

  fs::path home_;
  fs::path workspace_;
  std::string previous_home_;
  bool had_home_ = false;
};

TEST_F(ModesCommandTest, ListShowsBuiltInsWithGroupsAndSource) {
  CommandRun result = run({"modes", "list", "--cwd", workspace_.string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("SLUG"));
  EXPECT_THAT(result.out, HasSubstr("architect"));
  EXPECT_THAT(result.out, HasSubstr("read, edit (\\.md$), mcp"));
  EXPECT_THAT(result.out, HasSubstr("built-in"));
  EXPECT_EQ(result.err, "");
}

TEST_F(ModesCommandTest, ListJsonIncludesWorkspaceModesAndTheirSource) {
  ASSERT_TRUE(write_file_atomically(workspace_ / ".joey/modes.yaml",
                                    "customModes:\n  - slug: review\n    name: Review\n"
                                    "    roleDefinition: You review.\n    groups: [read]\n")
                  .ok());
  CommandRun result = run({"modes", "list", "--json", "--cwd", workspace_.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json list = nlohmann::json::parse(result.out);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 6u);
  EXPECT_EQ(list[0]["slug"], "code");
  EXPECT_EQ(list[0]["groups"], nlohmann::json({"read", "edit", "command", "mcp"}));
  EXPECT_EQ(list[1]["file_regex"], "\\.md$");
  EXPECT_EQ(list[5]["slug"], "review");
  EXPECT_EQ(list[5]["source"], (workspace_ / ".joey/modes.yaml").string());
}

TEST_F(ModesCommandTest, GlobalModesComeFromJoeyHome) {
  ASSERT_TRUE(write_file_atomically(home_ / "modes.yaml",
                                    "customModes:\n  - slug: mine\n    name: Mine\n"
                                    "    roleDefinition: Mine.\n    groups: []\n")
                  .ok());
  CommandRun result = run({"modes", "list", "--cwd", workspace_.string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr((home_ / "modes.yaml").string()));
}

TEST_F(ModesCommandTest, ShowPrintsEverythingIncludingTheFileRegex) {
  CommandRun result = run({"modes", "show", "architect", "--cwd", workspace_.string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("slug:    architect"));
  EXPECT_THAT(result.out, HasSubstr("edits:   only files matching \\.md$ (Markdown files only)"));
  EXPECT_THAT(result.out, HasSubstr("role definition:\n  You are joey"));
  EXPECT_THAT(result.out, HasSubstr("when to use:\n"));
  EXPECT_THAT(result.out, HasSubstr("custom instructions:\n"));
}

TEST_F(ModesCommandTest, ShowJsonHasAllFields) {
  CommandRun result = run({"modes", "show", "ask", "--json", "--cwd", workspace_.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json mode = nlohmann::json::parse(result.out);
  EXPECT_EQ(mode["slug"], "ask");
  EXPECT_EQ(mode["groups"], nlohmann::json({"read", "mcp"}));
  EXPECT_FALSE(mode["role_definition"].get<std::string>().empty());
  EXPECT_FALSE(mode["custom_instructions"].get<std::string>().empty());
  EXPECT_FALSE(mode.contains("file_regex"));
}

TEST_F(ModesCommandTest, UnknownSlugIsBadUsageListingTheModes) {
  CommandRun result = run({"modes", "show", "nope", "--cwd", workspace_.string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("joey: error: unknown mode 'nope' (available: code,"));
  EXPECT_EQ(result.out, "");
}

TEST_F(ModesCommandTest, BrokenModesFileFailsNamingTheFileAndLine) {
  ASSERT_TRUE(write_file_atomically(workspace_ / ".roomodes", "customModes: [ {slug: a\n").ok());
  CommandRun result = run({"modes", "list", "--cwd", workspace_.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("joey: error: " + (workspace_ / ".roomodes").string() + ":"));
  EXPECT_THAT(result.out, Not(HasSubstr("SLUG")));
}

TEST_F(ModesCommandTest, MissingWorkspaceIsBadUsage) {
  CommandRun result = run({"modes", "list", "--cwd", (workspace_ / "missing").string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("is not a directory"));
}

TEST_F(ModesCommandTest, ModesWithoutASubcommandIsAParseError) {
  CommandRun result = run({"modes"});
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace joey::client
