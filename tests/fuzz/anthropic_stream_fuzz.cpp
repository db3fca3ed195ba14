// Arbitrary bytes as an Anthropic Messages stream, a non-streaming body and an error body
// (provider_stream_fuzz.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "provider_stream_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  joey::fuzz::fuzz_provider_stream<joey::llm::AnthropicStreamDecoder>(
      input, joey::llm::anthropic_parse_response, joey::llm::anthropic_error_message);
  return 0;
}
