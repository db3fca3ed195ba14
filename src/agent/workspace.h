// The workspace: the directory tree joey works in, and the one place that decides
// whether a path the model names is inside it.
//
// Paths the model supplies are relative to the workspace root unless absolute.
// Resolution follows symlinks (a symlink inside the workspace that points outside
// counts as outside) and `..`, so the boundary cannot be escaped by spelling.
// Access outside the workspace is never refused here: it is reported, and
// check_access() asks the ApprovalGate about it.
//
// Thread-safety: a Workspace is immutable after construction.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/tool.h"
#include "base/result.h"

namespace joey::agent {

struct ResolvedPath {
  std::filesystem::path absolute;  // symlinks and `..` resolved (as far as the path exists)
  bool inside_workspace = false;   // the root itself counts as inside
};

class Workspace {
 public:
  // `root` should be canonical; it is canonicalised again if it exists.
  explicit Workspace(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }

  // kInvalidArgument for an empty path, a path containing NUL, or a symlink loop.
  // The path need not exist.
  Result<ResolvedPath> resolve(std::string_view user_path) const;

  // `path` relative to the root when it is inside (the root itself is "."), else as is.
  std::string display(const std::filesystem::path& path) const;

  bool contains(const std::filesystem::path& absolute_path) const;

 private:
  std::filesystem::path root_;
};

// Reads the string argument `field` and resolves it against context.workspace.
// Errors name the field (kInvalidArgument); kInternal when the context has no workspace.
Result<ResolvedPath> resolve_path_argument(const ToolContext& context, const nlohmann::json& args,
                                           std::string_view field);

// Asks for approval of an access to `path`:
// - outside the workspace: the gate is asked with kOutsideWorkspace, whatever `kind` is.
// - inside: kRead needs no approval (the gate is not called); other kinds ask the gate
//   with that kind.
// Returns the gate's answer (ok, kPermissionDenied, kNeedsDecision).
Status check_access(const Workspace& workspace, ToolContext& context, const ResolvedPath& path,
                    ActionKind kind, std::string_view tool, std::string description);

// Asks context.approvals about one action; kNeedsDecision when the context has no gate.
Status request_approval(ToolContext& context, ActionKind kind, std::string_view tool,
                        std::string description);

}  // namespace joey::agent
