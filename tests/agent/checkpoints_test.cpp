#include "agent/checkpoints.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "base/ids.h"
#include "base/subprocess.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class CheckpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("joey-checkpoints-" + random_hex(6));
    home_ = root_ / "home";
    workspace_ = root_ / "workspace";
    fs::create_directories(home_);
    fs::create_directories(workspace_);
  }
  void TearDown() override { fs::remove_all(root_); }

  Checkpoints open_checkpoints(CheckpointOptions options = {}) {
    options.joey_home = home_;
    Result<Checkpoints> checkpoints = Checkpoints::open(workspace_, options);
    EXPECT_TRUE(checkpoints.ok()) << checkpoints.error().message;
    return std::move(checkpoints).value();
  }

  void write(const std::string& relative, const std::string& content) {
    ASSERT_TRUE(write_file_atomically(workspace_ / relative, content).ok());
  }
  std::string read(const std::string& relative) {
    Result<std::string> text = read_file_to_string(workspace_ / relative);
    return text.ok() ? *text : "<missing>";
  }
  bool exists(const std::string& relative) { return fs::exists(workspace_ / relative); }

  // Runs git as a user would, isolated from this machine's global configuration.
  std::string user_git(const std::vector<std::string>& args, const fs::path& cwd) {
    ProcessOptions process;
    process.argv = {"git"};
    process.argv.insert(process.argv.end(), args.begin(), args.end());
    process.cwd = cwd.string();
    process.env = {{"GIT_CONFIG_NOSYSTEM", "1"},   {"GIT_CONFIG_GLOBAL", "/dev/null"},
                   {"GIT_AUTHOR_NAME", "user"},    {"GIT_AUTHOR_EMAIL", "user@example.com"},
                   {"GIT_COMMITTER_NAME", "user"}, {"GIT_COMMITTER_EMAIL", "user@example.com"}};
    Result<ProcessResult> result = run_process(process);
    EXPECT_TRUE(result.ok() && result->exit_code == 0)
        << "git " << args.front() << ": " << (result.ok() ? result->stderr_text : "");
    return result.ok() ? result->stdout_text : "";
  }

  // The paths in checkpoint N of a task, read straight from the shadow repository.
  std::vector<std::string> captured(const Checkpoints& checkpoints, const std::string& task,
                                    int number) {
    std::string out = user_git({"--git-dir=" + checkpoints.shadow_dir().string(), "ls-tree", "-r",
                                "--name-only", "refs/joey/" + task + "/" + std::to_string(number)},
                               root_);
    std::vector<std::string> paths;
    std::string line;
    for (char c : out) {
      if (c == '\n') {
        paths.push_back(line);
        line.clear();
      } else {
        line += c;
      }
    }
    return paths;
  }

  fs::path root_;
  fs::path home_;
  fs::path workspace_;
};

// Every entry under `dir` with its size and modification time, to prove nothing changed.
std::map<std::string, std::string> tree_listing(const fs::path& dir) {
  std::map<std::string, std::string> listing;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    struct stat info {};
    lstat(entry.path().c_str(), &info);
    listing[fs::relative(entry.path(), dir).string()] =
        std::to_string(info.st_size) + "@" + std::to_string(info.st_mtim.tv_sec) + "." +
        std::to_string(info.st_mtim.tv_nsec) + "#" + std::to_string(info.st_mode);
  }
  return listing;
}

TEST_F(CheckpointsTest, RestoreBringsFilesBackAndRemovesFilesCreatedLater) {
  write("keep.txt", "original\n");
  write("src/main.c", "int main() { return 0; }\n");
  write("doomed.txt", "delete me\n");
  Checkpoints checkpoints = open_checkpoints();
  Result<Snapshot> first = checkpoints.snapshot("task-a", "write_to_file keep.txt");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->number, 1);

  write("keep.txt", "changed\n");
  fs::remove(workspace_ / "doomed.txt");
  write("new/dir/created.txt", "new\n");
  write("src/extra.c", "extra\n");
  Result<Snapshot> second = checkpoints.snapshot("task-a", "execute_command make");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->number, 2);
  EXPECT_EQ(second->files_changed, 4);

  Result<RestoreSummary> restored = checkpoints.restore("task-a", 1);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(read("keep.txt"), "original\n");
  EXPECT_EQ(read("doomed.txt"), "delete me\n");
  EXPECT_EQ(read("src/main.c"), "int main() { return 0; }\n");
  EXPECT_FALSE(exists("new/dir/created.txt"));
  EXPECT_FALSE(exists("new")) << "directories left empty are removed";
  EXPECT_FALSE(exists("src/extra.c"));
  EXPECT_EQ(restored->removed_files, 2);
  EXPECT_EQ(restored->restored_files, 2);
  EXPECT_EQ(restored->safety_checkpoint, 3);
}

