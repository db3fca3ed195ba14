#include "client/interactive_session.h"

#include <langinfo.h>
#include <unistd.h>

#include <clocale>
#include <cstring>

#include <climits>
#include <cstdio>
#include <optional>

#include "base/paths.h"
#include "base/strings.h"
#include "client/exit_codes.h"
#include "client/history_store.h"
#include "client/interactive_events.h"
#include "client/line_editor.h"
#include "client/telemetry_events.h"
#include "client/terminal.h"

namespace joey::client {
namespace {

constexpr const char* kHelp =
    "Type a message for the model; the conversation goes on until /clear.\n"
    "  /mode [SLUG]      show the modes, or switch to one\n"
    "  /model [ID]       show the model, or switch to another of the same provider\n"
    "  /undo             put the files back as they were before the last change\n"
    "  /cost             tokens and cost of this conversation and of the session\n"
    "  /history [QUERY]  recent tasks, or the ones matching QUERY\n"
    "  /clear            start a new conversation\n"
    "  /help             this list\n"
    "  /exit             end the session (or Ctrl-D)\n"
    "When joey asks: y = yes, n = no, a = always (this session), or type a reply for the "
    "model.\n"
    "Ctrl-C cancels the request in flight; pressed again, it quits.\n";

// The prompt for approvals and questions: everything the person answers goes through
// the session's one LineEditor.
class Asker {
 public:
  Asker(LineEditor& editor, InteractiveEvents& events) : editor_(editor), events_(events) {}

  // Shows `question` and reads one non-empty answer; nullopt at the end of input.
  std::optional<std::string> ask(const std::string& question, const std::string& prompt) {
    events_.pause();
    std::fprintf(stdout, "%s\n", question.c_str());
    std::fflush(stdout);
    while (true) {
      std::optional<std::string> line = editor_.read_line(prompt);
      if (!line) return std::nullopt;
      std::string answer(trim(*line));
      if (!answer.empty()) return answer;
    }
  }

 private:
  LineEditor& editor_;
  InteractiveEvents& events_;
};

// Approvals with a person at the keyboard: the policy decides what it can (a denied
// command stays refused, an allowed one runs); the rest is asked.
class InteractiveApprovalGate final : public agent::ApprovalGate {
 public:
  InteractiveApprovalGate(agent::ApprovalPolicy policy, Asker& asker, bool colour)
      : policy_(std::move(policy)), asker_(asker), colour_(colour) {}

  Status request(const agent::ApprovalRequest& request) override {
    agent::ApprovalVerdict verdict = agent::evaluate_approval(policy_, request);
    if (verdict.decision == agent::ApprovalDecision::kApproved) return ok_status();
    if (verdict.decision == agent::ApprovalDecision::kRefused) {
      return make_error(ErrorKind::kPermissionDenied, verdict.reason);
    }
    const bool once_only = request.kind == agent::ActionKind::kOutsideWorkspace ||
                           request.kind == agent::ActionKind::kProtectedWrite;
    std::string question =
        style("? ", Style::kYellow, colour_) + style(request.tool, Style::kBold, colour_) + " (" +
        agent::action_kind_name(request.kind) + "): " + sanitize_for_terminal(request.description);
    std::optional<std::string> answer =
        asker_.ask(question, once_only ? "allow? [y]es [n]o, or a reply > "
                                       : "allow? [y]es [n]o [a]lways, or a reply > ");
    if (!answer) return make_error(ErrorKind::kCancelled, "the input ended before an answer");
    std::string word = ascii_lower(*answer);
    if (word == "y" || word == "yes") return ok_status();
    if (word == "n" || word == "no") {
      return make_error(ErrorKind::kPermissionDenied, "the user declined: " + request.description);
    }
    if (word == "a" || word == "always") {
      remember(request, once_only);
      return ok_status();
    }
    return make_error(ErrorKind::kPermissionDenied, "the user declined and said: " + *answer);
  }

