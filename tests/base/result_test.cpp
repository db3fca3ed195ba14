#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace joey {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') {
    return make_error(ErrorKind::kInvalidArgument, std::string("not a digit: ") + c);
  }
  return c - '0';
}

Result<int> add_digits(char a, char b) {
  const int first = TRY(parse_digit(a));
  const int second = TRY(parse_digit(b));
  return first + second;
}

Status require_positive(int value) {
  if (value <= 0) return make_error(ErrorKind::kLimit, "must be positive");
  return ok_status();
}

Result<int> checked_double(int value) {
  TRY(require_positive(value));
  return value * 2;
}

Result<std::unique_ptr<int>> make_boxed(int value) { return std::make_unique<int>(value); }

Result<int> unbox(int value) {
  std::unique_ptr<int> boxed = TRY(make_boxed(value));
  return *boxed;
}

TEST(Result, HoldsAValue) {
  Result<std::string> result = std::string("value");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(static_cast<bool>(result));
  EXPECT_EQ(*result, "value");
  EXPECT_EQ(result->size(), 5u);
}

TEST(Result, HoldsAnErrorWithKindAndMessage) {
  Result<int> result = make_error(ErrorKind::kNotFound, "no such task");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(result.error().message, "no such task");
  EXPECT_EQ(result.value_or(7), 7);
}

TEST(Result, TryYieldsTheValueOnSuccess) {
  auto sum = add_digits('3', '4');
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 7);
}

TEST(Result, TryReturnsTheFirstError) {
  auto sum = add_digits('3', 'x');
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(sum.error().message, "not a digit: x");
}

TEST(Result, TryWorksOnStatus) {
  EXPECT_EQ(checked_double(4).value_or(-1), 8);
  auto failed = checked_double(0);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::kLimit);
}

TEST(Result, TryMovesOutMoveOnlyValues) {
  auto value = unbox(9);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 9);
}

TEST(Result, WithContextPrefixesTheMessageAndKeepsTheKind) {
  const Error error =
      Error(ErrorKind::kIo, "permission denied").with_context("reading config.toml");
  EXPECT_EQ(error.kind, ErrorKind::kIo);
  EXPECT_EQ(error.message, "reading config.toml: permission denied");
}

TEST(Result, ErrorKindsHaveStableNames) {
  EXPECT_STREQ(error_kind_name(ErrorKind::kNotFound), "not_found");
  EXPECT_STREQ(error_kind_name(ErrorKind::kRateLimited), "rate_limited");
  EXPECT_STREQ(error_kind_name(ErrorKind::kInternal), "internal");
}

}  // namespace
}  // namespace joey
