// Parses arbitrary bytes as $JOEY_HOME/secrets.json. Checks that the parser never
// crashes, that an error message never quotes a string value of the input (values are
// where keys live), and that whatever it accepts serialises and parses back to the same
// keys.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "client/secret_store.h"

namespace {

// The text of every fixed error message: a value that happens to be a piece of it is
// not an echo.
const std::string& known_message_text() {
  static const std::string text = [] {
    std::string all;
    for (const char* input :
         {"", "[]", "{}", "{\"version\":2,\"keys\":{}}", "{\"version\":1}",
          "{\"version\":1,\"keys\":[]}", "{\"version\":1,\"keys\":{\"a\":1}}",
          "{\"version\":1,\"keys\":{\"A\":\"k\"}}", "{\"version\":1,\"keys\":{\"a\":\"k k\"}}"}) {
      const auto parsed = joey::client::parse_secrets_file(input, "secrets.json");
      if (!parsed.ok()) all += parsed.error().message + "\n";
    }
    return all;
  }();
  return text;
}

// Aborts when `message` quotes a string value (8 bytes or longer) found in `value`.
void check_no_value_echoed(const nlohmann::json& value, const std::string& message) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() >= 8 && message.find(text) != std::string::npos &&
        known_message_text().find(text) == std::string::npos) {
      std::abort();
    }
  } else if (value.is_structured()) {
    for (const auto& element : value) check_no_value_echoed(element, message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = joey::client::parse_secrets_file(text, "secrets.json");
  if (!parsed.ok()) {
    const nlohmann::json document = joey::parse_json(text);
    if (!document.is_discarded()) check_no_value_echoed(document, parsed.error().message);
    return 0;
  }
  const std::string written = joey::client::serialize_secrets_file(*parsed);
  const auto reparsed = joey::client::parse_secrets_file(written, "secrets.json");
  if (!reparsed.ok() || *reparsed != *parsed) std::abort();
  for (const auto& [provider, key] : *parsed) {
    if (joey::client::key_last4(key).size() > 4) std::abort();
  }
  return 0;
}
