// transport/value_codec.hpp — nlohmann::json (with binary) <-> the wire's
// typed snakepit::bridge::v1::Value, both ways, with typed errors.
//
// Mapping (DESIGN rule 8: values keep their types):
//   json null            <-> Value{null_value}  (a Value with no kind set reads as null)
//   json boolean         <-> bool_value
//   json integer         <-> int_value (int64; an unsigned above INT64_MAX is an error)
//   json float           <-> double_value
//   json string          <-> string_value (must be valid UTF-8: proto3 strings are)
//   json binary          <-> bytes_value (the subtype is not transmitted)
//   json array           <-> list_value
//   json object          <-> map_value (entries in the object's iteration order;
//                            decoding: a repeated key keeps its last value)
//
// Nothing here throws: every failure is a value_error. Encoding writes into a
// caller-owned message (reuse it, or one inside a Request, to avoid
// allocations); decoding from an rvalue moves strings and bytes out.
#pragma once

#include "snakepit_bridge.pb.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace snakepit::transport {

namespace wire = snakepit::bridge::v1;

/// Deepest nesting of lists/maps accepted either way. Each level costs two
/// protobuf message levels, and protobuf parsers (C++ and Python) refuse more
/// than 100.
inline constexpr std::size_t max_value_depth = 48;

enum class value_errc {
  integer_out_of_range, ///< a json unsigned integer above INT64_MAX
  invalid_utf8,         ///< a string or map key that is not valid UTF-8
  nesting_too_deep,     ///< more than max_value_depth nested lists/maps
  not_an_object,        ///< arguments must be a json object (or null for none)
  unsupported_value,    ///< a json "discarded" value (a parser artefact)
};

/// "integer out of range", ...
[[nodiscard]] std::string_view to_string(value_errc code) noexcept;

struct value_error {
  value_errc code = value_errc::unsupported_value;
  /// Where in the value, as a JSON pointer ("/args/3/x"); empty for the root.
  std::string path;
  std::string message;
};

/// "integer out of range at /a/0: 18446744073709551615 does not fit int64"
[[nodiscard]] std::string to_string(const value_error& error);

/// A T or a value_error (C++20 has no std::expected). Accessing the wrong
/// alternative throws std::logic_error (a programming error, never a runtime
/// outcome of the codec).
template <class T>
class value_result {
public:
  value_result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  value_result(value_error error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(checked(true)); }
  [[nodiscard]] const T& value() const& { return std::get<0>(checked(true)); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(checked(true))); }
  [[nodiscard]] const value_error& error() const& { return std::get<1>(checked(false)); }
  [[nodiscard]] value_error&& error() && { return std::get<1>(std::move(checked(false))); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

private:
  std::variant<T, value_error>& checked(bool want_value) {
    if (has_value() != want_value)
      throw std::logic_error(want_value ? "value_result holds an error: "
                                            + to_string(std::get<1>(state_))
                                        : "value_result holds a value, not an error");
    return state_;
  }
  const std::variant<T, value_error>& checked(bool want_value) const {
    return const_cast<value_result*>(this)->checked(want_value);
  }
  std::variant<T, value_error> state_;
};

/// Success of an in-place encode.
struct encoded {};

// --- json -> wire -------------------------------------------------------------

/// Encodes `in` into `out` (cleared first). On error `out` holds a partial value.
[[nodiscard]] value_result<encoded> encode_value(const nlohmann::json& in, wire::Value& out);
/// Same, moving strings out of `in` (which is left valid but unspecified).
[[nodiscard]] value_result<encoded> encode_value(nlohmann::json&& in, wire::Value& out);

/// Keyword arguments: a json object becomes the entries of `out` (cleared
/// first); null means no arguments; anything else is not_an_object.
[[nodiscard]] value_result<encoded> encode_args(const nlohmann::json& args, wire::ValueMap& out);
[[nodiscard]] value_result<encoded> encode_args(nlohmann::json&& args, wire::ValueMap& out);

/// Convenience: a fresh Value.
[[nodiscard]] value_result<wire::Value> to_value(const nlohmann::json& in);

// --- wire -> json -------------------------------------------------------------

/// Decodes a Value. The rvalue overload moves strings and bytes out of `in`.
[[nodiscard]] value_result<nlohmann::json> from_value(const wire::Value& in);
[[nodiscard]] value_result<nlohmann::json> from_value(wire::Value&& in);

/// Decodes a ValueMap into a json object (empty map: an empty object).
[[nodiscard]] value_result<nlohmann::json> from_value_map(const wire::ValueMap& in);
[[nodiscard]] value_result<nlohmann::json> from_value_map(wire::ValueMap&& in);

} // namespace snakepit::transport
