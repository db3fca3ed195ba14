// Feeds arbitrary bytes to the blind index's tokenizer as message text and as a query.
// Checks the invariants the index relies on: every term and query word is non-empty,
// at most kMaxWordBytes, valid UTF-8 and free of upper-case ASCII and ASCII
// separators; a text yields at most kMaxTermsPerText terms and a query at most
// kMaxQueryWords distinct words; and each query word of a text is one of its terms.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "cloud/blind_index.h"
#include "cloud/http_types.h"

namespace {

using namespace joey::cloud;

void require(bool condition) {
  if (!condition) std::abort();
}

void require_normalised(const std::string& term) {
  require(!term.empty() && term.size() <= kMaxWordBytes);
  require(is_valid_utf8(term));
  for (const char c : term) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) continue;
    require((byte >= 'a' && byte <= 'z') || (byte >= '0' && byte <= '9'));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const std::vector<std::string> terms = index_terms(text);
  require(terms.size() <= kMaxTermsPerText);
  for (const std::string& term : terms) require_normalised(term);

  const std::vector<std::string> words = query_words(text);
  require(words.size() <= kMaxQueryWords);
  const std::set<std::string> distinct(words.begin(), words.end());
  require(distinct.size() == words.size());
  for (const std::string& word : words) require_normalised(word);

  // When the term cap was not reached, every word of the text is one of its terms.
  if (terms.size() < kMaxTermsPerText) {
    const std::set<std::string> term_set(terms.begin(), terms.end());
    for (const std::string& word : words) require(term_set.count(word) == 1);
  }
  return 0;
}
