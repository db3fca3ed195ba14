#include "llm/egress_log.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/paths.h"

namespace joey::llm {
namespace {

constexpr size_t kMaxHostBytes = 255;
constexpr size_t kMaxMethodBytes = 16;
constexpr size_t kMaxStatusBytes = 32;
constexpr size_t kMaxTimeBytes = 32;
constexpr size_t kMaxLineBytes = 4096;

std::mutex& default_mutex() {
  static std::mutex* const instance = new std::mutex();
  return *instance;
}

std::shared_ptr<EgressLog>& default_slot() {
  static auto* const instance = new std::shared_ptr<EgressLog>();
  return *instance;
}

std::string normalised_purpose(std::string_view purpose) {
  for (std::string_view known : kEgressPurposes) {
    if (purpose == known) return std::string(known);
  }
  return "other";
}

// Keeps printable ASCII only, so that nothing odd reaches the file or a terminal.
std::string bounded(std::string_view text, size_t max_bytes) {
  std::string out;
  for (char c : text.substr(0, std::min(text.size(), max_bytes))) {
    out.push_back(c > 0x20 && c < 0x7F ? c : '_');
  }
  return out;
}

std::string errno_text() { return std::strerror(errno); }

// Closes a descriptor on every path out of append().
struct FdGuard {
  int fd = -1;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

int open_for_append(const std::filesystem::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

bool parse_digits(std::string_view text, size_t pos, size_t count, int& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

const uint64_t* nonnegative_field(const nlohmann::json& object, const char* key,
                                  uint64_t& storage) {
  auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer()) return nullptr;
  if (found->is_number_unsigned()) {
    storage = found->get<uint64_t>();
    return &storage;
  }
  const int64_t value = found->get<int64_t>();
  if (value < 0) return nullptr;
  storage = static_cast<uint64_t>(value);
  return &storage;
}

}  // namespace

EgressLog::EgressLog(std::filesystem::path path, uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

Result<std::filesystem::path> EgressLog::default_path() {
  std::filesystem::path home = TRY(joey_home());
  return home / "egress.log";
}

std::filesystem::path EgressLog::rotated_path() const {
  std::filesystem::path rotated = path_;
  rotated += ".1";
  return rotated;
}

Status EgressLog::append(const EgressRecord& record) {
  const std::string line = format_egress_line(record) + "\n";
  std::lock_guard lock(mutex_);
  FdGuard file{open_for_append(path_)};
  if (file.fd < 0) {
    return make_error(ErrorKind::kIo, "cannot open " + path_.string() + ": " + errno_text());
  }
  // Other joey processes append to and rotate the same file: the lock makes "check
  // the size, maybe rotate, write" one step among them.
  ::flock(file.fd, LOCK_EX);
  struct stat opened {};
  struct stat current {};
  if (::fstat(file.fd, &opened) == 0 && ::stat(path_.c_str(), &current) == 0 &&
      (opened.st_ino != current.st_ino || opened.st_dev != current.st_dev)) {
    // Another process rotated the file between our open and our lock.
    FdGuard reopened{open_for_append(path_)};
    if (reopened.fd < 0) {
      return make_error(ErrorKind::kIo, "cannot open " + path_.string() + ": " + errno_text());
    }
    std::swap(file.fd, reopened.fd);
    ::flock(file.fd, LOCK_EX);
    ::fstat(file.fd, &opened);
  }
  if (opened.st_size > 0 && static_cast<uint64_t>(opened.st_size) + line.size() > max_bytes_) {
    if (::rename(path_.c_str(), rotated_path().c_str()) == 0) {
      FdGuard fresh{open_for_append(path_)};
      if (fresh.fd < 0) {
        return make_error(ErrorKind::kIo, "cannot open " + path_.string() + ": " + errno_text());
      }
      std::swap(file.fd, fresh.fd);
      ::flock(file.fd, LOCK_EX);
    }
  }
  ::fchmod(file.fd, 0600);
  const ssize_t written = ::write(file.fd, line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) {
    return make_error(ErrorKind::kIo, "cannot write " + path_.string() + ": " + errno_text());
  }
  return ok_status();
}

void set_default_egress_log(std::shared_ptr<EgressLog> log) {
  std::lock_guard lock(default_mutex());
  default_slot() = std::move(log);
}

std::shared_ptr<EgressLog> default_egress_log() {
  std::lock_guard lock(default_mutex());
  return default_slot();
}

std::string format_egress_line(const EgressRecord& record) {
  nlohmann::json line = nlohmann::json::object();
  line["time"] = bounded(record.time, kMaxTimeBytes);
  line["host"] = bounded(record.host, kMaxHostBytes);
  line["purpose"] = normalised_purpose(record.purpose);
  line["method"] = bounded(record.method, kMaxMethodBytes);
  line["sent"] = record.bytes_sent;
  line["received"] = record.bytes_received;
  line["status"] = bounded(record.status, kMaxStatusBytes);
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<EgressRecord> parse_egress_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty() || line.size() > kMaxLineBytes) return std::nullopt;
  const nlohmann::json document = parse_json(line);
  if (document.is_discarded() || !document.is_object()) return std::nullopt;
  const std::string* time = string_field(document, "time");
  const std::string* host = string_field(document, "host");
  const std::string* purpose = string_field(document, "purpose");
  uint64_t sent = 0;
  uint64_t received = 0;
  if (!time || time->size() > kMaxTimeBytes || !host || host->empty() || !purpose ||
      !parse_utc_timestamp(*time) || !nonnegative_field(document, "sent", sent) ||
      !nonnegative_field(document, "received", received)) {
    return std::nullopt;
  }
  EgressRecord record;
  record.time = *time;
  record.host = bounded(*host, kMaxHostBytes);
  record.purpose = normalised_purpose(*purpose);
  if (const std::string* method = string_field(document, "method")) {
    record.method = bounded(*method, kMaxMethodBytes);
  }
  if (const std::string* status = string_field(document, "status")) {
    record.status = bounded(*status, kMaxStatusBytes);
  }
  record.bytes_sent = sent;
  record.bytes_received = received;
  return record;
}

std::string egress_host(const std::string& url) {
  CURLU* handle = curl_url();
  if (!handle) return "";
  std::string host;
  if (curl_url_set(handle, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* part = nullptr;
    if (curl_url_get(handle, CURLUPART_HOST, &part, 0) == CURLUE_OK && part) {
      host = part;
      curl_free(part);
    }
    part = nullptr;
    if (!host.empty() && curl_url_get(handle, CURLUPART_PORT, &part, 0) == CURLUE_OK && part) {
      host += ":" + std::string(part);
      curl_free(part);
    }
  }
  curl_url_cleanup(handle);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

std::string format_utc_timestamp(int64_t seconds) {
  const auto value = static_cast<std::time_t>(seconds);
  std::tm parts{};
  gmtime_r(&value, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string utc_timestamp_now() { return format_utc_timestamp(std::time(nullptr)); }

std::optional<int64_t> parse_utc_timestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS then an optional fraction, then Z.
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !parse_digits(text, 0, 4, year) || text[4] != '-' ||
      !parse_digits(text, 5, 2, month) || text[7] != '-' || !parse_digits(text, 8, 2, day) ||
      text[10] != 'T' || !parse_digits(text, 11, 2, hour) || text[13] != ':' ||
      !parse_digits(text, 14, 2, minute) || text[16] != ':' || !parse_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (text[pos] == '.') {
    ++pos;
    const size_t digits_start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == digits_start) return std::nullopt;
  }
  if (pos + 1 != text.size() || text[pos] != 'Z') return std::nullopt;
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  std::tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return static_cast<int64_t>(timegm(&parts));
}

}  // namespace joey::llm
