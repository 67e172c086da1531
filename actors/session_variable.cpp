#include "actors/session_variable.hpp"

#include <cmath>
#include <limits>
#include <regex>
#include <utility>

namespace snakepit {

namespace {

using json = nlohmann::json;

/// Values show up in error messages; a tensor of a million numbers must not.
constexpr std::size_t max_shown_chars = 60;

std::string show(const json& v) {
  auto s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > max_shown_chars)
    s = s.substr(0, max_shown_chars) + "...";
  return s;
}

/// A bound as the user means it: "10" for an integer variable, "2.0" otherwise.
std::string show_bound(variable_type type, double bound) {
  if (type == variable_type::integer && std::trunc(bound) == bound && std::abs(bound) < 1e18)
    return std::to_string(static_cast<int64_t>(bound));
  return json(bound).dump();
}

error bad_value(std::string_view name, std::string rule) {
  return error{errc::invalid_value, std::string(name) + ": " + std::move(rule)};
}

error bad_constraint(variable_type type, const std::string& rule) {
  return error{errc::invalid_argument,
               std::string("constraints of a ") + to_string(type) + " variable: " + rule};
}

/// Code points of a UTF-8 string, or nullopt if it is not valid UTF-8 (the
/// wire's string type requires it).
std::optional<std::size_t> utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size())
      return std::nullopt;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
        return std::nullopt;
    i += len;
    ++n;
  }
  return n;
}

result<void> check_range(std::string_view name, variable_type type, const variable_constraints& c,
                         double x, const std::string& shown) {
  if (c.min && x < *c.min)
    return bad_value(name, shown + " is below min " + show_bound(type, *c.min));
  if (c.max && x > *c.max)
    return bad_value(name, shown + " is above max " + show_bound(type, *c.max));
  return {};
}

/// Numbers of a tensor's data or an embedding: finite, within min/max.
result<void> check_elements(std::string_view name, variable_type type,
                            const variable_constraints& c, const json& data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& x = data[i];
    if (!x.is_number())
      return bad_value(name, "element " + std::to_string(i) + " is " + show(x) + ", not a number");
    auto d = x.get<double>();
    if (!std::isfinite(d))
      return bad_value(name, "element " + std::to_string(i) + " is not a finite number");
    if (auto ok = check_range(name, type, c, d, "element " + std::to_string(i) + " (" + show(x) + ")");
        !ok)
      return ok.error();
  }
  return {};
}

std::optional<std::vector<std::size_t>> as_shape(const json& j) {
  if (!j.is_array())
    return std::nullopt;
  std::vector<std::size_t> out;
  out.reserve(j.size());
  for (auto& d : j) {
    if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
      return std::nullopt;
    out.push_back(d.get<std::size_t>());
  }
  return out;
}

