#include "agent/workspace.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/tool_args.h"
#include "agent/workspace_tools.h"
#include "support/temp_dir.h"

namespace joey::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

fs::path make_temp_dir() { return joey::testing::make_temp_dir("joey-workspace-test"); }

class RecordingGate : public ApprovalGate {
 public:
  Status request(const ApprovalRequest& request) override {
    requests.push_back(request);
    return ok_status();
  }
  std::vector<ApprovalRequest> requests;
};

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    outside_ = make_temp_dir();
  }
  void TearDown() override {
    fs::remove_all(root_);
    fs::remove_all(outside_);
  }

  fs::path root_;
  fs::path outside_;
};

TEST_F(WorkspaceTest, ResolvesRelativePathsAgainstTheRoot) {
  Workspace workspace(root_);
  auto resolved = workspace.resolve("src/main.cpp");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved->absolute, root_ / "src" / "main.cpp");
  EXPECT_TRUE(resolved->inside_workspace);
}

TEST_F(WorkspaceTest, RootItselfIsInside) {
  Workspace workspace(root_);
  for (const char* path : {".", "./", "src/.."}) {
    auto resolved = workspace.resolve(path);
    ASSERT_TRUE(resolved.ok());
    EXPECT_TRUE(resolved->inside_workspace) << path;
    EXPECT_EQ(workspace.display(resolved->absolute), ".");
  }
}

TEST_F(WorkspaceTest, DotDotLeavingTheRootIsOutside) {
  Workspace workspace(root_);
  auto resolved = workspace.resolve("src/../../x");
  ASSERT_TRUE(resolved.ok());
  EXPECT_FALSE(resolved->inside_workspace);
  EXPECT_EQ(resolved->absolute, root_.parent_path() / "x");
}

TEST_F(WorkspaceTest, AbsolutePathsAreInsideOnlyUnderTheRoot) {
  Workspace workspace(root_);
  auto inside = workspace.resolve((root_ / "a.txt").string());
  auto outside = workspace.resolve((outside_ / "a.txt").string());
  ASSERT_TRUE(inside.ok());
  ASSERT_TRUE(outside.ok());
  EXPECT_TRUE(inside->inside_workspace);
  EXPECT_FALSE(outside->inside_workspace);
}

TEST_F(WorkspaceTest, SiblingWithTheRootAsNamePrefixIsOutside) {
  Workspace workspace(root_);
  auto resolved = workspace.resolve(root_.string() + "-sibling/file");
  ASSERT_TRUE(resolved.ok());
  EXPECT_FALSE(resolved->inside_workspace);
}

TEST_F(WorkspaceTest, SymlinkPointingOutsideIsOutside) {
  fs::create_directory_symlink(outside_, root_ / "link");
  Workspace workspace(root_);
  auto resolved = workspace.resolve("link/secret.txt");
  ASSERT_TRUE(resolved.ok());
  EXPECT_FALSE(resolved->inside_workspace);
  EXPECT_EQ(resolved->absolute, outside_ / "secret.txt");
}

TEST_F(WorkspaceTest, DanglingSymlinkPointingOutsideIsOutside) {
  fs::create_symlink(outside_ / "not-yet", root_ / "dangling");
  Workspace workspace(root_);
  auto resolved = workspace.resolve("dangling");
  ASSERT_TRUE(resolved.ok());
  EXPECT_FALSE(resolved->inside_workspace);
  EXPECT_EQ(resolved->absolute, outside_ / "not-yet");
}

TEST_F(WorkspaceTest, SymlinkInsideTheWorkspaceStaysInside) {
  fs::create_directories(root_ / "real");
  fs::create_directory_symlink(root_ / "real", root_ / "alias");
  Workspace workspace(root_);
  auto resolved = workspace.resolve("alias/file");
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved->inside_workspace);
  EXPECT_EQ(resolved->absolute, root_ / "real" / "file");
}

TEST_F(WorkspaceTest, SymlinkLoopIsAnErrorNotAHang) {
  fs::create_symlink(root_ / "b", root_ / "a");
  fs::create_symlink(root_ / "a", root_ / "b");
  Workspace workspace(root_);
  auto resolved = workspace.resolve("a/file");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().kind, ErrorKind::kInvalidArgument);
}

