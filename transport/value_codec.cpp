// transport/value_codec.cpp — see value_codec.hpp.
#include "transport/value_codec.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>

namespace snakepit::transport {

std::string_view to_string(value_errc code) noexcept {
  switch (code) {
    case value_errc::integer_out_of_range:
      return "integer out of range";
    case value_errc::invalid_utf8:
      return "invalid UTF-8";
    case value_errc::nesting_too_deep:
      return "nesting too deep";
    case value_errc::not_an_object:
      return "not an object";
    case value_errc::unsupported_value:
      return "unsupported value";
  }
  return "unknown value error";
}

std::string to_string(const value_error& error) {
  std::string out{to_string(error.code)};
  out += " at ";
  out += error.path.empty() ? std::string_view{"(root)"} : std::string_view{error.path};
  if (!error.message.empty()) {
    out += ": ";
    out += error.message;
  }
  return out;
}

namespace {

using json = nlohmann::json;

/// Validates UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // Fast path: 8 ASCII bytes at a time.
    while (end - p >= 8) {
      std::uint64_t chunk;
      __builtin_memcpy(&chunk, p, 8);
      if (chunk & 0x8080808080808080ULL)
        break;
      p += 8;
    }
    if (p >= end)
      break;
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len)
      return false;
    for (std::size_t i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
        || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += len;
  }
  return true;
}

/// Prepends "/segment" (JSON pointer escaped) to an error's path while the
/// recursion unwinds: paths cost nothing unless something fails.
void prepend_path(value_error& error, std::string_view segment) {
  std::string escaped;
  escaped.reserve(segment.size() + 1 + error.path.size());
  escaped += '/';
  for (char c : segment) {
    if (c == '~')
      escaped += "~0";
    else if (c == '/')
      escaped += "~1";
    else
      escaped += c;
  }
  escaped += error.path;
  error.path = std::move(escaped);
}

void prepend_index(value_error& error, std::size_t index) {
  prepend_path(error, std::to_string(index));
}

template <class J>
constexpr bool is_rvalue_json = !std::is_const_v<std::remove_reference_t<J>>;

// J is `const json&` or `json&` (the latter: strings may be moved out).
template <class J>
bool encode(J& in, wire::Value& out, std::size_t depth, value_error& error) {
  switch (in.type()) {
    case json::value_t::null:
      out.set_null_value(wire::NULL_VALUE);
      return true;
    case json::value_t::boolean:
      out.set_bool_value(in.template get_ref<const json::boolean_t&>());
      return true;
    case json::value_t::number_integer:
      out.set_int_value(in.template get_ref<const json::number_integer_t&>());
      return true;
    case json::value_t::number_unsigned: {
      auto u = in.template get_ref<const json::number_unsigned_t&>();
      if (u > static_cast<json::number_unsigned_t>(std::numeric_limits<std::int64_t>::max())) {
        error = {value_errc::integer_out_of_range, {},
                 std::to_string(u) + " does not fit a signed 64-bit integer"};
        return false;
      }
      out.set_int_value(static_cast<std::int64_t>(u));
      return true;
    }
    case json::value_t::number_float:
      out.set_double_value(in.template get_ref<const json::number_float_t&>());
      return true;
    case json::value_t::string: {
      auto& s = in.template get_ref<std::conditional_t<is_rvalue_json<J>, json::string_t&,
                                                       const json::string_t&>>();
      if (!valid_utf8(s)) {
        error = {value_errc::invalid_utf8, {}, "string is not valid UTF-8"};
        return false;
      }
      if constexpr (is_rvalue_json<J>)
        out.set_string_value(std::move(s));
      else
        out.set_string_value(s);
      return true;
    }
    case json::value_t::binary: {
      const auto& b = in.get_binary();
      out.mutable_bytes_value()->assign(reinterpret_cast<const char*>(b.data()), b.size());
      return true;
    }
    case json::value_t::array: {
      if (depth >= max_value_depth) {
        error = {value_errc::nesting_too_deep, {},
                 "more than " + std::to_string(max_value_depth) + " nested lists/maps"};
        return false;
      }
      auto* items = out.mutable_list_value()->mutable_items();
      items->Reserve(static_cast<int>(in.size()));
      std::size_t index = 0;
      for (auto& element : in) {
        if (!encode(element, *items->Add(), depth + 1, error)) {
          prepend_index(error, index);
          return false;
        }
        ++index;
      }
      return true;
    }
    case json::value_t::object: {
      if (depth >= max_value_depth) {
        error = {value_errc::nesting_too_deep, {},
                 "more than " + std::to_string(max_value_depth) + " nested lists/maps"};
        return false;
      }
      auto* entries = out.mutable_map_value()->mutable_entries();
      entries->Reserve(static_cast<int>(in.size()));
      for (auto it = in.begin(); it != in.end(); ++it) {
        const auto& key = it.key();
        if (!valid_utf8(key)) {
          error = {value_errc::invalid_utf8, {}, "map key is not valid UTF-8"};
          prepend_path(error, key);
          return false;
        }
        auto* entry = entries->Add();
        entry->set_key(key);
        if (!encode(it.value(), *entry->mutable_value(), depth + 1, error)) {
          prepend_path(error, key);
          return false;
        }
      }
      return true;
    }
    case json::value_t::discarded:
      break;
  }
  error = {value_errc::unsupported_value, {}, "a discarded json value cannot be sent"};
  return false;
}

template <class J>
value_result<encoded> encode_root(J& in, wire::Value& out) {
  out.Clear();
  value_error error;
  if (!encode(in, out, 0, error))
    return error;
  return encoded{};
}

