// FieldListParser: a Beast basic_parser that keeps a message's header fields the way
// joeyd's handlers read them (HttpRequest::headers, UpstreamHead::headers): each name
// lower-cased once as it is parsed, in order, a repeated field once per occurrence.
// Beast's own request and response parsers build a field list of their own, which then
// had to be copied. Framing (Content-Length, chunked, keep-alive, limits) stays
// basic_parser's; chunk extensions and trailers are dropped. A subclass reads the start
// line and takes the body's bytes, chunked or not, in on_body_bytes().
//
// Used by the server's request parser (http_server.cpp) and the model proxy's upstream
// response parser (upstream_client.cpp). Thread-safety: one message, one thread.
#pragma once

#include "cloud/asio.h"  // first: <utility> before Asio (DESIGN.md §6)

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/strings.h"

namespace joey::cloud {

template <bool isRequest>
class FieldListParser : public http::basic_parser<isRequest> {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;

  Fields& fields() { return fields_; }
  const Fields& fields() const { return fields_; }

 protected:
  using error_code = boost::system::error_code;

  FieldListParser() { fields_.reserve(kTypicalFieldCount); }

  // The body's next bytes: the count taken (fewer, with http::error::need_buffer, when
  // there is no room for more now).
  virtual size_t on_body_bytes(beast::string_view bytes, error_code& error) = 0;

  void on_body_init_impl(const boost::optional<std::uint64_t>& /*content_length*/,
                         error_code& error) override {
    error = {};
  }

 private:
  static constexpr size_t kTypicalFieldCount = 16;  // room reserved at once

  void on_field_impl(http::field /*name*/, beast::string_view name, beast::string_view value,
                     error_code& error) override {
    auto& field = fields_.emplace_back(std::string(name.data(), name.size()),
                                       std::string(value.data(), value.size()));
    ascii_lower_in_place(field.first);
    error = {};
  }
  void on_header_impl(error_code& error) override { error = {}; }
  size_t on_body_impl(beast::string_view bytes, error_code& error) override {
    return on_body_bytes(bytes, error);
  }
  void on_chunk_header_impl(std::uint64_t /*size*/, beast::string_view /*extensions*/,
                            error_code& error) override {
    error = {};
  }
  size_t on_chunk_body_impl(std::uint64_t /*remain*/, beast::string_view bytes,
                            error_code& error) override {
    return on_body_bytes(bytes, error);
  }
  void on_finish_impl(error_code& error) override { error = {}; }

  Fields fields_;
};

}  // namespace joey::cloud
