// The variable store's operations one by one: what each accepts, the
// version it leaves, and that whatever it refuses changes nothing.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "actors/variable_store.hpp"

using namespace snakepit;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// A store on a clock the test moves by hand.
struct fixture {
  std::chrono::system_clock::time_point now{1000s};
  variable_store store{10000, [this] { return now; }};
};

variable_constraints between(double lo, double hi) {
  variable_constraints c;
  c.min = lo;
  c.max = hi;
  return c;
}

/// The stored value and version of `name`, which must exist.
std::pair<json, uint64_t> snapshot(const variable_store& s, const std::string& name) {
  auto v = s.get(name);
  REQUIRE(v);
  return {v->value, v->version};
}

} // namespace

TEST_CASE("registered_variable_starts_at_version_1_with_its_normalised_value") {
  fixture f;
  auto v = f.store.register_variable("n", variable_type::integer, 3.0);
  REQUIRE(v);
  CHECK(v->version == 1);
  CHECK(v->value.is_number_integer());
  CHECK(v->updated_at == f.now);
  CHECK(f.store.get("n")->value == json(3));
  CHECK(f.store.size() == 1);
}

TEST_CASE("register_refuses_taken_names_empty_names_bad_constraints_and_bad_values") {
  fixture f;
  REQUIRE(f.store.register_variable("t", variable_type::float_, 1.0, between(0, 2)));
  auto taken = f.store.register_variable("t", variable_type::float_, 0.5);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code() == errc::already_exists);
  CHECK(f.store.get("t")->value == json(1.0));  // the first one is untouched

  CHECK(f.store.register_variable("", variable_type::any, 1).error().code()
        == errc::invalid_argument);
  auto bad_c = f.store.register_variable("c", variable_type::choice, "a");
  REQUIRE_FALSE(bad_c);
  CHECK(bad_c.error().code() == errc::invalid_argument);
  CHECK(bad_c.error().message().rfind("c: ", 0) == 0);
  auto bad_v = f.store.register_variable("u", variable_type::float_, 3.5, between(0, 2));
  REQUIRE_FALSE(bad_v);
  CHECK(bad_v.error().code() == errc::invalid_value);
  CHECK(bad_v.error().message() == "u: 3.5 is above max 2.0");
  CHECK(f.store.size() == 1);
}

TEST_CASE("get_of_a_missing_variable_is_variable_not_found") {
  fixture f;
  auto r = f.store.get("nope");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::variable_not_found);
  CHECK(r.error().message().find("nope") != std::string::npos);
}

TEST_CASE("each_accepted_write_adds_one_to_the_version_and_stamps_the_time") {
  fixture f;
  REQUIRE(f.store.register_variable("t", variable_type::float_, 1.0, between(0, 2)));
  f.now += 5s;
  auto v = f.store.set("t", 2);
  REQUIRE(v);
  CHECK(v->version == 2);
  CHECK(v->value.is_number_float());  // 2 → 2.0
  CHECK(v->updated_at == f.now);
  CHECK(f.store.set("t", 0.5)->version == 3);
}

TEST_CASE("set_of_an_unknown_name_creates_a_plain_variable_at_version_1") {
  fixture f;
  auto v = f.store.set("blob", json::binary({1, 2, 3}));
  REQUIRE(v);
  CHECK(v->type == variable_type::any);
  CHECK(v->version == 1);
  CHECK(f.store.get("blob")->value.is_binary());
  CHECK(f.store.set("", 1).error().code() == errc::invalid_argument);
}

TEST_CASE("refused_write_leaves_value_and_version_unchanged") {
  fixture f;
  REQUIRE(f.store.register_variable("t", variable_type::float_, 1.0, between(0, 2)));
  REQUIRE(f.store.set("t", 1.5));
  const auto before = snapshot(f.store, "t");
  const auto stamped = f.store.get("t")->updated_at;
  f.now += 10s;

  auto r = f.store.set("t", 3.5);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_value);
  CHECK(r.error().message() == "t: 3.5 is above max 2.0");
  CHECK(snapshot(f.store, "t") == before);
  CHECK(f.store.get("t")->updated_at == stamped);

  CHECK_FALSE(f.store.set("t", "warm"));
  CHECK_FALSE(f.store.increment("t", 5));
  CHECK(snapshot(f.store, "t") == before);
}