 private:
  // "always": this kind of action from now on in the session; for commands, those
  // starting with the same program (the command policy checks every part of a chain).
  void remember(const agent::ApprovalRequest& request, bool once_only) {
    switch (request.kind) {
      case agent::ActionKind::kWrite:
        policy_.auto_write = true;
        break;
      case agent::ActionKind::kModeSwitch:
        policy_.auto_mode_switch = true;
        break;
      case agent::ActionKind::kSubtask:
        policy_.auto_subtasks = true;
        break;
      case agent::ActionKind::kMcp:
        policy_.auto_mcp = true;
        break;
      case agent::ActionKind::kCommand: {
        std::string program(trim(request.description));
        program = program.substr(0, program.find_first_of(" \t"));
        if (!program.empty()) {
          policy_.commands.allowed.push_back(program);
          std::fprintf(stdout, "joey: `%s …` commands are approved for this session\n",
                       sanitize_for_terminal(program).c_str());
        }
        break;
      }
      default:
        if (once_only) {
          std::fprintf(stdout,
                       "joey: approved this once; this kind of action is asked every time\n");
        }
        break;
    }
  }

  agent::ApprovalPolicy policy_;
  Asker& asker_;
  bool colour_;
};

// libedit handles a prompt or a line with non-ASCII characters only under a UTF-8
// LC_CTYPE (in the C locale it can crash on "›"). Takes the user's locale, else
// C.UTF-8; false when neither is UTF-8 (then prompts stay ASCII).
bool use_utf8_ctype() {
  for (const char* name : {"", "C.UTF-8"}) {
    if (std::setlocale(LC_CTYPE, name) != nullptr &&
        std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0) {
      return true;
    }
  }
  std::setlocale(LC_CTYPE, "C");
  return false;
}

class Session {
 public:
  Session(AgentRuntime& runtime, InteractiveEvents& events, LineEditor& editor, bool utf8)
      : utf8_(utf8),
        runtime_(runtime),
        events_(events),
        editor_(editor),
        asker_(editor, events),
        approvals_(runtime.approval_policy(), asker_, events.colour()) {}

  int run() {
    print_banner();
    while (true) {
      std::optional<std::string> line = editor_.read_line(prompt());
      if (!line) break;
      std::string text(trim(*line));
      if (text.empty()) continue;
      editor_.add_history(*line);
      if (text[0] == '/') {
        if (!slash_command(text)) break;
        continue;
      }
      send(text);
    }
    events_.pause();
    return kExitOk;
  }

 private:
  std::string prompt() const {
    std::string mode = runtime_.workspace_setup().mode.slug;
    std::string arrow = utf8_ ? " › " : " > ";
    if (!events_.colour()) return mode + arrow;
    // \001 … \002 tell libedit the escape sequences take no room.
    return "\001\033[1;36m\002" + mode + "\001\033[0m\002" + arrow;
  }

  void say(const std::string& text) {
    std::fprintf(stdout, "%s\n", text.c_str());
    std::fflush(stdout);
  }

  void print_banner() {
    const llm::ProviderConfig& provider = runtime_.provider();
    std::fprintf(stderr, "joey %s · %s/%s · mode %s · %s\n", JOEY_VERSION,
                 provider.info.name.c_str(), provider.model.c_str(),
                 runtime_.workspace_setup().mode.slug.c_str(),
                 runtime_.workspace_setup().root.string().c_str());
    std::fprintf(stderr, "Type a message, /help for commands, Ctrl-D to quit.\n");
    std::fflush(stderr);
  }