TEST_F(CheckpointsTest, RestoreCanBeUndoneWithTheCheckpointItTakesFirst) {
  write("a.txt", "one\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "first").ok());
  write("a.txt", "two\n");
  Result<RestoreSummary> restored = checkpoints.restore("t", 1);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(read("a.txt"), "one\n");
  ASSERT_TRUE(checkpoints.restore("t", restored->safety_checkpoint).ok());
  EXPECT_EQ(read("a.txt"), "two\n");
}

TEST_F(CheckpointsTest, UsersGitRepositoryIsUntouchedBySnapshotsAndRestores) {
  write("tracked.txt", "committed\n");
  write(".gitignore", "build/\n");
  user_git({"init", "-q"}, workspace_);
  user_git({"add", "-A"}, workspace_);
  user_git({"commit", "-q", "-m", "initial"}, workspace_);
  write("tracked.txt", "edited but not committed\n");
  write("untracked.txt", "untracked\n");
  const std::string head = user_git({"rev-parse", "HEAD"}, workspace_);
  const std::string status = user_git({"--no-optional-locks", "status", "--porcelain"}, workspace_);
  const std::map<std::string, std::string> git_dir = tree_listing(workspace_ / ".git");

  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  write("tracked.txt", "model's edit\n");
  write("model.txt", "model\n");
  ASSERT_TRUE(checkpoints.snapshot("t", "two").ok());
  ASSERT_TRUE(checkpoints.diff("t", 1).ok());
  ASSERT_TRUE(checkpoints.restore("t", 1).ok());

  EXPECT_EQ(read("tracked.txt"), "edited but not committed\n");
  EXPECT_FALSE(exists("model.txt"));
  EXPECT_EQ(tree_listing(workspace_ / ".git"), git_dir);
  EXPECT_EQ(user_git({"rev-parse", "HEAD"}, workspace_), head);
  EXPECT_EQ(user_git({"--no-optional-locks", "status", "--porcelain"}, workspace_), status);
  for (const std::string& path : captured(checkpoints, "t", 1)) {
    EXPECT_THAT(path, Not(HasSubstr(".git/")));
  }
}

TEST_F(CheckpointsTest, IgnoredFilesAreNeitherCapturedNorTouchedByRestore) {
  write(".gitignore", "*.log\n");
  write(".joeyignore", "secrets/\n");
  write(".rooignore", "private.txt\n");
  write("app.log", "log 1\n");
  write("secrets/key.pem", "secret 1\n");
  write("private.txt", "private 1\n");
  write("code.txt", "code 1\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  EXPECT_THAT(
      captured(checkpoints, "t", 1),
      ::testing::UnorderedElementsAre(".gitignore", ".joeyignore", ".rooignore", "code.txt"));

  write("app.log", "log 2\n");
  write("secrets/key.pem", "secret 2\n");
  write("secrets/new.pem", "secret new\n");
  write("private.txt", "private 2\n");
  write("code.txt", "code 2\n");
  Result<std::string> diff = checkpoints.diff("t", 1);
  ASSERT_TRUE(diff.ok()) << diff.error().message;
  EXPECT_THAT(*diff, HasSubstr("code 2"));
  EXPECT_THAT(*diff, Not(HasSubstr("secret")));
  EXPECT_THAT(*diff, Not(HasSubstr("private")));

  ASSERT_TRUE(checkpoints.restore("t", 1).ok());
  EXPECT_EQ(read("code.txt"), "code 1\n");
  EXPECT_EQ(read("app.log"), "log 2\n");
  EXPECT_EQ(read("secrets/key.pem"), "secret 2\n");
  EXPECT_EQ(read("secrets/new.pem"), "secret new\n");
  EXPECT_EQ(read("private.txt"), "private 2\n");
}

TEST_F(CheckpointsTest, FileIgnoredAfterACheckpointLeavesLaterOnesAndIsNotRestored) {
  write("notes.txt", "notes 1\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  write(".joeyignore", "notes.txt\n");
  write("notes.txt", "notes 2\n");
  ASSERT_TRUE(checkpoints.snapshot("t", "two").ok());
  EXPECT_THAT(captured(checkpoints, "t", 2), ::testing::ElementsAre(".joeyignore"));
  ASSERT_TRUE(checkpoints.restore("t", 1).ok());
  EXPECT_EQ(read("notes.txt"), "notes 2\n");
  EXPECT_FALSE(exists(".joeyignore")) << ".joeyignore itself was created after checkpoint 1";
}

TEST_F(CheckpointsTest, LargeFilesAndLargeBinariesAreSkippedAndReported) {
  CheckpointOptions options;
  options.max_file_bytes = 4096;
  options.max_binary_bytes = 1024;
  write("big text.txt", std::string(5000, 'x'));
  write("big.bin", std::string(2000, '\0'));
  write("medium.txt", std::string(2000, 'y'));
  write("small.bin", std::string(500, '\0'));
  Checkpoints checkpoints = open_checkpoints(options);
  Result<Snapshot> snapshot = checkpoints.snapshot("t", "one");
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  ASSERT_EQ(snapshot->skipped.size(), 2u);
  std::vector<std::string> skipped = {snapshot->skipped[0].path, snapshot->skipped[1].path};
  EXPECT_THAT(skipped, ::testing::UnorderedElementsAre("big text.txt", "big.bin"));
  EXPECT_THAT(captured(checkpoints, "t", 1),
              ::testing::UnorderedElementsAre("medium.txt", "small.bin"));

  // A captured file that grows too large leaves the next checkpoint, and restoring the
  // earlier one leaves it alone rather than shrinking it back.
  write("medium.txt", std::string(5000, 'z'));
  ASSERT_TRUE(checkpoints.snapshot("t", "two").ok());
  EXPECT_THAT(captured(checkpoints, "t", 2), ::testing::ElementsAre("small.bin"));
  ASSERT_TRUE(checkpoints.restore("t", 1).ok());
  EXPECT_EQ(read("medium.txt"), std::string(5000, 'z'));
  EXPECT_TRUE(exists("big text.txt"));
  EXPECT_TRUE(exists("big.bin"));
}

TEST_F(CheckpointsTest, NestedRepositoryIsExcludedWhole) {
  write("top.txt", "top\n");
  write("vendor/lib/file.c", "lib\n");
  user_git({"init", "-q"}, workspace_ / "vendor" / "lib");
  const std::map<std::string, std::string> nested = tree_listing(workspace_ / "vendor/lib/.git");
  Checkpoints checkpoints = open_checkpoints();
  Result<Snapshot> snapshot = checkpoints.snapshot("t", "one");
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  ASSERT_EQ(snapshot->skipped.size(), 1u);
  EXPECT_EQ(snapshot->skipped[0].path, "vendor/lib");
  EXPECT_EQ(snapshot->skipped[0].reason, "nested git repository");
  EXPECT_THAT(captured(checkpoints, "t", 1), ::testing::ElementsAre("top.txt"));
  write("vendor/lib/file.c", "changed\n");
  ASSERT_TRUE(checkpoints.restore("t", 1).ok());
  EXPECT_EQ(read("vendor/lib/file.c"), "changed\n");
  EXPECT_EQ(tree_listing(workspace_ / "vendor/lib/.git"), nested);
}

TEST_F(CheckpointsTest, TwoTasksKeepSeparateCheckpoints) {
  write("a.txt", "1\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("task-one", "first of one").ok());
  write("a.txt", "2\n");
  ASSERT_TRUE(checkpoints.snapshot("task-two", "first of two").ok());
  ASSERT_TRUE(checkpoints.snapshot("task-two", "second of two").ok());

  Result<std::vector<CheckpointInfo>> one = checkpoints.list("task-one");
  Result<std::vector<CheckpointInfo>> two = checkpoints.list("task-two");
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].label, "first of one");
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].number, 1);
  EXPECT_EQ((*two)[1].number, 2);
  EXPECT_EQ((*two)[1].label, "second of two");
  EXPECT_FALSE((*two)[1].time.empty());

  write("a.txt", "3\n");
  ASSERT_TRUE(checkpoints.restore("task-one", 1).ok());
  EXPECT_EQ(read("a.txt"), "1\n");
  ASSERT_TRUE(checkpoints.restore("task-two", 1).ok());
  EXPECT_EQ(read("a.txt"), "2\n");
}

