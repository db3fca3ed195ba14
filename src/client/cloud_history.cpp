#include "client/cloud_history.h"

#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/paths.h"
#include "client/agent_runtime.h"
#include "client/cloud_client.h"
#include "client/cloud_outbox.h"
#include "client/exit_codes.h"
#include "client/settings.h"

namespace joey::client {
namespace {

using nlohmann::json;

void print_error(std::FILE* err, const std::string& message) {
  std::fprintf(err, "joey: error: %s\n", message.c_str());
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string query_escape(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Unix milliseconds → "2026-11-25 15:44" (UTC); "-" when absent.
std::string time_text(const json& object, const char* key) {
  const std::optional<int64_t> millis = integer_field(object, key);
  if (!millis) return "-";
  const std::time_t seconds = static_cast<std::time_t>(*millis / 1000);
  std::tm utc{};
  if (!gmtime_r(&seconds, &utc)) return "-";
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &utc);
  return text;
}

std::string text_of(const json& object, const char* key) {
  const std::string* value = string_field(object, key);
  return value ? *value : std::string();
}

std::string single_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

Result<CloudClient> signed_in_client(const HistoryCommandOptions& options) {
  std::filesystem::path home = options.joey_home;
  if (home.empty()) home = TRY(joey_home());
  Settings settings = TRY(Settings::load(home, std::nullopt, settings_environment()));
  std::optional<CloudCredentials> credentials =
      TRY(load_cloud_credentials(home, settings, cloud_environment()));
  if (!credentials) {
    return make_error(ErrorKind::kAuth,
                      "not signed in to a joey Cloud: run `joey login --server URL`");
  }
  const std::string url = TRY(normalize_cloud_url(credentials->url, false));
  if (options.make_cloud_transport) {
    return CloudClient(url, credentials->token, options.make_cloud_transport());
  }
  ProviderFlags flags;
  flags.ca_cert = settings.get_string("tls.ca_cert");
  std::unique_ptr<llm::HttpTransport> transport =
      TRY(make_transport(flags, Cancellation::global()));
  return CloudClient(url, credentials->token, std::move(transport));
}

// The answer to METHOD path, or the error to print (404 names the task).
Result<CloudResponse> ask(CloudClient& client, const std::string& method, const std::string& path,
                          const std::string& doing) {
  CloudResponse answer = TRY(client.call(method, path));
  if (answer.ok()) return answer;
  if (answer.status == 401) {
    return make_error(ErrorKind::kAuth, "the joey Cloud at " + client.url() +
                                            " refused the stored token: run `joey login` again");
  }
  return CloudClient::error_for(answer, doing);
}

int print_tasks(const json& answer, const CloudHistoryRequest& request,
                const HistoryCommandOptions& options) {
  const json* tasks = array_field(answer, "tasks");
  if (!tasks) {
    print_error(options.err, "the joey Cloud's task list is not in the expected shape");
    return kExitFailed;
  }
  std::FILE* out = options.out;
  if (request.json_output) {
    std::fprintf(out, "%s\n", dump(*tasks).c_str());
    return kExitOk;
  }
  if (tasks->empty()) {
    if (request.action == "search") {
      std::fprintf(out, "No task in the joey Cloud matches \"%s\".\n", request.query.c_str());
    } else {
      std::fprintf(out, "No tasks in the joey Cloud yet.\n");
    }
    return kExitOk;
  }
  std::fprintf(out, "%-32s  %-16s  %8s  %-10s  %s\n", "ID", "UPDATED (UTC)", "MESSAGES", "MODE",
               "TITLE");
  for (const json& task : *tasks) {
    std::fprintf(out, "%-32s  %-16s  %8lld  %-10s  %s\n", text_of(task, "id").c_str(),
                 time_text(task, "updated_at").c_str(),
                 static_cast<long long>(integer_field(task, "message_count").value_or(0)),
                 text_of(task, "mode").c_str(), single_line(text_of(task, "title")).c_str());
    const std::string snippet = text_of(task, "snippet");
    if (request.action == "search" && !snippet.empty()) {
      std::fprintf(out, "    %s\n", single_line(snippet).c_str());
    }
  }
  return kExitOk;
}

int print_task(const json& answer, const CloudHistoryRequest& request,
               const HistoryCommandOptions& options) {
  const json* task = object_field(answer, "task");
  const json* messages = array_field(answer, "messages");
  if (!task || !messages) {
    print_error(options.err, "the joey Cloud's task is not in the expected shape");
    return kExitFailed;
  }
  std::FILE* out = options.out;
  if (request.json_output) {
    std::fprintf(out, "%s\n", dump(answer).c_str());
    return kExitOk;
  }
  std::fprintf(out, "Task      %s (in the joey Cloud)\n", text_of(*task, "id").c_str());
  std::fprintf(out, "Title     %s\n", text_of(*task, "title").c_str());
  std::fprintf(out, "Created   %s UTC, updated %s UTC\n", time_text(*task, "created_at").c_str(),
               time_text(*task, "updated_at").c_str());
  std::fprintf(out, "Model     %s, mode %s\n", text_of(*task, "model").c_str(),
               text_of(*task, "mode").c_str());
  for (const json& message : *messages) {
    std::fprintf(out, "\n── %lld %s ──\n%s\n",
                 static_cast<long long>(integer_field(message, "seq").value_or(0)),
                 text_of(message, "role").c_str(), text_of(message, "content").c_str());
  }
  return kExitOk;
}

}  // namespace

int run_cloud_history(const CloudHistoryRequest& request, const HistoryCommandOptions& options) {
  if ((request.action == "show" || request.action == "delete") && !is_wire_id(request.task_id)) {
    print_error(options.err, "\"" + request.task_id + "\" is not a task id");
    return kExitUsage;
  }
  Result<CloudClient> client = signed_in_client(options);
  if (!client.ok()) {
    print_error(options.err, client.error().message);
    return client.error().kind == ErrorKind::kInvalidArgument ? kExitUsage : kExitFailed;
  }
  const std::string limit = "limit=" + std::to_string(request.limit);
  if (request.action == "list" || request.action == "search") {
    const std::string path = request.action == "list"
                                 ? "/api/tasks?" + limit
                                 : "/api/tasks?q=" + query_escape(request.query) + "&" + limit;
    Result<CloudResponse> answer = ask(*client, "GET", path, "listing the Cloud's tasks");
    if (!answer.ok()) {
      print_error(options.err, answer.error().message);
      return kExitFailed;
    }
    return print_tasks(answer->body, request, options);
  }
  const std::string path = "/api/tasks/" + request.task_id;
  if (request.action == "delete") {
    Result<CloudResponse> answer =
        ask(*client, "DELETE", path, "deleting task " + request.task_id + " from the Cloud");
    if (!answer.ok()) {
      print_error(options.err, answer.error().message);
      return kExitFailed;
    }
    std::fprintf(options.out, "Deleted task %s from the joey Cloud.\n", request.task_id.c_str());
    return kExitOk;
  }
  Result<CloudResponse> answer =
      ask(*client, "GET", path, "reading task " + request.task_id + " from the Cloud");
  if (!answer.ok()) {
    print_error(options.err, answer.error().message);
    return kExitFailed;
  }
  return print_task(answer->body, request, options);
}

}  // namespace joey::client
