#include "base/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace joey {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "joey-atomic-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    previous_umask_ = umask(022);
  }
  void TearDown() override {
    umask(previous_umask_);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static unsigned mode_of(const fs::path& path) {
    struct stat info {};
    stat(path.c_str(), &info);
    return info.st_mode & 07777;
  }

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  mode_t previous_umask_ = 022;
};

// Makes every write past `bytes` fail with EFBIG, even for root, while it lives.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &previous_);
    previous_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limit = previous_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &previous_);
    signal(SIGXFSZ, previous_handler_);
  }

 private:
  rlimit previous_{};
  sighandler_t previous_handler_ = SIG_DFL;
};

TEST_F(AtomicFileTest, CreatesParentDirectories) {
  const fs::path path = dir_ / "a" / "b" / "file.txt";
  ASSERT_TRUE(write_file_atomically(path, "hello").ok());
  auto content = read_file_to_string(path);
  ASSERT_TRUE(content.ok()) << content.error().message;
  EXPECT_EQ(*content, "hello");
}

TEST_F(AtomicFileTest, MissingParentWithoutCreateIsNotFound) {
  const Status status =
      write_file_atomically(dir_ / "missing" / "file.txt", "x", /*create_directories=*/false);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kNotFound);
}

TEST_F(AtomicFileTest, ReplacesContentAndLeavesNoTemporaryFile) {
  const fs::path path = dir_ / "file.txt";
  ASSERT_TRUE(write_file_atomically(path, "a much longer first version\n").ok());
  ASSERT_TRUE(write_file_atomically(path, "v2").ok());
  EXPECT_EQ(read_file_to_string(path).value(), "v2");
  EXPECT_EQ(entries(), std::vector<std::string>{"file.txt"});
}

TEST_F(AtomicFileTest, RoundTripsBinaryAndEmptyContent) {
  const fs::path path = dir_ / "blob";
  const std::string binary("\0\x01\xff\n\0end", 8);
  ASSERT_TRUE(write_file_atomically(path, binary).ok());
  EXPECT_EQ(read_file_to_string(path).value(), binary);
  ASSERT_TRUE(write_file_atomically(path, "").ok());
  EXPECT_EQ(read_file_to_string(path).value(), "");
}

TEST_F(AtomicFileTest, KeepsTheModeOfAnExistingFile) {
  const fs::path path = dir_ / "script.sh";
  ASSERT_TRUE(write_file_atomically(path, "#!/bin/sh\n").ok());
  ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  ASSERT_TRUE(write_file_atomically(path, "#!/bin/sh\necho hi\n", true, 0600).ok());
  EXPECT_EQ(mode_of(path), 0755u);
}

TEST_F(AtomicFileTest, NewFileGetsTheRequestedMode) {
  const fs::path secret = dir_ / "secret";
  ASSERT_TRUE(write_file_atomically(secret, "key", true, 0600).ok());
  EXPECT_EQ(mode_of(secret), 0600u);
  const fs::path shared = dir_ / "shared";
  ASSERT_TRUE(write_file_atomically(shared, "data", true, 0664).ok());
  EXPECT_EQ(mode_of(shared), 0644u) << "the umask 022 applies to new files";
}

TEST_F(AtomicFileTest, FailedWriteLeavesTheOriginalAndNoTemporaryFile) {
  const fs::path path = dir_ / "config.toml";
  ASSERT_TRUE(write_file_atomically(path, "original").ok());
  Status status;
  {
    FileSizeLimit limit(4096);
    status = write_file_atomically(path, std::string(1 << 20, 'n'));
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kIo);
  EXPECT_EQ(read_file_to_string(path).value(), "original");
  EXPECT_EQ(entries(), std::vector<std::string>{"config.toml"});
}

TEST_F(AtomicFileTest, FailsWhenAParentIsARegularFile) {
  const fs::path blocker = dir_ / "blocker";
  ASSERT_TRUE(write_file_atomically(blocker, "i am a file").ok());
  const Status status = write_file_atomically(blocker / "child.txt", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(read_file_to_string(blocker).value(), "i am a file");
  EXPECT_EQ(entries(), std::vector<std::string>{"blocker"});
}

TEST_F(AtomicFileTest, RefusesToReplaceADirectory) {
  fs::create_directory(dir_ / "folder");
  const Status status = write_file_atomically(dir_ / "folder", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_TRUE(fs::is_directory(dir_ / "folder"));
}

TEST_F(AtomicFileTest, WritesThroughASymlinkAndKeepsTheLink) {
  const fs::path target = dir_ / "real.txt";
  const fs::path link = dir_ / "link.txt";
  ASSERT_TRUE(write_file_atomically(target, "old").ok());
  fs::create_symlink(target, link);
  ASSERT_TRUE(write_file_atomically(link, "new").ok());
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_file_to_string(target).value(), "new");
}

TEST_F(AtomicFileTest, ReadingAMissingFileIsNotFound) {
  auto content = read_file_to_string(dir_ / "nope.txt");
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(content.error().message.find("nope.txt"), std::string::npos);
}

TEST_F(AtomicFileTest, ReadingADirectoryIsAnIoError) {
  auto content = read_file_to_string(dir_);
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.error().kind, ErrorKind::kIo);
}

}  // namespace
}  // namespace joey
