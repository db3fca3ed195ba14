// Bearer tokens the Cloud issues (personal access tokens "joey_pat_…", device-login and
// invite tokens): a readable prefix and 256 random bits in base62, so a token selects with
// a double click, needs no URL escaping, and secret scanners can recognise the prefix.
//
// The database stores only token_digest(token). A plain SHA-256 is the right hash here,
// not a slow password hash: a token has 256 bits of entropy, so nobody can guess one from
// its digest, and a fast digest lets every request be authenticated by one indexed lookup.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace joey::crypto {

inline constexpr char kPersonalAccessTokenPrefix[] = "joey_pat_";
// 62^43 > 2^256: 43 base62 characters carry 256 random bits.
inline constexpr size_t kTokenRandomChars = 43;

// `prefix` followed by kTokenRandomChars characters drawn uniformly from [0-9A-Za-z].
std::string generate_token(std::string_view prefix);

// True when `token` is `prefix` followed by exactly kTokenRandomChars base62 characters;
// a cheap check before any database lookup.
bool is_token_shaped(std::string_view token, std::string_view prefix);

// The lowercase hex SHA-256 of `token` (64 characters): what the database stores.
std::string token_digest(std::string_view token);

}  // namespace joey::crypto