TEST_F(WorkspaceTest, RejectsEmptyPathsAndPathsWithNul) {
  Workspace workspace(root_);
  auto empty = workspace.resolve("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, ErrorKind::kInvalidArgument);
  auto nul = workspace.resolve(std::string_view("a\0b", 3));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().kind, ErrorKind::kInvalidArgument);
}

TEST_F(WorkspaceTest, DisplayIsRelativeInsideAndAbsoluteOutside) {
  Workspace workspace(root_);
  EXPECT_EQ(workspace.display(root_ / "src" / "a.cpp"), "src/a.cpp");
  EXPECT_EQ(workspace.display(outside_ / "b"), (outside_ / "b").string());
}

TEST_F(WorkspaceTest, RootWithTrailingSlashIsNormalised) {
  Workspace workspace(root_.string() + "/");
  EXPECT_EQ(workspace.root(), root_);
}

TEST_F(WorkspaceTest, CheckAccessApprovesReadsInsideWithoutAskingTheGate) {
  Workspace workspace(root_);
  RecordingGate gate;
  ToolContext context;
  context.workspace = &workspace;
  context.approvals = &gate;
  ResolvedPath path = workspace.resolve("a.txt").value();
  EXPECT_TRUE(
      check_access(workspace, context, path, ActionKind::kRead, "read_file", "read a").ok());
  EXPECT_TRUE(gate.requests.empty());
}

TEST_F(WorkspaceTest, CheckAccessAsksWriteInsideAndOutsideWorkspaceOutside) {
  Workspace workspace(root_);
  RecordingGate gate;
  ToolContext context;
  context.workspace = &workspace;
  context.approvals = &gate;
  ResolvedPath inside = workspace.resolve("a.txt").value();
  ResolvedPath outside = workspace.resolve("../x").value();
  ASSERT_TRUE(check_access(workspace, context, inside, ActionKind::kWrite, "t", "w").ok());
  ASSERT_TRUE(check_access(workspace, context, outside, ActionKind::kRead, "t", "r").ok());
  ASSERT_EQ(gate.requests.size(), 2u);
  EXPECT_EQ(gate.requests[0].kind, ActionKind::kWrite);
  EXPECT_EQ(gate.requests[0].tool, "t");
  EXPECT_EQ(gate.requests[0].description, "w");
  EXPECT_EQ(gate.requests[1].kind, ActionKind::kOutsideWorkspace);
}

TEST_F(WorkspaceTest, CheckAccessWithoutGateNeedsDecision) {
  Workspace workspace(root_);
  ToolContext context;
  context.workspace = &workspace;
  ResolvedPath inside = workspace.resolve("a.txt").value();
  Status status = check_access(workspace, context, inside, ActionKind::kWrite, "t", "w");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kNeedsDecision);
}

TEST(ToolArgs, MissingRequiredFieldIsNamed) {
  auto result = required_string(json::object(), "path");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr("'path'"));
}

TEST(ToolArgs, WrongTypeIsNamedWithWhatArrived) {
  auto result = required_string(json{{"path", 42}}, "path");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_THAT(result.error().message, HasSubstr("'path'"));
  EXPECT_THAT(result.error().message, HasSubstr("42"));
}

TEST(ToolArgs, NonObjectArgumentsAreRefused) {
  EXPECT_FALSE(require_object(json::array()).ok());
  EXPECT_FALSE(required_string(json("path"), "path").ok());
  EXPECT_TRUE(require_object(json::object()).ok());
}

TEST(ToolArgs, IntegersMayArriveAsStrings) {
  EXPECT_EQ(optional_integer(json{{"n", 12}}, "n").value(), 12);
  EXPECT_EQ(optional_integer(json{{"n", "12"}}, "n").value(), 12);
  EXPECT_EQ(optional_integer(json{{"n", " 7 "}}, "n").value(), 7);
  EXPECT_EQ(optional_integer(json{{"n", 3.0}}, "n").value(), 3);
  EXPECT_EQ(optional_integer(json::object(), "n").value(), std::nullopt);
  EXPECT_EQ(optional_integer(json{{"n", nullptr}}, "n").value(), std::nullopt);
}