std::string show_shape(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

constexpr std::size_t max_pattern_subject_bytes = 4096;

/// Deep enough for any sane value, and below protobuf's default recursion
/// limit (100), so a plain value can always cross the wire.
constexpr std::size_t max_nesting = 64;

bool nesting_within(const json& v, std::size_t depth) {
  if (!v.is_structured())
    return true;
  if (depth >= max_nesting)
    return false;
  for (auto& x : v)
    if (!nesting_within(x, depth + 1))
      return false;
  return true;
}

result<void> check_in_place(std::string_view name, variable_type type,
                            const variable_constraints& c, json& value) {
  switch (type) {
    case variable_type::integer: {
      auto i = as_int64(value);
      if (!i)
        return bad_value(name, show(value) + " is not an integer");
      if (auto ok = check_range(name, type, c, static_cast<double>(*i), std::to_string(*i)); !ok)
        return ok;
      value = *i;  // 3.0 → 3
      return {};
    }
    case variable_type::float_: {
      if (!value.is_number())
        return bad_value(name, show(value) + " is not a number");
      auto d = value.get<double>();
      if (!std::isfinite(d))
        return bad_value(name, "the value is not a finite number");
      if (auto ok = check_range(name, type, c, d, show(value)); !ok)
        return ok;
      value = d;  // 3 → 3.0
      return {};
    }
    case variable_type::string: {
      if (!value.is_string())
        return bad_value(name, show(value) + " is not a string");
      const auto& s = value.get_ref<const std::string&>();
      auto len = utf8_length(s);
      if (!len)
        return bad_value(name, "the string is not valid UTF-8");
      if (c.min_length && *len < *c.min_length)
        return bad_value(name, "length " + std::to_string(*len) + " is below min_length "
                                 + std::to_string(*c.min_length));
      if (c.max_length && *len > *c.max_length)
        return bad_value(name, "length " + std::to_string(*len) + " is above max_length "
                                 + std::to_string(*c.max_length));
      // libstdc++'s regex recurses once per character: a long enough string
      // overflows the thread's stack (at ~50k characters on 8 MiB) and kills
      // the host. Strings under a pattern are short (names, ids) anyway.
      if (c.pattern && s.size() > max_pattern_subject_bytes)
        return bad_value(name, "a string checked against a pattern may have at most "
                                 + std::to_string(max_pattern_subject_bytes) + " bytes, this one has "
                                 + std::to_string(s.size()));
      if (c.pattern && !std::regex_match(s, std::regex(*c.pattern, std::regex::ECMAScript)))
        return bad_value(name, show(value) + " does not match pattern " + *c.pattern);
      return {};
    }
    case variable_type::boolean:
      if (!value.is_boolean())
        return bad_value(name, show(value) + " is not a boolean");
      return {};
    case variable_type::choice: {
      if (!value.is_string())
        return bad_value(name, show(value) + " is not a string (choice)");
      const auto& s = value.get_ref<const std::string&>();
      for (auto& choice : c.choices)
        if (choice == s)
          return {};
      std::string allowed;
      for (auto& choice : c.choices)
        allowed += (allowed.empty() ? "" : ", ") + choice;
      return bad_value(name, show(value) + " is not one of the choices [" + allowed + "]");
    }
    case variable_type::tensor: {
      if (!value.is_object() || value.size() != 2 || !value.contains("shape")
          || !value.contains("data"))
        return bad_value(name, "a tensor is {\"shape\": [...], \"data\": [...]}, not " + show(value));
      auto shape = as_shape(value["shape"]);
      if (!shape)
        return bad_value(name, "tensor shape " + show(value["shape"])
                                 + " is not a list of non-negative integers");
      const auto& data = value["data"];
      if (!data.is_array())
        return bad_value(name, "tensor data is not a list");
      std::size_t expected = 1;
      for (auto d : *shape)
        expected *= d;
      if (expected != data.size())
        return bad_value(name, "tensor shape " + show_shape(*shape) + " needs "
                                 + std::to_string(expected) + " elements, data has "
                                 + std::to_string(data.size()));
      if (c.shape && *c.shape != *shape)
        return bad_value(name, "tensor shape " + show_shape(*shape) + " is not the required "
                                 + show_shape(*c.shape));
      return check_elements(name, type, c, data);
    }
    case variable_type::embedding: {
      if (!value.is_array())
        return bad_value(name, show(value) + " is not a list of numbers (embedding)");
      if (c.dimension && value.size() != *c.dimension)
        return bad_value(name, "embedding has " + std::to_string(value.size())
                                 + " elements, dimension is " + std::to_string(*c.dimension));
      return check_elements(name, type, c, value);
    }
    case variable_type::any:
      if (!nesting_within(value, 0))
        return bad_value(name, "the value nests deeper than " + std::to_string(max_nesting)
                                 + " levels");
      return {};
  }
  return error{errc::internal, "check_value: unknown variable type"};
}

template <class T>
result<std::optional<T>> optional_field(const json& j, const char* key,
                                        bool (*is)(const json&), const char* what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return std::optional<T>{};
  if (!is(*it))
    return error{errc::invalid_argument,
                 std::string("constraint ") + key + " must be " + what + ", not " + show(*it)};
  return std::optional<T>{it->get<T>()};
}

bool is_number(const json& j) {
  return j.is_number() && std::isfinite(j.get<double>());
}
bool is_size(const json& j) {
  return j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0);
}
bool is_string(const json& j) {
  return j.is_string();
}

} // namespace

std::optional<int64_t> as_int64(const json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned())
    return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_float()) {
    auto d = v.get<double>();
    // 2^63 is the first double above int64's range.
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0
        && d < 9223372036854775808.0)
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

const char* to_string(variable_type t) {
  switch (t) {
    case variable_type::integer: return "integer";
    case variable_type::float_: return "float";
    case variable_type::string: return "string";
    case variable_type::boolean: return "boolean";
    case variable_type::choice: return "choice";
    case variable_type::tensor: return "tensor";
    case variable_type::embedding: return "embedding";
    case variable_type::any: return "any";
  }
  return "unknown";
}

result<variable_type> parse_variable_type(std::string_view name) {
  static constexpr variable_type all[] = {
    variable_type::integer, variable_type::float_,    variable_type::string,
    variable_type::boolean, variable_type::choice,    variable_type::tensor,
    variable_type::embedding, variable_type::any};
  for (auto t : all)
    if (name == to_string(t))
      return t;
  if (name == "plain")
    return variable_type::any;
  return error{errc::invalid_argument, "unknown variable type \"" + std::string(name)
                                         + "\" (integer, float, string, boolean, choice, tensor,"
                                           " embedding, any)"};
}

