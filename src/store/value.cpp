#include "store/value.h"

namespace joey::store {

const char* value_type_name(Value::Type type) {
  switch (type) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kInteger:
      return "integer";
    case Value::Type::kDouble:
      return "double";
    case Value::Type::kText:
      return "text";
    case Value::Type::kBlob:
      return "blob";
  }
  return "unknown";
}

namespace {

Error type_error(std::string_view column, const char* wanted, const Value& value) {
  return make_error(ErrorKind::kInvalidArgument, "column " + std::string(column) + " holds " +
                                                     value_type_name(value.type()) + ", expected " +
                                                     wanted);
}

// The value of `column` when it has `type`; nullptr for null when `allow_null`.
Result<const Value*> typed(const Row& row, std::string_view column, Value::Type type,
                           const char* wanted, bool allow_null) {
  const Value* value = TRY(row.find(column));
  if (value->is_null() && allow_null) return static_cast<const Value*>(nullptr);
  if (value->type() != type) return type_error(column, wanted, *value);
  return value;
}

}  // namespace

Result<const Value*> Row::find(std::string_view column) const {
  for (size_t index = 0; index < columns_->size() && index < values_.size(); ++index) {
    if ((*columns_)[index] == column) return &values_[index];
  }
  return make_error(ErrorKind::kInvalidArgument,
                    "the result has no column named " + std::string(column));
}

bool Row::is_null(std::string_view column) const {
  auto value = find(column);
  return !value.ok() || (*value)->is_null();
}

Result<int64_t> Row::integer(std::string_view column) const {
  return TRY(typed(*this, column, Value::Type::kInteger, "integer", false))->integer();
}

Result<double> Row::real(std::string_view column) const {
  const Value* value = TRY(find(column));
  if (value->type() == Value::Type::kInteger) return static_cast<double>(value->integer());
  if (value->type() != Value::Type::kDouble) return type_error(column, "double", *value);
  return value->real();
}

Result<std::string> Row::text(std::string_view column) const {
  return TRY(typed(*this, column, Value::Type::kText, "text", false))->text();
}

Result<std::string> Row::blob(std::string_view column) const {
  return TRY(typed(*this, column, Value::Type::kBlob, "blob", false))->blob();
}

Result<std::optional<int64_t>> Row::optional_integer(std::string_view column) const {
  const Value* value = TRY(typed(*this, column, Value::Type::kInteger, "integer", true));
  if (value == nullptr) return std::optional<int64_t>();
  return std::optional<int64_t>(value->integer());
}

Result<std::optional<std::string>> Row::optional_text(std::string_view column) const {
  const Value* value = TRY(typed(*this, column, Value::Type::kText, "text", true));
  if (value == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(value->text());
}

Result<std::optional<std::string>> Row::optional_blob(std::string_view column) const {
  const Value* value = TRY(typed(*this, column, Value::Type::kBlob, "blob", true));
  if (value == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(value->blob());
}

}  // namespace joey::store