TEST(ToolArgs, NonIntegersAreRefusedNamingTheField) {
  for (const json& value : {json("abc"), json("12abc"), json(1.5), json(true), json::array()}) {
    auto result = optional_integer(json{{"start_line", value}}, "start_line");
    ASSERT_FALSE(result.ok()) << value.dump();
    EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_THAT(result.error().message, HasSubstr("'start_line'"));
  }
}

TEST(ToolArgs, BooleansMayArriveAsStrings) {
  EXPECT_EQ(optional_bool(json{{"b", true}}, "b").value(), true);
  EXPECT_EQ(optional_bool(json{{"b", "false"}}, "b").value(), false);
  EXPECT_EQ(optional_bool(json::object(), "b").value(), std::nullopt);
  auto bad = optional_bool(json{{"b", "yes please"}}, "b");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("'b'"));
}

TEST(ActionKindName, NamesEveryKind) {
  EXPECT_STREQ(action_kind_name(ActionKind::kRead), "read");
  EXPECT_STREQ(action_kind_name(ActionKind::kWrite), "write");
  EXPECT_STREQ(action_kind_name(ActionKind::kCommand), "command");
  EXPECT_STREQ(action_kind_name(ActionKind::kOutsideWorkspace), "outside_workspace");
}

TEST(WorkspaceTools, OffersTheSevenToolsWithConsistentSchemas) {
  std::vector<ToolDefinition> tools = workspace_tools();
  std::set<std::string> names;
  for (const ToolDefinition& tool : tools) {
    names.insert(tool.name);
    EXPECT_FALSE(tool.description.empty()) << tool.name;
    EXPECT_TRUE(static_cast<bool>(tool.run)) << tool.name;
    ASSERT_EQ(tool.input_schema.value("type", ""), "object") << tool.name;
    const json& properties = tool.input_schema.at("properties");
    for (const json& required : tool.input_schema.at("required")) {
      EXPECT_TRUE(properties.contains(required.get<std::string>()))
          << tool.name << " requires undeclared " << required;
    }
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"read_file", "write_to_file", "apply_diff", "insert_content",
                                   "search_files", "list_files", "execute_command"}));
}

// Malformed arguments never reach the file system or the shell, whatever the tool.
TEST_F(WorkspaceTest, EveryToolNamesTheFieldOfMalformedArguments) {
  Workspace workspace(root_);
  RecordingGate gate;
  ToolContext context;
  context.workspace = &workspace;
  context.approvals = &gate;
  for (const ToolDefinition& tool : workspace_tools()) {
    std::string first_required = tool.input_schema.at("required").at(0).get<std::string>();
    auto missing = tool.run(json::object(), context);
    ASSERT_FALSE(missing.ok()) << tool.name;
    EXPECT_EQ(missing.error().kind, ErrorKind::kInvalidArgument) << tool.name;
    EXPECT_THAT(missing.error().message, HasSubstr("'" + first_required + "'")) << tool.name;

    auto numeric = tool.run(json{{first_required, 17}}, context);
    ASSERT_FALSE(numeric.ok()) << tool.name;
    EXPECT_EQ(numeric.error().kind, ErrorKind::kInvalidArgument) << tool.name;
    EXPECT_THAT(numeric.error().message, HasSubstr("'" + first_required + "'")) << tool.name;

    auto not_object = tool.run(json::array({"a"}), context);
    ASSERT_FALSE(not_object.ok()) << tool.name;
    EXPECT_EQ(not_object.error().kind, ErrorKind::kInvalidArgument) << tool.name;
  }
  EXPECT_TRUE(gate.requests.empty());
}

TEST_F(WorkspaceTest, ToolsNameAnEmptyPath) {
  Workspace workspace(root_);
  RecordingGate gate;
  ToolContext context;
  context.workspace = &workspace;
  context.approvals = &gate;
  for (const ToolDefinition& tool : workspace_tools()) {
    if (!tool.input_schema.at("properties").contains("path")) continue;
    json args = {{"path", ""}, {"content", "x"}, {"diff", "x"}, {"line", 0}, {"regex", "x"}};
    auto result = tool.run(args, context);
    ASSERT_FALSE(result.ok()) << tool.name;
    EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument) << tool.name;
    EXPECT_THAT(result.error().message, HasSubstr("'path'")) << tool.name;
  }
}

}  // namespace
}  // namespace joey::agent