  void send(const std::string& message) {
    Result<agent::TaskOptions> prepared = runtime_.task_options();
    if (!prepared.ok()) {
      events_.notice(prepared.error().message);
      return;
    }
    agent::TaskOptions options = std::move(prepared).value();
    if (conversation_) {
      options.task_id = conversation_->task_id;
      options.prior_messages = conversation_->messages;
    }
    options.ask_user = [this](const std::string& question) -> Result<std::string> {
      std::optional<std::string> answer = asker_.ask(
          style("? ", Style::kYellow, events_.colour()) + sanitize_for_terminal(question),
          "answer > ");
      if (!answer) return make_error(ErrorKind::kCancelled, "the input ended before an answer");
      return *answer;
    };
    std::string task_id = options.task_id;
    Cancellation& cancellation = runtime_.cancellation();
    cancellation.reset();
    agent::TaskLoop loop(std::move(options), runtime_.model(), events_,
                         runtime_.tool_context(approvals_), runtime_.tools());
    agent::TaskOutcome outcome = loop.run(message);
    events_.pause();
    if (outcome.status == agent::TaskStatus::kCancelled) {
      say("(cancelled; the conversation goes on from before this request)");
    }
    cancellation.reset();
    // Keep the conversation, except for a cancelled turn whose reply never came.
    if (outcome.status != agent::TaskStatus::kCancelled || !conversation_) {
      if (outcome.status == agent::TaskStatus::kCancelled) {
        conversation_ = Conversation{task_id, {}, {}};
      } else {
        Totals totals = conversation_ ? conversation_->totals : Totals{};
        conversation_ = Conversation{task_id, loop.messages(), totals};
      }
    }
    add_totals(conversation_->totals, outcome.totals);
    add_totals(session_totals_, outcome.totals);
  }

  // Sums of the tasks' totals; once one task's cost is unknown, so is the sum's.
  struct Totals {
    agent::UsageTotals sum;
    bool cost_unknown = false;
  };

  static void add_totals(Totals& into, const agent::UsageTotals& more) {
    into.sum.usage += more.usage;
    if (!more.cost_usd) {
      if (more.usage.input_tokens + more.usage.output_tokens > 0) into.cost_unknown = true;
      return;
    }
    into.sum.cost_usd = into.sum.cost_usd.value_or(0) + *more.cost_usd;
  }

  // false: end the session.
  bool slash_command(const std::string& text) {
    std::string name = text.substr(0, text.find_first_of(" \t"));
    std::string argument(trim(name.size() < text.size() ? text.substr(name.size()) : ""));
    if (name == "/exit" || name == "/quit") return false;
    if (name == "/help") {
      std::fputs(kHelp, stdout);
    } else if (name == "/mode") {
      mode_command(argument);
    } else if (name == "/model") {
      model_command(argument);
    } else if (name == "/undo") {
      undo_command();
    } else if (name == "/cost") {
      cost_command();
    } else if (name == "/history") {
      history_command(argument);
    } else if (name == "/clear") {
      conversation_.reset();
      undo_.reset();
      say("Started a new conversation.");
    } else {
      say("joey: unknown command " + sanitize_for_terminal(name) + "; /help lists them");
    }
    std::fflush(stdout);
    return true;
  }

  void mode_command(const std::string& slug) {
    if (slug.empty()) {
      for (const agent::Mode& mode : runtime_.workspace_setup().modes) {
        bool current = mode.slug == runtime_.workspace_setup().mode.slug;
        say(std::string(current ? "* " : "  ") + mode.slug + " — " + mode.name);
      }
      return;
    }
    Status switched = runtime_.set_mode(slug);
    say(switched.ok() ? "Mode: " + slug : "joey: " + switched.error().message);
  }

  void model_command(const std::string& model) {
    if (model.empty()) {
      say("Model: " + runtime_.provider().info.name + "/" + runtime_.provider().model);
      return;
    }
    Status switched = runtime_.set_model(model);
    say(switched.ok() ? "Model: " + runtime_.provider().info.name + "/" + runtime_.provider().model
                      : "joey: " + switched.error().message);
  }

  void cost_command() {
    if (!conversation_) {
      say("No conversation yet.");
    } else {
      say("This conversation: " + usage_line(conversation_->totals));
    }
    say("This session:      " + usage_line(session_totals_));
  }

  static std::string usage_line(const Totals& totals) {
    agent::UsageTotals shown = totals.sum;
    if (totals.cost_unknown) shown.cost_usd.reset();
    return agent::format_usage_line(shown);
  }

