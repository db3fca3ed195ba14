// The incremental HTTP/1.1 response reader of proxy_load (bench/proxy_load.cpp), the
// proxy benchmark's load client: status line, headers, and the end of a Content-Length,
// chunked or close-delimited body. It keeps only the head and a short tail of the body (to
// find an expected text across pieces). A benchmark tool reading local servers' answers,
// not a parser joey uses on untrusted input. Not thread-safe: one per connection.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace proxy_bench {

inline constexpr size_t kMaxHeadBytes = 64 * 1024;

// Reads one response at a time; reset() before each.
class ResponseReader {
 public:
  enum class Step { kMore, kDone, kBad };

  explicit ResponseReader(const std::string* expect) : expect_(expect) {}

  void reset() {
    head_.clear();
    in_head_ = true;
    status_ = 0;
    close_ = false;
    chunked_ = false;
    until_close_ = false;
    remaining_ = 0;
    chunk_state_ = ChunkState::kSize;
    size_line_.clear();
    tail_.clear();
    found_ = false;
    body_seen_ = false;
  }

  // Feeds bytes; `first_body` is set when the first body byte arrived in this call.
  Step feed(std::string_view bytes, bool& first_body) {
    while (!bytes.empty()) {
      if (in_head_) {
        const size_t old = head_.size();
        head_.append(bytes.data(), std::min(bytes.size(), kMaxHeadBytes));
        const size_t end = head_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (head_.size() >= kMaxHeadBytes) return Step::kBad;
          return Step::kMore;
        }
        const size_t used = end + 4 - old;
        bytes.remove_prefix(used);
        head_.resize(end + 2);
        if (!parse_head()) return Step::kBad;
        in_head_ = false;
        if (!chunked_ && !until_close_ && remaining_ == 0) return Step::kDone;
        continue;
      }
      if (!body_seen_) {
        body_seen_ = true;
        first_body = true;
      }
      if (until_close_) {
        see(bytes);
        return Step::kMore;
      }
      if (!chunked_) {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
        see(bytes.substr(0, take));
        remaining_ -= take;
        bytes.remove_prefix(take);
        if (remaining_ == 0) return bytes.empty() ? Step::kDone : Step::kBad;
        continue;
      }
      const Step step = feed_chunked(bytes);
      if (step != Step::kMore) return step;
    }
    return Step::kMore;
  }

  // The peer closed: a close-delimited body ends here; anything else was cut.
  Step at_close() const { return !in_head_ && until_close_ ? Step::kDone : Step::kBad; }

  int status() const { return status_; }
  bool close_after() const { return close_; }
  bool body_ok() const { return expect_->empty() || found_; }

 private:
  enum class ChunkState { kSize, kData, kDataEnd, kTrailer };

  static bool iequals_prefix(std::string_view line, std::string_view name) {
    if (line.size() < name.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    }
    return true;
  }

  static std::string_view trim(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == ' ' || value.back() == '\t' || value.back() == '\r')) {
      value.remove_suffix(1);
    }
    return value;
  }

  bool parse_head() {
    std::string_view head = head_;
    const size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
    const bool http10 = status_line.substr(0, 8) == "HTTP/1.0";
    if (std::from_chars(status_line.data() + 9, status_line.data() + 12, status_).ec !=
        std::errc{}) {
      return false;
    }
    bool have_length = false;
    bool keep_alive = false;
    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
      const size_t end = head.find("\r\n");
      std::string_view line = head.substr(0, end);
      head.remove_prefix(end == std::string_view::npos ? head.size() : end + 2);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view value = trim(line.substr(colon + 1));
      if (iequals_prefix(line, "content-length:")) {
        if (std::from_chars(value.data(), value.data() + value.size(), remaining_).ec !=
            std::errc{}) {
          return false;
        }
        have_length = true;
      } else if (iequals_prefix(line, "transfer-encoding:")) {
        chunked_ = value.find("chunked") != std::string_view::npos;
      } else if (iequals_prefix(line, "connection:")) {
        if (value.find("close") != std::string_view::npos) close_ = true;
        if (value.find("keep-alive") != std::string_view::npos) keep_alive = true;
      }
    }
    if (http10 && !keep_alive) close_ = true;
    if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) {
      chunked_ = false;
      remaining_ = 0;
      return true;
    }
    if (!chunked_ && !have_length) {
      until_close_ = true;
      close_ = true;
    }
    return true;
  }

  Step feed_chunked(std::string_view& bytes) {
    while (!bytes.empty()) {
      switch (chunk_state_) {
        case ChunkState::kSize: {
          const size_t end = bytes.find('\n');
          size_line_.append(bytes.substr(0, end));
          if (size_line_.size() > 256) return Step::kBad;
          if (end == std::string_view::npos) return Step::kMore;
          bytes.remove_prefix(end + 1);
          std::string_view line = trim(size_line_);
          const size_t extension = line.find(';');
          line = line.substr(0, extension);
          uint64_t size = 0;
          if (std::from_chars(line.data(), line.data() + line.size(), size, 16).ec != std::errc{}) {
            return Step::kBad;
          }
          size_line_.clear();
          remaining_ = size;
          chunk_state_ = size == 0 ? ChunkState::kTrailer : ChunkState::kData;
          break;
        }
        case ChunkState::kData: {
          const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
          see(bytes.substr(0, take));
          remaining_ -= take;
          bytes.remove_prefix(take);
          if (remaining_ == 0) chunk_state_ = ChunkState::kDataEnd;
          break;
        }
        case ChunkState::kDataEnd: {
          const size_t end = bytes.find('\n');
          if (end == std::string_view::npos) return Step::kMore;
          bytes.remove_prefix(end + 1);
          chunk_state_ = ChunkState::kSize;
          break;
        }
        case ChunkState::kTrailer: {
          const size_t end = bytes.find('\n');
          size_line_.append(bytes.substr(0, end));
          if (size_line_.size() > 4096) return Step::kBad;
          if (end == std::string_view::npos) return Step::kMore;
          bytes.remove_prefix(end + 1);
          const bool empty = trim(size_line_).empty();
          size_line_.clear();
          if (empty) return bytes.empty() ? Step::kDone : Step::kBad;
          break;
        }
      }
    }
    return Step::kMore;
  }

  // Looks for the expected text across piece boundaries, keeping only a short tail.
  void see(std::string_view bytes) {
    if (expect_->empty() || found_ || bytes.empty()) return;
    tail_.append(bytes);
    if (tail_.find(*expect_) != std::string::npos) {
      found_ = true;
      return;
    }
    if (tail_.size() > expect_->size()) tail_.erase(0, tail_.size() - expect_->size());
  }

  const std::string* expect_;
  std::string head_;
  bool in_head_ = true;
  int status_ = 0;
  bool close_ = false;
  bool chunked_ = false;
  bool until_close_ = false;
  uint64_t remaining_ = 0;
  ChunkState chunk_state_ = ChunkState::kSize;
  std::string size_line_;
  std::string tail_;
  bool found_ = false;
  bool body_seen_ = false;
};

}  // namespace proxy_bench
