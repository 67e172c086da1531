// Each variable type's accepted and refused values, constraint validation,
// and the stored (normalised) form of accepted values.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "actors/session_variable.hpp"

using namespace snakepit;
using json = nlohmann::json;

namespace {

variable_constraints none() {
  return {};
}

/// The stored form of an accepted value (fails the test if refused).
json stored(variable_type t, const variable_constraints& c, const json& v) {
  auto r = check_value("x", t, c, v);
  REQUIRE_MESSAGE(r.has_value(), r.error().to_string());
  return *r;
}

/// The error of a refused value (fails the test if accepted).
error refused(variable_type t, const variable_constraints& c, const json& v) {
  auto r = check_value("x", t, c, v);
  REQUIRE_MESSAGE(!r.has_value(), "accepted: " << v.dump());
  return r.error();
}

} // namespace

TEST_CASE("type_names_round_trip_and_plain_means_any") {
  for (auto t : {variable_type::integer, variable_type::float_, variable_type::string,
                 variable_type::boolean, variable_type::choice, variable_type::tensor,
                 variable_type::embedding, variable_type::any}) {
    auto parsed = parse_variable_type(to_string(t));
    REQUIRE(parsed);
    CHECK(*parsed == t);
  }
  CHECK(*parse_variable_type("plain") == variable_type::any);
  auto bad = parse_variable_type("int");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == errc::invalid_argument);
  CHECK(bad.error().message().find("int") != std::string::npos);
}

TEST_CASE("integer_accepts_integers_and_integral_floats_stored_as_integers") {
  CHECK(stored(variable_type::integer, none(), 3) == json(3));
  auto normalised = stored(variable_type::integer, none(), 3.0);
  CHECK(normalised.is_number_integer());
  CHECK(normalised.get<int64_t>() == 3);
  CHECK(stored(variable_type::integer, none(), -7).get<int64_t>() == -7);
  CHECK(stored(variable_type::integer, none(), std::numeric_limits<int64_t>::max())
          .get<int64_t>()
        == std::numeric_limits<int64_t>::max());
}

TEST_CASE("integer_refuses_fractions_non_numbers_and_values_outside_int64") {
  for (const json& v : {json(3.5), json("3"), json(true), json(nullptr), json::array({1}),
                        json(std::numeric_limits<uint64_t>::max()), json(1e30)}) {
    auto e = refused(variable_type::integer, none(), v);
    CHECK(e.code() == errc::invalid_value);
    CHECK(e.message().rfind("x: ", 0) == 0);  // names the variable first
  }
}

TEST_CASE("float_accepts_any_finite_number_and_stores_it_as_a_float") {
  auto f = stored(variable_type::float_, none(), 3);
  CHECK(f.is_number_float());
  CHECK(f.get<double>() == 3.0);
  CHECK(stored(variable_type::float_, none(), 0.25).get<double>() == 0.25);
}

TEST_CASE("float_refuses_non_numbers_and_non_finite_numbers") {
  for (const json& v : {json("1.0"), json(false), json(nullptr),
                        json(std::numeric_limits<double>::infinity()),
                        json(std::numeric_limits<double>::quiet_NaN())})
    CHECK(refused(variable_type::float_, none(), v).code() == errc::invalid_value);
}

TEST_CASE("min_and_max_bound_numbers_inclusively_and_the_message_names_the_rule") {
  variable_constraints c;
  c.min = 0.0;
  c.max = 2.0;
  CHECK(stored(variable_type::float_, c, 0.0).get<double>() == 0.0);
  CHECK(stored(variable_type::float_, c, 2.0).get<double>() == 2.0);
  auto above = check_value("temperature", variable_type::float_, c, 3.5);
  REQUIRE_FALSE(above);
  CHECK(above.error().code() == errc::invalid_value);
  CHECK(above.error().message() == "temperature: 3.5 is above max 2.0");
  auto below = check_value("temperature", variable_type::float_, c, -0.5);
  REQUIRE_FALSE(below);
  CHECK(below.error().message() == "temperature: -0.5 is below min 0.0");

  variable_constraints ic;
  ic.max = 10;
  auto over = check_value("count", variable_type::integer, ic, 11);
  REQUIRE_FALSE(over);
  CHECK(over.error().message() == "count: 11 is above max 10");
}

