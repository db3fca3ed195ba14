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

// Protected as resolved or as spelled: a symlink to AGENTS.md, or a `.joey` that is
// a symlink, changes joey's configuration all the same.
bool is_protected(const Workspace& workspace, const ResolvedPath& path) {
  for (const fs::path* candidate : {&path.absolute, &path.named}) {
    if (candidate->empty() || !workspace.contains(*candidate)) continue;
    if (is_protected_path(candidate->lexically_relative(workspace.root()).generic_string())) {
      return true;
    }
  }
  return false;
}

}  // namespace

Workspace::Workspace(fs::path root) {
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(root, error);
  root_ = without_trailing_separator(error ? root.lexically_normal() : std::move(canonical));
  auto rules = IgnoreRules::load(root_);
  if (rules.ok()) {
    ignore_rules_ = std::move(rules).value();
  } else {
    ignore_error_ = rules.error();
  }
}

Status Workspace::ignore_rules_status() const {
  if (ignore_error_) return *ignore_error_;
  return ok_status();
}

std::string Workspace::ignoring_file(const fs::path& absolute_path, bool is_directory) const {
  if (!contains(absolute_path)) return "";
  if (ignore_error_) return std::string(kIgnoreFileNames[0]);
  if (ignore_rules_.empty()) return "";
  std::string relative = absolute_path.lexically_relative(root_).generic_string();
  return std::string(ignore_rules_.ignored_by(relative, is_directory));
}

bool Workspace::hidden(const fs::path& absolute_path, bool is_directory) const {
  return !ignoring_file(absolute_path, is_directory).empty();
}

Status Workspace::check_not_ignored(const ResolvedPath& path) const {
  std::error_code error;
  bool is_directory = fs::is_directory(path.absolute, error);
  std::string file = ignoring_file(path.absolute, is_directory);
  fs::path shown = path.absolute;
  if (file.empty() && !path.named.empty()) {
    // Checked as spelled too: `ignored_dir/link` is ignored wherever the link points.
    file = ignoring_file(path.named, is_directory);
    shown = path.named;
  }
  if (file.empty()) return ok_status();
  if (ignore_error_) {
    return make_error(ErrorKind::kPermissionDenied,
                      "joey may not read or change files in this workspace until its ignore "
                      "rules can be read: " +
                          ignore_error_->message);
  }
  return make_error(ErrorKind::kPermissionDenied,
                    display(shown) + " is listed in " + file + "; joey may not read or change it");
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
  resolved.named = without_trailing_separator(path.lexically_normal());
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
  TRY(workspace.check_not_ignored(path));
  if (kind == ActionKind::kRead) return ok_status();
  if (kind == ActionKind::kWrite && is_protected(workspace, path)) {
    kind = ActionKind::kProtectedWrite;
  }
  return request_approval(context, kind, tool, std::move(description));
}

}  // namespace joey::agent
