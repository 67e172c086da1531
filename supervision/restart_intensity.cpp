#include "supervision/restart_intensity.hpp"

namespace snakepit::supervision {

void restart_intensity::prune(time_point now) {
  // A restart counts while it is less than `period` old (OTP: Now - Then < Period).
  while (!restarts_.empty() && now - restarts_.front() >= limits_.period)
    restarts_.pop_front();
}

bool restart_intensity::add_restart(time_point now) {
  prune(now);
  restarts_.push_back(now);
  return static_cast<int>(restarts_.size()) <= limits_.max_restarts;
}

std::size_t restart_intensity::restarts_in_window(time_point now) {
  prune(now);
  return restarts_.size();
}

} // namespace snakepit::supervision
