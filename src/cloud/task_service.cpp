#include "cloud/task_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "base/strings.h"
#include "cloud/blind_index.h"

namespace joey::cloud {
namespace {

constexpr const char* kTasksTable = "tasks";
constexpr const char* kMessagesTable = "task_messages";
constexpr size_t kSnippetContext = 80;
constexpr size_t kRowsPerInsert = 100;

bool is_org(const Tenant& tenant) { return tenant.kind == Tenant::Kind::kOrg; }

std::string message_row(const std::string& task_id, int64_t seq) {
  return task_id + ":" + std::to_string(seq);
}

// user_id and org_id values of a row a tenant writes: an organization's rows carry the
// writer's id and :org; a user's rows carry :user and NULL.
std::string tenant_values(const Tenant& tenant) {
  return is_org(tenant) ? "?, :org" : ":user, NULL";
}
std::vector<store::Value> tenant_params(const Tenant& tenant, const User& user) {
  if (is_org(tenant)) return {user.id};
  return {};
}

// The predicate on a tenant table aliased `alias` (or not aliased: "") that keeps the
// tenant's rows. The checker counts every mention of a table's name, so an unaliased
// table's columns are named bare.
std::string tenant_predicate(const Tenant& tenant, const std::string& alias) {
  const std::string prefix = alias.empty() ? "" : alias + ".";
  return is_org(tenant) ? prefix + "org_id = :org"
                        : prefix + "user_id = :user AND " + prefix + "org_id IS NULL";
}

store::Scope scope_for(const Tenant& tenant, const User& user) {
  return is_org(tenant) ? store::Scope::for_org(tenant.id, user.id)
                        : store::Scope::for_user(user.id);
}

bool setting(const nlohmann::json& settings, const char* section, const char* key, bool fallback) {
  const auto s = settings.find(section);
  if (s == settings.end() || !s->is_object()) return fallback;
  const auto v = s->find(key);
  return v != s->end() && v->is_boolean() ? v->get<bool>() : fallback;
}

bool task_sync_enabled(const nlohmann::json& user_settings) {
  const auto v = user_settings.find("task_sync_enabled");
  return v == user_settings.end() || !v->is_boolean() || v->get<bool>();
}

// A piece of `content` around the first query word found (ASCII case-insensitive),
// cut at UTF-8 character boundaries, "…" marking cuts.
std::string make_snippet(const std::string& content, const std::vector<std::string>& words) {
  const std::string lower = ascii_lower(content);
  size_t hit = std::string::npos;
  for (const std::string& word : words) hit = std::min(hit, lower.find(word));
  if (hit == std::string::npos) hit = 0;
  auto boundary = [&content](size_t at) {
    while (at > 0 && at < content.size() &&
           (static_cast<unsigned char>(content[at]) & 0xC0) == 0x80)
      --at;
    return std::min(at, content.size());
  };
  const size_t begin = boundary(hit > kSnippetContext ? hit - kSnippetContext : 0);
  const size_t end = boundary(std::min(content.size(), hit + 2 * kSnippetContext));
  std::string snippet = content.substr(begin, end - begin);
  for (char& c : snippet) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return (begin > 0 ? "…" : "") + snippet + (end < content.size() ? "…" : "");
}

// Blinded terms as stored: each gets a letter in front, because PostgreSQL's parser
// would read a hex term such as "12e45abc…" as a number and split it.
std::string stored_terms(const std::string& blinded) {
  std::string out;
  out.reserve(blinded.size() + blinded.size() / 16 + 1);
  bool at_start = true;
  for (char c : blinded) {
    if (at_start && c != ' ') out += 'x';
    out += c;
    at_start = c == ' ';
  }
  return out;
}

const char* kSummaryColumns =
    "t.id AS id, t.user_id AS user_id, t.org_id AS org_id, t.mode AS mode, t.model AS model, "
    "t.title AS title, t.created_at AS created_at, t.updated_at AS updated_at, "
    "t.message_count AS message_count";

Result<int> parse_cursor(const std::optional<std::string>& cursor, int max_depth) {
  if (!cursor) return 0;
  int offset = 0;
  for (char c : *cursor) {
    if (c < '0' || c > '9' || offset > max_depth) {
      return make_error(ErrorKind::kInvalidArgument, "the cursor is not one this server gave");
    }
    offset = offset * 10 + (c - '0');
  }
  if (cursor->empty() || offset > max_depth) {
    return make_error(ErrorKind::kInvalidArgument, "the cursor is not one this server gave");
  }
  return offset;
}

}  // namespace

nlohmann::json TaskSummary::to_json() const {
  nlohmann::json json = {{"id", id},
                         {"user_id", user_id},
                         {"organization_id", org_id ? nlohmann::json(*org_id) : nullptr},
                         {"title", title},
                         {"mode", mode},
                         {"model", model},
                         {"created_at", created_at},
                         {"updated_at", updated_at},
                         {"message_count", message_count},
                         {"snippet", snippet ? nlohmann::json(*snippet) : nullptr}};
  return json;
}

TaskService::TaskService(store::Database& database, KeyRing& keys, OrgService& orgs,
                         TaskServiceOptions options)
    : database_(database), keys_(keys), orgs_(orgs), options_(std::move(options)) {}

int64_t TaskService::now_ms() const {
  if (options_.clock_ms) return options_.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<TaskService::Gate> TaskService::gate(const User& user) {
  Gate gate;
  std::optional<std::string> org_id;
  {
    store::Transaction tx =
        TRY(database_.begin(store::Scope::for_user(user.id), store::Access::kRead));
    store::Rows settings = TRY(tx.query("SELECT settings FROM users WHERE id = :user"));
    gate.user_settings = nlohmann::json::object();
    if (!settings.empty()) {
      nlohmann::json parsed =
          nlohmann::json::parse(TRY(settings[0].text("settings")), nullptr, false);
      if (parsed.is_object()) gate.user_settings = std::move(parsed);
    }
  }
  org_id = TRY(orgs_.active_org_id(user));
  gate.user_settings["task_sync_enabled"] = task_sync_enabled(gate.user_settings);
  if (org_id) {
    ActiveOrg org{TRY(orgs_.get_org(user, *org_id)), TRY(orgs_.get_settings(user, *org_id))};
    gate.enabled = setting(org.settings, "cloud", "record_task_messages", true);
    gate.org = std::move(org);
  } else {
    gate.enabled = gate.user_settings["task_sync_enabled"].get<bool>();
  }
  return gate;
}

Result<nlohmann::json> TaskService::agent_settings(const User& user) {
  Gate current = TRY(gate(user));
  nlohmann::json organization = nullptr;
  int64_t version = 0;
  if (current.org) {
    nlohmann::json settings = current.org->settings;
    version = settings.value("version", int64_t{0});
    settings.erase("version");
    organization = current.org->info.to_json();
    organization["settings"] = std::move(settings);
    organization["version"] = version;
  }
  return nlohmann::json{
      {"organization", std::move(organization)},
      {"user", {{"id", user.id}, {"settings", current.user_settings}}},
      {"policy", {{"version", version}, {"url", options_.settings_url}}},
      {"collection",
       {{"enabled", current.enabled}, {"source", current.org ? "organization" : "user"}}}};
}

Result<nlohmann::json> TaskService::update_user_settings(const User& user,
                                                         const nlohmann::json& patch) {
  for (const auto& [key, value] : patch.items()) {
    if (key != "task_sync_enabled") {
      return make_error(ErrorKind::kInvalidArgument, "unknown setting \"" + key + "\"");
    }
    if (!value.is_boolean()) {
      return make_error(ErrorKind::kInvalidArgument, "task_sync_enabled must be true or false");
    }
  }
  store::Transaction tx = TRY(database_.begin(store::Scope::for_user(user.id)));
  store::Rows rows = TRY(tx.query("SELECT settings FROM users WHERE id = :user"));
  if (rows.empty()) return make_error(ErrorKind::kNotFound, "no such user");
  nlohmann::json settings = nlohmann::json::parse(TRY(rows[0].text("settings")), nullptr, false);
  if (!settings.is_object()) settings = nlohmann::json::object();
  for (const auto& [key, value] : patch.items()) settings[key] = value;
  TRY(tx.execute("UPDATE users SET settings = ? WHERE id = :user", {settings.dump()}));
  TRY(tx.commit());
  settings["task_sync_enabled"] = task_sync_enabled(settings);
  return nlohmann::json{{"settings", settings}};
}

Result<UploadResult> TaskService::append_messages(const User& user, const std::string& task_id,
                                                  const MessageBatch& batch) {
  const Gate current = TRY(gate(user));
  if (!current.enabled) return UploadResult{UploadOutcome::kCollectionDisabled, 0};
  const Tenant tenant = current.org ? Tenant::org(current.org->info.id) : Tenant::user(user.id);
  const std::string mine = tenant_predicate(tenant, "t");
  store::Transaction tx = TRY(database_.begin(scope_for(tenant, user)));

  store::Rows existing = TRY(tx.query(
      "SELECT t.user_id AS user_id, t.message_count AS message_count FROM tasks t WHERE t.id = ? "
      "AND " +
          mine,
      {task_id}));
  const int64_t now = now_ms();
  int64_t next_seq = 0;
  if (!existing.empty()) {
    if (TRY(existing[0].text("user_id")) != user.id) {
      return make_error(ErrorKind::kAlreadyExists, "another user's task has this id");
    }
    next_seq = TRY(existing[0].integer("message_count"));
    store::Rows seen = TRY(tx.query(
        "SELECT 1 AS seen FROM task_batches b WHERE b.task_id = ? AND b.batch_id = ? AND " +
            tenant_predicate(tenant, "b"),
        {task_id, batch.batch_id}));
    if (!seen.empty()) return UploadResult{UploadOutcome::kDuplicate, 0};
  } else {
    std::vector<store::Value> params = {task_id};
    for (store::Value& value : tenant_params(tenant, user)) params.push_back(std::move(value));
    params.push_back(batch.mode.value_or(""));
    params.push_back(batch.model.value_or(""));
    params.push_back(batch.title ? store::Value(store::Blob{TRY(keys_.seal(
                                       tx, tenant, kTasksTable, "title", task_id, *batch.title))})
                                 : store::Value());
    params.push_back(now);
    params.push_back(now);
    Result<int64_t> inserted = tx.execute(
        "INSERT INTO tasks (id, user_id, org_id, mode, model, title, created_at, updated_at, "
        "message_count) VALUES (?, " +
            tenant_values(tenant) + ", ?, ?, ?, ?, ?, 0)",
        params);
    if (!inserted.ok()) {
      if (inserted.error().kind == ErrorKind::kAlreadyExists) {
        return make_error(ErrorKind::kAlreadyExists,
                          "a task with this id belongs to someone else or another organization");
      }
      return inserted.error();
    }
  }

  const crypto::DataKey key = TRY(keys_.key_for(tx, tenant));
  const BlindIndexKey index = BlindIndexKey::derive(key);
  const bool postgres = database_.backend() == store::Backend::kPostgres;
  const std::vector<store::Value> tenant_row = tenant_params(tenant, user);
  int64_t last_ts = 0;
  // Several rows per statement (one round trip per chunk on PostgreSQL); a chunk stays far
  // below both engines' limits on bound parameters.
  for (size_t first = 0; first < batch.messages.size(); first += kRowsPerInsert) {
    const size_t count = std::min(kRowsPerInsert, batch.messages.size() - first);
    std::string messages_sql =
        "INSERT INTO task_messages (task_id, seq, user_id, org_id, ts, role, sealed) VALUES ";
    std::string search_sql = postgres ? "WITH s AS (INSERT INTO task_search (task_id, seq, "
                                        "user_id, org_id) VALUES "
                                      : "INSERT INTO task_search (task_id, seq, user_id, org_id, "
                                        "terms) VALUES ";
    std::string terms_rows;
    std::vector<store::Value> message_params;
    std::vector<store::Value> search_params;
    std::vector<store::Value> terms_params;
    for (size_t i = 0; i < count; ++i) {
      const TaskMessage& message = batch.messages[first + i];
      const int64_t seq = next_seq++;
      const std::string separator = i == 0 ? "" : ", ";
      messages_sql += separator + "(?, ?, " + tenant_values(tenant) + ", ?, ?, ?)";
      message_params.insert(message_params.end(), {task_id, seq});
      message_params.insert(message_params.end(), tenant_row.begin(), tenant_row.end());
      message_params.insert(
          message_params.end(),
          {message.ts_ms, message.role,
           store::Blob{TRY(keys_.seal(tx, tenant, kMessagesTable, "sealed",
                                      message_row(task_id, seq), message.content))}});
      search_params.insert(search_params.end(), {task_id, seq});
      search_params.insert(search_params.end(), tenant_row.begin(), tenant_row.end());
      std::string terms = stored_terms(index.blind_text(message.content));
      if (postgres) {
        search_sql += separator + "(?, ?, " + tenant_values(tenant) + ")";
        terms_rows += separator + "(CAST(? AS BIGINT), CAST(? AS TEXT))";
        terms_params.insert(terms_params.end(), {seq, std::move(terms)});
      } else {
        search_sql += separator + "(?, ?, " + tenant_values(tenant) + ", ?)";
        search_params.push_back(std::move(terms));
      }
      last_ts = std::max(last_ts, message.ts_ms);
    }
    if (postgres) {
      // The terms go to their own GIN-indexed table under the id each search row got.
      search_sql +=
          " RETURNING id, seq) INSERT INTO task_search_terms (search_id, terms) "
          "SELECT s.id, to_tsvector('simple', v.terms) FROM s JOIN (VALUES " +
          terms_rows + ") AS v (seq, terms) ON v.seq = s.seq";
      search_params.insert(search_params.end(), terms_params.begin(), terms_params.end());
    }
    TRY(tx.execute(messages_sql, message_params));
    TRY(tx.execute(search_sql, search_params));
  }
  TRY(
      tx.execute("UPDATE tasks SET message_count = ?, updated_at = ?, "
                 "mode = CASE WHEN mode = '' THEN ? ELSE mode END, "
                 "model = CASE WHEN model = '' THEN ? ELSE model END "
                 "WHERE id = ? AND " +
                     tenant_predicate(tenant, ""),
                 {next_seq, std::max(now, last_ts), batch.mode.value_or(""),
                  batch.model.value_or(""), task_id}));
  std::vector<store::Value> batch_params = {task_id, batch.batch_id};
  for (store::Value& value : tenant_params(tenant, user)) batch_params.push_back(std::move(value));
  batch_params.push_back(now);
  TRY(
      tx.execute("INSERT INTO task_batches (task_id, batch_id, user_id, org_id, created_at) "
                 "VALUES (?, ?, " +
                     tenant_values(tenant) + ", ?)",
                 batch_params));
  TRY(tx.commit());
  return UploadResult{UploadOutcome::kStored, static_cast<int64_t>(batch.messages.size())};
}

Result<UploadOutcome> TaskService::record_usage(const User& user, const std::string& task_id,
                                                const UsageRecord& usage) {
  const Gate current = TRY(gate(user));
  if (!current.enabled) return UploadOutcome::kCollectionDisabled;
  const Tenant tenant = current.org ? Tenant::org(current.org->info.id) : Tenant::user(user.id);
  store::Transaction tx = TRY(database_.begin(scope_for(tenant, user)));
  std::vector<store::Value> params = {task_id, usage.request_id};
  for (store::Value& value : tenant_params(tenant, user)) params.push_back(std::move(value));
  params.insert(params.end(), {usage.ts_ms, usage.model, usage.input_tokens, usage.output_tokens,
                               usage.cache_read_tokens, usage.cache_write_tokens, usage.cost_usd});
  const int64_t inserted =
      TRY(tx.execute("INSERT INTO task_usage (task_id, request_id, user_id, org_id, ts, model, "
                     "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
                     "cost_usd) VALUES (?, ?, " +
                         tenant_values(tenant) +
                         ", ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, request_id) DO NOTHING",
                     params));
  TRY(tx.commit());
  return inserted == 0 ? UploadOutcome::kDuplicate : UploadOutcome::kStored;
}

Result<std::vector<TaskService::Source>> TaskService::view(
    const User& user, const std::optional<ActiveOrg>& org,
    const std::optional<std::string>& narrow_to_user) {
  std::vector<Source> sources;
  if (!narrow_to_user || *narrow_to_user == user.id) {
    const Tenant tenant = Tenant::user(user.id);
    sources.push_back(Source{tenant, scope_for(tenant, user), tenant_predicate(tenant, "t"), {}});
  }
  if (org) {
    const Tenant tenant = Tenant::org(org->info.id);
    Source source{tenant, scope_for(tenant, user), tenant_predicate(tenant, "t"), {}};
    const bool sees_all = org->info.role != Role::kMember ||
                          setting(org->settings, "cloud", "allow_members_view_all", false);
    if (!sees_all || narrow_to_user) {
      source.predicate += " AND t.user_id = ?";
      source.predicate_params.push_back(sees_all ? *narrow_to_user : user.id);
    }
    if (sees_all || !narrow_to_user || *narrow_to_user == user.id) {
      sources.push_back(std::move(source));
    }
  }
  return sources;
}

Result<TaskSummary> TaskService::summary_from(store::Transaction& tx, const Tenant& tenant,
                                              const store::Row& row) {
  TaskSummary summary;
  summary.id = TRY(row.text("id"));
  summary.user_id = TRY(row.text("user_id"));
  summary.org_id = TRY(row.optional_text("org_id"));
  summary.mode = TRY(row.text("mode"));
  summary.model = TRY(row.text("model"));
  summary.created_at = TRY(row.integer("created_at"));
  summary.updated_at = TRY(row.integer("updated_at"));
  summary.message_count = TRY(row.integer("message_count"));
  if (std::optional<std::string> title = TRY(row.optional_blob("title"))) {
    summary.title = TRY(keys_.open(tx, tenant, kTasksTable, "title", summary.id, *title));
  }
  return summary;
}

Result<std::vector<TaskSummary>> TaskService::list_source(const Source& source,
                                                          const TaskQuery& query, int depth) {
  std::string filters;
  std::vector<store::Value> params;
  if (query.mode) filters += " AND t.mode = ?", params.push_back(*query.mode);
  if (query.from_ms) filters += " AND t.updated_at >= ?", params.push_back(*query.from_ms);
  if (query.to_ms) filters += " AND t.updated_at <= ?", params.push_back(*query.to_ms);

  store::Transaction tx = TRY(database_.begin(source.scope, store::Access::kRead));
  std::vector<store::Value> all;
  std::string sql;
  const std::vector<std::string> words = query_words(query.q);
  if (words.empty()) {
    sql = std::string("SELECT ") + kSummaryColumns + " FROM tasks t WHERE " + source.predicate +
          filters + " ORDER BY t.updated_at DESC, t.id DESC LIMIT ?";
    all = source.predicate_params;
  } else {
    // A tenant without a key has stored nothing yet.
    const std::optional<crypto::DataKey> key = TRY(keys_.current_key(tx, source.tenant));
    if (!key) return std::vector<TaskSummary>();
    const std::vector<std::string> blinded = BlindIndexKey::derive(*key).blind_query(query.q);
    const bool postgres = database_.backend() == store::Backend::kPostgres;
    std::string match;
    for (const std::string& term : blinded) {
      if (!match.empty()) match += postgres ? " & " : " AND ";
      match += postgres ? "x" + term : "\"x" + term + "\"";
    }
    const std::string search_tenant =
        source.tenant.kind == Tenant::Kind::kOrg ? "s.org_id = :org" : "s.user_id = :user";
    // PostgreSQL: the GIN index on task_search_terms finds the matching rows; the join to
    // task_search (row-level security and the tenant predicate) keeps the tenant's.
    const std::string from =
        postgres ? " FROM task_search_terms x JOIN task_search s ON s.id = x.search_id AND " +
                       search_tenant + " JOIN tasks t ON t.id = s.task_id AND " + source.predicate +
                       " WHERE x.terms @@ to_tsquery('simple', ?)"
                 : " FROM task_search s JOIN tasks t ON t.id = s.task_id AND " + source.predicate +
                       " WHERE s.terms MATCH ? AND " + search_tenant;
    sql = std::string("SELECT ") + kSummaryColumns +
          (postgres ? ", -MAX(ts_rank(x.terms, to_tsquery('simple', ?))) AS score"
                    : ", MIN(s.rank) AS score") +
          ", MIN(s.seq) AS hit_seq" + from + filters +
          " GROUP BY t.id ORDER BY score, t.updated_at DESC, t.id DESC LIMIT ?";
    if (postgres) all.push_back(match);
    all.insert(all.end(), source.predicate_params.begin(), source.predicate_params.end());
    all.push_back(match);
  }
  all.insert(all.end(), params.begin(), params.end());
  all.push_back(static_cast<int64_t>(depth));
  store::Rows rows = TRY(tx.query(sql, all));
  std::vector<TaskSummary> tasks;
  std::vector<int64_t> hit_seqs;
  for (const store::Row& row : rows) {
    tasks.push_back(TRY(summary_from(tx, source.tenant, row)));
    if (!words.empty()) hit_seqs.push_back(TRY(row.integer("hit_seq")));
  }
  if (words.empty() || tasks.empty()) return tasks;
  // Every snippet's message in one round trip: each task's first matching message.
  std::string hits;
  std::vector<store::Value> hit_params;
  for (size_t i = 0; i < tasks.size(); ++i) {
    hits += (i == 0 ? "(m.task_id = ? AND m.seq = ?)" : " OR (m.task_id = ? AND m.seq = ?)");
    hit_params.insert(hit_params.end(), {tasks[i].id, hit_seqs[i]});
  }
  store::Rows sealed =
      TRY(tx.query("SELECT m.task_id AS task_id, m.seq AS seq, m.sealed AS sealed "
                   "FROM task_messages m WHERE (" +
                       hits + ") AND " + tenant_predicate(source.tenant, "m"),
                   hit_params));
  std::map<std::pair<std::string, int64_t>, std::string> sealed_by_hit;
  for (const store::Row& row : sealed) {
    sealed_by_hit[{TRY(row.text("task_id")), TRY(row.integer("seq"))}] = TRY(row.blob("sealed"));
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto found = sealed_by_hit.find({tasks[i].id, hit_seqs[i]});
    if (found == sealed_by_hit.end()) continue;
    const std::string content =
        TRY(keys_.open(tx, source.tenant, kMessagesTable, "sealed",
                       message_row(tasks[i].id, hit_seqs[i]), found->second));
    tasks[i].snippet = make_snippet(content, words);
  }
  return tasks;
}

Result<TaskPage> TaskService::list(const User& user, const TaskQuery& query) {
  const int offset = TRY(parse_cursor(query.cursor, options_.max_listing_depth));
  const int depth = std::min(offset + query.limit + 1, options_.max_listing_depth + 1);
  const Gate current = TRY(gate(user));
  std::vector<TaskSummary> merged;
  // Keep each source's rank order; sources interleave by recency (search: best first
  // within each source, sources by their best).
  for (const Source& source : TRY(view(user, current.org, query.user_id))) {
    for (TaskSummary& task : TRY(list_source(source, query, depth))) {
      merged.push_back(std::move(task));
    }
  }
  if (query.q.empty()) {
    std::stable_sort(merged.begin(), merged.end(), [](const TaskSummary& a, const TaskSummary& b) {
      return a.updated_at != b.updated_at ? a.updated_at > b.updated_at : a.id > b.id;
    });
  }
  TaskPage page;
  for (size_t i = offset; i < merged.size() && page.tasks.size() < size_t(query.limit); ++i) {
    page.tasks.push_back(std::move(merged[i]));
  }
  if (merged.size() > size_t(offset + query.limit) &&
      offset + query.limit < options_.max_listing_depth) {
    page.next_cursor = std::to_string(offset + query.limit);
  }
  return page;
}

Result<std::optional<std::pair<TaskService::Source, TaskSummary>>> TaskService::find(
    const User& user, const std::string& task_id) {
  const Gate current = TRY(gate(user));
  for (const Source& source : TRY(view(user, current.org, std::nullopt))) {
    store::Transaction tx = TRY(database_.begin(source.scope, store::Access::kRead));
    std::vector<store::Value> params = {task_id};
    params.insert(params.end(), source.predicate_params.begin(), source.predicate_params.end());
    store::Rows rows = TRY(tx.query(std::string("SELECT ") + kSummaryColumns +
                                        " FROM tasks t WHERE t.id = ? AND " + source.predicate,
                                    params));
    if (!rows.empty()) {
      TaskSummary summary = TRY(summary_from(tx, source.tenant, rows[0]));
      return std::optional(std::pair(source, std::move(summary)));
    }
  }
  return std::optional<std::pair<Source, TaskSummary>>();
}

Result<std::vector<StoredMessage>> TaskService::read_messages(store::Transaction& tx,
                                                              const Tenant& tenant,
                                                              const std::string& task_id) {
  store::Rows rows = TRY(tx.query(
      "SELECT m.seq AS seq, m.ts AS ts, m.role AS role, m.sealed AS sealed FROM task_messages m "
      "WHERE m.task_id = ? AND " +
          tenant_predicate(tenant, "m") + " ORDER BY m.seq",
      {task_id}));
  std::vector<StoredMessage> messages;
  for (const store::Row& row : rows) {
    StoredMessage message;
    message.seq = TRY(row.integer("seq"));
    message.ts = TRY(row.integer("ts"));
    message.role = TRY(row.text("role"));
    message.content = TRY(keys_.open(tx, tenant, kMessagesTable, "sealed",
                                     message_row(task_id, message.seq), TRY(row.blob("sealed"))));
    messages.push_back(std::move(message));
  }
  return messages;
}

Result<TaskTranscript> TaskService::get(const User& user, const std::string& task_id) {
  auto found = TRY(find(user, task_id));
  if (!found) return make_error(ErrorKind::kNotFound, "no such task");
  auto& [source, summary] = *found;
  TaskTranscript transcript{std::move(summary), {}};
  store::Transaction tx = TRY(database_.begin(source.scope, store::Access::kRead));
  transcript.messages = TRY(read_messages(tx, source.tenant, task_id));
  return transcript;
}

Result<TaskTranscript> TaskService::shared_transcript(const Tenant& tenant,
                                                      const std::string& task_id) {
  const store::Scope scope =
      is_org(tenant) ? store::Scope::for_org(tenant.id) : store::Scope::for_user(tenant.id);
  store::Transaction tx = TRY(database_.begin(scope, store::Access::kRead));
  store::Rows rows =
      TRY(tx.query(std::string("SELECT ") + kSummaryColumns + " FROM tasks t WHERE t.id = ? AND " +
                       tenant_predicate(tenant, "t"),
                   {task_id}));
  if (rows.empty()) return make_error(ErrorKind::kNotFound, "no such task");
  TaskTranscript transcript{TRY(summary_from(tx, tenant, rows[0])), {}};
  transcript.messages = TRY(read_messages(tx, tenant, task_id));
  return transcript;
}

Result<int64_t> delete_tenant_tasks(store::Transaction& tx, const Tenant& tenant,
                                    const std::vector<std::string>& task_ids) {
  if (task_ids.empty()) return int64_t{0};
  if (task_ids.size() > kMaxTasksPerDelete) {
    return make_error(ErrorKind::kInvalidArgument, "too many tasks to delete at once");
  }
  std::string in = "?";
  for (size_t i = 1; i < task_ids.size(); ++i) in += ", ?";
  const std::vector<store::Value> params(task_ids.begin(), task_ids.end());
  // task_search has no foreign key on SQLite (a virtual table): delete it by hand; the
  // rest cascade from tasks, but say so explicitly for both backends.
  for (const char* table : {"task_search", "task_messages", "task_batches", "shares"}) {
    TRY(tx.execute(std::string("DELETE FROM ") + table + " WHERE task_id IN (" + in + ") AND " +
                       tenant_predicate(tenant, ""),
                   params));
  }
  return tx.execute(
      "DELETE FROM tasks WHERE id IN (" + in + ") AND " + tenant_predicate(tenant, ""), params);
}

Status TaskService::delete_task_rows(store::Transaction& tx, const Source& source,
                                     const std::string& task_id) {
  TRY(delete_tenant_tasks(tx, source.tenant, {task_id}));
  return ok_status();
}

Status TaskService::remove(const User& user, const std::string& task_id) {
  auto found = TRY(find(user, task_id));
  if (!found) return make_error(ErrorKind::kNotFound, "no such task");
  auto& [source, summary] = *found;
  if (summary.user_id != user.id) {
    // Visible to a member through allow_members_view_all, but only admins delete.
    const OrgInfo org = TRY(orgs_.get_org(user, source.tenant.id));
    if (org.role == Role::kMember) {
      return make_error(ErrorKind::kPermissionDenied,
                        "only the task's owner or an organization admin can delete it");
    }
  }
  store::Transaction tx = TRY(database_.begin(source.scope));
  TRY(delete_task_rows(tx, source, task_id));
  return tx.commit();
}

Result<int64_t> TaskService::purge_org_tasks(const User& user, const std::string& org_id) {
  const OrgInfo org = TRY(orgs_.get_org(user, org_id));
  if (org.role == Role::kMember) {
    return make_error(ErrorKind::kPermissionDenied,
                      "only an organization's admins can delete its tasks");
  }
  const Tenant tenant = Tenant::org(org_id);
  store::Transaction tx = TRY(database_.begin(scope_for(tenant, user)));
  for (const char* table : {"task_search", "task_messages", "task_batches", "shares"}) {
    TRY(tx.execute(std::string("DELETE FROM ") + table + " WHERE org_id = :org"));
  }
  const int64_t deleted = TRY(tx.execute("DELETE FROM tasks WHERE org_id = :org"));
  TRY(orgs_.record_audit(tx, user.id, "tasks.purged", std::to_string(deleted)));
  TRY(tx.commit());
  return deleted;
}

Status TaskService::delete_account_data(const User& user) {
  std::vector<std::pair<std::string, std::string>> memberships;  // org id, role
  {
    store::Transaction tx =
        TRY(database_.begin(store::Scope::for_user(user.id), store::Access::kRead));
    for (const store::Row& row :
         TRY(tx.query("SELECT org_id, role FROM memberships WHERE user_id = :user"))) {
      memberships.emplace_back(TRY(row.text("org_id")), TRY(row.text("role")));
    }
  }
  // Check every organization before deleting anything.
  std::vector<std::string> sole_member_of;
  for (const auto& [org_id, role] : memberships) {
    store::Transaction tx =
        TRY(database_.begin(store::Scope::for_org(org_id, user.id), store::Access::kRead));
    store::Rows counts =
        TRY(tx.query("SELECT COUNT(*) AS members, "
                     "COALESCE(SUM(CASE WHEN role = 'owner' THEN 1 ELSE 0 END), 0) AS owners "
                     "FROM memberships WHERE org_id = :org"));
    const int64_t members = TRY(counts[0].integer("members"));
    const int64_t owners = TRY(counts[0].integer("owners"));
    if (members <= 1) {
      sole_member_of.push_back(org_id);
    } else if (role == "owner" && owners <= 1) {
      store::Rows name = TRY(tx.query("SELECT name FROM organizations WHERE id = :org"));
      return make_error(ErrorKind::kAlreadyExists,
                        "you are the last owner of the organization \"" +
                            (name.empty() ? org_id : TRY(name[0].text("name"))) +
                            "\", which has other members: make one of them an owner, or "
                            "remove them, before deleting your account");
    }
  }
  for (const std::string& org_id : sole_member_of) {
    const Tenant tenant = Tenant::org(org_id);
    store::Transaction tx = TRY(database_.begin(scope_for(tenant, user)));
    for (const char* table : {"task_search", "task_messages", "task_batches", "shares",
                              "task_usage", "proxy_requests", "tasks"}) {
      TRY(tx.execute(std::string("DELETE FROM ") + table + " WHERE org_id = :org"));
    }
    TRY(keys_.destroy_keys(tx, tenant));
    TRY(tx.execute("DELETE FROM organizations WHERE id = :org"));
    TRY(tx.commit());
  }
  // Everything that names the user, in any tenant (the policies let a user's scope reach
  // rows with their user id).
  const Tenant self = Tenant::user(user.id);
  store::Transaction tx = TRY(database_.begin(scope_for(self, user)));
  for (const char* table : {"task_search", "task_messages", "task_batches", "shares", "task_usage",
                            "proxy_requests", "tasks"}) {
    TRY(tx.execute(std::string("DELETE FROM ") + table + " WHERE user_id = :user"));
  }
  TRY(keys_.destroy_keys(tx, self));
  return tx.commit();
}

}  // namespace joey::cloud
