// The blind index that lets the Cloud search task messages it stores only encrypted
// (P8, docs/privacy.md "What the search index reveals").
//
// A message's text is cut into normalised terms; each term is replaced by a keyed
// hash under the tenant's search key, and only those hashes are stored beside the
// sealed message (an FTS5 table on SQLite, a GIN-indexed tsvector on PostgreSQL). A
// query is cut and hashed the same way, so search never decrypts the message table.
// What the index reveals to someone holding the database but not the keys: which
// stored messages share a term, and how often a term occurs, within one tenant —
// never the term itself, and nothing across tenants (each has its own key).
//
// Terms: text is split into words at every byte that is not an ASCII letter or digit
// and not part of a multi-byte UTF-8 sequence, and at non-ASCII punctuation and spaces
// (Latin-1 punctuation and symbols, General Punctuation such as “ ” — … and the
// no-break space, CJK punctuation, full-width ASCII punctuation, U+FEFF); ASCII letters
// are lower-cased; other characters are kept as they are, not case-folded (invalid
// UTF-8 bytes are separators). A word longer
// than kMaxWordBytes is cut to that length (at a character boundary). Each word is a
// term, and so is each of its prefixes of kMinPrefixChars characters or more, so
// "checkpoint" is found by "check" and "checkp". A message yields at most
// kMaxTermsPerText terms (the first ones); duplicates are kept, for ranking by
// frequency.
//
// Thread-safety: functions are pure; one BlindIndexKey per thread (it reuses one HMAC
// context, so its methods must not run concurrently).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/data_key.h"
#include "crypto/hash.h"

namespace joey::cloud {

inline constexpr size_t kMaxWordBytes = 64;
inline constexpr size_t kMinPrefixChars = 3;
inline constexpr size_t kMaxTermsPerText = 20000;
inline constexpr size_t kMaxQueryWords = 16;

// The terms of `text` (words and their prefixes), in order of appearance.
std::vector<std::string> index_terms(std::string_view text);

// The words of a query, normalised as above, without prefixes and without duplicates,
// at most kMaxQueryWords (the rest are ignored). A word shorter than kMinPrefixChars
// still matches only a whole word of that length.
std::vector<std::string> query_words(std::string_view query);

class BlindIndexKey {
 public:
  // The tenant's search key, derived with HKDF-SHA256 from its data key
  // (crypto::derive_key, purpose "joey blind index v1"), so destroying the data key
  // also destroys the index's key.
  static BlindIndexKey derive(const crypto::DataKey& data_key);

  // The stored form of one term: 16 lowercase hex characters (the first 64 bits of
  // HMAC-SHA256(search key, term)).
  std::string blind(std::string_view term) const;

  // The blinded terms of `text`, joined by single spaces (what is stored).
  std::string blind_text(std::string_view text) const;
  // The blinded words of a query, one per word (what is matched; all must match).
  std::vector<std::string> blind_query(std::string_view query) const;

 private:
  explicit BlindIndexKey(std::string key);
  // Keyed once with the 32-byte search key, which lives nowhere else (OpenSSL wipes the
  // context when it is freed).
  mutable crypto::HmacSha256 hmac_;
};

}  // namespace joey::cloud