TEST_F(CheckpointsTest, UnchangedWorkspaceStillRecordsACheckpointOnTheSameTree) {
  write("a.txt", "same\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  Result<Snapshot> second = checkpoints.snapshot("t", "two\nwith a newline");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->number, 2);
  EXPECT_EQ(second->files_changed, 0);
  Result<std::vector<CheckpointInfo>> list = checkpoints.list("t");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].label, "two with a newline");
  Result<std::string> diff = checkpoints.diff("t", 1, 2);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(*diff, "");
}

TEST_F(CheckpointsTest, DiffBetweenCheckpointsAndAgainstTheWorkingTree) {
  write("a.txt", "alpha\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  write("a.txt", "beta\n");
  ASSERT_TRUE(checkpoints.snapshot("t", "two").ok());
  write("b.txt", "gamma\n");

  Result<std::string> between = checkpoints.diff("t", 1, 2);
  ASSERT_TRUE(between.ok()) << between.error().message;
  EXPECT_THAT(*between, HasSubstr("-alpha"));
  EXPECT_THAT(*between, HasSubstr("+beta"));
  EXPECT_THAT(*between, Not(HasSubstr("gamma")));
  Result<std::string> to_now = checkpoints.diff("t", 2);
  ASSERT_TRUE(to_now.ok()) << to_now.error().message;
  EXPECT_THAT(*to_now, HasSubstr("+gamma"));
  EXPECT_THAT(*to_now, Not(HasSubstr("alpha")));
}

TEST_F(CheckpointsTest, UnknownTaskCheckpointAndBadTaskIdAreClearErrors) {
  Checkpoints checkpoints = open_checkpoints();
  Result<std::vector<CheckpointInfo>> none = checkpoints.list("nobody");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(none.error().message, HasSubstr("task nobody has no checkpoints"));
  EXPECT_FALSE(fs::exists(checkpoints.shadow_dir())) << "reading creates nothing";

  write("a.txt", "a\n");
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  Result<RestoreSummary> missing = checkpoints.restore("t", 7);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("has no checkpoint 7 (it has 1 to 1)"));
  EXPECT_EQ(checkpoints.diff("other", 1).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(checkpoints.diff("t", 1, 9).error().kind, ErrorKind::kNotFound);

  for (const char* bad : {"", "../x", "a/b", ".hidden", "x.lock", "a..b", "sp ace"}) {
    EXPECT_EQ(checkpoints.snapshot(bad, "x").error().kind, ErrorKind::kInvalidArgument) << bad;
    EXPECT_EQ(checkpoints.list(bad).error().kind, ErrorKind::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(is_valid_checkpoint_task_id(new_task_id()));
}

TEST_F(CheckpointsTest, WorkspacePathWithSpacesAndOddFileNames) {
  workspace_ = root_ / "my project [draft]";
  fs::create_directories(workspace_);
  write("a file *1*.txt", "one\n");
  write("dir with space/#hash !bang.txt", "two\n");
  write("new\nline \xc3\xa9.txt", "three\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  write("a file *1*.txt", "changed\n");
  fs::remove(workspace_ / "dir with space/#hash !bang.txt");
  write("later file.txt", "later\n");
  write("new\nline \xc3\xa9.txt", "changed\n");
  write("later\nline.txt", "later\n");
  ASSERT_TRUE(checkpoints.restore("t", 1).ok());
  EXPECT_EQ(read("new\nline \xc3\xa9.txt"), "three\n");
  EXPECT_FALSE(exists("later\nline.txt"));
  EXPECT_EQ(read("a file *1*.txt"), "one\n");
  EXPECT_EQ(read("dir with space/#hash !bang.txt"), "two\n");
  EXPECT_FALSE(exists("later file.txt"));
}

TEST_F(CheckpointsTest, ShadowRepositoryIsPrivateAndPerWorkspace) {
  write("a.txt", "a\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  EXPECT_EQ(checkpoints.shadow_dir().parent_path(), home_ / "checkpoints");
  EXPECT_EQ(checkpoints.shadow_dir().filename().string().size(), 16u);
  struct stat info {};
  ASSERT_EQ(stat(checkpoints.shadow_dir().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);

  fs::path other = root_ / "other";
  fs::create_directories(other);
  CheckpointOptions options;
  options.joey_home = home_;
  Result<Checkpoints> elsewhere = Checkpoints::open(other, options);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_NE(elsewhere->shadow_dir(), checkpoints.shadow_dir());
  EXPECT_EQ(elsewhere->list("t").error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(Checkpoints::open(root_ / "missing", options).error().kind, ErrorKind::kNotFound);
}

TEST_F(CheckpointsTest, AttributesInTheWorkspaceDoNotAlterRestoredBytes) {
  write(".gitattributes", "* text eol=crlf\n*.dat filter=lfs\n");
  write("unix.txt", "line one\nline two\n");
  write("dos.txt", "line one\r\nline two\r\n");
  write("blob.dat", "raw bytes\n");
  Checkpoints checkpoints = open_checkpoints();
  ASSERT_TRUE(checkpoints.snapshot("t", "one").ok());
  write("unix.txt", "x\n");
  write("dos.txt", "x\n");
  write("blob.dat", "x\n");
  ASSERT_TRUE(checkpoints.restore("t", 1).ok());
  EXPECT_EQ(read("unix.txt"), "line one\nline two\n");
  EXPECT_EQ(read("dos.txt"), "line one\r\nline two\r\n");
  EXPECT_EQ(read("blob.dat"), "raw bytes\n");
}

TEST_F(CheckpointsTest, MissingGitIsAClearError) {
  CheckpointOptions options;
  options.git_program = "joey-no-such-git";
  Checkpoints checkpoints = open_checkpoints(options);
  Result<Snapshot> snapshot = checkpoints.snapshot("t", "one");
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(snapshot.error().message, HasSubstr("checkpoints need git"));
}

}  // namespace
}  // namespace joey::agent
