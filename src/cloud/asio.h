// The one way joeyd code includes Boost.Asio and Boost.Beast. Boost 1.74's
// boost/asio/awaitable.hpp uses std::exchange without including <utility>, so
// <utility> must come first; include this header before any other Boost header.
//
// Beast translation units compile slowly: only the transport (http_server.cpp) and,
// later, the outbound proxy include this. Everything else talks to the plain structs
// in cloud/http_types.h.
#pragma once

#include <utility>

// Boost 1.74 enables co_await for clang only with the Coroutines TS and libc++'s
// <experimental/coroutine>; clang 14 with libstdc++ has standard C++20 coroutines,
// which Asio then uses (it already selects <coroutine> for any __GNUC__ compiler).
#if defined(__clang__) && !defined(BOOST_ASIO_HAS_CO_AWAIT) && defined(__cpp_impl_coroutine) && \
    __cpp_impl_coroutine >= 201902L
#if __has_include(<coroutine>)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#endif

// Clang 14 fails to compile coroutines under -fsanitize=function (part of
// -fsanitize=undefined, used by the sanitizer build): "Cannot represent a difference
// across sections" (LLVM issue 49689). Code that defines coroutines — Asio's own
// headers and joeyd's transport — sits between JOEY_COROUTINES_BEGIN and
// JOEY_COROUTINES_END, which switch that one check off there.
#if defined(__clang__)
#define JOEY_COROUTINES_BEGIN \
  _Pragma("clang attribute push(__attribute__((no_sanitize(\"function\"))), apply_to = function)")
#define JOEY_COROUTINES_END _Pragma("clang attribute pop")
#else
#define JOEY_COROUTINES_BEGIN
#define JOEY_COROUTINES_END
#endif

JOEY_COROUTINES_BEGIN
#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
JOEY_COROUTINES_END

namespace joey::cloud {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

}  // namespace joey::cloud
