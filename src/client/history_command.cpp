#include "client/history_command.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/events.h"
#include "client/cloud_history.h"
#include "client/exit_codes.h"
#include "client/history_store.h"
#include "client/message_codec.h"

namespace joey::client {

namespace {

using nlohmann::json;

struct HistoryFlags {
  bool json_output = false;
  int limit = 0;
  std::string task_id;
  std::vector<std::string> query_terms;
  bool all = false;
};

std::string joined(const std::vector<std::string>& terms) {
  std::string query;
  for (const std::string& term : terms) {
    if (!query.empty()) query += ' ';
    query += term;
  }
  return query;
}

HistoryFlags with_limit(int limit) {
  HistoryFlags flags;
  flags.limit = limit;
  return flags;
}

struct CommandState {
  HistoryCommandOptions options;
  int* exit_code = nullptr;
  HistoryFlags list = with_limit(20);
  HistoryFlags show;
  HistoryFlags search = with_limit(10);
  HistoryFlags remove;
  bool cloud = false;  // --cloud: the joey Cloud's copy
};

// `joey history --cloud ACTION`: sets the exit code and returns true when --cloud was given.
bool ran_in_cloud(CommandState& state, const char* action, const HistoryFlags& flags) {
  if (!state.cloud) return false;
  CloudHistoryRequest request;
  request.action = action;
  request.limit = flags.limit > 0 ? flags.limit : 20;
  request.query = joined(flags.query_terms);
  request.task_id = flags.task_id;
  request.json_output = flags.json_output;
  *state.exit_code = run_cloud_history(request, state.options);
  return true;
}

std::string dump(const json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

void print_error(std::FILE* err, const std::string& message) {
  std::fprintf(err, "joey: error: %s\n", message.c_str());
}

// "2026-11-25T15:44:19.123Z" → "2026-11-25 15:44".
std::string short_time(const std::string& timestamp) {
  std::string shown = timestamp.substr(0, 16);
  if (shown.size() > 10 && shown[10] == 'T') shown[10] = ' ';
  return shown;
}

std::string single_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

std::string thousands(int64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  size_t first = digits[0] == '-' ? 1 : 0;
  for (size_t index = 0; index < digits.size(); ++index) {
    if (index > first && (digits.size() - index) % 3 == 0) out += ',';
    out += digits[index];
  }
  return out;
}

std::string cost_text(const std::optional<double>& cost) {
  if (!cost) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "$%.4f", *cost);
  return text;
}

int64_t total_tokens(const agent::UsageTotals& totals) {
  const llm::Usage& usage = totals.usage;
  return usage.input_tokens + usage.output_tokens + usage.cache_read_tokens +
         usage.cache_write_tokens;
}

json summary_to_json(const TaskSummary& summary) {
  const llm::Usage& usage = summary.totals.usage;
  return {{"id", summary.task_id},
          {"created_at", summary.created_at},
          {"updated_at", summary.updated_at},
          {"title", summary.title},
          {"status", summary.status},
          {"workspace", summary.workspace},
          {"mode", summary.mode},
          {"provider", summary.provider},
          {"model", summary.model},
          {"requests", summary.requests},
          {"input_tokens", usage.input_tokens},
          {"output_tokens", usage.output_tokens},
          {"cache_read_tokens", usage.cache_read_tokens},
          {"cache_write_tokens", usage.cache_write_tokens},
          {"cost_usd", summary.totals.cost_usd ? json(*summary.totals.cost_usd) : json(nullptr)},
          {"detail", summary.detail},
          {"messages", summary.message_count}};
}

Result<std::unique_ptr<HistoryStore>> open_store(const HistoryCommandOptions& options) {
  std::filesystem::path path = options.database;
  if (path.empty()) path = TRY(default_history_path());
  return HistoryStore::open(path);
}

int list_tasks(HistoryStore& store, const HistoryFlags& flags, const CommandState& state) {
  Result<std::vector<TaskSummary>> tasks = store.list(flags.limit);
  if (!tasks.ok()) {
    print_error(state.options.err, tasks.error().message);
    return kExitFailed;
  }
  std::FILE* out = state.options.out;
  if (flags.json_output) {
    json array = json::array();
    for (const TaskSummary& summary : *tasks) array.push_back(summary_to_json(summary));
    std::fprintf(out, "%s\n", dump(array).c_str());
    return kExitOk;
  }
  if (tasks->empty()) {
    std::fprintf(out, "No tasks in the history yet.\n");
    return kExitOk;
  }
  std::fprintf(out, "%-24s  %-14s  %-16s  %10s  %9s  %s\n", "ID", "STATUS", "CREATED (UTC)",
               "TOKENS", "COST", "TITLE");
  for (const TaskSummary& summary : *tasks) {
    std::fprintf(out, "%-24s  %-14s  %-16s  %10s  %9s  %s\n", summary.task_id.c_str(),
                 summary.status.c_str(), short_time(summary.created_at).c_str(),
                 thousands(total_tokens(summary.totals)).c_str(),
                 cost_text(summary.totals.cost_usd).c_str(), summary.title.c_str());
  }
  return kExitOk;
}

void print_message(std::FILE* out, size_t seq, const llm::Message& message) {
  std::fprintf(out, "\n── %zu %s ──\n", seq, role_name(message.role));
  if (!message.text.empty()) std::fprintf(out, "%s\n", message.text.c_str());
  for (const llm::ToolCall& call : message.tool_calls) {
    std::fprintf(out, "→ %s %s\n", call.name.c_str(), call.arguments.c_str());
  }
  for (const llm::ToolResult& result : message.tool_results) {
    std::fprintf(out, "← %s%s\n%s\n", result.tool_name.c_str(), result.is_error ? " (error)" : "",
                 result.content.c_str());
  }
}

void print_task(std::FILE* out, const TaskRecord& record) {
  const TaskSummary& summary = record.summary;
  std::fprintf(out, "Task      %s (%s)\n", summary.task_id.c_str(), summary.status.c_str());
  std::fprintf(out, "Title     %s\n", summary.title.c_str());
  std::fprintf(out, "Created   %s UTC, updated %s UTC\n", short_time(summary.created_at).c_str(),
               short_time(summary.updated_at).c_str());
  std::fprintf(out, "Workspace %s\n", summary.workspace.c_str());
  std::fprintf(out, "Model     %s / %s, mode %s\n", summary.provider.c_str(), summary.model.c_str(),
               summary.mode.c_str());
  std::fprintf(out, "Usage     %lld requests, %s\n", static_cast<long long>(summary.requests),
               agent::format_usage_line(summary.totals).c_str());
  if (!summary.detail.empty()) std::fprintf(out, "Result    %s\n", summary.detail.c_str());
  for (size_t seq = 0; seq < record.messages.size(); ++seq) {
    print_message(out, seq, record.messages[seq]);
  }
}

int show_task(HistoryStore& store, const HistoryFlags& flags, const CommandState& state) {
  Result<TaskRecord> record = store.get(flags.task_id);
  if (!record.ok()) {
    print_error(state.options.err, record.error().message);
    return kExitFailed;
  }
  if (flags.json_output) {
    json object = summary_to_json(record->summary);
    object["message_list"] = json::array();
    json& messages = object["message_list"];
    for (const llm::Message& message : record->messages) {
      messages.push_back(message_to_json(message));
    }
    std::fprintf(state.options.out, "%s\n", dump(object).c_str());
    return kExitOk;
  }
  print_task(state.options.out, *record);
  return kExitOk;
}

int search_tasks(HistoryStore& store, const HistoryFlags& flags, const CommandState& state) {
  std::string query = joined(flags.query_terms);
  Result<std::vector<SearchHit>> hits = store.search(query, flags.limit);
  if (!hits.ok()) {
    print_error(state.options.err, hits.error().message);
    return kExitFailed;
  }
  std::FILE* out = state.options.out;
  if (flags.json_output) {
    json array = json::array();
    for (const SearchHit& hit : *hits) {
      array.push_back({{"id", hit.task_id},
                       {"title", hit.title},
                       {"created_at", hit.created_at},
                       {"status", hit.status},
                       {"seq", hit.seq},
                       {"role", hit.role},
                       {"snippet", hit.snippet},
                       {"score", hit.score},
                       {"matching_messages", hit.matching_messages}});
    }
    std::fprintf(out, "%s\n", dump(array).c_str());
    return kExitOk;
  }
  if (hits->empty()) {
    std::fprintf(out, "No task in the history matches \"%s\".\n", query.c_str());
    return kExitOk;
  }
  for (const SearchHit& hit : *hits) {
    std::fprintf(out, "%s  %s  %s  %s\n", hit.task_id.c_str(), hit.status.c_str(),
                 short_time(hit.created_at).c_str(), hit.title.c_str());
    std::fprintf(out, "    %s #%lld: %s", hit.role.c_str(), static_cast<long long>(hit.seq),
                 single_line(hit.snippet).c_str());
    if (hit.matching_messages > 1) {
      std::fprintf(out, "  (%lld matching messages)",
                   static_cast<long long>(hit.matching_messages));
    }
    std::fprintf(out, "\n");
  }
  return kExitOk;
}

int delete_tasks(HistoryStore& store, const HistoryFlags& flags, const CommandState& state) {
  std::FILE* out = state.options.out;
  if (flags.all) {
    Result<int64_t> count = store.delete_all();
    if (!count.ok()) {
      print_error(state.options.err, count.error().message);
      return kExitFailed;
    }
    std::fprintf(out, "Deleted %lld task%s from the history.\n", static_cast<long long>(*count),
                 *count == 1 ? "" : "s");
    return kExitOk;
  }
  Result<TaskSummary> deleted = store.delete_task(flags.task_id);
  if (!deleted.ok()) {
    print_error(state.options.err, deleted.error().message);
    return kExitFailed;
  }
  std::fprintf(out, "Deleted task %s (%s, %lld messages).\n", deleted->task_id.c_str(),
               deleted->title.c_str(), static_cast<long long>(deleted->message_count));
  return kExitOk;
}

// The one boundary of each subcommand: opens the store, runs, maps errors to status.
template <typename Action>
void run_with_store(CommandState& state, Action action) {
  Result<std::unique_ptr<HistoryStore>> store = open_store(state.options);
  if (!store.ok()) {
    print_error(state.options.err, store.error().message);
    *state.exit_code = kExitFailed;
    return;
  }
  *state.exit_code = action(**store);
}

void add_list(CLI::App& history, const std::shared_ptr<CommandState>& state) {
  CLI::App* list = history.add_subcommand("list", "List stored tasks, most recent first");
  list->add_flag("--json", state->list.json_output, "print a JSON array");
  list->add_option("--limit", state->list.limit, "at most N tasks (default 20)")
      ->check(CLI::Range(1, 1000000));
  list->callback([state] {
    if (ran_in_cloud(*state, "list", state->list)) return;
    run_with_store(*state,
                   [&](HistoryStore& store) { return list_tasks(store, state->list, *state); });
  });
}

void add_show(CLI::App& history, const std::shared_ptr<CommandState>& state) {
  CLI::App* show = history.add_subcommand("show", "Show a task and its messages");
  show->add_option("id", state->show.task_id, "task id (see joey history list)")->required();
  show->add_flag("--json", state->show.json_output, "print one JSON object");
  show->callback([state] {
    if (ran_in_cloud(*state, "show", state->show)) return;
    run_with_store(*state,
                   [&](HistoryStore& store) { return show_task(store, state->show, *state); });
  });
}

void add_search(CLI::App& history, const std::shared_ptr<CommandState>& state) {
  CLI::App* search = history.add_subcommand("search", "Full-text search over every message");
  search->add_option("query", state->search.query_terms, "words to find (all of them)")->required();
  search->add_option("--limit", state->search.limit, "at most N tasks (default 10)")
      ->check(CLI::Range(1, 1000000));
  search->add_flag("--json", state->search.json_output, "print a JSON array");
  search->callback([state] {
    if (ran_in_cloud(*state, "search", state->search)) return;
    run_with_store(*state,
                   [&](HistoryStore& store) { return search_tasks(store, state->search, *state); });
  });
}

void add_delete(CLI::App& history, const std::shared_ptr<CommandState>& state) {
  CLI::App* remove = history.add_subcommand("delete", "Delete a task, or every task with --all");
  remove->add_option("id", state->remove.task_id, "task id (see joey history list)");
  remove->add_flag("--all", state->remove.all, "delete every stored task");
  remove->callback([state] {
    const HistoryFlags& flags = state->remove;
    if (flags.all == !flags.task_id.empty()) {
      print_error(state->options.err,
                  "joey history delete needs a task id or --all (not both), e.g. "
                  "joey history delete 20261125T154419-1a2b3c4d");
      *state->exit_code = kExitUsage;
      return;
    }
    if (state->cloud && flags.all) {
      print_error(state->options.err,
                  "joey history --cloud delete takes one task id; --all is for the local history");
      *state->exit_code = kExitUsage;
      return;
    }
    if (ran_in_cloud(*state, "delete", flags)) return;
    run_with_store(*state, [&](HistoryStore& store) { return delete_tasks(store, flags, *state); });
  });
}

}  // namespace

void register_history_command(CLI::App& app, int& exit_code) {
  register_history_command(app, exit_code, HistoryCommandOptions{});
}

void register_history_command(CLI::App& app, int& exit_code, const HistoryCommandOptions& options) {
  auto state = std::make_shared<CommandState>();
  state->options = options;
  state->exit_code = &exit_code;
  CLI::App* history = app.add_subcommand(
      "history", "List, show, search and delete past tasks (kept locally, or --cloud)");
  history->require_subcommand(1);
  history->add_flag("--cloud", state->cloud,
                    "the joey Cloud's copy of your tasks (signed in with `joey login`)");
  add_list(*history, state);
  add_show(*history, state);
  add_search(*history, state);
  add_delete(*history, state);
}

}  // namespace joey::client
