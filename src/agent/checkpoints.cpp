// Implementation notes:
// - Every git call gets the same environment (shadow_environment) and `-c` options
//   (kGitConfig): explicit GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY
//   and GIT_COMMON_DIR override whatever the caller's environment holds (joey may run
//   inside a git hook, where GIT_DIR points at the user's repository).
// - A snapshot is `git status` (to find new or changed files that are too large, and
//   nested repositories), the exclude list written, `git add -A`, the removal from the
//   index of files that are ignored now, `git write-tree`, `git commit-tree` and
//   `git update-ref`. No porcelain `git commit`, so no automatic gc and no hooks.
// - The hash of the workspace path comes from sha256sum (coreutils): joey links no
//   crypto library in this subsystem, and hashing one path is not worth writing SHA-256.
#include "agent/checkpoints.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <system_error>
#include <utility>

#include "base/atomic_file.h"
#include "base/paths.h"
#include "base/strings.h"
#include "base/subprocess.h"

namespace joey::agent {

namespace fs = std::filesystem;

namespace {

constexpr size_t kHashPrefixChars = 16;
constexpr size_t kMaxTaskIdChars = 128;
constexpr size_t kMaxLabelBytes = 200;
constexpr size_t kBinaryProbeBytes = 8000;  // what git reads to decide "binary"
constexpr const char* kRefRoot = "refs/joey/";
constexpr const char* kFilesChangedTrailer = "Joey-Files-Changed: ";
constexpr auto kGitTimeout = std::chrono::minutes(10);

// Applied with -c on every call, so a shadow config edited by hand cannot turn
// hooks, signing or conversions back on.
const std::vector<std::string> kGitConfig = {
    "core.hooksPath=/dev/null",     "commit.gpgSign=false",
    "core.autocrlf=false",          "core.safecrlf=false",
    "core.fsmonitor=false",         "core.logAllRefUpdates=false",
    "core.symlinks=true",           "core.quotePath=false",
    "core.untrackedCache=true",     "gc.auto=0",
    "maintenance.auto=false",       "color.ui=false",
    "advice.addEmbeddedRepo=false", "protocol.allow=never",
    "submodule.recurse=false",      "init.defaultBranch=joey",
    "diff.renames=false",
};

// info/attributes outranks every .gitattributes in the work tree: no eol conversion,
// no clean/smudge filter (LFS), no $Id$ expansion, no re-encoding.
constexpr const char* kShadowAttributes =
    "# Written by joey: checkpoints keep files byte for byte.\n"
    "* -text -eol -filter -ident -working-tree-encoding\n";

Error git_error(const std::string& what, const ProcessResult& result) {
  std::string detail = result.stderr_text;
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  if (detail.empty()) detail = "exit status " + std::to_string(result.exit_code);
  return make_error(ErrorKind::kIo, "checkpoint repository: git " + what + " failed: " + detail);
}

std::string errno_text() { return std::strerror(errno); }

// Holds an exclusive flock on a file for its lifetime.
class FileLock {
 public:
  static Result<FileLock> acquire(const fs::path& path) {
    int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorKind::kIo, "opening " + path.string() + ": " + errno_text());
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      Error error(ErrorKind::kIo, "locking " + path.string() + ": " + errno_text());
      ::close(fd);
      return error;
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

std::vector<std::string> split_nul(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string_view::npos) end = text.size();
    parts.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == '\n' || text.front() == ' ')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return std::string(text);
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string one_line_label(std::string_view label) {
  std::string line(utf8_prefix(label, kMaxLabelBytes));
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  line = trim(line);
  return line.empty() ? "checkpoint" : line;
}

// An anchored gitignore pattern that matches exactly `relative_path`. Characters
// gitignore cannot hold (newline) become `?`, which may match a sibling too.
std::string exclude_pattern_for(std::string_view relative_path, bool directory) {
  std::string pattern = "/";
  for (char c : relative_path) {
    if (c == '\\' || c == '*' || c == '?' || c == '[' || c == ']' || c == ' ') {
      pattern += '\\';
      pattern += c;
    } else if (c == '\n' || c == '\r') {
      pattern += '?';
    } else {
      pattern += c;
    }
  }
  if (directory && pattern.back() != '/') pattern += '/';
  return pattern;
}

std::string read_optional_file(const fs::path& path) {
  Result<std::string> text = read_file_to_string(path);
  return text.ok() ? std::move(*text) : std::string();
}

// Why a new or changed file must not be captured, or nullopt.
std::optional<std::string> skip_reason(const fs::path& file, const CheckpointOptions& options) {
  struct stat info {};
  if (lstat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  const auto size = static_cast<uint64_t>(info.st_size);
  if (size > options.max_file_bytes) {
    return "larger than " + std::to_string(options.max_file_bytes / 1024) + " KiB";
  }
  std::ifstream stream(file, std::ios::binary);
  if (!stream) return std::string("not readable");
  if (size <= options.max_binary_bytes) return std::nullopt;
  std::string head(kBinaryProbeBytes, '\0');
  stream.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(stream.gcount()));
  if (head.find('\0') != std::string::npos) {
    return "binary and larger than " + std::to_string(options.max_binary_bytes / 1024) + " KiB";
  }
  return std::nullopt;
}

Result<std::string> sha256_hex(std::string_view text) {
  ProcessOptions process;
  process.argv = {"sha256sum"};
  process.stdin_data = std::string(text);
  ProcessResult result = TRY(run_process(process));
  if (result.exit_code != 0 || result.stdout_text.size() < 64) {
    return make_error(ErrorKind::kIo, "sha256sum failed: " + trim(result.stderr_text));
  }
  return result.stdout_text.substr(0, 64);
}

Error invalid_task_id_error(std::string_view task_id) {
  return make_error(ErrorKind::kInvalidArgument,
                    "\"" + std::string(utf8_prefix(task_id, kMaxTaskIdChars)) +
                        "\" is not a task id (letters, digits, '.', '_' and '-' only)");
}

}  // namespace

struct Checkpoints::TaskRef {
  CheckpointInfo info;
  std::string commit;
  std::string tree;
};

struct Checkpoints::Recorded {
  Snapshot snapshot;
  std::string commit;
  std::string tree;
};

bool is_valid_checkpoint_task_id(std::string_view task_id) {
  if (task_id.empty() || task_id.size() > kMaxTaskIdChars || task_id.front() == '.') return false;
  if (task_id.find("..") != std::string_view::npos) return false;
  if (task_id.size() >= 5 && task_id.substr(task_id.size() - 5) == ".lock") return false;
  return std::all_of(task_id.begin(), task_id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Checkpoints::Checkpoints(fs::path workspace_root, fs::path shadow_dir, CheckpointOptions options)
    : workspace_root_(std::move(workspace_root)),
      shadow_dir_(std::move(shadow_dir)),
      options_(std::move(options)) {}

Result<Checkpoints> Checkpoints::open(const fs::path& workspace_root, CheckpointOptions options) {
  std::error_code error;
  fs::path root = fs::canonical(workspace_root, error);
  if (error || !fs::is_directory(root, error)) {
    return make_error(ErrorKind::kNotFound,
                      "workspace " + workspace_root.string() + " is not a directory");
  }
  fs::path home = options.joey_home;
  if (home.empty()) home = TRY(joey_home());
  std::string hash = TRY(sha256_hex(root.string()));
  fs::path shadow = home / "checkpoints" / hash.substr(0, kHashPrefixChars);
  return Checkpoints(std::move(root), std::move(shadow), std::move(options));
}

Result<std::string> Checkpoints::git(const std::vector<std::string>& args,
                                     std::optional<std::string> stdin_data,
                                     size_t output_cap_bytes) {
  return git_allowing(args, {0}, std::move(stdin_data), output_cap_bytes);
}

Result<std::string> Checkpoints::git_allowing(const std::vector<std::string>& args,
                                              std::initializer_list<int> ok_exit_codes,
                                              std::optional<std::string> stdin_data,
                                              size_t output_cap_bytes) {
  ProcessOptions process;
  process.argv.push_back(options_.git_program);
  for (const std::string& setting : kGitConfig) {
    process.argv.push_back("-c");
    process.argv.push_back(setting);
  }
  process.argv.insert(process.argv.end(), args.begin(), args.end());
  process.cwd = workspace_root_.string();
  const std::string shadow = shadow_dir_.string();
  process.env = {
      {"GIT_DIR", shadow},
      {"GIT_WORK_TREE", workspace_root_.string()},
      {"GIT_INDEX_FILE", (shadow_dir_ / "index").string()},
      {"GIT_OBJECT_DIRECTORY", (shadow_dir_ / "objects").string()},
      {"GIT_COMMON_DIR", shadow},
      {"GIT_ALTERNATE_OBJECT_DIRECTORIES", ""},
      {"GIT_NAMESPACE", ""},
      {"GIT_CONFIG_NOSYSTEM", "1"},
      {"GIT_CONFIG_GLOBAL", "/dev/null"},
      {"GIT_CONFIG_PARAMETERS", ""},
      {"GIT_CONFIG_COUNT", "0"},
      {"GIT_ATTR_NOSYSTEM", "1"},
      {"GIT_NO_REPLACE_OBJECTS", "1"},
      {"GIT_TERMINAL_PROMPT", "0"},
      {"HOME", shadow},
      {"XDG_CONFIG_HOME", shadow},
      {"LC_ALL", "C"},
      {"GIT_AUTHOR_NAME", "joey"},
      {"GIT_AUTHOR_EMAIL", "joey@localhost"},
      {"GIT_COMMITTER_NAME", "joey"},
      {"GIT_COMMITTER_EMAIL", "joey@localhost"},
  };
  process.stdin_data = std::move(stdin_data);
  process.timeout = kGitTimeout;
  process.output_cap_bytes = output_cap_bytes;
  Result<ProcessResult> result = run_process(process);
  auto command = std::find_if(args.begin(), args.end(),
                              [](const std::string& arg) { return !arg.starts_with("-"); });
  const std::string what = command == args.end() ? std::string() : *command;
  if (!result.ok()) {
    if (result.error().kind == ErrorKind::kNotFound) {
      return make_error(ErrorKind::kNotFound,
                        "checkpoints need git, and `" + options_.git_program + "` was not found");
    }
    return result.error().with_context("running git " + what);
  }
  if (result->timed_out || result->signaled ||
      std::find(ok_exit_codes.begin(), ok_exit_codes.end(), result->exit_code) ==
          ok_exit_codes.end()) {
    return git_error(what, *result);
  }
  if (result->stdout_total_bytes > result->stdout_text.size()) {
    return make_error(ErrorKind::kLimit, "checkpoint repository: git " + what +
                                             " printed more than " +
                                             std::to_string(output_cap_bytes >> 20) + " MiB");
  }
  return std::move(result->stdout_text);
}

Status Checkpoints::ensure_initialized() {
  TRY(ensure_private_dir(shadow_dir_));
  const fs::path marker = shadow_dir_ / "joey-workspace";
  if (fs::exists(shadow_dir_ / "HEAD")) {
    std::string recorded = trim(read_optional_file(marker));
    if (!recorded.empty() && recorded != workspace_root_.string()) {
      return make_error(ErrorKind::kInternal, "checkpoint repository " + shadow_dir_.string() +
                                                  " belongs to another workspace (" + recorded +
                                                  "); move it away to continue");
    }
    return ok_status();
  }
  TRY(git({"init", "-q", "--template="}));
  TRY(ensure_private_dir(shadow_dir_ / "info"));
  TRY(write_file_atomically(shadow_dir_ / "info" / "attributes", kShadowAttributes, false, 0600));
  TRY(write_file_atomically(marker, workspace_root_.string() + "\n", false, 0600));
  return ok_status();
}

Result<std::vector<SkippedFile>> Checkpoints::write_excludes() {
  std::string ignore_text =
      "# Written by joey before each checkpoint: .joeyignore, .rooignore, skipped files.\n";
  for (const char* name : {".joeyignore", ".rooignore"}) {
    std::string text = read_optional_file(workspace_root_ / name);
    if (text.empty()) continue;
    ignore_text += "# " + std::string(name) + "\n" + text;
    if (ignore_text.back() != '\n') ignore_text += '\n';
  }
  const fs::path exclude = shadow_dir_ / "info" / "exclude";
  TRY(write_file_atomically(exclude, ignore_text, true, 0600));

  // New and changed files, as git sees them with only the ignore files applied.
  std::string status = TRY(git({"status", "--porcelain=v1", "-z", "--untracked-files=all",
                                "--no-renames", "--ignore-submodules=all"}));
  std::vector<SkippedFile> skipped;
  std::string skip_patterns;
  for (const std::string& entry : split_nul(status)) {
    if (entry.size() < 4 || entry[1] == 'D') continue;
    std::string path = entry.substr(3);
    if (path.back() == '/') {  // git shows a nested repository as one directory
      path.pop_back();
      skipped.push_back({path, "nested git repository"});
      skip_patterns += exclude_pattern_for(path, true) + "\n";
      continue;
    }
    if (std::optional<std::string> reason = skip_reason(workspace_root_ / path, options_)) {
      skipped.push_back({path, *reason});
      skip_patterns += exclude_pattern_for(path, false) + "\n";
    }
  }
  if (!skip_patterns.empty()) {
    TRY(write_file_atomically(exclude, ignore_text + "# skipped\n" + skip_patterns, true, 0600));
  }
  return skipped;
}

Result<std::string> Checkpoints::capture_tree(std::vector<SkippedFile>* skipped) {
  *skipped = TRY(write_excludes());
  // Files captured before that are ignored or skipped now leave the snapshot; first,
  // so that `add -A` does not hash a file that has grown too large.
  std::string now_ignored =
      TRY(git({"ls-files", "-z", "--cached", "--ignored", "--exclude-standard"}));
  if (!now_ignored.empty()) {
    TRY(git({"update-index", "-z", "--force-remove", "--stdin"}, now_ignored));
  }
  TRY(git({"add", "-A"}));
  return trim(TRY(git({"write-tree"})));
}

Result<std::vector<Checkpoints::TaskRef>> Checkpoints::task_refs(std::string_view task_id) {
  if (!is_valid_checkpoint_task_id(task_id)) return invalid_task_id_error(task_id);
  const std::string prefix = kRefRoot + std::string(task_id) + "/";
  std::string output = TRY(git({"for-each-ref",
                                "--format=%(refname)%00%(objectname)%00%(tree)%00%(committerdate:"
                                "iso-strict)%00%(contents:subject)%00%(contents:body)%00",
                                prefix}));
  std::vector<std::string> fields = split_nul(output);
  std::vector<TaskRef> refs;
  for (size_t i = 0; i + 6 <= fields.size(); i += 6) {
    std::string refname = trim(fields[i]);
    std::optional<int> number =
        parse_int(std::string_view(refname).substr(std::min(refname.size(), prefix.size())));
    if (refname.rfind(prefix, 0) != 0 || !number || *number < 1) continue;
    TaskRef ref;
    ref.info.number = *number;
    ref.commit = trim(fields[i + 1]);
    ref.tree = trim(fields[i + 2]);
    ref.info.time = trim(fields[i + 3]);
    ref.info.label = trim(fields[i + 4]);
    const std::string& body = fields[i + 5];
    size_t trailer = body.find(kFilesChangedTrailer);
    if (trailer != std::string::npos) {
      std::string value = trim(std::string_view(body).substr(
          trailer + std::strlen(kFilesChangedTrailer),
          body.find('\n', trailer) - trailer - std::strlen(kFilesChangedTrailer)));
      ref.info.files_changed = parse_int(value).value_or(0);
    }
    refs.push_back(std::move(ref));
  }
  std::sort(refs.begin(), refs.end(),
            [](const TaskRef& a, const TaskRef& b) { return a.info.number < b.info.number; });
  return refs;
}

Result<Checkpoints::Recorded> Checkpoints::record(std::string_view task_id,
                                                  std::string_view label) {
  std::vector<TaskRef> refs = TRY(task_refs(task_id));
  Recorded recorded;
  recorded.tree = TRY(capture_tree(&recorded.snapshot.skipped));
  const TaskRef* parent = refs.empty() ? nullptr : &refs.back();
  recorded.snapshot.number = parent ? parent->info.number + 1 : 1;
  if (parent && parent->tree != recorded.tree) {
    std::string changed = TRY(
        git({"diff-tree", "-r", "-z", "--no-renames", "--name-only", parent->tree, recorded.tree}));
    recorded.snapshot.files_changed = static_cast<int>(split_nul(changed).size());
  }
  std::string message = one_line_label(label) + "\n\n" + kFilesChangedTrailer +
                        std::to_string(recorded.snapshot.files_changed) + "\n";
  std::vector<std::string> commit_args = {"commit-tree", recorded.tree};
  if (parent) {
    commit_args.push_back("-p");
    commit_args.push_back(parent->commit);
  }
  commit_args.push_back("-F");
  commit_args.push_back("-");
  recorded.commit = trim(TRY(git(commit_args, message)));
  const std::string ref =
      kRefRoot + std::string(task_id) + "/" + std::to_string(recorded.snapshot.number);
  // The empty old value makes git refuse to overwrite a ref that appeared meanwhile.
  TRY(git({"update-ref", ref, recorded.commit, ""}));
  return recorded;
}

Result<Snapshot> Checkpoints::snapshot(std::string_view task_id, std::string_view label) {
  if (!is_valid_checkpoint_task_id(task_id)) return invalid_task_id_error(task_id);
  TRY(ensure_private_dir(shadow_dir_));
  FileLock lock = TRY(FileLock::acquire(shadow_dir_ / "joey.lock"));
  TRY(ensure_initialized());
  Recorded recorded = TRY(record(task_id, label));
  return std::move(recorded.snapshot);
}

Error Checkpoints::no_checkpoints_error(std::string_view task_id) const {
  return make_error(ErrorKind::kNotFound, "task " + std::string(task_id) +
                                              " has no checkpoints in " + workspace_root_.string());
}

Status Checkpoints::require_shadow(std::string_view task_id) const {
  if (!is_valid_checkpoint_task_id(task_id)) return invalid_task_id_error(task_id);
  if (!fs::exists(shadow_dir_ / "HEAD")) return no_checkpoints_error(task_id);
  return ok_status();
}

Result<std::vector<Checkpoints::TaskRef>> Checkpoints::existing_task_refs(
    std::string_view task_id) {
  std::vector<TaskRef> refs = TRY(task_refs(task_id));
  if (refs.empty()) return no_checkpoints_error(task_id);
  return refs;
}

Result<std::vector<CheckpointInfo>> Checkpoints::list(std::string_view task_id) {
  TRY(require_shadow(task_id));
  FileLock lock = TRY(FileLock::acquire(shadow_dir_ / "joey.lock"));
  std::vector<TaskRef> refs = TRY(existing_task_refs(task_id));
  std::vector<CheckpointInfo> infos;
  for (TaskRef& ref : refs) infos.push_back(std::move(ref.info));
  return infos;
}

Result<Checkpoints::TaskRef> Checkpoints::find_checkpoint(const std::vector<TaskRef>& refs,
                                                          std::string_view task_id,
                                                          int number) const {
  for (const TaskRef& ref : refs) {
    if (ref.info.number == number) return ref;
  }
  return make_error(ErrorKind::kNotFound, "task " + std::string(task_id) + " has no checkpoint " +
                                              std::to_string(number) + " (it has 1 to " +
                                              std::to_string(refs.back().info.number) + ")");
}

namespace {

// Removes `file` and then each parent directory that is left empty, up to `root`.
Status remove_with_empty_parents(const fs::path& root, const std::string& relative) {
  fs::path path = root / relative;
  std::error_code error;
  if (!fs::remove(path, error) && error) {
    return make_error(ErrorKind::kIo, "removing " + path.string() + ": " + error.message());
  }
  for (fs::path dir = path.parent_path(); dir != root && dir.string().size() > root.string().size();
       dir = dir.parent_path()) {
    if (::rmdir(dir.c_str()) != 0) break;  // not empty (or gone): stop climbing
  }
  return ok_status();
}

}  // namespace

Result<std::string> Checkpoints::diff(std::string_view task_id, int from, std::optional<int> to) {
  TRY(require_shadow(task_id));
  FileLock lock = TRY(FileLock::acquire(shadow_dir_ / "joey.lock"));
  std::vector<TaskRef> refs = TRY(existing_task_refs(task_id));
  const TaskRef start = TRY(find_checkpoint(refs, task_id, from));
  std::string target;
  if (to) {
    target = TRY(find_checkpoint(refs, task_id, *to)).commit;
  } else {
    std::vector<SkippedFile> skipped;
    target = TRY(capture_tree(&skipped));
  }
  return git({"diff", "--no-ext-diff", "--no-color", "--no-textconv", "--no-renames", start.commit,
              target},
             std::nullopt, size_t{256} << 20);
}

Result<RestoreSummary> Checkpoints::restore(std::string_view task_id, int number) {
  TRY(require_shadow(task_id));
  FileLock lock = TRY(FileLock::acquire(shadow_dir_ / "joey.lock"));
  std::vector<TaskRef> refs = TRY(existing_task_refs(task_id));
  const std::string target = TRY(find_checkpoint(refs, task_id, number)).commit;
  Recorded current = TRY(record(task_id, "before restoring checkpoint " + std::to_string(number)));
  RestoreSummary summary;
  summary.safety_checkpoint = current.snapshot.number;

  std::string changes =
      TRY(git({"diff-tree", "-r", "-z", "--no-renames", "--name-status", target, current.tree}));
  std::vector<std::string> fields = split_nul(changes);
  std::vector<std::string> to_remove;
  std::string to_check;  // NUL-separated paths missing now, to test against the ignore rules
  std::vector<std::string> to_write;
  for (size_t i = 0; i + 2 <= fields.size(); i += 2) {
    const std::string& status = fields[i];
    const std::string& path = fields[i + 1];
    if (status == "A") {
      to_remove.push_back(path);
    } else if (status == "D") {
      to_check += path + '\0';
    } else {
      to_write.push_back(path);
    }
  }
  if (!to_check.empty()) {
    // check-ignore exits 1 when none of the paths is ignored.
    std::string ignored =
        TRY(git_allowing({"check-ignore", "-z", "--stdin", "--no-index"}, {0, 1}, to_check));
    std::vector<std::string> ignored_paths = split_nul(ignored);
    std::sort(ignored_paths.begin(), ignored_paths.end());
    for (const std::string& path : split_nul(to_check)) {
      if (!std::binary_search(ignored_paths.begin(), ignored_paths.end(), path)) {
        to_write.push_back(path);
      }
    }
  }
  for (const std::string& path : to_remove) {
    TRY(remove_with_empty_parents(workspace_root_, path));
    ++summary.removed_files;
  }
  if (!to_write.empty()) {
    std::string pathspecs;
    for (const std::string& path : to_write) pathspecs += path + '\0';
    TRY(git({"--literal-pathspecs", "checkout", "-q", target, "--pathspec-from-file=-",
             "--pathspec-file-nul"},
            pathspecs));
    summary.restored_files = static_cast<int>(to_write.size());
  }
  return summary;
}

}  // namespace joey::agent