template <class J>
value_result<encoded> encode_args_root(J& args, wire::ValueMap& out) {
  out.Clear();
  if (args.is_null())
    return encoded{};
  if (!args.is_object())
    return value_error{value_errc::not_an_object, {},
                       std::string{"arguments must be a json object, not "} + args.type_name()};
  auto* entries = out.mutable_entries();
  entries->Reserve(static_cast<int>(args.size()));
  value_error error;
  for (auto it = args.begin(); it != args.end(); ++it) {
    const auto& key = it.key();
    if (!valid_utf8(key)) {
      error = {value_errc::invalid_utf8, {}, "argument name is not valid UTF-8"};
      prepend_path(error, key);
      return error;
    }
    auto* entry = entries->Add();
    entry->set_key(key);
    if (!encode(it.value(), *entry->mutable_value(), 1, error)) {
      prepend_path(error, key);
      return error;
    }
  }
  return encoded{};
}

// V is `const wire::Value` or `wire::Value` (the latter: moved from).
template <class V>
bool decode(V& in, json& out, std::size_t depth, value_error& error);

template <class M>
bool decode_map(M& in, json& out, std::size_t depth, value_error& error) {
  out = json::object();
  auto& object = out.get_ref<json::object_t&>();
  if constexpr (std::is_const_v<M>) {
    for (const auto& entry : in.entries()) {
      // A repeated key: the last entry wins (the slot is overwritten).
      if (!decode(entry.value(), object[entry.key()], depth + 1, error)) {
        prepend_path(error, entry.key());
        return false;
      }
    }
  } else {
    for (auto& entry : *in.mutable_entries()) {
      auto slot = object.try_emplace(std::move(*entry.mutable_key())).first;
      if (!decode(*entry.mutable_value(), slot->second, depth + 1, error)) {
        prepend_path(error, slot->first);
        return false;
      }
    }
  }
  return true;
}

template <class V>
bool decode(V& in, json& out, std::size_t depth, value_error& error) {
  constexpr bool movable = !std::is_const_v<V>;
  switch (in.kind_case()) {
    case wire::Value::KIND_NOT_SET:
    case wire::Value::kNullValue:
      out = nullptr;
      return true;
    case wire::Value::kBoolValue:
      out = in.bool_value();
      return true;
    case wire::Value::kIntValue:
      out = static_cast<json::number_integer_t>(in.int_value());
      return true;
    case wire::Value::kDoubleValue:
      out = in.double_value();
      return true;
    case wire::Value::kStringValue:
      if constexpr (movable)
        out = std::move(*in.mutable_string_value());
      else
        out = in.string_value();
      return true;
    case wire::Value::kBytesValue: {
      const std::string& b = in.bytes_value();
      const auto* data = reinterpret_cast<const std::uint8_t*>(b.data());
      out = json::binary(json::binary_t::container_type(data, data + b.size()));
      return true;
    }
    case wire::Value::kListValue: {
      if (depth >= max_value_depth) {
        error = {value_errc::nesting_too_deep, {},
                 "more than " + std::to_string(max_value_depth) + " nested lists/maps"};
        return false;
      }
      out = json::array();
      auto& array = out.get_ref<json::array_t&>();
      array.resize(static_cast<std::size_t>(in.list_value().items_size()));
      std::size_t index = 0;
      if constexpr (movable) {
        for (auto& item : *in.mutable_list_value()->mutable_items()) {
          if (!decode(item, array[index], depth + 1, error)) {
            prepend_index(error, index);
            return false;
          }
          ++index;
        }
      } else {
        for (const auto& item : in.list_value().items()) {
          if (!decode(item, array[index], depth + 1, error)) {
            prepend_index(error, index);
            return false;
          }
          ++index;
        }
      }
      return true;
    }
    case wire::Value::kMapValue: {
      if (depth >= max_value_depth) {
        error = {value_errc::nesting_too_deep, {},
                 "more than " + std::to_string(max_value_depth) + " nested lists/maps"};
        return false;
      }
      if constexpr (movable)
        return decode_map(*in.mutable_map_value(), out, depth, error);
      else
        return decode_map(in.map_value(), out, depth, error);
    }
  }
  error = {value_errc::unsupported_value, {}, "unknown Value kind"};
  return false;
}

template <class V>
value_result<json> decode_root(V& in) {
  json out;
  value_error error;
  if (!decode(in, out, 0, error))
    return error;
  return out;
}

template <class M>
value_result<json> decode_map_root(M& in) {
  json out;
  value_error error;
  if (!decode_map(in, out, 0, error))
    return error;
  return out;
}

} // namespace

value_result<encoded> encode_value(const json& in, wire::Value& out) {
  return encode_root(in, out);
}

value_result<encoded> encode_value(json&& in, wire::Value& out) {
  return encode_root(in, out);
}

value_result<encoded> encode_args(const json& args, wire::ValueMap& out) {
  return encode_args_root(args, out);
}

value_result<encoded> encode_args(json&& args, wire::ValueMap& out) {
  return encode_args_root(args, out);
}

value_result<wire::Value> to_value(const json& in) {
  wire::Value out;
  auto r = encode_value(in, out);
  if (!r)
    return std::move(r).error();
  return out;
}

value_result<json> from_value(const wire::Value& in) {
  return decode_root(in);
}

value_result<json> from_value(wire::Value&& in) {
  return decode_root(in);
}

value_result<json> from_value_map(const wire::ValueMap& in) {
  return decode_map_root(in);
}

value_result<json> from_value_map(wire::ValueMap&& in) {
  return decode_map_root(in);
}

} // namespace snakepit::transport
