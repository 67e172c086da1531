// The name registry forgets an actor as soon as it dies.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "supervision/name_registry.hpp"

using namespace snakepit::test;
using sv::sup_errc;

namespace {

struct registry_fixture {
  test_system t;
  std::shared_ptr<life_log> log = std::make_shared<life_log>();
  caf::actor registry = sv::spawn_name_registry(t.sys);

  caf::actor spawn_child(const std::string& id) {
    auto a = test_child_spec(log, id).start(t.sys);
    REQUIRE(a);
    t.run();
    return *a;
  }

  caf::expected<caf::ok_atom> put(const std::string& name, const caf::actor& who) {
    auto res = t.ask<caf::ok_atom>(registry, sv::register_name_atom::value, name, who);
    REQUIRE(res);
    return *res;
  }

  caf::expected<caf::actor> whereis(const std::string& name) {
    auto res = t.ask<caf::actor>(registry, sv::whereis_atom::value, name);
    REQUIRE(res);
    return *res;
  }
};

} // namespace

TEST_CASE("a_registered_name_finds_its_actor") {
  registry_fixture f;
  auto a = f.spawn_child("a");
  REQUIRE(f.put("session:1", a));
  auto found = f.whereis("session:1");
  REQUIRE(found);
  CHECK(*found == a);
  f.t.make_exit(a, how::shutdown);
}

TEST_CASE("looking_up_a_missing_name_is_a_typed_not_found") {
  registry_fixture f;
  auto found = f.whereis("nobody");
  REQUIRE_FALSE(found);
  CHECK(sv::is(found.error(), sup_errc::not_found));
  CHECK(sv::describe(found.error()).find("nobody") != std::string::npos);
}

TEST_CASE("a_name_held_by_a_live_actor_cannot_be_taken") {
  registry_fixture f;
  auto a = f.spawn_child("a");
  auto b = f.spawn_child("b");
  REQUIRE(f.put("pool", a));
  auto res = f.put("pool", b);
  REQUIRE_FALSE(res);
  CHECK(sv::is(res.error(), sup_errc::already_registered));
  CHECK(*f.whereis("pool") == a);
  f.t.make_exit(a, how::shutdown);
  f.t.make_exit(b, how::shutdown);
}

TEST_CASE("a_dead_actors_names_are_removed_and_free_again") {
  registry_fixture f;
  auto a = f.spawn_child("a");
  REQUIRE(f.put("worker:1", a));
  REQUIRE(f.put("worker:first", a));
  f.t.make_exit(a, how::abnormal);
  CHECK(sv::is(f.whereis("worker:1").error(), sup_errc::not_found));
  CHECK(sv::is(f.whereis("worker:first").error(), sup_errc::not_found));
  auto b = f.spawn_child("b");
  CHECK(f.put("worker:1", b));  // unlike CAF's own registry, the name is free
  auto names = f.t.ask<std::vector<std::string>>(f.registry, sv::registered_names_atom::value);
  REQUIRE(names);
  REQUIRE(*names);
  CHECK(**names == std::vector<std::string>{"worker:1"});
  f.t.make_exit(b, how::shutdown);
}

TEST_CASE("unregister_frees_a_name_and_a_second_unregister_is_not_found") {
  registry_fixture f;
  auto a = f.spawn_child("a");
  REQUIRE(f.put("x", a));
  auto ok = f.t.ask<caf::ok_atom>(f.registry, sv::unregister_name_atom::value, std::string{"x"});
  REQUIRE(ok);
  CHECK(*ok);
  auto again = f.t.ask<caf::ok_atom>(f.registry, sv::unregister_name_atom::value, std::string{"x"});
  REQUIRE(again);
  CHECK(sv::is(again->error(), sup_errc::not_found));
  f.t.make_exit(a, how::shutdown);
}

TEST_CASE("empty_names_and_invalid_actors_are_refused") {
  registry_fixture f;
  auto a = f.spawn_child("a");
  CHECK(sv::is(f.put("", a).error(), sup_errc::invalid_name));
  CHECK(sv::is(f.put("x", caf::actor{}).error(), sup_errc::invalid_name));
  f.t.make_exit(a, how::shutdown);
}
