#include "store/sql_check.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "base/strings.h"
#include "store/schema.h"

namespace joey::store {

namespace {

bool is_identifier_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool is_identifier_char(char c) {
  return is_identifier_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

Error malformed(std::string what) {
  return make_error(ErrorKind::kInvalidArgument, "malformed SQL statement: " + std::move(what));
}

Error refused(std::string what) {
  return make_error(ErrorKind::kPermissionDenied, "statement refused: " + std::move(what));
}

// What the scan of one statement found.
struct Scan {
  std::string first_keyword;             // lowercase
  std::vector<const TableRule*> tables;  // one entry per reference
  int org_markers = 0;
  int user_markers = 0;
};

// Where a bound parameter comes from: the caller's parameter at that index (>= 0), or
// the scope's organization or user id.
constexpr int kOrgId = -1;
constexpr int kUserId = -2;

// Walks `sql` once, copying it to `out` with placeholders rewritten, collecting table
// references and markers, and noting in `sources` where each bound parameter comes from.
// Quoted text (strings, identifiers) and comments are copied through unchanged.
class Scanner {
 public:
  Scanner(std::string_view sql, std::span<const Value> params, const Scope& scope,
          const CheckOptions& options, std::vector<int>& sources)
      : sql_(sql), params_(params), scope_(scope), options_(options), sources_(sources) {}

  Result<Scan> run(CheckedStatement& out) {
    out.sql.reserve(sql_.size() + 16);
    while (pos_ < sql_.size()) {
      char c = sql_[pos_];
      if (c == '\'') {
        TRY(copy_quoted('\'', '\'', out, nullptr));
      } else if (c == '"') {
        std::string name;
        TRY(copy_quoted('"', '"', out, &name));
        note_identifier(name);
      } else if (c == '`') {
        std::string name;
        TRY(copy_quoted('`', '`', out, &name));
        note_identifier(name);
      } else if (c == '[') {
        std::string name;
        TRY(copy_quoted('[', ']', out, &name));
        note_identifier(name);
      } else if (c == '-' && next_is('-')) {
        size_t end = sql_.find('\n', pos_);
        if (end == std::string_view::npos) end = sql_.size();
        out.sql.append(sql_.substr(pos_, end - pos_));
        pos_ = end;
      } else if (c == '/' && next_is('*')) {
        size_t end = sql_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) return malformed("unterminated /* comment");
        out.sql.append(sql_.substr(pos_, end + 2 - pos_));
        pos_ = end + 2;
      } else if (c == '?') {
        if (pos_ + 1 < sql_.size() && std::isdigit(static_cast<unsigned char>(sql_[pos_ + 1]))) {
          return malformed("numbered placeholders (?NNN) are not supported; use ?");
        }
        if (next_param_ >= params_.size()) {
          return malformed("more ? placeholders than the " + std::to_string(params_.size()) +
                           " parameters given");
        }
        TRY(bind(params_[next_param_], static_cast<int>(next_param_), out));
        ++next_param_;
        ++pos_;
      } else if (c == ':') {
        TRY(colon(out));
      } else if (c == '@' && sql_.substr(pos_, 2) == "@@") {
        out.sql.append("@@");  // PostgreSQL's text-search match operator
        pos_ += 2;
      } else if (c == '$' || c == '@') {
        return malformed(std::string("'") + c + "' parameters are not supported; use ?");
      } else if (c == ';') {
        TRY(statement_end());
      } else if (is_identifier_start(c)) {
        size_t start = pos_;
        while (pos_ < sql_.size() && is_identifier_char(sql_[pos_])) ++pos_;
        std::string_view word = sql_.substr(start, pos_ - start);
        out.sql.append(word);
        note_identifier(word);
      } else {
        out.sql.push_back(c);
        ++pos_;
      }
    }
    if (next_param_ != params_.size()) {
      return malformed(std::to_string(params_.size()) + " parameters given for " +
                       std::to_string(next_param_) + " ? placeholders");
    }
    return std::move(scan_);
  }

 private:
  bool next_is(char c) const { return pos_ + 1 < sql_.size() && sql_[pos_ + 1] == c; }

  // Copies a quoted run (a doubled closing quote is an escaped one). When `name` is
  // given the run is an identifier and its unquoted text is stored there.
  Status copy_quoted(char open, char close, CheckedStatement& out, std::string* name) {
    size_t start = pos_;
    ++pos_;
    while (true) {
      if (pos_ >= sql_.size()) {
        return malformed(std::string("unterminated ") + open + "quoted text");
      }
      if (sql_[pos_] == close) {
        if (close != ']' && pos_ + 1 < sql_.size() && sql_[pos_ + 1] == close) {
          if (name != nullptr) name->push_back(close);
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (name != nullptr) name->push_back(sql_[pos_]);
      ++pos_;
    }
    out.sql.append(sql_.substr(start, pos_ - start));
    return ok_status();
  }

  void note_identifier(std::string_view word) {
    if (scan_.first_keyword.empty()) {
      scan_.first_keyword = ascii_lower(word);
      return;
    }
    if (const TableRule* rule = find_table_rule(word)) scan_.tables.push_back(rule);
  }

  Status bind(Value value, int source, CheckedStatement& out) {
    out.params.push_back(std::move(value));
    sources_.push_back(source);
    if (options_.style == PlaceholderStyle::kDollarNumber) {
      out.sql += "$" + std::to_string(out.params.size());
    } else {
      out.sql.push_back('?');
    }
    return ok_status();
  }

  // "::" is a PostgreSQL cast; ":org" and ":user" are scope markers; other ":name"
  // parameters are refused so that SQLite cannot bind them to null silently.
  Status colon(CheckedStatement& out) {
    if (next_is(':')) {
      out.sql += "::";
      pos_ += 2;
      return ok_status();
    }
    size_t start = pos_ + 1;
    size_t end = start;
    while (end < sql_.size() && is_identifier_char(sql_[end])) ++end;
    std::string_view name = sql_.substr(start, end - start);
    if (name.empty()) return malformed("a lone ':'");
    pos_ = end;
    if (name == "org") {
      if (scope_.org_id.empty()) {
        return refused(options_.context == StatementContext::kScoped
                           ? "it uses :org but the transaction's scope has no organization"
                           : "scope markers need a scoped transaction");
      }
      ++scan_.org_markers;
      return bind(Value(scope_.org_id), kOrgId, out);
    }
    if (name == "user") {
      if (scope_.user_id.empty()) {
        return refused(options_.context == StatementContext::kScoped
                           ? "it uses :user but the transaction's scope has no user"
                           : "scope markers need a scoped transaction");
      }
      ++scan_.user_markers;
      return bind(Value(scope_.user_id), kUserId, out);
    }
    return malformed("named parameter :" + std::string(name) +
                     " is not supported; use ? (or the markers :org and :user)");
  }

  // Only whitespace and comments may follow a ';'.
  Status statement_end() {
    size_t cursor = pos_ + 1;
    while (cursor < sql_.size()) {
      char c = sql_[cursor];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++cursor;
      } else if (c == '-' && cursor + 1 < sql_.size() && sql_[cursor + 1] == '-') {
        size_t end = sql_.find('\n', cursor);
        cursor = end == std::string_view::npos ? sql_.size() : end;
      } else if (c == '/' && cursor + 1 < sql_.size() && sql_[cursor + 1] == '*') {
        size_t end = sql_.find("*/", cursor + 2);
        if (end == std::string_view::npos) return malformed("unterminated /* comment");
        cursor = end + 2;
      } else {
        return refused("one statement at a time");
      }
    }
    pos_ = sql_.size();  // the ';' and what follows are dropped
    return ok_status();
  }

  std::string_view sql_;
  std::span<const Value> params_;
  const Scope& scope_;
  const CheckOptions& options_;
  std::vector<int>& sources_;
  size_t pos_ = 0;
  size_t next_param_ = 0;
  Scan scan_;
};

const char* context_name(StatementContext context) {
  switch (context) {
    case StatementContext::kScoped:
      return "a scoped transaction";
    case StatementContext::kUnscoped:
      return "an unscoped transaction";
    case StatementContext::kAllTenants:
      return "an all-tenants transaction";
  }
  return "a transaction";
}

Status check_tables(const Scan& scan, StatementContext context) {
  static constexpr std::string_view kAllowed[] = {"select", "insert", "update", "delete", "with"};
  bool allowed = false;
  for (std::string_view keyword : kAllowed) allowed = allowed || scan.first_keyword == keyword;
  if (!allowed) {
    return refused("only SELECT, INSERT, UPDATE, DELETE and WITH run in transactions, not '" +
                   scan.first_keyword + "'");
  }
  int org_only = 0;
  int user_only = 0;
  int either = 0;
  for (const TableRule* rule : scan.tables) {
    std::string name(rule->name);
    switch (context) {
      case StatementContext::kUnscoped:
        if (!rule->unscoped) return refused(name + " is not an identity table; begin(Scope)");
        break;
      case StatementContext::kAllTenants:
        if (!rule->all_tenants) return refused(name + " cannot be read across tenants");
        break;
      case StatementContext::kScoped:
        if (!rule->parent.empty()) {
          const bool with_parent =
              std::any_of(scan.tables.begin(), scan.tables.end(),
                          [&](const TableRule* other) { return other->name == rule->parent; });
          if (!with_parent) {
            return refused(name + " is reached only together with " + std::string(rule->parent));
          }
        } else if (rule->accepts_org_marker && rule->accepts_user_marker) {
          ++either;
        } else if (rule->accepts_org_marker) {
          ++org_only;
        } else if (rule->accepts_user_marker) {
          ++user_only;
        } else {
          return refused(name + " is not reachable from " + context_name(context));
        }
        break;
    }
  }
  if (context != StatementContext::kScoped) return ok_status();
  if (scan.org_markers < org_only || scan.user_markers < user_only ||
      scan.org_markers + scan.user_markers < org_only + user_only + either) {
    return refused(
        "every tenant table in a scoped statement needs its tenant predicate (org_id = :org or "
        "user_id = :user)");
  }
  return ok_status();
}

// A statement that passed the check, kept so the next time the same text is checked in
// the same kind of transaction only its parameters are bound. The verdict depends on the
// text, the options and which of the scope's ids are present — never on the ids'
// values or the parameters' — so those are the key.
struct Plan {
  std::string sql;  // the text checked
  int flags = 0;    // the options and the scope's ids present (plan_flags)
  std::string checked_sql;
  std::vector<int> sources;  // per bound parameter (kOrgId, kUserId or the caller's index)
  size_t placeholders = 0;   // the caller's parameter count
};

int plan_flags(const Scope& scope, const CheckOptions& options) {
  return static_cast<int>(options.context) | static_cast<int>(options.style) << 2 |
         int{options.skip_table_rules} << 3 | int{!scope.org_id.empty()} << 4 |
         int{!scope.user_id.empty()} << 5;
}

// Statements are literals in joey's code, so the cache holds a few dozen; the bound keeps
// text built at run time from growing it without limit (past it, statements are checked
// in full every time).
constexpr size_t kMaxPlans = 1024;

class PlanCache {
 public:
  // Binds `params` and the scope's ids as the plan for (sql, flags) says; false when
  // there is none or the parameter count differs (a full check then names the error).
  bool bind(std::string_view sql, int flags, std::span<const Value> params, const Scope& scope,
            CheckedStatement& out) const {
    std::shared_lock lock(mutex_);
    const Plan* plan = find(sql, flags);
    if (plan == nullptr || plan->placeholders != params.size()) return false;
    out.sql = plan->checked_sql;
    out.params.reserve(plan->sources.size());
    for (const int source : plan->sources) {
      if (source == kOrgId) {
        out.params.emplace_back(scope.org_id);
      } else if (source == kUserId) {
        out.params.emplace_back(scope.user_id);
      } else {
        out.params.push_back(params[static_cast<size_t>(source)]);
      }
    }
    return true;
  }

  void add(Plan plan) {
    std::unique_lock lock(mutex_);
    if (plans_.size() >= kMaxPlans || find(plan.sql, plan.flags) != nullptr) return;
    const size_t hash = std::hash<std::string_view>{}(plan.sql);
    plans_.emplace(hash, std::move(plan));
  }

 private:
  // The plan for (sql, flags), or null; the caller holds mutex_.
  const Plan* find(std::string_view sql, int flags) const {
    auto [first, last] = plans_.equal_range(std::hash<std::string_view>{}(sql));
    for (auto it = first; it != last; ++it) {
      if (it->second.flags == flags && it->second.sql == sql) return &it->second;
    }
    return nullptr;
  }

  mutable std::shared_mutex mutex_;
  std::unordered_multimap<size_t, Plan> plans_;
};

PlanCache& plan_cache() {
  static PlanCache* cache = new PlanCache();  // never destroyed: checks may run at exit
  return *cache;
}

}  // namespace

Result<CheckedStatement> check_statement(std::string_view sql, std::span<const Value> params,
                                         const Scope& scope, const CheckOptions& options) {
  if (options.context == StatementContext::kScoped && scope.empty()) {
    return refused("a scoped transaction needs a user or an organization");
  }
  CheckedStatement out;
  const int flags = plan_flags(scope, options);
  if (plan_cache().bind(sql, flags, params, scope, out)) return out;
  std::vector<int> sources;
  Scanner scanner(sql, params, scope, options, sources);
  Scan scan = TRY(scanner.run(out));
  if (scan.first_keyword.empty()) return malformed("empty statement");
  if (!options.skip_table_rules) TRY(check_tables(scan, options.context));
  plan_cache().add(Plan{std::string(sql), flags, out.sql, std::move(sources), params.size()});
  return out;
}

}  // namespace joey::store
