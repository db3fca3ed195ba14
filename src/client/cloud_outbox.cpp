#include "client/cloud_outbox.h"

#include <algorithm>
#include <system_error>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/log.h"
#include "base/paths.h"
#include "client/private_files.h"

namespace joey::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kUnclaimedSuffix = ".json";
constexpr std::string_view kClaimMarker = ".claimed-";
// An entry holds at most one batch (<= 8 MiB on the wire); anything larger is not ours.
constexpr size_t kMaxEntryBytes = 16 << 20;

}  // namespace

bool is_wire_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string OutboxEntry::path() const { return "/api/tasks/" + task_id + "/" + kind; }

Result<OutboxEntry> parse_outbox_entry(std::string_view text) {
  if (text.size() > kMaxEntryBytes) {
    return make_error(ErrorKind::kProtocol, "an outbox file is too large");
  }
  const json parsed = parse_json(text);
  const std::string* server = string_field(parsed, "server");
  const std::string* user_id = string_field(parsed, "user_id");
  const std::string* task_id = string_field(parsed, "task_id");
  const std::string* kind = string_field(parsed, "kind");
  const std::string* id = string_field(parsed, "id");
  const json* body = object_field(parsed, "body");
  if (!server || !user_id || !task_id || !kind || !id || !body || server->empty() ||
      user_id->empty() || !is_wire_id(*task_id) || !is_wire_id(*id) ||
      (*kind != "messages" && *kind != "usage")) {
    return make_error(ErrorKind::kProtocol, "an outbox file is not one joey wrote");
  }
  return OutboxEntry{*server, *user_id, *task_id, *kind, *id, *body};
}

std::string serialize_outbox_entry(const OutboxEntry& entry) {
  const json file = {{"server", entry.server},   {"user_id", entry.user_id},
                     {"task_id", entry.task_id}, {"kind", entry.kind},
                     {"id", entry.id},           {"body", entry.body}};
  return file.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Outbox::Outbox(fs::path dir, pid_t self, size_t max_files, uint64_t max_bytes, std::FILE* err)
    : dir_(std::move(dir)), self_(self), max_files_(max_files), max_bytes_(max_bytes), err_(err) {}

fs::path Outbox::claimed_path(const std::string& name) const {
  return dir_ / (name + std::string(kClaimMarker) + std::to_string(self_));
}

std::vector<Outbox::File> Outbox::list() const {
  std::vector<File> files;
  std::error_code error;
  for (fs::directory_iterator it(dir_, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    File file;
    file.path = it->path();
    if (name.ends_with(kUnclaimedSuffix)) {
      file.name = name.substr(0, name.size() - kUnclaimedSuffix.size());
    } else if (const size_t marker = name.rfind(kClaimMarker); marker != std::string::npos) {
      file.name = name.substr(0, marker);
      file.owner = claim_owner(std::string_view(name).substr(marker), kClaimMarker, "");
      if (file.owner == 0) continue;
    } else {
      continue;  // a temporary file of an atomic write, or not ours
    }
    if (file.name.empty() || file.name.find('.') != std::string::npos) continue;
    std::error_code size_error;
    file.bytes = it->file_size(size_error);
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const File& left, const File& right) { return left.name < right.name; });
  return files;
}

void Outbox::make_room(uint64_t incoming_bytes) {
  std::vector<File> files = list();
  uint64_t bytes = incoming_bytes;
  for (const File& file : files) bytes += file.bytes;
  size_t count = files.size() + 1;
  for (const File& file : files) {
    if (count <= max_files_ && bytes <= max_bytes_) break;
    remove_quietly(file.path);
    --count;
    bytes -= std::min(bytes, file.bytes);
    ++dropped_;
    if (!warned_) {
      warned_ = true;
      std::fprintf(err_,
                   "joey: warning: the Cloud upload queue is full (%zu files or %llu MiB at "
                   "most); the oldest uploads are dropped\n",
                   max_files_, static_cast<unsigned long long>(max_bytes_ >> 20));
      std::fflush(err_);
    }
    log::warn("cloud_outbox_dropped_oldest");
  }
}

Result<std::string> Outbox::add(const OutboxEntry& entry, int64_t now_ms) {
  TRY(ensure_private_dir(dir_));
  // Names sort in creation order within this process even if the clock steps back.
  last_ms_ = std::max(last_ms_, now_ms);
  char name[64];
  std::snprintf(name, sizeof name, "%013lld-%d-%06llu", static_cast<long long>(last_ms_),
                static_cast<int>(self_), static_cast<unsigned long long>(++counter_));
  const std::string text = serialize_outbox_entry(entry);
  make_room(text.size());
  TRY(write_private_file(claimed_path(name), text));
  return std::string(name);
}

std::vector<std::string> Outbox::claim_leftovers(const std::string& server,
                                                 const std::string& user_id) {
  std::vector<std::string> claimed;
  for (const File& file : list()) {
    if (file.owner == self_ || (file.owner != 0 && process_alive(file.owner))) continue;
    Result<std::string> text = read_file_to_string(file.path);
    if (!text.ok()) continue;
    Result<OutboxEntry> entry = parse_outbox_entry(*text);
    if (!entry.ok()) {
      log::warn("cloud_outbox_file_dropped", {log::field("reason", "unreadable")});
      remove_quietly(file.path);
      continue;
    }
    if (entry->server != server || entry->user_id != user_id) continue;
    std::error_code error;
    fs::rename(file.path, claimed_path(file.name), error);
    if (!error) claimed.push_back(file.name);
  }
  return claimed;
}

Result<OutboxEntry> Outbox::read(const std::string& name) const {
  Result<std::string> text = read_file_to_string(claimed_path(name));
  if (!text.ok()) return text.error();
  return parse_outbox_entry(*text);
}

void Outbox::remove(const std::string& name) { remove_quietly(claimed_path(name)); }

size_t Outbox::remove_all_for(const std::string& server, const std::string& user_id) {
  size_t removed = 0;
  for (const File& file : list()) {
    if (file.owner != 0 && file.owner != self_ && process_alive(file.owner)) continue;
    Result<std::string> text = read_file_to_string(file.path);
    if (!text.ok()) continue;
    Result<OutboxEntry> entry = parse_outbox_entry(*text);
    if (entry.ok() && (entry->server != server || entry->user_id != user_id)) continue;
    remove_quietly(file.path);
    ++removed;
  }
  return removed;
}

void Outbox::release(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    std::error_code error;
    fs::rename(claimed_path(name), dir_ / (name + std::string(kUnclaimedSuffix)), error);
  }
}

}  // namespace joey::client