TEST_CASE("string_accepts_strings_and_counts_length_in_code_points") {
  variable_constraints c;
  c.min_length = 2;
  c.max_length = 3;
  CHECK(stored(variable_type::string, c, "abc") == json("abc"));
  CHECK(stored(variable_type::string, c, "äöü") == json("äöü"));  // 3 code points, 6 bytes
  CHECK(refused(variable_type::string, c, "a").message().find("min_length 2") != std::string::npos);
  CHECK(refused(variable_type::string, c, "abcd").message().find("max_length 3")
        != std::string::npos);
  CHECK(refused(variable_type::string, none(), 5).code() == errc::invalid_value);
  CHECK(refused(variable_type::string, none(), std::string("\xff\xfe")).message().find("UTF-8")
        != std::string::npos);
}

TEST_CASE("string_pattern_must_match_the_whole_string") {
  variable_constraints c;
  c.pattern = "[a-z]+";
  CHECK(stored(variable_type::string, c, "abc") == json("abc"));
  CHECK(refused(variable_type::string, c, "abc1").message().find("pattern [a-z]+")
        != std::string::npos);
  CHECK(refused(variable_type::string, c, "").code() == errc::invalid_value);
}

TEST_CASE("a_pattern_checks_strings_up_to_4096_bytes_and_refuses_longer_ones") {
  // std::regex recurses per character: a long subject would crash the host.
  variable_constraints c;
  c.pattern = "a+";
  CHECK(stored(variable_type::string, c, std::string(4096, 'a')).is_string());
  CHECK(refused(variable_type::string, c, std::string(100000, 'a')).message().find("at most 4096")
        != std::string::npos);
  CHECK(stored(variable_type::string, none(), std::string(100000, 'a')).is_string());
}

TEST_CASE("boolean_accepts_only_true_and_false") {
  CHECK(stored(variable_type::boolean, none(), true) == json(true));
  CHECK(stored(variable_type::boolean, none(), false) == json(false));
  for (const json& v : {json(0), json(1), json("true"), json(nullptr)})
    CHECK(refused(variable_type::boolean, none(), v).code() == errc::invalid_value);
}

TEST_CASE("choice_accepts_only_one_of_its_choices") {
  variable_constraints c;
  c.choices = {"red", "green"};
  CHECK(stored(variable_type::choice, c, "green") == json("green"));
  auto e = refused(variable_type::choice, c, "blue");
  CHECK(e.message().find("blue") != std::string::npos);
  CHECK(e.message().find("red, green") != std::string::npos);
  CHECK(refused(variable_type::choice, c, 1).code() == errc::invalid_value);
}

TEST_CASE("tensor_needs_shape_and_data_whose_sizes_agree") {
  json t = {{"shape", {2, 3}}, {"data", {1, 2, 3, 4, 5, 6.5}}};
  CHECK(stored(variable_type::tensor, none(), t) == t);
  json empty = {{"shape", {0, 4}}, {"data", json::array()}};
  CHECK(stored(variable_type::tensor, none(), empty) == empty);

  auto mismatch = refused(variable_type::tensor, none(),
                          json{{"shape", {2, 2}}, {"data", {1, 2, 3}}});
  CHECK(mismatch.message().find("needs 4 elements, data has 3") != std::string::npos);
  for (const json& v : {json::array({1, 2}), json{{"shape", {2}}},
                        json{{"shape", {-1}}, {"data", json::array()}},
                        json{{"shape", {1}}, {"data", {"a"}}},
                        json{{"shape", {1}}, {"data", {1}}, {"extra", 1}}})
    CHECK(refused(variable_type::tensor, none(), v).code() == errc::invalid_value);
}

TEST_CASE("tensor_shape_constraint_and_element_bounds_are_enforced") {
  variable_constraints c;
  c.shape = std::vector<std::size_t>{2};
  c.max = 1.0;
  CHECK(stored(variable_type::tensor, c, json{{"shape", {2}}, {"data", {0.5, 1}}}).is_object());
  CHECK(refused(variable_type::tensor, c, json{{"shape", {1, 2}}, {"data", {0, 0}}})
          .message()
          .find("required [2]")
        != std::string::npos);
  CHECK(refused(variable_type::tensor, c, json{{"shape", {2}}, {"data", {0, 1.5}}})
          .message()
          .find("element 1")
        != std::string::npos);
}

TEST_CASE("embedding_needs_exactly_dimension_finite_numbers") {
  variable_constraints c;
  c.dimension = 3;
  CHECK(stored(variable_type::embedding, c, json{0.1, 0.2, 0.3}) == json{0.1, 0.2, 0.3});
  CHECK(refused(variable_type::embedding, c, json{0.1, 0.2}).message().find("dimension is 3")
        != std::string::npos);
  CHECK(refused(variable_type::embedding, c, json{0.1, "a", 0.3}).code() == errc::invalid_value);
  CHECK(refused(variable_type::embedding, c, "abc").code() == errc::invalid_value);
}

