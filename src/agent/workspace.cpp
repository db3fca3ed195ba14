#include "agent/workspace.h"

#include <iterator>
#include <string>
#include <system_error>
#include <utility>

#include "agent/tool_args.h"

namespace joey::agent {

namespace fs = std::filesystem;

namespace {

// Linux gives up after 40 links (ELOOP); so do we.
constexpr int kMaxSymlinkHops = 40;

fs::path without_trailing_separator(fs::path path) {
  while (path.has_relative_path() && path.filename().empty()) path = path.parent_path();
  return path;
}

// weakly_canonical resolves every symlink in the part of the path that exists. A
// dangling symlink is left in the non-existing tail, where a later write could
// follow it out of the workspace, so such links are expanded here by hand.
Result<fs::path> resolve_symlinks(fs::path path) {
  for (int hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    std::error_code error;
    fs::path resolved = fs::weakly_canonical(path, error);
    if (error) resolved = path.lexically_normal();
    resolved = without_trailing_separator(std::move(resolved));

    fs::path prefix;
    bool expanded = false;
    for (auto part = resolved.begin(); part != resolved.end(); ++part) {
      prefix /= *part;
      std::error_code status_error;
      if (!fs::is_symlink(fs::symlink_status(prefix, status_error))) continue;
      fs::path target = fs::read_symlink(prefix, status_error);
      if (status_error) break;
      fs::path rest;
      for (auto tail = std::next(part); tail != resolved.end(); ++tail) rest /= *tail;
      path = (target.is_absolute() ? target : prefix.parent_path() / target) / rest;
      expanded = true;
      break;
    }
    if (!expanded) return resolved;
  }
  return make_error(ErrorKind::kInvalidArgument,
                    "too many levels of symbolic links in '" + path.string() + "'");
}

}  // namespace

Workspace::Workspace(fs::path root) {
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(root, error);
  root_ = without_trailing_separator(error ? root.lexically_normal() : std::move(canonical));
}

Result<ResolvedPath> Workspace::resolve(std::string_view user_path) const {
  if (user_path.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "the path is empty");
  }
  if (user_path.find('\0') != std::string_view::npos) {
    return make_error(ErrorKind::kInvalidArgument, "the path contains a NUL character");
  }
  fs::path path(user_path);
  if (path.is_relative()) path = root_ / path;
  ResolvedPath resolved;
  resolved.absolute = TRY(resolve_symlinks(std::move(path)));
  resolved.inside_workspace = contains(resolved.absolute);
  return resolved;
}

bool Workspace::contains(const fs::path& absolute_path) const {
  fs::path relative = absolute_path.lexically_relative(root_);
  if (relative.empty()) return false;
  return *relative.begin() != "..";
}

std::string Workspace::display(const fs::path& path) const {
  if (!contains(path)) return path.string();
  return path.lexically_relative(root_).generic_string();
}

Result<ResolvedPath> resolve_path_argument(const ToolContext& context, const nlohmann::json& args,
                                           std::string_view field) {
  std::string user_path = TRY(required_string(args, field));
  if (context.workspace == nullptr) {
    return make_error(ErrorKind::kInternal, "the tool was called without a workspace");
  }
  auto resolved = context.workspace->resolve(user_path);
  if (!resolved.ok()) return invalid_argument(field, resolved.error().message);
  return std::move(resolved).value();
}

Status request_approval(ToolContext& context, ActionKind kind, std::string_view tool,
                        std::string description) {
  if (context.approvals == nullptr) {
    return make_error(ErrorKind::kNeedsDecision, std::string(tool) + " needs approval (" +
                                                     action_kind_name(kind) +
                                                     ") and nobody can approve it: " + description);
  }
  ApprovalRequest request;
  request.kind = kind;
  request.tool = std::string(tool);
  request.description = std::move(description);
  return context.approvals->request(request);
}

Status check_access(const Workspace& workspace, ToolContext& context, const ResolvedPath& path,
                    ActionKind kind, std::string_view tool, std::string description) {
  bool inside = path.inside_workspace && workspace.contains(path.absolute);
  if (!inside) {
    return request_approval(context, ActionKind::kOutsideWorkspace, tool, std::move(description));
  }
  if (kind == ActionKind::kRead) return ok_status();
  return request_approval(context, kind, tool, std::move(description));
}

}  // namespace joey::agent