  void history_command(const std::string& query) {
    Result<std::filesystem::path> path = default_history_path();
    Result<std::unique_ptr<HistoryStore>> store =
        path.ok() ? HistoryStore::open(*path) : Result<std::unique_ptr<HistoryStore>>(path.error());
    if (!store.ok()) {
      say("joey: " + store.error().message);
      return;
    }
    if (query.empty()) {
      Result<std::vector<TaskSummary>> tasks = (*store)->list(10);
      if (!tasks.ok()) return say("joey: " + tasks.error().message);
      if (tasks->empty()) return say("No tasks yet.");
      for (const TaskSummary& task : *tasks) {
        say(task.task_id + "  " + task.created_at.substr(0, 16) + "  " + task.status + "  " +
            sanitize_for_terminal(task.title));
      }
    } else {
      Result<std::vector<SearchHit>> hits = (*store)->search(query, 10);
      if (!hits.ok()) return say("joey: " + hits.error().message);
      if (hits->empty()) return say("Nothing matches.");
      for (const SearchHit& hit : *hits) {
        say(hit.task_id + "  " + sanitize_for_terminal(hit.title) + "\n    " +
            sanitize_for_terminal(hit.snippet));
      }
    }
    say("`joey history show ID` prints a task; `joey run --resume ID \"…\"` continues it.");
  }

  // /undo restores the checkpoint taken before the latest change; again, the one before
  // that; after new changes, the latest again.
  void undo_command() {
    agent::Checkpoints* checkpoints = runtime_.checkpoints();
    if (!checkpoints) return say("joey: checkpoints are off in this workspace");
    if (!conversation_) return say("Nothing to undo yet.");
    Result<std::vector<agent::CheckpointInfo>> list = checkpoints->list(conversation_->task_id);
    if (!list.ok()) return say("joey: " + list.error().message);
    int newest = 0;
    for (const agent::CheckpointInfo& info : *list) newest = std::max(newest, info.number);
    bool changed_since = !undo_ || newest > undo_->newest_seen;
    int target = 0;
    for (const agent::CheckpointInfo& info : *list) {
      if (info.label.starts_with("before restoring")) continue;
      int limit = changed_since ? INT_MAX : undo_->restored;
      if (info.number < limit && info.number > target) target = info.number;
    }
    if (target == 0) return say("Nothing (more) to undo in this conversation.");
    Result<agent::RestoreSummary> restored = checkpoints->restore(conversation_->task_id, target);
    if (!restored.ok()) return say("joey: " + restored.error().message);
    undo_ = Undo{target, restored->safety_checkpoint};
    capture_checkpoint_restored(runtime_.telemetry(), runtime_.workspace_setup().mode.slug);
    say("Restored the files to checkpoint " + std::to_string(target) + " (" +
        std::to_string(restored->restored_files) + " written back, " +
        std::to_string(restored->removed_files) +
        " removed). The model is not told; say so if it should know.");
  }

  struct Conversation {
    std::string task_id;
    std::vector<llm::Message> messages;
    Totals totals;
  };
  struct Undo {
    int restored = 0;     // the checkpoint /undo restored last
    int newest_seen = 0;  // the newest checkpoint then (the safety one)
  };

  bool utf8_;
  AgentRuntime& runtime_;
  InteractiveEvents& events_;
  LineEditor& editor_;
  Asker asker_;
  InteractiveApprovalGate approvals_;
  std::optional<Conversation> conversation_;
  std::optional<Undo> undo_;
  Totals session_totals_;
};

}  // namespace

int run_interactive(RunFlags flags) {
  const bool terminal = stdin_is_terminal();
  InteractiveEvents* events = nullptr;
  Result<std::unique_ptr<AgentRuntime>> runtime =
      AgentRuntime::open(std::move(flags), [&](const RunFlags&) {
        auto made = std::make_unique<InteractiveEvents>(
            stdout, stderr, colour_enabled(STDOUT_FILENO), terminal && isatty(STDERR_FILENO));
        events = made.get();
        return made;
      });
  if (!runtime.ok()) return error_exit(runtime.error());
  Result<std::filesystem::path> home = joey_home();
  std::filesystem::path history_file = home.ok() ? *home / "session_history" : "";
  bool utf8 = terminal ? use_utf8_ctype() : true;
  std::unique_ptr<LineEditor> editor = LineEditor::open(history_file, terminal);
  Session session(**runtime, *events, *editor, utf8);
  return session.run();
}

}  // namespace joey::client
