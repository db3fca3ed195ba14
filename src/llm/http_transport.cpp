#include "llm/http_transport.h"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "base/atomic_file.h"
#include "base/log.h"
#include "base/strings.h"
#include "llm/egress_log.h"

namespace joey::llm {
namespace {

using Clock = std::chrono::steady_clock;

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with libcurl's callbacks for one transfer.
struct Transfer {
  CURL* easy = nullptr;
  const HttpCallbacks* callbacks = nullptr;
  HttpResponseHead head;
  bool head_delivered = false;
  bool body_started = false;
  Clock::time_point last_activity;
  Status body_error;
  bool body_failed = false;
  CURLcode curl_result = CURLE_OK;

  void deliver_head() {
    if (head_delivered) return;
    head_delivered = true;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &head.status);
    if (callbacks->on_head) callbacks->on_head(head);
  }
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    transfer->head.headers.clear();  // a new response (after 100-continue or a redirect)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    transfer->head.headers[ascii_lower(line.substr(0, colon))] =
        std::string(trim(line.substr(colon + 1)));
  }
  return size * count;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->deliver_head();
  transfer->body_started = true;
  transfer->last_activity = Clock::now();
  if (transfer->callbacks->on_body) {
    Status status = transfer->callbacks->on_body(std::string_view(data, size * count));
    if (!status.ok()) {
      transfer->body_error = std::move(status);
      transfer->body_failed = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
  }
  return size * count;
}

bool is_tls_verification_failure(CURLcode result) {
  return result == CURLE_PEER_FAILED_VERIFICATION || result == CURLE_SSL_CACERT_BADFILE ||
         result == CURLE_SSL_ISSUER_ERROR;
}

// The egress log's status for a transfer that ended without a response.
std::string failure_class(const Transfer& transfer, const Error& error) {
  if (error.kind == ErrorKind::kCancelled) return "cancelled";
  if (error.kind == ErrorKind::kTimeout) return "timeout";
  if (transfer.body_failed) return "aborted";
  switch (transfer.curl_result) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "resolve_failed";
    case CURLE_COULDNT_CONNECT:
      return "connect_failed";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
      return "tls_failed";
    default:
      break;
  }
  if (is_tls_verification_failure(transfer.curl_result)) return "tls_failed";
  return "network_error";
}

uint64_t curl_size(CURL* easy, CURLINFO info) {
  curl_off_t value = 0;
  return curl_easy_getinfo(easy, info, &value) == CURLE_OK && value > 0
             ? static_cast<uint64_t>(value)
             : 0;
}

