#pragma once
// A session's typed variables (DESIGN rule 3: the host owns state). A
// variable has a type, optional constraints, a value that always satisfies
// both, and a version that grows by one with every accepted write.
//
// Value shapes (json, as they cross the wire):
//   integer    json integer (a float with no fraction, e.g. 3.0, is accepted as 3)
//   float      json number (integers are stored as floats)
//   string     json string
//   boolean    json boolean
//   choice     a json string that is one of constraints.choices
//   tensor     {"shape": [d0, d1, ...], "data": [numbers, row-major]}; the
//              product of the shape equals the data's length
//   embedding  a json array of numbers of length constraints.dimension
//   any        any json value (a "plain" value: no checks but nesting)

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"

namespace snakepit {

enum class variable_type { integer, float_, string, boolean, choice, tensor, embedding, any };

/// "integer", "float", "string", "boolean", "choice", "tensor", "embedding", "any".
const char* to_string(variable_type t);
/// Parses the names above ("plain" is accepted for any); invalid_argument otherwise.
result<variable_type> parse_variable_type(std::string_view name);

struct variable_constraints {
  std::optional<double> min;               // integer, float; tensor/embedding elements
  std::optional<double> max;
  std::optional<std::size_t> min_length;   // string, in code points
  std::optional<std::size_t> max_length;
  std::optional<std::string> pattern;      // string: ECMAScript regex, whole-string match
  std::vector<std::string> choices;        // choice: the allowed values (required, non-empty)
  std::optional<std::size_t> dimension;    // embedding: required length
  std::optional<std::vector<std::size_t>> shape;  // tensor: required shape, if given

  /// From a json object with the keys above ("min", "max", "min_length",
  /// "max_length", "pattern", "choices", "dimension", "shape"); an unknown
  /// key or a wrong shape is invalid_argument.
  static result<variable_constraints> from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;  // only the keys that are set
};

struct variable {
  std::string name;
  variable_type type = variable_type::any;
  nlohmann::json value;
  variable_constraints constraints;
  uint64_t version = 1;  // 1 when registered, +1 per accepted write
  std::chrono::system_clock::time_point updated_at{};

  /// {"name", "type", "value", "constraints", "version"}
  nlohmann::json to_json() const;
};

/// Checks that constraints make sense for the type (e.g. choice needs
/// distinct choices, embedding needs dimension >= 1, min <= max, a pattern
/// that compiles, and no constraint the type would ignore, such as pattern on
/// an integer): invalid_argument naming the rule otherwise.
result<void> validate_constraints(variable_type type, const variable_constraints& c);

/// Checks a value against a type and its constraints, and returns it in its
/// stored form (e.g. 3.0 → 3 for integer, 3 → 3.0 for float). invalid_value
/// naming the variable and the rule otherwise, e.g.
/// "temperature: 3.5 is above max 2.0". Also refused: non-finite numbers,
/// strings that are not UTF-8 (the wire needs it), strings over 4096 bytes
/// when a pattern applies (std::regex recurses per character and would
/// overflow the stack), plain values nested deeper than 64 levels
/// (protobuf's recursion limit is 100).
result<nlohmann::json> check_value(std::string_view name, variable_type type,
                                   const variable_constraints& c, const nlohmann::json& value);
/// The same for a value the caller gives away: checked and normalised in
/// place, then moved out, so a tensor or an embedding is never copied.
result<nlohmann::json> check_value(std::string_view name, variable_type type,
                                   const variable_constraints& c, nlohmann::json&& value);

/// An integral json number as int64 (3 and 3.0 alike); nullopt for 3.5,
/// non-numbers and numbers outside int64. How integer values are normalised.
std::optional<int64_t> as_int64(const nlohmann::json& v);

} // namespace snakepit
