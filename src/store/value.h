// Values and rows of joey's data-access layer, the same on SQLite and PostgreSQL.
//
// A Value is null, a 64-bit integer, a double, text or a blob (BLOB on SQLite, BYTEA on
// PostgreSQL; sealed values are blobs because they are binary). Booleans and timestamps
// are integers (0/1, Unix seconds) so that SQL stays portable.
//
// A Row's typed accessors return an Error (kInvalidArgument naming the column) on a type
// mismatch, a null, or an unknown column: bad data in the database never crashes joeyd.
//
// Thread-safety: Value, Row and Rows are plain values; const methods may be called from
// several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace joey::store {

// Binary bytes, kept distinct from text so a blob is bound as BLOB/BYTEA.
struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};

class Value {
 public:
  enum class Type { kNull, kInteger, kDouble, kText, kBlob };

  Value() = default;                                            // null
  Value(std::nullptr_t) {}                                      // NOLINT: null
  Value(int64_t value) : data_(value) {}                        // NOLINT
  Value(int value) : data_(static_cast<int64_t>(value)) {}      // NOLINT
  Value(double value) : data_(value) {}                         // NOLINT
  Value(std::string value) : data_(std::move(value)) {}         // NOLINT
  Value(std::string_view value) : data_(std::string(value)) {}  // NOLINT
  Value(const char* value) : data_(std::string(value)) {}       // NOLINT
  Value(Blob value) : data_(std::move(value)) {}                // NOLINT
  // nullopt becomes null.
  template <typename T>
  Value(const std::optional<T>& value) {  // NOLINT
    if (value) *this = Value(*value);
  }

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  // Valid only for the matching type (check type() first, or use Row's accessors).
  int64_t integer() const { return std::get<int64_t>(data_); }
  double real() const { return std::get<double>(data_); }
  const std::string& text() const { return std::get<std::string>(data_); }
  const std::string& blob() const { return std::get<Blob>(data_).bytes; }

  bool operator==(const Value&) const = default;

 private:
  std::variant<std::monostate, int64_t, double, std::string, Blob> data_;
};

const char* value_type_name(Value::Type type);

// One result row. Column names are shared by every row of a result.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
      : columns_(std::move(columns)), values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const std::vector<std::string>& columns() const { return *columns_; }
  const Value& at(size_t index) const { return values_.at(index); }
  // The value of `column`, or kInvalidArgument when the result has no such column.
  Result<const Value*> find(std::string_view column) const;

  bool is_null(std::string_view column) const;
  // Non-null typed values; a null or another type is an error.
  Result<int64_t> integer(std::string_view column) const;
  Result<double> real(std::string_view column) const;  // integers widen to double
  Result<std::string> text(std::string_view column) const;
  Result<std::string> blob(std::string_view column) const;
  // Null becomes nullopt; another type is still an error.
  Result<std::optional<int64_t>> optional_integer(std::string_view column) const;
  Result<std::optional<std::string>> optional_text(std::string_view column) const;
  Result<std::optional<std::string>> optional_blob(std::string_view column) const;

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

// The rows a statement returned, plus how many rows it changed (INSERT/UPDATE/DELETE).
struct Rows {
  std::vector<Row> rows;
  int64_t affected = 0;

  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  const Row& operator[](size_t index) const { return rows[index]; }
  std::vector<Row>::const_iterator begin() const { return rows.begin(); }
  std::vector<Row>::const_iterator end() const { return rows.end(); }
};

}  // namespace joey::store