TEST_CASE("compare_and_set_writes_only_at_the_expected_version") {
  fixture f;
  REQUIRE(f.store.register_variable("n", variable_type::integer, 1));
  auto stale = f.store.set("n", 5, 7);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code() == errc::version_conflict);
  CHECK(stale.error().message() == "n: expected version 7, found 1");
  CHECK(snapshot(f.store, "n") == std::pair<json, uint64_t>{1, 1});

  auto ok = f.store.set("n", 5, 1);
  REQUIRE(ok);
  CHECK(ok->version == 2);
  CHECK_FALSE(f.store.set("n", 6, 1));  // the same version cannot win twice
  CHECK(f.store.get("n")->value == json(5));
}

TEST_CASE("expected_version_0_means_create_only") {
  fixture f;
  auto created = f.store.set("fresh", "x", 0);
  REQUIRE(created);
  CHECK(created->version == 1);
  auto again = f.store.set("fresh", "y", 0);
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == errc::version_conflict);
  CHECK(f.store.get("fresh")->value == json("x"));
  // A missing variable is at version 0: any other expectation conflicts.
  CHECK(f.store.set("ghost", 1, 1).error().code() == errc::version_conflict);
  CHECK_FALSE(f.store.get("ghost"));
}

TEST_CASE("increment_adds_to_integers_and_floats_and_bumps_the_version") {
  fixture f;
  REQUIRE(f.store.register_variable("n", variable_type::integer, 1));
  auto n = f.store.increment("n", 2);
  REQUIRE(n);
  CHECK(n->value == json(3));
  CHECK(n->version == 2);
  CHECK(f.store.increment("n", -5)->value == json(-2));
  CHECK(f.store.increment("n", 2.0)->value == json(0));  // an integral float counts as integer

  REQUIRE(f.store.register_variable("x", variable_type::float_, 0.5));
  CHECK(f.store.increment("x", 1)->value.get<double>() == 1.5);
  CHECK(f.store.increment("x", 0.25)->value.get<double>() == 1.75);
}

TEST_CASE("increment_creates_a_counter_or_an_accumulator_from_the_delta") {
  fixture f;
  auto counter = f.store.increment("hits", 1);
  REQUIRE(counter);
  CHECK(counter->type == variable_type::integer);
  CHECK(counter->value == json(1));
  CHECK(counter->version == 1);
  auto acc = f.store.increment("loss", 0.5);
  REQUIRE(acc);
  CHECK(acc->type == variable_type::float_);
  CHECK(acc->value.get<double>() == 0.5);
}

TEST_CASE("increment_refuses_wrong_deltas_wrong_types_overflow_and_bounds") {
  fixture f;
  REQUIRE(f.store.register_variable("n", variable_type::integer, 1, between(0, 3)));
  REQUIRE(f.store.register_variable("s", variable_type::string, "a"));
  REQUIRE(f.store.register_variable("big", variable_type::integer,
                                    std::numeric_limits<int64_t>::max()));
  auto frac = f.store.increment("n", 0.5);
  REQUIRE_FALSE(frac);
  CHECK(frac.error().message().find("not an integer") != std::string::npos);
  CHECK(f.store.increment("n", "1").error().code() == errc::invalid_value);
  CHECK(f.store.increment("n", 5).error().message() == "n: 6 is above max 3");
  CHECK(f.store.increment("s", 1).error().message().find("not string") != std::string::npos);
  CHECK(f.store.increment("big", 1).error().message().find("overflows") != std::string::npos);
  CHECK(snapshot(f.store, "n") == std::pair<json, uint64_t>{1, 1});
  CHECK(snapshot(f.store, "big").second == 1);
  CHECK_FALSE(f.store.get("new"));
  CHECK_FALSE(f.store.increment("new", "x"));
  CHECK_FALSE(f.store.get("new"));  // a refused increment creates nothing
}

