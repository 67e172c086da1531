// The blocking calls a host program uses, on the real scheduler.
#include <doctest/doctest.h>

#include <atomic>

#include <caf/all.hpp>

#include "harness.hpp"
#include "support/eventually.hpp"
#include "supervision/blocking_calls.hpp"

using namespace snakepit::test;
using sv::sup_errc;

namespace {

// Real-scheduler children: a counter of live ones, so the test can see leaks.
struct live_counter {
  std::atomic<int> alive{0};
};

caf::behavior counted_child(caf::event_based_actor* self, std::shared_ptr<live_counter> n) {
  n->alive++;
  self->attach_functor([n] { n->alive--; });
  return {[self](exit_with_atom, int) { self->quit(caf::make_error(caf::sec::runtime_error)); }};
}

sv::child_spec counted_spec(std::string id, std::shared_ptr<live_counter> n) {
  sv::child_spec spec;
  spec.id = std::move(id);
  spec.start = [n](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn(counted_child, n);
  };
  return spec;
}

struct real_system {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
};

} // namespace

TEST_CASE("start_supervisor_returns_once_every_child_runs") {
  real_system r;
  auto n = std::make_shared<live_counter>();
  auto sup = sv::start_supervisor(r.sys, {}, {counted_spec("a", n), counted_spec("b", n)});
  REQUIRE(sup);
  auto children = sv::which_children(r.sys, *sup);
  REQUIRE(children);
  CHECK(children->size() == 2);
  auto ended = sv::stop_and_wait(r.sys, *sup);
  REQUIRE(ended);
  CHECK(ended->reason == caf::exit_reason::user_shutdown);
  CHECK(n->alive == 0);
}

TEST_CASE("start_supervisor_returns_the_start_error_and_leaves_nothing_running") {
  real_system r;
  auto n = std::make_shared<live_counter>();
  sv::child_spec failing;
  failing.id = "failing";
  failing.start = [](caf::actor_system&) -> caf::expected<caf::actor> {
    return caf::make_error(caf::sec::runtime_error, "cannot start");
  };
  auto sup = sv::start_supervisor(r.sys, {}, {counted_spec("a", n), failing});
  REQUIRE_FALSE(sup);
  CHECK(sv::is(sup.error(), sup_errc::start_failed));
  CHECK(sv::describe(sup.error()).find("cannot start") != std::string::npos);
  // The started child is down before the error comes back; its attached
  // cleanup may still be running on its own thread at that instant.
  CHECK(eventually([&] { return n->alive == 0; }, 2000ms));
}

TEST_CASE("start_supervisor_rejects_invalid_input_synchronously") {
  real_system r;
  sv::supervisor_flags flags;
  flags.intensity.period = 0ms;
  auto sup = sv::start_supervisor(r.sys, flags, {});
  REQUIRE_FALSE(sup);
  CHECK(sv::is(sup.error(), sup_errc::invalid_flags));
}

TEST_CASE("dynamic_supervisor_calls_work_end_to_end") {
  real_system r;
  auto n = std::make_shared<live_counter>();
  sv::dynamic_supervisor_flags flags;
  flags.max_children = 1;
  auto sup = sv::start_dynamic_supervisor(r.sys, flags);
  REQUIRE(sup);
  auto a = sv::start_child(r.sys, *sup, counted_spec("a", n));
  REQUIRE(a);
  auto b = sv::start_child(r.sys, *sup, counted_spec("b", n));
  REQUIRE_FALSE(b);
  CHECK(sv::is(b.error(), sup_errc::max_children));
  auto counts = sv::count_children(r.sys, *sup);
  REQUIRE(counts);
  CHECK(counts->active == 1);
  CHECK_FALSE(sv::terminate_child(r.sys, *sup, *a));
  CHECK(n->alive == 0);
  CHECK(sv::is(sv::terminate_child(r.sys, *sup, *a), sup_errc::not_found));
  REQUIRE(sv::stop_and_wait(r.sys, *sup));
}

TEST_CASE("a_call_to_an_actor_that_never_answers_times_out_with_a_typed_error") {
  real_system r;
  auto mute = r.sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](sv::which_children_atom) -> caf::result<std::vector<sv::child_info>> {
      return self->make_response_promise<std::vector<sv::child_info>>();  // never delivered
    }};
  });
  auto res = sv::which_children(r.sys, mute, 50ms);
  REQUIRE_FALSE(res);
  CHECK(sv::is(res.error(), sup_errc::call_timeout));
  caf::anon_send_exit(mute, caf::exit_reason::kill);
}