TEST_CASE("any_accepts_every_json_value_including_bytes_but_not_absurd_nesting") {
  json bytes = json::binary({0x00, 0xff, 0x10});
  CHECK(stored(variable_type::any, none(), bytes) == bytes);
  CHECK(stored(variable_type::any, none(), bytes).is_binary());
  json nested = {{"a", {1, "two", {{"three", nullptr}}}}};
  CHECK(stored(variable_type::any, none(), nested) == nested);

  json deep = 1;
  for (int i = 0; i < 100; ++i)
    deep = json::array({deep});
  CHECK(refused(variable_type::any, none(), deep).message().find("nests deeper")
        != std::string::npos);
}

TEST_CASE("checking_a_moved_value_leaves_its_storage_in_place") {
  // The rvalue overload checks in place and moves: a tensor's data buffer
  // is the same object afterwards, no copy was made.
  json t = {{"shape", {3}}, {"data", {1.0, 2.0, 3.0}}};
  const auto* data_before = &t["data"].get_ref<const json::array_t&>();
  auto r = check_value("t", variable_type::tensor, none(), std::move(t));
  REQUIRE(r);
  CHECK(&(*r)["data"].get_ref<const json::array_t&>() == data_before);
}

TEST_CASE("constraints_must_make_sense_for_the_type") {
  auto refuses = [](variable_type t, variable_constraints c, const std::string& needle) {
    auto r = validate_constraints(t, c);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::invalid_argument);
    CHECK_MESSAGE(r.error().message().find(needle) != std::string::npos, r.error().message());
  };
  refuses(variable_type::choice, {}, "choices are required");
  variable_constraints twice;
  twice.choices = {"a", "a"};
  refuses(variable_type::choice, twice, "listed twice");
  refuses(variable_type::embedding, {}, "dimension is required");
  variable_constraints inverted;
  inverted.min = 2;
  inverted.max = 1;
  refuses(variable_type::float_, inverted, "min 2.0 is above max 1.0");
  variable_constraints lengths;
  lengths.min_length = 5;
  lengths.max_length = 1;
  refuses(variable_type::string, lengths, "min_length 5 is above max_length 1");
  variable_constraints bad_regex;
  bad_regex.pattern = "([a-";
  refuses(variable_type::string, bad_regex, "does not compile");
  variable_constraints pattern_on_int;
  pattern_on_int.pattern = "\\d+";
  refuses(variable_type::integer, pattern_on_int, "apply to string only");
  variable_constraints min_on_bool;
  min_on_bool.min = 0;
  refuses(variable_type::boolean, min_on_bool, "min/max apply");

  variable_constraints good;
  good.min = 0;
  good.max = 1;
  CHECK(validate_constraints(variable_type::float_, good));
  CHECK(validate_constraints(variable_type::any, {}));
}

TEST_CASE("constraints_round_trip_through_json_and_unknown_keys_are_refused") {
  json j = {{"min", 0.5},          {"max", 2},       {"min_length", 1}, {"max_length", 4},
            {"pattern", "[a-z]*"}, {"choices", {"a", "b"}}, {"dimension", 8},
            {"shape", {2, 4}}};
  auto c = variable_constraints::from_json(j);
  REQUIRE(c);
  CHECK(*c->min == 0.5);
  CHECK(*c->max == 2.0);
  CHECK(*c->dimension == 8);
  CHECK(*c->shape == std::vector<std::size_t>{2, 4});
  CHECK(c->to_json() == j);
  CHECK(variable_constraints{}.to_json() == json::object());

  auto unknown = variable_constraints::from_json({{"maximum", 1}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message().find("maximum") != std::string::npos);
  CHECK_FALSE(variable_constraints::from_json({{"min", "zero"}}));
  CHECK_FALSE(variable_constraints::from_json({{"dimension", -1}}));
  CHECK_FALSE(variable_constraints::from_json({{"choices", {1, 2}}}));
  CHECK_FALSE(variable_constraints::from_json(json::array()));
}

TEST_CASE("a_variable_renders_as_json_with_name_type_value_constraints_version") {
  variable v;
  v.name = "temperature";
  v.type = variable_type::float_;
  v.value = 0.7;
  v.constraints.max = 2.0;
  v.version = 4;
  CHECK(v.to_json() == json{{"name", "temperature"},
                            {"type", "float"},
                            {"value", 0.7},
                            {"constraints", {{"max", 2.0}}},
                            {"version", 4}});
}
