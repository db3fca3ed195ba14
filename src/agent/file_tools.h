// The tools that read and change the user's files: read_file, write_to_file,
// apply_diff and insert_content (Roo Code's names and parameters).
//
// Every path goes through Workspace::resolve and check_access: reads inside the
// workspace need no approval, writes ask the gate with kWrite, anything outside the
// workspace asks with kOutsideWorkspace. Writes are atomic (write_file_atomically):
// a refused, failed or interrupted edit leaves the file as it was. Binary files are
// refused by every tool here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/tool.h"

namespace joey::agent {

struct ReadFileLimits {
  int64_t max_lines = 2000;
  size_t max_bytes = 256 * 1024;  // of numbered output per call
};

ToolDefinition read_file_tool(ReadFileLimits limits = {});
ToolDefinition write_to_file_tool();
ToolDefinition apply_diff_tool();
ToolDefinition insert_content_tool();

// True when `prefix` (the first bytes of a file, typically 8 KiB) looks binary: it
// holds a NUL byte, or more than a tenth of it is not valid UTF-8. A multi-byte
// character cut at the end of `prefix` is not held against it.
bool looks_binary(std::string_view prefix);

// `text` with every invalid UTF-8 sequence replaced by U+FFFD, so that what a tool
// returns can always be sent as JSON.
std::string to_valid_utf8(std::string_view text);

// Number of lines in `text`: newlines, plus one for a last line without a newline.
int64_t count_lines(std::string_view text);

}  // namespace joey::agent
