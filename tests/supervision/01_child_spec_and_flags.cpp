// Every option is checked before anything starts, with a typed error naming the rule.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "supervision/dynamic_supervisor.hpp"
#include "supervision/supervisor.hpp"

using namespace snakepit::test;
using sv::sup_errc;

namespace {

sv::child_spec valid_spec(const std::string& id) {
  auto log = std::make_shared<life_log>();
  return test_child_spec(log, id);
}

} // namespace

TEST_CASE("a_valid_child_spec_passes_validation") {
  CHECK_FALSE(sv::validate(valid_spec("a")));
}

TEST_CASE("child_spec_without_id_is_rejected_for_static_supervisors") {
  auto err = sv::validate(valid_spec(""));
  CHECK(sv::is(err, sup_errc::invalid_child_spec));
  CHECK(sv::describe(err).find("id must not be empty") != std::string::npos);
  CHECK_FALSE(sv::validate(valid_spec(""), /*require_id=*/false));
}

TEST_CASE("child_spec_without_start_function_is_rejected") {
  sv::child_spec spec;
  spec.id = "a";
  auto err = sv::validate(spec);
  CHECK(sv::is(err, sup_errc::invalid_child_spec));
  CHECK(sv::describe(err).find("start function is missing") != std::string::npos);
}

TEST_CASE("shutdown_timeout_must_be_positive") {
  auto spec = valid_spec("a");
  spec.shutdown = sv::shutdown_spec::timeout(0ms);
  CHECK(sv::is(sv::validate(spec), sup_errc::invalid_child_spec));
  spec.shutdown = sv::shutdown_spec::timeout(-5ms);
  CHECK(sv::is(sv::validate(spec), sup_errc::invalid_child_spec));
  spec.shutdown = sv::shutdown_spec::timeout(1ms);
  CHECK_FALSE(sv::validate(spec));
}

TEST_CASE("default_shutdown_is_5000_ms_for_workers_and_infinity_for_supervisors") {
  auto spec = valid_spec("a");
  CHECK(spec.effective_shutdown() == sv::shutdown_spec::timeout(5000ms));
  spec.kind = sv::child_kind::supervisor;
  CHECK(spec.effective_shutdown() == sv::shutdown_spec::infinity());
}

TEST_CASE("invalid_flags_are_rejected_before_spawning") {
  test_system t;
  sv::supervisor_flags flags;
  flags.intensity.max_restarts = -1;
  auto sup = sv::spawn_supervisor(t.sys, flags, {});
  REQUIRE_FALSE(sup);
  CHECK(sv::is(sup.error(), sup_errc::invalid_flags));

  flags.intensity.max_restarts = 3;
  flags.intensity.period = 0ms;
  sup = sv::spawn_supervisor(t.sys, flags, {});
  REQUIRE_FALSE(sup);
  CHECK(sv::is(sup.error(), sup_errc::invalid_flags));
  CHECK(sv::describe(sup.error()).find("period must be > 0") != std::string::npos);

  sv::dynamic_supervisor_flags dyn;
  dyn.max_children = 0;
  auto dsup = sv::spawn_dynamic_supervisor(t.sys, dyn);
  REQUIRE_FALSE(dsup);
  CHECK(sv::is(dsup.error(), sup_errc::invalid_flags));
}

TEST_CASE("duplicate_child_ids_are_rejected_and_nothing_starts") {
  test_system t;
  auto log = std::make_shared<life_log>();
  auto sup = sv::spawn_supervisor(t.sys, {}, {test_child_spec(log, "a"), test_child_spec(log, "a")});
  REQUIRE_FALSE(sup);
  CHECK(sv::is(sup.error(), sup_errc::duplicate_child_id));
  t.run();
  CHECK(log->starts.empty());
}

TEST_CASE("an_invalid_child_spec_rejects_the_whole_supervisor") {
  test_system t;
  auto log = std::make_shared<life_log>();
  sv::child_spec broken;
  broken.id = "broken";
  auto sup = sv::spawn_supervisor(t.sys, {}, {test_child_spec(log, "a"), broken});
  REQUIRE_FALSE(sup);
  CHECK(sv::is(sup.error(), sup_errc::invalid_child_spec));
  t.run();
  CHECK(log->starts.empty());
}

TEST_CASE("exit_reasons_are_classified_as_otp_does") {
  using sv::exit_class;
  CHECK(sv::classify(caf::error{}) == exit_class::normal);
  CHECK(sv::classify(caf::exit_reason::normal) == exit_class::normal);
  CHECK(sv::classify(caf::exit_reason::user_shutdown) == exit_class::shutdown);
  CHECK(sv::classify(caf::exit_reason::kill) == exit_class::killed);
  CHECK(sv::classify(caf::make_error(caf::sec::runtime_error)) == exit_class::abnormal);
  CHECK(sv::classify(caf::exit_reason::unreachable) == exit_class::abnormal);
}
