// Feeds arbitrary bytes to the model proxy's upstream URL parser
// (joey::cloud::parse_upstream_url). Checks that nothing crashes and that an accepted
// URL has a host, a port and a target starting with '/', and that its origin and Host
// header hold no byte that could split an HTTP header.
#include "cloud/upstream_client.h"  // first: it includes cloud/asio.h

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  joey::Result<joey::cloud::UpstreamUrl> url = joey::cloud::parse_upstream_url(input);
  if (!url.ok()) {
    if (url.error().kind != joey::ErrorKind::kInvalidArgument) std::abort();
    return 0;
  }
  if (url->host.empty() || url->port == 0 || url->target.empty() || url->target[0] != '/') {
    std::abort();
  }
  for (const std::string& text : {url->origin(), url->host_header(), url->target}) {
    for (char c : text) {
      if (c == '\r' || c == '\n' || c == '\0' || c == ' ') std::abort();
    }
  }
  return 0;
}