result<variable_constraints> variable_constraints::from_json(const nlohmann::json& j) {
  variable_constraints c;
  if (j.is_null())
    return c;
  if (!j.is_object())
    return error{errc::invalid_argument, "constraints must be an object, not " + show(j)};
  static constexpr const char* known[] = {"min",     "max",     "min_length", "max_length",
                                          "pattern", "choices", "dimension",  "shape"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (auto k : known)
      ok = ok || it.key() == k;
    if (!ok)
      return error{errc::invalid_argument, "unknown constraint \"" + it.key() + "\""};
  }
  auto min = optional_field<double>(j, "min", is_number, "a finite number");
  if (!min)
    return min.error();
  auto max = optional_field<double>(j, "max", is_number, "a finite number");
  if (!max)
    return max.error();
  auto min_length = optional_field<std::size_t>(j, "min_length", is_size, "a non-negative integer");
  if (!min_length)
    return min_length.error();
  auto max_length = optional_field<std::size_t>(j, "max_length", is_size, "a non-negative integer");
  if (!max_length)
    return max_length.error();
  auto pattern = optional_field<std::string>(j, "pattern", is_string, "a string");
  if (!pattern)
    return pattern.error();
  auto dimension = optional_field<std::size_t>(j, "dimension", is_size, "a non-negative integer");
  if (!dimension)
    return dimension.error();
  c.min = *min;
  c.max = *max;
  c.min_length = *min_length;
  c.max_length = *max_length;
  c.pattern = std::move(*pattern);
  c.dimension = *dimension;
  if (auto it = j.find("choices"); it != j.end() && !it->is_null()) {
    if (!it->is_array())
      return error{errc::invalid_argument, "constraint choices must be a list of strings"};
    for (auto& s : *it) {
      if (!s.is_string())
        return error{errc::invalid_argument,
                     "constraint choices must be a list of strings, not containing " + show(s)};
      c.choices.push_back(s.get<std::string>());
    }
  }
  if (auto it = j.find("shape"); it != j.end() && !it->is_null()) {
    auto shape = as_shape(*it);
    if (!shape)
      return error{errc::invalid_argument,
                   "constraint shape must be a list of non-negative integers, not " + show(*it)};
    c.shape = std::move(*shape);
  }
  return c;
}

nlohmann::json variable_constraints::to_json() const {
  json j = json::object();
  if (min)
    j["min"] = *min;
  if (max)
    j["max"] = *max;
  if (min_length)
    j["min_length"] = *min_length;
  if (max_length)
    j["max_length"] = *max_length;
  if (pattern)
    j["pattern"] = *pattern;
  if (!choices.empty())
    j["choices"] = choices;
  if (dimension)
    j["dimension"] = *dimension;
  if (shape)
    j["shape"] = *shape;
  return j;
}

nlohmann::json variable::to_json() const {
  return json{{"name", name},
              {"type", to_string(type)},
              {"value", value},
              {"constraints", constraints.to_json()},
              {"version", version}};
}

result<void> validate_constraints(variable_type type, const variable_constraints& c) {
  const bool numeric = type == variable_type::integer || type == variable_type::float_
                       || type == variable_type::tensor || type == variable_type::embedding;
  const bool text = type == variable_type::string;
  // A constraint the type ignores is a caller's mistake, not a no-op.
  if ((c.min || c.max) && !numeric)
    return bad_constraint(type, "min/max apply to integer, float, tensor and embedding only");
  if ((c.min_length || c.max_length || c.pattern) && !text)
    return bad_constraint(type, "min_length, max_length and pattern apply to string only");
  if (!c.choices.empty() && type != variable_type::choice)
    return bad_constraint(type, "choices apply to choice only");
  if (c.dimension && type != variable_type::embedding)
    return bad_constraint(type, "dimension applies to embedding only");
  if (c.shape && type != variable_type::tensor)
    return bad_constraint(type, "shape applies to tensor only");

  if ((c.min && !std::isfinite(*c.min)) || (c.max && !std::isfinite(*c.max)))
    return bad_constraint(type, "min and max must be finite numbers");
  if (c.min && c.max && *c.min > *c.max)
    return bad_constraint(type, "min " + show_bound(type, *c.min) + " is above max "
                                  + show_bound(type, *c.max));
  if (c.min_length && c.max_length && *c.min_length > *c.max_length)
    return bad_constraint(type, "min_length " + std::to_string(*c.min_length)
                                  + " is above max_length " + std::to_string(*c.max_length));
  if (c.pattern) {
    try {
      std::regex re(*c.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return bad_constraint(type, "pattern " + *c.pattern + " does not compile: " + e.what());
    }
  }
  if (type == variable_type::choice) {
    if (c.choices.empty())
      return bad_constraint(type, "choices are required and must not be empty");
    for (std::size_t i = 0; i < c.choices.size(); ++i)
      for (std::size_t k = i + 1; k < c.choices.size(); ++k)
        if (c.choices[i] == c.choices[k])
          return bad_constraint(type, "choice \"" + c.choices[i] + "\" is listed twice");
  }
  if (type == variable_type::embedding && (!c.dimension || *c.dimension == 0))
    return bad_constraint(type, "dimension is required and must be at least 1");
  return {};
}

result<nlohmann::json> check_value(std::string_view name, variable_type type,
                                   const variable_constraints& c, const nlohmann::json& value) {
  return check_value(name, type, c, json(value));
}

result<nlohmann::json> check_value(std::string_view name, variable_type type,
                                   const variable_constraints& c, nlohmann::json&& value) {
  if (auto ok = check_in_place(name, type, c, value); !ok)
    return ok.error();
  return std::move(value);
}

} // namespace snakepit
