// Checkpoints: snapshots of the workspace taken before each write or command, kept in
// a shadow git repository so that a task's changes can be listed, diffed and undone.
//
// Where: one shadow repository per workspace, $JOEY_HOME/checkpoints/<first 16 hex
// digits of sha256(canonical workspace path)>/ (0700), a bare git directory driven
// with GIT_DIR=SHADOW GIT_WORK_TREE=WORKSPACE. It has its own index, so the user's
// repository is never read for writing: git never enters the workspace's `.git`, and
// nested repositories (a directory holding its own `.git`) are excluded whole.
//
// Isolation from the user's git set-up: no system or global config, HOME and
// XDG_CONFIG_HOME point into the shadow directory, hooks off, no signing, no CRLF
// conversion, and an info/attributes file that turns off every content filter (LFS,
// ident, eol, working-tree-encoding), so snapshots and restores are byte-exact.
//
// What is captured: every file git would add from the work tree, minus what
// .gitignore (git reads it from the work tree), .joeyignore and .rooignore (copied into
// the shadow's info/exclude before each snapshot) ignore, minus files over 5 MiB and
// binary files (a NUL byte in the first 8000 bytes, git's own test) over 1 MiB, which are
// listed in the snapshot's `skipped`. A file that becomes ignored or too large later is
// dropped from the next snapshot.
//
// Checkpoints of a task are commits under refs/joey/<task_id>/<N>, N = 1, 2, ... per
// task; each commit's parent is the task's previous checkpoint. Two tasks in the same
// workspace share the shadow repository but never each other's refs.
//
// Thread-safety: a Checkpoints object may be used from one thread at a time. Separate
// processes (two joey tasks in one workspace) are serialised by an flock on
// SHADOW/joey.lock held for the duration of each call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace joey::agent {

struct CheckpointOptions {
  // Where shadow repositories live: HOME/checkpoints/<hash>/. Empty: joey_home().
  std::filesystem::path joey_home;
  std::string git_program = "git";
  uint64_t max_file_bytes = 5 * 1024 * 1024;    // any file larger is skipped
  uint64_t max_binary_bytes = 1 * 1024 * 1024;  // a binary file larger is skipped
};

struct SkippedFile {
  std::string path;    // relative to the workspace root, '/'-separated
  std::string reason;  // e.g. "larger than 5 MiB", "nested git repository"
};

struct Snapshot {
  int number = 0;         // N of refs/joey/<task_id>/<N>
  int files_changed = 0;  // files that differ from checkpoint N-1 (0 for the first)
  std::vector<SkippedFile> skipped;
};

struct CheckpointInfo {
  int number = 0;
  std::string label;
  std::string time;  // committer time, ISO 8601 with offset
  int files_changed = 0;
};

struct RestoreSummary {
  int restored_files = 0;     // written back (changed or deleted since N)
  int removed_files = 0;      // created after N, removed
  int safety_checkpoint = 0;  // the checkpoint taken of the state just before restoring
};

class Checkpoints {
 public:
  // Prepares (but does not create) the shadow repository of `workspace_root`, which
  // must be an existing directory. kNotFound when it is not; kNotFound when git is not
  // installed; kIo when the hash of the path cannot be computed.
  static Result<Checkpoints> open(const std::filesystem::path& workspace_root,
                                  CheckpointOptions options = {});

  // Records the workspace as it is now as the task's next checkpoint and returns it.
  // When nothing changed since the task's last checkpoint, the new one points at the
  // same tree (a commit and a ref, no file content is hashed again). `label` is one
  // line describing what is about to happen ("write_to_file src/a.c"); control
  // characters are replaced by spaces. kInvalidArgument for a task id that is not a
  // safe ref name component ([A-Za-z0-9._-], not starting with '.', at most 128).
  Result<Snapshot> snapshot(std::string_view task_id, std::string_view label);

  // The task's checkpoints in order of N. kNotFound when the task has none.
  Result<std::vector<CheckpointInfo>> list(std::string_view task_id);

  // Unified diff (git's format, no colour) from checkpoint `from` to checkpoint `to`,
  // or to the working tree as it is now (ignored and skipped files left out) when `to`
  // is empty. kNotFound for an unknown task or checkpoint number.
  Result<std::string> diff(std::string_view task_id, int from, std::optional<int> to = {});

  // Puts files back as they were at checkpoint N: files changed or deleted since are
  // written back, files created since (that the shadow repository captured) are
  // removed, along with directories this leaves empty. Files that are ignored now,
  // skipped for size, inside `.git` or a nested repository are never touched. Takes a
  // checkpoint of the current state first (labelled "before restoring checkpoint N"),
  // so a restore can itself be undone. kNotFound for an unknown task or N.
  Result<RestoreSummary> restore(std::string_view task_id, int number);

  const std::filesystem::path& workspace_root() const { return workspace_root_; }
  const std::filesystem::path& shadow_dir() const { return shadow_dir_; }

 private:
  struct TaskRef;   // one refs/joey/<task>/<N>: info, commit and tree
  struct Recorded;  // a checkpoint just made: snapshot, commit and tree

  Checkpoints(std::filesystem::path workspace_root, std::filesystem::path shadow_dir,
              CheckpointOptions options);

  // Runs git on the shadow repository; a non-zero exit is an error (kIo).
  Result<std::string> git(const std::vector<std::string>& args,
                          std::optional<std::string> stdin_data = {},
                          size_t output_cap_bytes = size_t{16} << 20);
  // git(), where the exit codes listed are success too.
  Result<std::string> git_allowing(const std::vector<std::string>& args,
                                   std::initializer_list<int> ok_exit_codes,
                                   std::optional<std::string> stdin_data = {},
                                   size_t output_cap_bytes = size_t{16} << 20);
  Status ensure_initialized();
  Result<std::vector<SkippedFile>> write_excludes();
  Result<std::string> capture_tree(std::vector<SkippedFile>* skipped);
  Result<std::vector<TaskRef>> task_refs(std::string_view task_id);
  Error no_checkpoints_error(std::string_view task_id) const;
  // kInvalidArgument for a bad task id, kNotFound when no shadow repository exists yet.
  Status require_shadow(std::string_view task_id) const;
  // task_refs(), but kNotFound when the task has none (or there is no shadow yet).
  Result<std::vector<TaskRef>> existing_task_refs(std::string_view task_id);
  Result<TaskRef> find_checkpoint(const std::vector<TaskRef>& refs, std::string_view task_id,
                                  int number) const;
  Result<Recorded> record(std::string_view task_id, std::string_view label);

  std::filesystem::path workspace_root_;
  std::filesystem::path shadow_dir_;
  CheckpointOptions options_;
};

// True when `task_id` can be used in refs/joey/<task_id>/ (see snapshot()).
bool is_valid_checkpoint_task_id(std::string_view task_id);

}  // namespace joey::agent
