#include "client/config_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "client/settings.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs `joey config ...` in-process with JOEY_HOME pointing at a temporary
// directory and none of the settings variables set.
class ConfigCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-config-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    home_ = root_ / "home";
    workspace_ = root_ / "workspace";
    fs::create_directories(workspace_);
    remember("JOEY_HOME", home_.string());
    for (const char* name : {"JOEY_PROVIDER", "JOEY_MODEL", "JOEY_BASE_URL", "JOEY_MODE",
                             "JOEY_TELEMETRY", "DO_NOT_TRACK", "JOEY_SANDBOX"}) {
      remember(name, std::nullopt);
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  void remember(const std::string& name, const std::optional<std::string>& value) {
    const char* old = getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value) {
      setenv(name.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }

  struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
  };

  // `args` as typed after "joey config", with --cwd added.
  Run run(std::vector<std::string> args) {
    CLI::App app("joey");
    app.require_subcommand(1);
    Run result;
    std::ostringstream out, err;
    register_config_command(app, result.exit_code, out, err);
    args.insert(args.begin(), "config");
    args.push_back("--cwd");
    args.push_back(workspace_.string());
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
    try {
      app.parse(args);
    } catch (const CLI::ParseError& error) {
      result.exit_code = 2;
      result.err = error.what();
      return result;
    }
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  fs::path root_, home_, workspace_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(ConfigCommandTest, SetThenGetPrintsTheValue) {
  EXPECT_EQ(run({"set", "model", "gpt-test"}).exit_code, 0);
  const Run got = run({"get", "model"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "gpt-test\n");
  const auto text = read_file_to_string(home_ / "config.toml");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "model = 'gpt-test'\n");
}

TEST_F(ConfigCommandTest, SetTelemetryOffWorks) {
  ASSERT_EQ(run({"set", "telemetry", "off"}).exit_code, 0);
  EXPECT_EQ(run({"get", "telemetry"}).out, "false\n");
}

TEST_F(ConfigCommandTest, WorkspaceValueWinsAndListShowsOrigins) {
  ASSERT_EQ(run({"set", "model", "global-model"}).exit_code, 0);
  ASSERT_EQ(run({"set", "model", "ws-model", "--workspace"}).exit_code, 0);
  const Run listed = run({"list", "--show-origin"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr((workspace_ / ".joey" / "config.toml").string() +
                                    ":1\tmodel = 'ws-model'\n"));
  EXPECT_THAT(listed.out, HasSubstr("default\tmode = 'code'\n"));
  EXPECT_EQ(run({"list"}).out.find('\t'), std::string::npos);
}

TEST_F(ConfigCommandTest, SetNotesWhenAnotherLayerOverridesTheValue) {
  ASSERT_EQ(run({"set", "model", "ws-model", "--workspace"}).exit_code, 0);
  const Run set = run({"set", "model", "global-model"});
  EXPECT_EQ(set.exit_code, 0);
  EXPECT_THAT(set.err, HasSubstr("'model' is overridden by "));
}

TEST_F(ConfigCommandTest, EnvironmentShowsInGetAndList) {
  remember("JOEY_MODEL", "env-model");
  EXPECT_EQ(run({"get", "model"}).out, "env-model\n");
  EXPECT_THAT(run({"list", "--show-origin"}).out, HasSubstr("env JOEY_MODEL\tmodel = 'env-model'"));
}

TEST_F(ConfigCommandTest, UnsetRemovesTheKey) {
  ASSERT_EQ(run({"set", "model", "m"}).exit_code, 0);
  ASSERT_EQ(run({"unset", "model"}).exit_code, 0);
  const Run got = run({"get", "model"});
  EXPECT_EQ(got.exit_code, 1);
  EXPECT_THAT(got.err, HasSubstr("joey: error: 'model' is not set"));
  const Run again = run({"unset", "model"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("is not set in"));
}

TEST_F(ConfigCommandTest, BadUsageExitsTwo) {
  const Run unknown = run({"get", "modle"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("joey: error: unknown setting 'modle'"));
  const Run bad_value = run({"set", "telemetry", "maybe"});
  EXPECT_EQ(bad_value.exit_code, 2);
  EXPECT_THAT(bad_value.err, HasSubstr("'telemetry' expects true or false"));
  const Run forbidden = run({"set", "cloud.url", "https://x.example", "--workspace"});
  EXPECT_EQ(forbidden.exit_code, 2);
  EXPECT_THAT(forbidden.err, HasSubstr("cannot be set in a workspace file"));
  EXPECT_FALSE(fs::exists(workspace_ / ".joey" / "config.toml"));
  EXPECT_EQ(run({"unset", "nope"}).exit_code, 2);
}

TEST_F(ConfigCommandTest, GlobalCloudUrlIsAllowed) {
  ASSERT_EQ(run({"set", "cloud.url", "https://cloud.example"}).exit_code, 0);
  EXPECT_EQ(run({"get", "cloud.url"}).out, "https://cloud.example\n");
}

TEST_F(ConfigCommandTest, BrokenFileFailsWithItsPosition) {
  ASSERT_TRUE(write_file_atomically(workspace_ / ".joey" / "config.toml", "model = \n").ok());
  const Run listed = run({"list"});
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_THAT(listed.err, HasSubstr("config.toml:1:"));
  const Run set = run({"set", "model", "m", "--workspace"});
  EXPECT_EQ(set.exit_code, 1);
  EXPECT_THAT(set.err, HasSubstr("config.toml:1:"));
}

TEST_F(ConfigCommandTest, PathPrintsBothFiles) {
  const Run paths = run({"path"});
  ASSERT_EQ(paths.exit_code, 0) << paths.err;
  EXPECT_EQ(paths.out, "global: " + (home_ / "config.toml").string() + "\nworkspace: " +
                           (workspace_ / ".joey" / "config.toml").string() + "\n");
}

TEST_F(ConfigCommandTest, MissingCwdIsBadUsage) {
  CLI::App app("joey");
  int exit_code = -1;
  std::ostringstream out, err;
  register_config_command(app, exit_code, out, err);
  app.parse(std::vector<std::string>{"/no/such/dir", "--cwd", "path", "config"});
  EXPECT_EQ(exit_code, 2);
  EXPECT_THAT(err.str(), HasSubstr("--cwd /no/such/dir: not a directory"));
}

}  // namespace
}  // namespace joey::client
