// The pure restart-intensity window, checked at its boundaries.
#include <doctest/doctest.h>

#include "supervision/restart_intensity.hpp"

using namespace std::chrono_literals;
using snakepit::supervision::restart_intensity;

namespace {
const restart_intensity::time_point t0{};
}

TEST_CASE("n_restarts_within_the_period_are_allowed_and_n_plus_one_is_not") {
  restart_intensity ri{{3, 5000ms}};
  CHECK(ri.add_restart(t0));
  CHECK(ri.add_restart(t0 + 1ms));
  CHECK(ri.add_restart(t0 + 2ms));
  CHECK_FALSE(ri.add_restart(t0 + 3ms));
}

TEST_CASE("restarts_older_than_the_period_stop_counting") {
  restart_intensity ri{{3, 5000ms}};
  CHECK(ri.add_restart(t0));
  CHECK(ri.add_restart(t0 + 2000ms));
  CHECK(ri.add_restart(t0 + 4000ms));
  // The restart at t0 is exactly 5 s old: out of the window (OTP: Now - Then < Period).
  CHECK(ri.add_restart(t0 + 5000ms));
  CHECK(ri.restarts_in_window(t0 + 5000ms) == 3);
  CHECK_FALSE(ri.add_restart(t0 + 5001ms));
}

TEST_CASE("zero_max_restarts_gives_up_at_the_first_restart") {
  restart_intensity ri{{0, 5000ms}};
  CHECK_FALSE(ri.add_restart(t0));
}

TEST_CASE("a_long_quiet_period_resets_the_window") {
  restart_intensity ri{{1, 1000ms}};
  for (int i = 0; i < 100; ++i)
    CHECK(ri.add_restart(t0 + std::chrono::milliseconds(i * 1000)));
  CHECK(ri.restarts_in_window(t0 + 100000ms) == 0);
}