TEST_CASE("remove_deletes_and_a_second_remove_is_variable_not_found") {
  fixture f;
  REQUIRE(f.store.set("a", 1));
  CHECK(f.store.remove("a"));
  CHECK_FALSE(f.store.get("a"));
  auto again = f.store.remove("a");
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == errc::variable_not_found);
  // A name registered again starts over at version 1.
  CHECK(f.store.set("a", 2)->version == 1);
}

TEST_CASE("get_many_returns_in_the_order_asked_or_fails_on_the_first_missing_name") {
  fixture f;
  REQUIRE(f.store.set("a", 1));
  REQUIRE(f.store.set("b", 2));
  auto both = f.store.get_many({"b", "a"});
  REQUIRE(both);
  REQUIRE(both->size() == 2);
  CHECK((*both)[0].name == "b");
  CHECK((*both)[1].name == "a");
  auto missing = f.store.get_many({"a", "zz", "yy"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == errc::variable_not_found);
  CHECK(missing.error().message().find("zz") != std::string::npos);
}

TEST_CASE("set_many_applies_every_write_with_one_version_step_each") {
  fixture f;
  REQUIRE(f.store.register_variable("t", variable_type::float_, 1.0, between(0, 2)));
  auto r = f.store.set_many({{"t", 1.5}, {"fresh", "x"}});
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].version == 2);
  CHECK((*r)[1].version == 1);
  CHECK(f.store.get("fresh")->value == json("x"));
}

TEST_CASE("set_many_with_one_bad_write_changes_nothing") {
  fixture f;
  REQUIRE(f.store.register_variable("t", variable_type::float_, 1.0, between(0, 2)));
  REQUIRE(f.store.register_variable("n", variable_type::integer, 1));
  const auto t_before = snapshot(f.store, "t");
  const auto n_before = snapshot(f.store, "n");

  auto r = f.store.set_many({{"n", 2}, {"fresh", "x"}, {"t", 9.0}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_value);
  CHECK(r.error().message() == "t: 9.0 is above max 2.0");
  CHECK(snapshot(f.store, "t") == t_before);
  CHECK(snapshot(f.store, "n") == n_before);
  CHECK_FALSE(f.store.get("fresh"));
  CHECK(f.store.size() == 2);
}

TEST_CASE("set_many_refuses_a_name_written_twice") {
  fixture f;
  REQUIRE(f.store.set("a", 1));
  auto r = f.store.set_many({{"a", 2}, {"a", 3}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_argument);
  CHECK(r.error().message().find("twice") != std::string::npos);
  CHECK(snapshot(f.store, "a") == std::pair<json, uint64_t>{1, 1});
}

TEST_CASE("max_variables_bounds_new_names_but_not_writes_to_existing_ones") {
  variable_store s{2};
  REQUIRE(s.set("a", 1));
  REQUIRE(s.register_variable("b", variable_type::integer, 1));
  CHECK(s.set("c", 1).error().code() == errc::invalid_argument);
  CHECK(s.register_variable("c", variable_type::any, 1).error().code() == errc::invalid_argument);
  CHECK(s.increment("c", 1).error().code() == errc::invalid_argument);
  CHECK(s.set_many({{"a", 5}, {"c", 1}}).error().code() == errc::invalid_argument);
  CHECK(s.get("a")->value == json(1));  // the set_many wrote nothing
  CHECK(s.set("a", 2));
  CHECK(s.increment("b", 1));
  CHECK(s.size() == 2);
}

TEST_CASE("list_is_sorted_by_name_and_clear_empties_the_store") {
  fixture f;
  for (auto name : {"m", "a", "z"})
    REQUIRE(f.store.set(name, name));
  auto all = f.store.list();
  REQUIRE(all.size() == 3);
  CHECK(all[0].name == "a");
  CHECK(all[1].name == "m");
  CHECK(all[2].name == "z");
  f.store.clear();
  CHECK(f.store.size() == 0);
  CHECK(f.store.list().empty());
}