uint64_t curl_long(CURL* easy, CURLINFO info) {
  long value = 0;
  return curl_easy_getinfo(easy, info, &value) == CURLE_OK && value > 0
             ? static_cast<uint64_t>(value)
             : 0;
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport(const Cancellation* cancellation, TransportOptions options)
      : cancellation_(cancellation), options_(std::move(options)) {
    ensure_curl_initialised();
  }

  Result<HttpResponseHead> perform(const HttpRequest& request, const HttpTimeouts& timeouts,
                                   const HttpCallbacks& callbacks) override {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
    std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(),
                                                                curl_multi_cleanup);
    if (!easy || !multi) return make_error(ErrorKind::kInternal, "could not start libcurl");

    Transfer transfer;
    transfer.easy = easy.get();
    transfer.callbacks = &callbacks;

    curl_slist* header_list = nullptr;
    for (const auto& [name, value] : request.headers) {
      header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
    }
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_guard(header_list,
                                                                              curl_slist_free_all);

    CURL* handle = easy.get();
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method != "GET") {
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    } else {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(timeouts.connect.count()));
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
    // SSL_CERT_FILE names a CA bundle to trust instead of the system store (a company
    // proxy's CA, or a test's own CA); verification itself is never turned off.
    // A ca_bundle (build_ca_bundle: that store plus the user's --ca-cert) wins.
    if (!options_.ca_bundle.empty()) {
      curl_blob blob{};
      blob.data = const_cast<char*>(options_.ca_bundle.data());
      blob.len = options_.ca_bundle.size();
      blob.flags = CURL_BLOB_NOCOPY;  // options_ outlives the transfer
      curl_easy_setopt(handle, CURLOPT_CAINFO_BLOB, &blob);
    } else if (const char* ca_file = std::getenv("SSL_CERT_FILE"); ca_file && *ca_file) {
      curl_easy_setopt(handle, CURLOPT_CAINFO, ca_file);
    }
    curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION,
                     0L);  // a redirect must not carry the key elsewhere
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "joey/" JOEY_VERSION);
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);

    curl_multi_add_handle(multi.get(), handle);
    const Clock::time_point started = Clock::now();
    transfer.last_activity = started;

    Result<HttpResponseHead> outcome = run(multi.get(), transfer, timeouts, started, request.url);
    curl_multi_remove_handle(multi.get(), handle);
    record_egress(request, transfer, outcome);
    return outcome;
  }

 private:
  // Appends the transfer to the egress log; a log that cannot be written is reported
  // once per transport and never fails the request.
  void record_egress(const HttpRequest& request, const Transfer& transfer,
                     const Result<HttpResponseHead>& outcome) {
    std::shared_ptr<EgressLog> egress =
        options_.egress_log ? options_.egress_log : default_egress_log();
    if (!egress) return;
    EgressRecord record;
    record.time = utc_timestamp_now();
    record.host = egress_host(request.url);
    record.purpose = request.purpose;
    record.method = request.method;
    record.bytes_sent = curl_long(transfer.easy, CURLINFO_REQUEST_SIZE) +
                        curl_size(transfer.easy, CURLINFO_SIZE_UPLOAD_T);
    record.bytes_received = curl_long(transfer.easy, CURLINFO_HEADER_SIZE) +
                            curl_size(transfer.easy, CURLINFO_SIZE_DOWNLOAD_T);
    record.status = outcome.ok() ? std::to_string(outcome.value().status)
                                 : failure_class(transfer, outcome.error());
    Status appended = egress->append(record);
    if (!appended.ok() && !egress_warning_given_) {
      egress_warning_given_ = true;
      log::warn("egress_log_write_failed", {log::field("path", egress->path().string()),
                                            log::field("reason", appended.error().message)});
    }
  }

  Result<HttpResponseHead> run(CURLM* multi, Transfer& transfer, const HttpTimeouts& timeouts,
                               Clock::time_point started, const std::string& url) {
    int running = 1;
    while (true) {
      CURLMcode code = curl_multi_perform(multi, &running);
      if (code != CURLM_OK) {
        return make_error(ErrorKind::kNetwork,
                          std::string("libcurl: ") + curl_multi_strerror(code));
      }
      if (running == 0) break;
      if (cancellation_ && cancellation_->requested()) {
        return make_error(ErrorKind::kCancelled, "cancelled");
      }
      auto now = Clock::now();
      if (!transfer.body_started && now - started > timeouts.connect + timeouts.first_byte) {
        return make_error(ErrorKind::kTimeout,
                          "no response within " +
                              std::to_string(timeouts.first_byte.count() / 1000) +
                              " s of sending the request");
      }
      if (transfer.body_started && now - transfer.last_activity > timeouts.idle) {
        return make_error(ErrorKind::kTimeout, "the response stalled for more than " +
                                                   std::to_string(timeouts.idle.count() / 1000) +
                                                   " s");
      }
      curl_waitfd extra[1];
      unsigned extra_count = 0;
      if (cancellation_ && cancellation_->wake_fd() >= 0) {
        extra[0].fd = cancellation_->wake_fd();
        extra[0].events = CURL_WAIT_POLLIN;
        extra[0].revents = 0;
        extra_count = 1;
      }
      curl_multi_poll(multi, extra, extra_count, 200, nullptr);
    }

    int messages_left = 0;
    CURLcode result = CURLE_OK;
    while (CURLMsg* message = curl_multi_info_read(multi, &messages_left)) {
      if (message->msg == CURLMSG_DONE) result = message->data.result;
    }
    transfer.curl_result = result;
    if (transfer.body_failed) return std::move(transfer.body_error).error();
    if (is_tls_verification_failure(result)) {
      // Not retried: an untrusted certificate will not become trusted by asking again.
      const std::string host = egress_host(url);
      return make_error(ErrorKind::kPermissionDenied,
                        "refused to talk to " + host +
                            ": its TLS certificate could not be verified (" +
                            curl_easy_strerror(result) + "); if " + host +
                            " uses a private certificate authority, trust it with --ca-cert FILE");
    }
    if (result != CURLE_OK) {
      ErrorKind kind =
          result == CURLE_OPERATION_TIMEDOUT ? ErrorKind::kTimeout : ErrorKind::kNetwork;
      return make_error(kind, curl_easy_strerror(result));
    }
    transfer.deliver_head();  // an empty body still has a head
    return transfer.head;
  }

  const Cancellation* cancellation_;
  const TransportOptions options_;
  bool egress_warning_given_ = false;
};

constexpr std::array<const char*, 3> kSystemBundles = {
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"};

}  // namespace

std::unique_ptr<HttpTransport> make_curl_transport(const Cancellation* cancellation,
                                                   TransportOptions options) {
  return std::make_unique<CurlTransport>(cancellation, std::move(options));
}

Result<std::string> build_ca_bundle(const std::filesystem::path& extra_ca_file) {
  Result<std::string> extra = read_file_to_string(extra_ca_file);
  if (!extra.ok()) {
    if (extra.error().kind == ErrorKind::kNotFound) {
      return make_error(ErrorKind::kNotFound,
                        "the CA certificate file " + extra_ca_file.string() + " does not exist");
    }
    return make_error(ErrorKind::kIo, "cannot read the CA certificate file " +
                                          extra_ca_file.string() + ": " + extra.error().message);
  }
  if (extra.value().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return make_error(ErrorKind::kInvalidArgument,
                      extra_ca_file.string() +
                          " holds no PEM certificate (expected a \"-----BEGIN CERTIFICATE-----\" "
                          "block)");
  }
  std::string bundle;
  std::vector<std::string> candidates;
  if (const char* file = std::getenv("SSL_CERT_FILE"); file && *file) candidates.emplace_back(file);
  candidates.insert(candidates.end(), kSystemBundles.begin(), kSystemBundles.end());
  for (const std::string& candidate : candidates) {
    Result<std::string> system = read_file_to_string(candidate);
    if (system.ok()) {
      bundle = std::move(system).value();
      break;
    }
  }
  if (!bundle.empty() && bundle.back() != '\n') bundle.push_back('\n');
  bundle += extra.value();
  return bundle;
}

std::string url_host(const std::string& url) {
  ensure_curl_initialised();
  CURLU* handle = curl_url();
  if (!handle) return "";
  std::string host;
  if (curl_url_set(handle, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* part = nullptr;
    if (curl_url_get(handle, CURLUPART_HOST, &part, 0) == CURLUE_OK && part) {
      host = part;
      curl_free(part);
    }
  }
  curl_url_cleanup(handle);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return ascii_lower(host);
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8 written as a dotted quad.
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

}  // namespace joey::llm
