// await_ready: ok once `size` workers said hello, startup_failed at the first
// failed start, not_ready when the caller's timeout passes.
#include "actors/pool_harness.hpp"

using namespace snakepit;
using namespace snakepit::test;

namespace {

errc code_of(const caf::expected<caf::ok_atom>& res) {
  return from_caf_error(res.error()).code();
}

} // namespace

TEST_CASE("await_ready answers ok at once when every worker is ready") {
  pool_fixture t;
  t.start_pool(2);
  t.add_worker("worker-1");
  t.add_worker("worker-2");
  auto res = t.await_ready(0ms);
  REQUIRE(res->has_value());
  CHECK(**res);
}

TEST_CASE("await_ready answers ok as soon as the last worker says hello") {
  pool_fixture t;
  t.start_pool(2);
  auto res = t.await_ready(5000ms);
  t.add_worker("worker-1");
  CHECK_FALSE(res->has_value());
  t.add_worker("worker-2");
  REQUIRE(res->has_value());
  CHECK(**res);
  t.advance(5000ms);  // the timer that follows changes nothing
  CHECK(**res);
}

TEST_CASE("await_ready fails with startup_failed as soon as a worker reports a failed start") {
  pool_fixture t;
  t.start_pool(2);
  t.add_worker("worker-1");
  auto res = t.await_ready(5000ms);
  CHECK_FALSE(res->has_value());
  t.report_failure("worker-2", "No module named 'missing_adapter'");
  REQUIRE(res->has_value());
  REQUIRE_FALSE(**res);
  auto err = from_caf_error((*res)->error());
  CHECK(err.code() == errc::startup_failed);
  CHECK(err.message().find("worker-2") != std::string::npos);
  CHECK(err.message().find("No module named 'missing_adapter'") != std::string::npos);
  CHECK(t.count(pool_event_kind::worker_failed) == 1);
}

TEST_CASE("await_ready fails at once when a startup failure came before it") {
  pool_fixture t;
  t.start_pool(2);
  t.report_failure("worker-2", "bad interpreter");
  auto res = t.await_ready(5000ms);
  REQUIRE(res->has_value());
  CHECK(code_of(**res) == errc::startup_failed);
  // A hello from the failed slot clears its failure.
  t.add_worker("worker-2");
  auto again = t.await_ready(5000ms);
  CHECK_FALSE(again->has_value());
  t.add_worker("worker-1");
  REQUIRE(again->has_value());
  CHECK(**again);
}

TEST_CASE("await_ready answers not_ready when its timeout passes") {
  pool_fixture t;
  t.start_pool(2);
  t.add_worker("worker-1");
  auto res = t.await_ready(500ms);
  t.advance(499ms);
  CHECK_FALSE(res->has_value());
  t.advance(1ms);
  REQUIRE(res->has_value());
  CHECK(code_of(**res) == errc::not_ready);
  CHECK(from_caf_error((*res)->error()).message().find("1 of 2") != std::string::npos);
}

TEST_CASE("a failed start after the pool is ready does not fail await_ready") {
  pool_fixture t;
  t.start_pool(1);
  t.add_worker("worker-1");
  t.report_failure("worker-2", "extra slot failed");
  auto res = t.await_ready(0ms);
  REQUIRE(res->has_value());
  CHECK(**res);
}
