#include "client/checkpoints_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/checkpoints.h"
#include "base/atomic_file.h"
#include "base/ids.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs `joey checkpoints ...` in-process against a temporary workspace and JOEY_HOME.
class CheckpointsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("joey-checkpoints-cli-" + random_hex(6));
    home_ = root_ / "home";
    workspace_ = root_ / "work space";
    fs::create_directories(home_);
    fs::create_directories(workspace_);
  }
  void TearDown() override { fs::remove_all(root_); }

  struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
  };

  Run run(std::vector<std::string> args) {
    CLI::App app{"joey"};
    Run result;
    std::ostringstream out;
    std::ostringstream err;
    register_checkpoints_command(app, result.exit_code, out, err, home_);
    args.insert(args.begin(), "checkpoints");
    std::reverse(args.begin(), args.end());
    try {
      app.parse(args);
    } catch (const CLI::ParseError& error) {
      result.exit_code = error.get_exit_code() == 0 ? 0 : 2;
      result.err = error.what();
      return result;
    }
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  void write(const std::string& relative, const std::string& content) {
    ASSERT_TRUE(write_file_atomically(workspace_ / relative, content).ok());
  }
  std::string read(const std::string& relative) {
    Result<std::string> text = read_file_to_string(workspace_ / relative);
    return text.ok() ? *text : "<missing>";
  }

  void snapshot(const std::string& task, const std::string& label) {
    agent::CheckpointOptions options;
    options.joey_home = home_;
    Result<agent::Checkpoints> checkpoints = agent::Checkpoints::open(workspace_, options);
    ASSERT_TRUE(checkpoints.ok()) << checkpoints.error().message;
    Result<agent::Snapshot> taken = checkpoints->snapshot(task, label);
    ASSERT_TRUE(taken.ok()) << taken.error().message;
  }

  fs::path root_;
  fs::path home_;
  fs::path workspace_;
};

TEST_F(CheckpointsCommandTest, ListShowsEachCheckpointWithItsLabel) {
  write("a.txt", "one\n");
  snapshot("task-1", "write_to_file a.txt");
  write("a.txt", "two\n");
  snapshot("task-1", "execute_command make");

  Run listed = run({"list", "task-1", "--cwd", workspace_.string()});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("1\t"));
  EXPECT_THAT(listed.out, HasSubstr("write_to_file a.txt"));
  EXPECT_THAT(listed.out, HasSubstr("1 file changed\texecute_command make"));

  Run json = run({"list", "task-1", "--json", "--cwd", workspace_.string()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[1]["n"], 2);
  EXPECT_EQ(parsed[1]["files_changed"], 1);
  EXPECT_EQ(parsed[1]["label"], "execute_command make");
}

TEST_F(CheckpointsCommandTest, DiffAndRestoreWorkOnTheWorkspaceGivenByCwd) {
  write("a.txt", "original\n");
  snapshot("task-1", "before edit");
  write("a.txt", "edited\n");
  write("b.txt", "created\n");

  Run diff = run({"diff", "task-1", "1", "--cwd", workspace_.string()});
  EXPECT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_THAT(diff.out, HasSubstr("-original"));
  EXPECT_THAT(diff.out, HasSubstr("+edited"));
  EXPECT_THAT(diff.out, HasSubstr("+created"));

  Run restore = run({"restore", "task-1", "1", "--cwd", workspace_.string()});
  EXPECT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(restore.out, HasSubstr("1 file(s) written back, 1 file(s) removed"));
  EXPECT_EQ(read("a.txt"), "original\n");
  EXPECT_FALSE(fs::exists(workspace_ / "b.txt"));

  Run between = run({"diff", "task-1", "1", "2", "--cwd", workspace_.string()});
  EXPECT_EQ(between.exit_code, 0) << between.err;
  EXPECT_THAT(between.out, HasSubstr("+edited"));
}

TEST_F(CheckpointsCommandTest, UnknownTaskOrCheckpointFailsWithAClearMessage) {
  Run unknown = run({"list", "no-such-task", "--cwd", workspace_.string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("joey: error: task no-such-task has no checkpoints"));

  write("a.txt", "a\n");
  snapshot("task-1", "one");
  Run missing = run({"restore", "task-1", "5", "--cwd", workspace_.string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("joey: error: task task-1 has no checkpoint 5"));
  EXPECT_EQ(read("a.txt"), "a\n");
}

TEST_F(CheckpointsCommandTest, BadUsageExitsWithTwo) {
  EXPECT_EQ(run({"list", "../etc", "--cwd", workspace_.string()}).exit_code, 2);
  EXPECT_EQ(run({"restore", "task-1", "0", "--cwd", workspace_.string()}).exit_code, 2);
  EXPECT_EQ(run({"diff", "task-1", "--cwd", workspace_.string()}).exit_code, 2);
  Run no_dir = run({"list", "task-1", "--cwd", (root_ / "missing").string()});
  EXPECT_EQ(no_dir.exit_code, 2);
  EXPECT_THAT(no_dir.err, HasSubstr("not a directory"));
}

}  // namespace
}  // namespace joey::client
