// Round trips and typed errors of transport/value_codec.
#include "transport/value_codec.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

using nlohmann::json;
namespace tp = snakepit::transport;
namespace wire = snakepit::bridge::v1;

namespace {

/// Equal values of equal types, recursively (json's == treats 1 and 1.0 as equal).
bool same_typed(const json& a, const json& b) {
  if (a.type() != b.type())
    return false;
  if (a.is_array()) {
    if (a.size() != b.size())
      return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_typed(a[i], b[i]))
        return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size())
      return false;
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!b.contains(it.key()) || !same_typed(it.value(), b.at(it.key())))
        return false;
    return true;
  }
  return a == b;
}

json round_trip(const json& in) {
  auto v = tp::to_value(in);
  REQUIRE_MESSAGE(v.has_value(), (v ? "" : tp::to_string(v.error())));
  auto out = tp::from_value(*v);
  REQUIRE_MESSAGE(out.has_value(), (out ? "" : tp::to_string(out.error())));
  // The moving overload gives the same.
  auto moved = tp::from_value(std::move(*v));
  REQUIRE(moved.has_value());
  CHECK(same_typed(*out, *moved));
  return *out;
}

json bytes(std::initializer_list<std::uint8_t> b) {
  return json::binary(json::binary_t::container_type(b));
}

} // namespace

TEST_CASE("value codec: every scalar keeps its type") {
  const json cases[] = {
    nullptr,
    true,
    false,
    0,
    -1,
    std::numeric_limits<std::int64_t>::min(),
    std::numeric_limits<std::int64_t>::max(),
    json(std::uint64_t{42}), // unsigned that fits: arrives as a (signed) integer
    1.0,
    -2.5e-300,
    std::string{"hello"},
    std::string{"h\xC3\xA9llo \xF0\x9F\x90\x8D"},
    std::string{""},
    bytes({}),
    bytes({0, 1, 2, 255, 0}),
  };
  for (const auto& in : cases) {
    CAPTURE(in.dump());
    auto out = round_trip(in);
    if (in.is_number_unsigned()) {
      CHECK(out.is_number_integer());
      CHECK(out.get<std::int64_t>() == 42);
    } else {
      CHECK(same_typed(in, out));
    }
  }
  // The wire kinds are the expected ones.
  CHECK(tp::to_value(json(3))->kind_case() == wire::Value::kIntValue);
  CHECK(tp::to_value(json(3.0))->kind_case() == wire::Value::kDoubleValue);
  CHECK(tp::to_value(bytes({1}))->kind_case() == wire::Value::kBytesValue);
  CHECK(tp::to_value(json(nullptr))->kind_case() == wire::Value::kNullValue);
  // A Value with no kind reads as null.
  CHECK(tp::from_value(wire::Value{})->is_null());
}

TEST_CASE("value codec: nested lists and maps with bytes round trip") {
  json in = json::object();
  in["list"] = json::array({1, 2.5, "three", nullptr, true, bytes({9, 8})});
  json x = json::object();
  x["x"] = bytes({0});
  in["map"] = {{"inner", {{"deeper", json::array({1, x})}}}};
  in["empty_list"] = json::array();
  in["empty_map"] = json::object();
  auto out = round_trip(in);
  CHECK(same_typed(in, out));
  // Map entries follow the object's iteration order.
  auto v = tp::to_value(in);
  REQUIRE(v.has_value());
  const auto& entries = v->map_value().entries();
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].key() == "empty_list");
  CHECK(entries[3].key() == "map");
}

TEST_CASE("value codec: arguments are a ValueMap") {
  wire::ValueMap map;
  REQUIRE(tp::encode_args(json{{"a", 1}, {"b", "x"}}, map).has_value());
  REQUIRE(map.entries_size() == 2);
  CHECK(map.entries(0).key() == "a");
  CHECK(map.entries(0).value().int_value() == 1);
  auto back = tp::from_value_map(map);
  REQUIRE(back.has_value());
  CHECK(same_typed(*back, json{{"a", 1}, {"b", "x"}}));

  REQUIRE(tp::encode_args(json(nullptr), map).has_value());
  CHECK(map.entries_size() == 0);
  CHECK(tp::from_value_map(map)->is_object());

  auto bad = tp::encode_args(json::array({1}), map);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == tp::value_errc::not_an_object);

  // A repeated key: the last entry wins.
  wire::ValueMap dup;
  auto* e1 = dup.add_entries();
  e1->set_key("k");
  e1->mutable_value()->set_int_value(1);
  auto* e2 = dup.add_entries();
  e2->set_key("k");
  e2->mutable_value()->set_int_value(2);
  CHECK(tp::from_value_map(dup)->at("k") == 2);
  CHECK(tp::from_value_map(std::move(dup))->at("k") == 2);
}

TEST_CASE("value codec: typed errors with a path") {
  SUBCASE("unsigned above int64 max") {
    json in = {{"a", {1, std::numeric_limits<std::uint64_t>::max()}}};
    auto r = tp::to_value(in);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == tp::value_errc::integer_out_of_range);
    CHECK(r.error().path == "/a/1");
    CHECK(tp::to_string(r.error()).find("integer out of range") != std::string::npos);
    // INT64_MAX + 1 is the first value refused.
    CHECK_FALSE(tp::to_value(json(std::uint64_t{1} << 63)).has_value());
  }
  SUBCASE("invalid UTF-8 in a string and in a key") {
    auto r = tp::to_value(json{{"s", std::string{"ok\xFF"}}});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == tp::value_errc::invalid_utf8);
    CHECK(r.error().path == "/s");
    auto k = tp::to_value(json{{std::string{"\xC0\x80"}, 1}});
    REQUIRE_FALSE(k.has_value());
    CHECK(k.error().code == tp::value_errc::invalid_utf8);
    // A surrogate encoded in UTF-8 is refused too.
    CHECK_FALSE(tp::to_value(json(std::string{"\xED\xA0\x80"})).has_value());
  }
  SUBCASE("nesting too deep, both ways") {
    json deep = 1;
    for (std::size_t i = 0; i < tp::max_value_depth + 1; ++i)
      deep = json::array({deep});
    auto r = tp::to_value(deep);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == tp::value_errc::nesting_too_deep);

    json ok = 1;
    for (std::size_t i = 0; i < tp::max_value_depth; ++i)
      ok = json::array({ok});
    CHECK(tp::to_value(ok).has_value());

    wire::Value v;
    wire::Value* cur = &v;
    for (std::size_t i = 0; i < tp::max_value_depth + 1; ++i)
      cur = cur->mutable_list_value()->add_items();
    cur->set_int_value(1);
    auto d = tp::from_value(v);
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error().code == tp::value_errc::nesting_too_deep);
  }
  SUBCASE("a discarded value") {
    json discarded = json::parse("{", nullptr, false);
    REQUIRE(discarded.is_discarded());
    auto r = tp::to_value(discarded);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == tp::value_errc::unsupported_value);
  }
}

TEST_CASE("value codec: encoding from an rvalue moves strings and reuses the output") {
  wire::Value out;
  json in = {{"text", std::string(1000, 'x')}};
  REQUIRE(tp::encode_value(std::move(in), out).has_value());
  CHECK(out.map_value().entries(0).value().string_value().size() == 1000);
  REQUIRE(tp::encode_value(json(7), out).has_value()); // cleared first
  CHECK(out.int_value() == 7);
}
