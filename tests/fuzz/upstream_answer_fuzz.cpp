// Feeds arbitrary bytes to the model proxy's upstream response parser as an upstream's
// whole answer (joey::cloud::parse_upstream_answer: interim heads, head, body, then the
// connection's end). The first byte picks a HEAD request and a small head limit, so
// both paths are reached. Checks that nothing crashes, that every error is kProtocol or
// kNetwork, and that an accepted answer is consistent: a status of 200-599, lower-case header
// names free of bytes that could split a header, a body no longer than the input and
// exactly Content-Length long when one was given (none for HEAD).
#include "cloud/upstream_client.h"  // first: it includes cloud/asio.h

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool head_only = (data[0] & 1) != 0;
  const size_t header_limit = (data[0] & 2) != 0 ? 256 : 64 * 1024;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  joey::Result<joey::cloud::UpstreamAnswer> answer =
      joey::cloud::parse_upstream_answer(input, header_limit, head_only);
  if (!answer.ok()) {
    const joey::ErrorKind kind = answer.error().kind;
    if (kind != joey::ErrorKind::kProtocol && kind != joey::ErrorKind::kNetwork) std::abort();
    return 0;
  }
  const joey::cloud::UpstreamHead& head = answer->head;
  if (head.status < 200 || head.status > 599) std::abort();  // interim heads are skipped
  for (const auto& [name, value] : head.headers) {
    if (name.empty()) std::abort();
    for (char c : name) {
      if ((c >= 'A' && c <= 'Z') || c == '\r' || c == '\n' || c == ':' || c == ' ') std::abort();
    }
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') std::abort();
    }
  }
  if (answer->body.size() > input.size()) std::abort();
  if (head_only && !answer->body.empty()) std::abort();
  if (!head_only && head.content_length && answer->body.size() != *head.content_length) {
    std::abort();
  }
  return 0;
}
