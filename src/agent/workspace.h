// The workspace: the directory tree joey works in, and the one place that decides
// whether a path the model names is inside it.
//
// Paths the model supplies are relative to the workspace root unless absolute.
// Resolution follows symlinks (a symlink inside the workspace that points outside
// counts as outside) and `..`, so the boundary cannot be escaped by spelling.
// Access outside the workspace is never refused here: it is reported, and
// check_access() asks the ApprovalGate about it.
//
// The workspace also holds the ignore rules (.joeyignore, .rooignore; see
// ignore_rules.h), read once when it is built. A path inside the workspace is
// hidden when the rules ignore it as resolved or as the model spelled it (so a
// symlink can neither reveal an ignored file nor reach one through an ignored
// directory). When the rules cannot be read, every path inside counts as hidden:
// joey fails closed rather than show what the user meant to keep back.
//
// Thread-safety: a Workspace is immutable after construction.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/ignore_rules.h"
#include "agent/tool.h"
#include "base/result.h"

namespace joey::agent {

struct ResolvedPath {
  std::filesystem::path absolute;  // symlinks and `..` resolved (as far as the path exists)
  bool inside_workspace = false;   // the root itself counts as inside
  // As the model spelled it, made absolute and lexically normalised (no symlink
  // followed); empty when the ResolvedPath was not made by resolve().
  std::filesystem::path named;
};

class Workspace {
 public:
  // `root` should be canonical; it is canonicalised again if it exists. Reads the
  // ignore files under it; a failure is kept in ignore_rules_status().
  explicit Workspace(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }

  // kInvalidArgument for an empty path, a path containing NUL, or a symlink loop.
  // The path need not exist.
  Result<ResolvedPath> resolve(std::string_view user_path) const;

  // `path` relative to the root when it is inside (the root itself is "."), else as is.
  std::string display(const std::filesystem::path& path) const;

  bool contains(const std::filesystem::path& absolute_path) const;

  // ok, or why the ignore files could not be read (then everything inside is hidden;
  // a caller may report this at startup).
  Status ignore_rules_status() const;
  const IgnoreRules& ignore_rules() const { return ignore_rules_; }

  // True when `absolute_path` is inside the workspace and the ignore rules hide it
  // (or could not be read). Paths outside are never hidden here.
  bool hidden(const std::filesystem::path& absolute_path, bool is_directory) const;

  // kPermissionDenied, naming the ignore file, when `path` (as resolved or as named)
  // is hidden: "PATH is listed in .joeyignore; joey may not read or change it".
  Status check_not_ignored(const ResolvedPath& path) const;

 private:
  // The ignore file that hides the path, or "" when none does.
  std::string ignoring_file(const std::filesystem::path& absolute_path, bool is_directory) const;

  std::filesystem::path root_;
  IgnoreRules ignore_rules_;
  std::optional<Error> ignore_error_;
};

// Reads the string argument `field` and resolves it against context.workspace.
// Errors name the field (kInvalidArgument); kInternal when the context has no workspace.
Result<ResolvedPath> resolve_path_argument(const ToolContext& context, const nlohmann::json& args,
                                           std::string_view field);

// Asks for approval of an access to `path`:
// - outside the workspace: the gate is asked with kOutsideWorkspace, whatever `kind` is.
// - inside and hidden by the ignore rules: refused (kPermissionDenied, see
//   Workspace::check_not_ignored) without asking the gate.
// - inside: kRead needs no approval (the gate is not called); a kWrite to a protected
//   path (is_protected_path, as resolved or as named) asks with kProtectedWrite; other
//   kinds ask the gate with that kind.
// Returns the gate's answer (ok, kPermissionDenied, kNeedsDecision).
Status check_access(const Workspace& workspace, ToolContext& context, const ResolvedPath& path,
                    ActionKind kind, std::string_view tool, std::string description);

// Asks context.approvals about one action; kNeedsDecision when the context has no gate.
Status request_approval(ToolContext& context, ActionKind kind, std::string_view tool,
                        std::string description);

}  // namespace joey::agent
