#include "store/schema.h"

#include <array>

#include "base/strings.h"

namespace joey::store {

namespace {

// Tenant columns: identity tables carry user_id (users: id); organization tables carry
// org_id (organizations: id); data_keys carry one of the two.
constexpr std::array<TableRule, 25> kTableRules = {{
    {"users", false, true, true, false},
    {"sessions", false, true, true, false},
    {"access_tokens", false, true, true, false},
    {"device_authorizations", false, true, true, false},
    {"login_attempts", false, false, true, false},
    // Read across tenants by the retention job (cloud/retention.h) to list organizations.
    {"organizations", true, true, false, true},
    {"memberships", true, true, false, false},
    {"invites", true, false, true, false},
    {"org_settings", true, false, false, false},
    {"audit_log", true, false, false, false},
    {"data_keys", true, true, false, true},
    {"org_provider_keys", true, false, false, false},
    // Task history (migration 2): a task belongs to its user and, when it was recorded
    // for an organization, to that organization too; either id reaches it.
    {"tasks", true, true, false, false},
    {"task_messages", true, true, false, false},
    {"task_batches", true, true, false, false},
    {"task_search", true, true, false, false},
    {"task_usage", true, true, false, false},
    {"task_search_data", false, false, false, false, true},
    {"task_search_idx", false, false, false, false, true},
    {"task_search_content", false, false, false, false, true},
    {"task_search_docsize", false, false, false, false, true},
    {"task_search_config", false, false, false, false, true},
    // PostgreSQL: the GIN-indexed blinded terms of task_search's rows (migration 4).
    {"task_search_terms", false, false, false, false, false, "task_search", true},
    // The model proxy's request records (migration 5): metadata only, never a body.
    {"proxy_requests", true, true, false, false},
    // Shared links are found by their token's digest before the tenant is known.
    {"shares", true, true, true, false},
}};

// Migration 1, SQLite: the identity schema. Times are Unix seconds; digests are
// lowercase hex; sealed values are `version | key_id | nonce | ciphertext | tag` blobs.
constexpr std::string_view kIdentitySqlite = R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE sessions (
  digest TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_digest TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_seen_at INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE access_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  digest TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX access_tokens_user ON access_tokens(user_id);
CREATE TABLE device_authorizations (
  device_code_digest TEXT PRIMARY KEY,
  user_code TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  interval_seconds INTEGER NOT NULL,
  last_poll_at INTEGER
);
CREATE TABLE login_attempts (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE memberships (
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);
CREATE TABLE invites (
  digest TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  accepted_at INTEGER
);
CREATE INDEX invites_org ON invites(org_id);
CREATE TABLE org_settings (
  org_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  actor_user_id TEXT,
  action TEXT NOT NULL,
  target TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
CREATE TABLE data_keys (
  key_id TEXT PRIMARY KEY,
  org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  wrapped BLOB NOT NULL,
  kek_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  CHECK ((org_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX data_keys_org ON data_keys(org_id);
CREATE INDEX data_keys_user ON data_keys(user_id);
CREATE TABLE org_provider_keys (
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  sealed BLOB NOT NULL,
  last4 TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, provider)
);
)sql";

// Migration 1, PostgreSQL: the same tables, plus row-level security. Policies read the
// tenant from settings the layer sets with set_config(..., true) at the start of every
// transaction: joey.scope ('scoped', 'unscoped' or 'all_tenants'), joey.user_id and
// joey.org_id. An unset setting reads as NULL or '', which matches no row.
constexpr std::string_view kIdentityPostgres = R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE sessions (
  digest TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_digest TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  last_seen_at BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE access_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  digest TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX access_tokens_user ON access_tokens(user_id);
CREATE TABLE device_authorizations (
  device_code_digest TEXT PRIMARY KEY,
  user_code TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  interval_seconds BIGINT NOT NULL,
  last_poll_at BIGINT
);
CREATE TABLE login_attempts (
  key TEXT PRIMARY KEY,
  failures BIGINT NOT NULL DEFAULT 0,
  locked_until BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE memberships (
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);
CREATE TABLE invites (
  digest TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  accepted_at BIGINT
);
CREATE INDEX invites_org ON invites(org_id);
CREATE TABLE org_settings (
  org_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  sealed BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE audit_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  actor_user_id TEXT,
  action TEXT NOT NULL,
  target TEXT,
  at BIGINT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
CREATE TABLE data_keys (
  key_id TEXT PRIMARY KEY,
  org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  wrapped BYTEA NOT NULL,
  kek_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  CHECK ((org_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX data_keys_org ON data_keys(org_id);
CREATE INDEX data_keys_user ON data_keys(user_id);
CREATE TABLE org_provider_keys (
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  sealed BYTEA NOT NULL,
  last4 TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, provider)
);

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON users
  USING (current_setting('joey.scope', true) = 'unscoped'
         OR id = current_setting('joey.user_id', true));

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sessions
  USING (current_setting('joey.scope', true) = 'unscoped'
         OR user_id = current_setting('joey.user_id', true));

ALTER TABLE access_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON access_tokens
  USING (current_setting('joey.scope', true) = 'unscoped'
         OR user_id = current_setting('joey.user_id', true));

ALTER TABLE device_authorizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_authorizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON device_authorizations
  USING (current_setting('joey.scope', true) = 'unscoped'
         OR user_id IS NULL
         OR user_id = current_setting('joey.user_id', true));

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON organizations FOR SELECT
  USING (id = current_setting('joey.org_id', true)
         OR EXISTS (SELECT 1 FROM memberships m
                    WHERE m.org_id = organizations.id
                      AND m.user_id = current_setting('joey.user_id', true)));
CREATE POLICY tenant_insert ON organizations FOR INSERT
  WITH CHECK (id = current_setting('joey.org_id', true));
CREATE POLICY tenant_update ON organizations FOR UPDATE
  USING (id = current_setting('joey.org_id', true))
  WITH CHECK (id = current_setting('joey.org_id', true));
CREATE POLICY tenant_delete ON organizations FOR DELETE
  USING (id = current_setting('joey.org_id', true));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON memberships FOR SELECT
  USING (org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
CREATE POLICY tenant_insert ON memberships FOR INSERT
  WITH CHECK (org_id = current_setting('joey.org_id', true));
CREATE POLICY tenant_update ON memberships FOR UPDATE
  USING (org_id = current_setting('joey.org_id', true))
  WITH CHECK (org_id = current_setting('joey.org_id', true));
CREATE POLICY tenant_delete ON memberships FOR DELETE
  USING (org_id = current_setting('joey.org_id', true));

ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
ALTER TABLE invites FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON invites
  USING (current_setting('joey.scope', true) = 'unscoped'
         OR org_id = current_setting('joey.org_id', true));

ALTER TABLE org_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON org_settings
  USING (org_id = current_setting('joey.org_id', true));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON audit_log
  USING (org_id = current_setting('joey.org_id', true));

ALTER TABLE data_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON data_keys
  USING (current_setting('joey.scope', true) = 'all_tenants'
         OR org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));

ALTER TABLE org_provider_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE org_provider_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON org_provider_keys
  USING (org_id = current_setting('joey.org_id', true));
)sql";

// Migration 2: task history. Times are Unix milliseconds. Message text and titles are
// sealed under the owning tenant's data key (the organization's when org_id is set,
// else the user's); task_search holds only blinded terms (cloud/blind_index.h).
constexpr std::string_view kTasksCommon = R"sql(
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
  mode TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  title BLOB_TYPE,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  message_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tasks_user ON tasks(user_id, updated_at);
CREATE INDEX tasks_org ON tasks(org_id, updated_at);
CREATE TABLE task_messages (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  user_id TEXT NOT NULL,
  org_id TEXT,
  ts BIGINT NOT NULL,
  role TEXT NOT NULL,
  sealed BLOB_TYPE NOT NULL,
  PRIMARY KEY (task_id, seq)
);
CREATE TABLE task_batches (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  batch_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  org_id TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (task_id, batch_id)
);
CREATE TABLE task_usage (
  task_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
  ts BIGINT NOT NULL,
  model TEXT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cache_read_tokens BIGINT NOT NULL,
  cache_write_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (task_id, request_id)
);
CREATE INDEX task_usage_user ON task_usage(user_id, ts);
CREATE INDEX task_usage_org ON task_usage(org_id, ts);
CREATE TABLE shares (
  id TEXT PRIMARY KEY,
  token_digest TEXT NOT NULL UNIQUE,
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL,
  org_id TEXT,
  visibility TEXT NOT NULL CHECK (visibility IN ('organization', 'public')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX shares_task ON shares(task_id);
)sql";

constexpr std::string_view kTasksSqliteSearch = R"sql(
CREATE VIRTUAL TABLE task_search USING fts5(
  terms, task_id UNINDEXED, seq UNINDEXED, user_id UNINDEXED, org_id UNINDEXED,
  tokenize = 'ascii', detail = column);
)sql";

constexpr std::string_view kTasksPostgresSearch = R"sql(
CREATE TABLE task_search (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  user_id TEXT NOT NULL,
  org_id TEXT,
  terms TSVECTOR NOT NULL,
  PRIMARY KEY (task_id, seq)
);
CREATE INDEX task_search_terms ON task_search USING GIN (terms);
)sql";

constexpr std::string_view kTasksPostgresPolicies = R"sql(
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON tasks
  USING (org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
ALTER TABLE task_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON task_messages
  USING (org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
ALTER TABLE task_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_batches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON task_batches
  USING (org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
ALTER TABLE task_search ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_search FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON task_search
  USING (org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
ALTER TABLE task_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON task_usage
  USING (org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
ALTER TABLE shares ENABLE ROW LEVEL SECURITY;
ALTER TABLE shares FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON shares
  USING (current_setting('joey.scope', true) = 'unscoped'
         OR org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
)sql";

// Migration 3: the retention job lists every organization from an all-tenants
// transaction (the catalog allows it; on PostgreSQL this read-only policy does too).
// Nothing changes on SQLite.
constexpr std::string_view kRetentionSqlite = "SELECT 1;";
constexpr std::string_view kRetentionPostgres = R"sql(
CREATE POLICY all_tenants_read ON organizations FOR SELECT
  USING (current_setting('joey.scope', true) = 'all_tenants');
)sql";

// Migration 4, PostgreSQL: the blinded terms move out of task_search into a table of
// their own without row-level security, so that a search can use their GIN index (under
// RLS, PostgreSQL evaluates the policy before any non-leakproof operator such as `@@`,
// which rules the index out and scans the tenant's every row). The new table holds a
// surrogate id and the terms only; task_search keeps the tenant columns and its policy.
// Nothing changes on SQLite (FTS5 has no row-level security to work around).
constexpr std::string_view kSearchTermsSqlite = "SELECT 1;";
constexpr std::string_view kSearchTermsPostgres = R"sql(
DROP INDEX task_search_terms;
ALTER TABLE task_search ADD COLUMN id BIGSERIAL;
ALTER TABLE task_search ADD CONSTRAINT task_search_id_unique UNIQUE (id);
CREATE TABLE task_search_terms (
  search_id BIGINT PRIMARY KEY REFERENCES task_search(id) ON DELETE CASCADE,
  terms TSVECTOR NOT NULL
);
ALTER TABLE task_search NO FORCE ROW LEVEL SECURITY;
INSERT INTO task_search_terms (search_id, terms) SELECT id, terms FROM task_search;
ALTER TABLE task_search FORCE ROW LEVEL SECURITY;
ALTER TABLE task_search DROP COLUMN terms;
CREATE INDEX task_search_terms_gin ON task_search_terms USING GIN (terms);
)sql";

// Migration 5: one row per request through the model proxy (cloud/proxy_service.h):
// who, which model, the outcome and the tokens and cost read from the stream. Never a
// prompt, a completion or a header (P6). The organization's rows feed its usage
// reports and its monthly budget.
constexpr std::string_view kProxyCommon = R"sql(
CREATE TABLE proxy_requests (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
  ts BIGINT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  status INTEGER NOT NULL,
  latency_ms BIGINT NOT NULL,
  streamed INTEGER NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cache_read_tokens BIGINT NOT NULL,
  cache_write_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL
);
CREATE INDEX proxy_requests_user ON proxy_requests(user_id, ts);
CREATE INDEX proxy_requests_org ON proxy_requests(org_id, ts);
)sql";
constexpr std::string_view kProxyPolicies = R"sql(
ALTER TABLE proxy_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE proxy_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON proxy_requests
  USING (org_id = current_setting('joey.org_id', true)
         OR user_id = current_setting('joey.user_id', true));
)sql";

// Migration SQL is assembled once, at first use, from the shared table definitions.
std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}
const std::string kTasksSqlite =
    replace_all(std::string(kTasksCommon), "BLOB_TYPE", "BLOB") + std::string(kTasksSqliteSearch);
const std::string kTasksPostgres = replace_all(std::string(kTasksCommon), "BLOB_TYPE", "BYTEA") +
                                   std::string(kTasksPostgresSearch) +
                                   std::string(kTasksPostgresPolicies);

const std::string kProxyPostgres = std::string(kProxyCommon) + std::string(kProxyPolicies);

const std::array<Migration, 5> kMigrations = {{
    {1, "identity schema: users, sessions, tokens, device login, organizations, keys",
     kIdentitySqlite, kIdentityPostgres},
    {2, "task history: tasks, messages, blind search index, usage, shares", kTasksSqlite,
     kTasksPostgres},
    {3, "organizations readable by all-tenant jobs (retention)", kRetentionSqlite,
     kRetentionPostgres},
    {4, "blinded search terms in a GIN-indexed table of their own (PostgreSQL)", kSearchTermsSqlite,
     kSearchTermsPostgres},
    {5, "model proxy request records", kProxyCommon, kProxyPostgres},
}};

}  // namespace

std::span<const TableRule> table_rules() { return kTableRules; }

const TableRule* find_table_rule(std::string_view name) {
  for (const TableRule& rule : kTableRules) {
    if (ascii_iequals(rule.name, name)) return &rule;
  }
  return nullptr;
}

std::span<const Migration> migrations() { return kMigrations; }

int64_t latest_schema_version() { return kMigrations.back().version; }

}  // namespace joey::store
