// A self-signed certificate (P-256) and its key for one test: made with the openssl
// command in a temporary directory, removed with the object. Servers under test present
// it; clients trust it as their CA file.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "base/ids.h"
#include "base/subprocess.h"

namespace joey::cloud {

class TestCertificate {
 public:
  // `subject_alt_name` as openssl's -addext takes it ("IP:127.0.0.1,DNS:localhost").
  explicit TestCertificate(const std::string& subject_alt_name = "IP:127.0.0.1,DNS:localhost") {
    directory_ = std::filesystem::temp_directory_path() / ("joeyd-test-tls-" + random_hex(6));
    std::filesystem::create_directories(directory_);
    ProcessOptions process;
    process.argv = {"openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=joey-test",
                    "-addext",
                    "subjectAltName=" + subject_alt_name,
                    "-keyout",
                    key().string(),
                    "-out",
                    certificate().string()};
    process.timeout = std::chrono::seconds(30);
    Result<ProcessResult> result = run_process(process);
    ok_ = result.ok() && result->exit_code == 0;
  }
  ~TestCertificate() {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  // Whether openssl made the files.
  bool ok() const { return ok_; }
  std::filesystem::path certificate() const { return directory_ / "cert.pem"; }
  std::filesystem::path key() const { return directory_ / "key.pem"; }

 private:
  std::filesystem::path directory_;
  bool ok_ = false;
};

}  // namespace joey::cloud
