#pragma once
// OTP's restart intensity: at most `max_restarts` restarts within any sliding
// window of `period`. Kept as OTP keeps it: a list of restart timestamps,
// pruned of those that fell out of the window each time one is added.

#include <chrono>
#include <cstddef>
#include <deque>

namespace snakepit::supervision {

struct intensity_limits {
  int max_restarts = 3;                     // OTP's default intensity
  std::chrono::milliseconds period{5000};   // OTP's default period (5 s)
};

class restart_intensity {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit restart_intensity(intensity_limits limits) : limits_(limits) {}

  /// Records a restart at `now`. Returns false when this restart is one too
  /// many: the supervisor must give up (stop its children and exit shutdown).
  bool add_restart(time_point now);

  /// Restarts still inside the window ending at `now`.
  std::size_t restarts_in_window(time_point now);

  const intensity_limits& limits() const { return limits_; }

private:
  void prune(time_point now);

  intensity_limits limits_;
  std::deque<time_point> restarts_;  // oldest first
};

} // namespace snakepit::supervision
