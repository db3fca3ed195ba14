#include "base/paths.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

namespace joey {
namespace {

namespace fs = std::filesystem;

class PathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-paths-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    saved_joey_home_ = get("JOEY_HOME");
    saved_home_ = get("HOME");
  }
  void TearDown() override {
    restore("JOEY_HOME", saved_joey_home_);
    restore("HOME", saved_home_);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static std::optional<std::string> get(const char* name) {
    const char* value = getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  }
  static void restore(const char* name, const std::optional<std::string>& value) {
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  static unsigned mode_of(const fs::path& path) {
    struct stat info {};
    stat(path.c_str(), &info);
    return info.st_mode & 07777;
  }

  fs::path dir_;
  std::optional<std::string> saved_joey_home_;
  std::optional<std::string> saved_home_;
};

TEST_F(PathsTest, JoeyHomeComesFromTheEnvironmentAndIsCreatedPrivate) {
  const fs::path home = dir_ / "state" / "joey";
  setenv("JOEY_HOME", home.c_str(), 1);
  auto result = joey_home();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, home);
  EXPECT_TRUE(fs::is_directory(home));
  EXPECT_EQ(mode_of(home), 0700u);
  EXPECT_EQ(mode_of(dir_ / "state"), 0700u);
}

TEST_F(PathsTest, JoeyHomeDefaultsToDotJoeyInHome) {
  unsetenv("JOEY_HOME");
  setenv("HOME", dir_.c_str(), 1);
  auto result = joey_home();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, dir_ / ".joey");
  EXPECT_EQ(mode_of(dir_ / ".joey"), 0700u);
}

TEST_F(PathsTest, EmptyJoeyHomeMeansUnset) {
  setenv("JOEY_HOME", "", 1);
  setenv("HOME", dir_.c_str(), 1);
  auto result = joey_home();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, dir_ / ".joey");
}

TEST_F(PathsTest, RelativeJoeyHomeIsMadeAbsolute) {
  const fs::path previous = fs::current_path();
  fs::current_path(dir_);
  setenv("JOEY_HOME", "relative-home", 1);
  auto result = joey_home();
  fs::current_path(previous);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->is_absolute());
  EXPECT_TRUE(fs::is_directory(dir_ / "relative-home"));
}

TEST_F(PathsTest, ExistingJoeyHomeKeepsItsMode) {
  const fs::path home = dir_ / "existing";
  ASSERT_EQ(mkdir(home.c_str(), 0755), 0);
  ASSERT_EQ(chmod(home.c_str(), 0755), 0);
  setenv("JOEY_HOME", home.c_str(), 1);
  ASSERT_TRUE(joey_home().ok());
  EXPECT_EQ(mode_of(home), 0755u);
}

TEST_F(PathsTest, JoeyHomeThatIsAFileIsAnError) {
  const fs::path file = dir_ / "file";
  std::ofstream(file) << "x";
  setenv("JOEY_HOME", file.c_str(), 1);
  auto result = joey_home();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_NE(result.error().message.find(file.string()), std::string::npos);
}

TEST_F(PathsTest, EnsurePrivateDirCreatesEveryMissingLevelAs0700) {
  const mode_t previous_umask = umask(0);
  auto result = ensure_private_dir(dir_ / "a" / "b" / "c");
  umask(previous_umask);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(mode_of(dir_ / "a"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "a" / "b"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "a" / "b" / "c"), 0700u);
}

TEST_F(PathsTest, EnsurePrivateDirIsIdempotent) {
  ASSERT_TRUE(ensure_private_dir(dir_ / "x").ok());
  auto again = ensure_private_dir(dir_ / "x");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, dir_ / "x");
}

TEST_F(PathsTest, EnsurePrivateDirUnderAFileIsAnError) {
  std::ofstream(dir_ / "file") << "x";
  auto result = ensure_private_dir(dir_ / "file" / "sub");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kAlreadyExists);
}

TEST_F(PathsTest, EnsurePrivateDirRejectsEmptyPath) {
  auto result = ensure_private_dir("");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace joey
