// The Cloud upload queue on disk: $JOEY_HOME/cloud/outbox/, one file (0600, written
// atomically) per request still to be sent — a batch of task messages or one usage
// record — holding the server URL, the user id, the task id, the batch (or request) id
// and the body. File names start with the creation time, so sorting them gives the
// order they were made in.
//
// Who sends a file: a file is claimed by a process by renaming it to
// "NAME.claimed-PID" (rename is atomic, so of two joeys only one gets it). A running
// joey writes its new files already claimed; at exit it renames what it could not send
// back to "NAME.json", and the next joey claims those. A claim whose process is gone
// (killed) is taken over like an unclaimed file. Files for another server or user than
// the current credentials are left where they are (until that sign-in returns, or the
// bound drops them).
//
// Bounded: at most max_files files and max_bytes bytes; adding beyond that deletes the
// oldest files first, with one warning on `err` per Outbox.
//
// Thread-safety: add(), claim_leftovers(), remove_all_for() and release() change the
// Outbox's own counters and are called by one thread at a time; read() and remove() touch
// only files and may run beside them (the uploader's sender thread does). Several
// processes may share the directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::client {

inline constexpr size_t kOutboxMaxFiles = 1000;
inline constexpr uint64_t kOutboxMaxBytes = 64ull << 20;

// 1..128 characters of [A-Za-z0-9._-]: the API's task, batch and request ids.
bool is_wire_id(std::string_view id);

struct OutboxEntry {
  std::string server;   // the Cloud's base URL it is for
  std::string user_id;  // the user it is for
  std::string task_id;
  std::string kind;     // "messages" or "usage"
  std::string id;       // batch_id or request_id
  nlohmann::json body;  // the request body
  // POST path: /api/tasks/{task_id}/{kind}.
  std::string path() const;
};

// A file's text (untrusted) → the entry. kProtocol when it is not one joey wrote
// (fields missing or mistyped, ids not wire ids, kind unknown, body not an object).
Result<OutboxEntry> parse_outbox_entry(std::string_view text);
std::string serialize_outbox_entry(const OutboxEntry& entry);

class Outbox {
 public:
  Outbox(std::filesystem::path dir, pid_t self, size_t max_files, uint64_t max_bytes,
         std::FILE* err);

  // Writes `entry` as a new file claimed by this process and returns its name (the
  // base, without suffix). Makes room first when the bounds are reached.
  Result<std::string> add(const OutboxEntry& entry, int64_t now_ms);

  // Claims the files that are unclaimed or claimed by a dead process and are for
  // `server` and `user_id`; returns their names, oldest first.
  std::vector<std::string> claim_leftovers(const std::string& server, const std::string& user_id);

  // The entry of a file this process claimed. kNotFound when it is gone (dropped by the bound).
  Result<OutboxEntry> read(const std::string& name) const;
  // Deletes a file this process claimed.
  void remove(const std::string& name);
  // Deletes every file for `server` and `user_id` that no live process other than this
  // one has claimed; returns how many.
  size_t remove_all_for(const std::string& server, const std::string& user_id);
  // Gives files this process claimed back to the queue, for the next run.
  void release(const std::vector<std::string>& names);

  const std::filesystem::path& dir() const { return dir_; }
  // Files deleted by the bound so far.
  size_t dropped() const { return dropped_; }

 private:
  struct File {
    std::string name;  // the base
    std::filesystem::path path;
    pid_t owner = 0;  // 0: unclaimed
    uint64_t bytes = 0;
  };
  std::vector<File> list() const;
  std::filesystem::path claimed_path(const std::string& name) const;
  void make_room(uint64_t incoming_bytes);

  std::filesystem::path dir_;
  pid_t self_;
  size_t max_files_;
  uint64_t max_bytes_;
  std::FILE* err_;
  uint64_t counter_ = 0;
  int64_t last_ms_ = 0;
  size_t dropped_ = 0;
  bool warned_ = false;
};

}  // namespace joey::client
