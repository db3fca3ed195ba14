#include "client/checkpoints_command.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/checkpoints.h"
#include "base/paths.h"
#include "client/exit_codes.h"
#include "client/settings.h"
#include "client/telemetry.h"
#include "client/telemetry_events.h"

namespace joey::client {
namespace {

// What the parsed command line holds; shared by the subcommands' callbacks.
struct CheckpointsInvocation {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::filesystem::path joey_home;
  std::string cwd;
  std::string task;
  int number = 0;
  std::optional<int> other_number;
  bool json = false;

  int fail(int exit_code, const std::string& message) const {
    *err << "joey: error: " << message << "\n";
    return exit_code;
  }

  int exit_for(const Error& error) const {
    return fail(error.kind == ErrorKind::kInvalidArgument ? kExitUsage : kExitFailed,
                error.message);
  }

  Result<agent::Checkpoints> open() const {
    std::error_code error;
    std::filesystem::path root =
        cwd.empty() ? std::filesystem::current_path(error) : std::filesystem::path(cwd);
    if (error) return make_error(ErrorKind::kIo, "finding the workspace: " + error.message());
    if (!std::filesystem::is_directory(root, error)) {
      return make_error(ErrorKind::kInvalidArgument, "--cwd " + cwd + ": not a directory");
    }
    agent::CheckpointOptions options;
    options.joey_home = joey_home;
    return agent::Checkpoints::open(root, options);
  }

  int run_list() const {
    Result<agent::Checkpoints> checkpoints = open();
    if (!checkpoints.ok()) return exit_for(checkpoints.error());
    Result<std::vector<agent::CheckpointInfo>> list = checkpoints->list(task);
    if (!list.ok()) return exit_for(list.error());
    if (json) {
      nlohmann::json array = nlohmann::json::array();
      for (const agent::CheckpointInfo& info : *list) {
        array.push_back({{"n", info.number},
                         {"label", info.label},
                         {"time", info.time},
                         {"files_changed", info.files_changed}});
      }
      *out << array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    for (const agent::CheckpointInfo& info : *list) {
      *out << info.number << "\t" << info.time << "\t" << info.files_changed
           << (info.files_changed == 1 ? " file changed" : " files changed") << "\t" << info.label
           << "\n";
    }
    return kExitOk;
  }

  int run_diff() const {
    Result<agent::Checkpoints> checkpoints = open();
    if (!checkpoints.ok()) return exit_for(checkpoints.error());
    Result<std::string> diff = checkpoints->diff(task, number, other_number);
    if (!diff.ok()) return exit_for(diff.error());
    *out << *diff;
    return kExitOk;
  }

  int run_restore() const {
    Result<agent::Checkpoints> checkpoints = open();
    if (!checkpoints.ok()) return exit_for(checkpoints.error());
    Result<agent::RestoreSummary> summary = checkpoints->restore(task, number);
    if (!summary.ok()) return exit_for(summary.error());
    *out << "restored checkpoint " << number << " of task " << task << ": "
         << summary->restored_files << " file(s) written back, " << summary->removed_files
         << " file(s) removed\n"
         << "the state before the restore is checkpoint " << summary->safety_checkpoint
         << " (joey checkpoints restore " << task << " " << summary->safety_checkpoint
         << " undoes this)\n";
    capture_restore(checkpoints->workspace_root());
    return kExitOk;
  }

  // Anonymous checkpoint_restored event (P4), under the same settings as a task: off
  // means nothing is sent. Telemetry never fails the command.
  void capture_restore(const std::filesystem::path& root) const {
    Result<std::filesystem::path> home = joey_home;
    if (joey_home.empty()) home = ::joey::joey_home();
    if (!home.ok()) return;
    Result<Settings> settings = Settings::load(*home, root, settings_environment());
    if (!settings.ok()) return;
    std::shared_ptr<Telemetry> telemetry =
        Telemetry::open(resolve_telemetry_config(*settings, telemetry_environment()), *home);
    telemetry->show_first_run_notice(*err);
    capture_checkpoint_restored(telemetry.get(), settings->get_string("mode"));
    telemetry->shutdown();
  }
};

}  // namespace

void register_checkpoints_command(CLI::App& app, int& exit_code) {
  register_checkpoints_command(app, exit_code, std::cout, std::cerr);
}

void register_checkpoints_command(CLI::App& app, int& exit_code, std::ostream& out,
                                  std::ostream& err, std::filesystem::path joey_home) {
  auto invocation = std::make_shared<CheckpointsInvocation>();
  invocation->out = &out;
  invocation->err = &err;
  invocation->joey_home = std::move(joey_home);
  CLI::App* checkpoints =
      app.add_subcommand("checkpoints", "List, compare and restore a task's workspace snapshots");
  checkpoints->require_subcommand(1);
  checkpoints->add_option("--cwd", invocation->cwd, "workspace directory (default: current)");

  const auto add_task = [&](CLI::App* command) {
    command->add_option("--cwd", invocation->cwd, "workspace directory (default: current)");
    command->add_option("task", invocation->task, "task id")->required();
  };
  const auto add_number = [&](CLI::App* command, const std::string& name) {
    command->add_option(name, invocation->number, "checkpoint number")
        ->required()
        ->check(CLI::PositiveNumber);
  };

  CLI::App* list = checkpoints->add_subcommand("list", "the task's checkpoints, oldest first");
  add_task(list);
  list->add_flag("--json", invocation->json, "print a JSON array");
  list->callback([invocation, &exit_code] { exit_code = invocation->run_list(); });

  CLI::App* diff = checkpoints->add_subcommand(
      "diff", "unified diff from checkpoint N to M (default: the working tree)");
  add_task(diff);
  add_number(diff, "n");
  diff->add_option("m", invocation->other_number, "second checkpoint number")
      ->check(CLI::PositiveNumber);
  diff->callback([invocation, &exit_code] { exit_code = invocation->run_diff(); });

  CLI::App* restore = checkpoints->add_subcommand(
      "restore", "put files back as they were at checkpoint N (files only)");
  add_task(restore);
  add_number(restore, "n");
  restore->callback([invocation, &exit_code] { exit_code = invocation->run_restore(); });
}

}  // namespace joey::client
