// Text encodings of binary values: lowercase hex (ids, digests) and base64url without
// padding (RFC 4648 §5; keys in files, tokens in URLs). Decoding is strict, since these
// strings come from files, databases and requests: anything that an encoder of ours
// would not have produced is refused, and an error never quotes the input (it may be a
// key).
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace joey::crypto {

// Two lowercase hex digits per byte.
std::string hex_encode(std::string_view bytes);
// Accepts upper- and lowercase digits. kInvalidArgument on an odd length or a non-hex
// character.
Result<std::string> hex_decode(std::string_view text);

// Alphabet A-Z a-z 0-9 '-' '_', no '=' padding.
std::string base64url_encode(std::string_view bytes);
// kInvalidArgument on a character outside the alphabet (padding, '+', '/', whitespace
// included), an impossible length (4n+1), or unused low bits that are not zero (so each
// value has exactly one encoding).
Result<std::string> base64url_decode(std::string_view text);

// Appends `field` to `out` as a 4-byte big-endian length and the bytes, so that a
// sequence of fields has one reading: ("ab", "c") and ("a", "bc") differ. Used to build
// associated data and MAC inputs. Fields longer than 4 GiB - 1 are a programmer error
// (asserted); callers bound their inputs far below that.
void append_length_prefixed(std::string& out, std::string_view field);

}  // namespace joey::crypto
