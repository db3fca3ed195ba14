// Validation of the arguments a model passes to a tool.
//
// Every error is ErrorKind::kInvalidArgument with a message written for the model:
// it names the field and says what was expected and what arrived, so the model can
// correct the call. Models often send numbers and booleans as strings ("12",
// "true"); those are accepted. A JSON null counts as an absent optional field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace joey::agent {

// kInvalidArgument unless `args` is a JSON object.
Status require_object(const nlohmann::json& args);

Result<std::string> required_string(const nlohmann::json& args, std::string_view field);
Result<std::optional<std::string>> optional_string(const nlohmann::json& args,
                                                   std::string_view field);

Result<int64_t> required_integer(const nlohmann::json& args, std::string_view field);
Result<std::optional<int64_t>> optional_integer(const nlohmann::json& args, std::string_view field);

Result<std::optional<bool>> optional_bool(const nlohmann::json& args, std::string_view field);

// "Invalid argument 'FIELD': PROBLEM" as a kInvalidArgument error.
Error invalid_argument(std::string_view field, std::string_view problem);

}  // namespace joey::agent
