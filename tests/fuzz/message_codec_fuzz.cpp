// Two untrusted inputs of the local history, chosen by the first byte:
//   even: bytes read back from history.db as a stored message. message_from_json_text
//         must never crash, and what it accepts must survive a round trip unchanged.
//   odd:  what a user types to `joey history search`. Searching a real store (in a
//         temporary directory) must never fail, whatever FTS5 syntax the bytes hold.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "../support/temp_dir.h"
#include "client/history_store.h"
#include "client/message_codec.h"

namespace {

namespace fs = std::filesystem;
using joey::client::HistoryStore;

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "message_codec_fuzz: %s\n", what);
    std::abort();
  }
}

bool same(const joey::llm::Message& a, const joey::llm::Message& b) {
  if (a.role != b.role || a.text != b.text || a.tool_calls.size() != b.tool_calls.size() ||
      a.tool_results.size() != b.tool_results.size()) {
    return false;
  }
  for (size_t index = 0; index < a.tool_calls.size(); ++index) {
    const auto& x = a.tool_calls[index];
    const auto& y = b.tool_calls[index];
    if (x.id != y.id || x.name != y.name || x.arguments != y.arguments) return false;
  }
  for (size_t index = 0; index < a.tool_results.size(); ++index) {
    const auto& x = a.tool_results[index];
    const auto& y = b.tool_results[index];
    if (x.tool_call_id != y.tool_call_id || x.tool_name != y.tool_name || x.content != y.content ||
        x.is_error != y.is_error) {
      return false;
    }
  }
  return true;
}

void fuzz_codec(std::string_view bytes) {
  joey::Result<joey::llm::Message> message = joey::client::message_from_json_text(bytes);
  if (!message.ok()) {
    check(message.error().kind == joey::ErrorKind::kInvalidArgument, "unexpected error kind");
    return;
  }
  std::string stored = joey::client::message_to_json_text(*message);
  joey::Result<joey::llm::Message> back = joey::client::message_from_json_text(stored);
  check(back.ok(), "a message joey wrote does not read back");
  check(same(*message, *back), "the round trip changed the message");
  (void)joey::client::message_search_text(*message);
}

struct SearchStore {
  fs::path directory;
  std::unique_ptr<HistoryStore> store;
};

SearchStore* search_store() {
  static SearchStore* instance = [] {
    auto* created = new SearchStore;
    created->directory = joey::testing::make_temp_dir("joey-fuzz-history");
    auto opened = HistoryStore::open(created->directory / "history.db");
    check(opened.ok(), "cannot open the store");
    created->store = std::move(opened).value();
    joey::agent::TaskInfo info;
    info.task_id = "20261125T154419-f0f0f0f0";
    info.task = "fuzz";
    check(created->store->create_task(info).ok(), "cannot create a task");
    for (const char* text : {"the parser AND the lexer", "NEAR(a b) \"quoted\" café",
                             "日本語のテキスト", "star * and caret ^ and col:umn"}) {
      joey::llm::Message message;
      message.text = text;
      check(created->store->append_message(info.task_id, message).ok(), "cannot append");
    }
    std::atexit([] {
      std::error_code error;
      fs::path directory = search_store()->directory;
      search_store()->store.reset();
      fs::remove_all(directory, error);
    });
    return created;
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    fuzz_codec(bytes);
  } else {
    (void)joey::client::fts_query_from_user_input(bytes);
    auto hits = search_store()->store->search(bytes, 5);
    if (!hits.ok()) {
      std::fprintf(stderr, "search failed: %s\n", hits.error().message.c_str());
      std::abort();
    }
  }
  return 0;
}
