// spawn_pool validates its options before anything runs.
#include "actors/pool_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

TEST_CASE("spawn_pool rejects a pool of size zero with invalid_argument") {
  test_system t;
  pool_options opts;
  opts.size = 0;
  auto p = spawn_pool(t.sys, opts);
  REQUIRE_FALSE(p);
  auto err = from_caf_error(p.error());
  CHECK(err.code() == errc::invalid_argument);
  CHECK(err.message().find("size") != std::string::npos);
}

TEST_CASE("spawn_pool rejects a queue of size zero with invalid_argument") {
  test_system t;
  pool_options opts;
  opts.size = 2;
  opts.max_queue = 0;
  auto p = spawn_pool(t.sys, opts);
  REQUIRE_FALSE(p);
  auto err = from_caf_error(p.error());
  CHECK(err.code() == errc::invalid_argument);
  CHECK(err.message().find("max_queue") != std::string::npos);
}

TEST_CASE("an error carried through CAF keeps its code and message and Python details") {
  snakepit::error e{errc::python_exception, "bad value", "ValueError", "Traceback ..."};
  auto back = from_caf_error(to_caf_error(e));
  CHECK(back.code() == errc::python_exception);
  CHECK(back.message() == "bad value");
  CHECK(back.python_type() == "ValueError");
  CHECK(back.traceback() == "Traceback ...");
  CHECK(from_caf_error(caf::make_error(caf::sec::request_timeout)).code() == errc::timeout);
  CHECK(from_caf_error(caf::make_error(caf::sec::request_receiver_down)).code()
        == errc::shutting_down);
}

TEST_CASE("an unknown request gets an error and the pool carries on") {
  pool_fixture t;
  t.start_pool(1);
  auto w = t.add_worker("worker-1");
  auto res = t.ask<caf::ok_atom>(t.pool, caf::get_atom::value);
  REQUIRE(res);
  CHECK_FALSE(*res);
  auto c = t.execute(1);
  CHECK(c->ok());
}
