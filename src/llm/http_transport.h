// HTTP for talking to model providers: one libcurl-backed implementation behind a
// small interface. Response bodies stream to a callback as they arrive, so SSE
// decoding starts with the first byte. TLS certificates are always verified;
// HTTPS_PROXY / NO_PROXY are honoured (libcurl reads them).
//
// Timeouts: connect (TCP+TLS), first byte (request sent → first body byte) and idle
// (longest silence between body chunks). A cancellation (Ctrl-C) aborts at once.
//
// Egress (P13): after every transfer, success or failure, the transport appends one
// record (host, purpose, method, byte counts, status; never a body, header or query)
// to its options' EgressLog, else to llm::default_egress_log() when one is installed.
//
// Trust (P3): a certificate is checked against the system store (or SSL_CERT_FILE's
// bundle); TransportOptions::ca_bundle, built by build_ca_bundle(), replaces that with
// the same store plus the user's own CA (`--ca-cert FILE`, setting tls.ca_cert).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/cancel.h"
#include "base/result.h"

namespace joey::llm {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // What the request is for, as recorded in the egress log: one of kEgressPurposes
  // (llm/egress_log.h): "model", "telemetry", "cloud", "marketplace", "mcp", "other".
  std::string purpose = "other";
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds first_byte{120'000};
  std::chrono::milliseconds idle{90'000};
};

struct HttpResponseHead {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

struct HttpCallbacks {
  // Called once, when the status line and headers are complete.
  std::function<void(const HttpResponseHead& head)> on_head;
  // Called with each piece of the body; an error aborts the transfer and is returned.
  std::function<Status(std::string_view chunk)> on_body;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Performs the request. Transport failures are kNetwork (connect, reset, TLS),
  // kTimeout or kCancelled; an HTTP error status is not an Error here — the caller
  // reads head.status. Returns the response head.
  virtual Result<HttpResponseHead> perform(const HttpRequest& request, const HttpTimeouts& timeouts,
                                           const HttpCallbacks& callbacks) = 0;
};

class EgressLog;

struct TransportOptions {
  // Where requests are recorded; null: llm::default_egress_log() at the time of each
  // request (and nowhere when none is installed).
  std::shared_ptr<EgressLog> egress_log;
  // PEM certificates to trust instead of the default store; empty: the default store
  // (SSL_CERT_FILE's bundle when set, else the system's).
  std::string ca_bundle;
};

// The libcurl transport. `cancellation` may be null (no cancellation).
std::unique_ptr<HttpTransport> make_curl_transport(const Cancellation* cancellation,
                                                   TransportOptions options = {});

// The default trust store (SSL_CERT_FILE when set, else the system bundle, e.g.
// /etc/ssl/certs/ca-certificates.crt) followed by the PEM certificates in
// `extra_ca_file`, for TransportOptions::ca_bundle. kNotFound when the file does not
// exist, kInvalidArgument when it holds no PEM certificate, kIo when it is unreadable.
// Without a system bundle the result is the user's certificates alone.
Result<std::string> build_ca_bundle(const std::filesystem::path& extra_ca_file);

// Host part of a URL, or "" when it cannot be parsed.
std::string url_host(const std::string& url);
// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

}  // namespace joey::llm
