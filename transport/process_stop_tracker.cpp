// transport/process_stop_tracker.cpp
#include "transport/process_stop_tracker.hpp"

#include <algorithm>
#include <csignal>

namespace snakepit::transport {

process_stop_tracker::process_stop_tracker(hooks h, std::chrono::milliseconds kill_timeout,
                                           std::chrono::milliseconds poll_interval)
  : hooks_(std::move(h)),
    kill_timeout_(kill_timeout),
    poll_interval_(std::max(poll_interval, std::chrono::milliseconds{1})) {}

void process_stop_tracker::send_kill(process_id pgid, stop_op& op, clock::time_point now) {
  hooks_.signal_group(pgid, SIGKILL);
  op.kill_sent = true;
  op.kill_deadline = now + kill_timeout_;
}

void process_stop_tracker::start(process_id pgid, std::string label, bool leader_running,
                                 std::chrono::milliseconds grace, bool brutal, stop_callback done,
                                 clock::time_point now) {
  const bool at_once = brutal || grace.count() <= 0;
  if (auto it = stops_.find(pgid); it != stops_.end()) { // join the stop under way
    auto& op = it->second;
    op.callbacks.push_back(std::move(done));
    if (!op.kill_sent) {
      if (at_once)
        send_kill(pgid, op, now);
      else
        op.grace_deadline = std::min(op.grace_deadline, now + grace);
    }
    return;
  }
  stop_op op;
  op.label = std::move(label);
  op.leader_running = leader_running;
  op.started = now;
  op.callbacks.push_back(std::move(done));
  if (at_once) {
    send_kill(pgid, op, now);
  } else {
    hooks_.signal_group(pgid, SIGTERM);
    op.grace_deadline = now + grace;
  }
  stops_.emplace(pgid, std::move(op));
}

void process_stop_tracker::leader_exited(process_id pgid, const exit_status& status) {
  if (auto it = stops_.find(pgid); it != stops_.end()) {
    it->second.leader_running = false;
    it->second.leader_status = status;
  }
}

process_stop_tracker::completion
process_stop_tracker::succeed(process_id pgid, stop_op& op, clock::time_point now) const {
  stop_report report{pgid, true, op.leader_status, op.kill_sent,
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - op.started)};
  return {std::move(op.callbacks), std::move(report)};
}

process_stop_tracker::completion
process_stop_tracker::time_out(process_id pgid, stop_op& op, std::string why) const {
  std::string who = op.label.empty() ? "process group " + std::to_string(pgid)
                                     : op.label + " (process group " + std::to_string(pgid) + ")";
  return {std::move(op.callbacks),
          make_process_error(process_errc::stop_timeout, {}, 0, who + ": " + std::move(why))};
}

std::vector<process_stop_tracker::completion> process_stop_tracker::advance(clock::time_point now) {
  std::vector<completion> done;
  for (auto it = stops_.begin(); it != stops_.end();) {
    auto& [pgid, op] = *it;
    if (!op.kill_sent && now >= op.grace_deadline)
      send_kill(pgid, op, now);
    if (!op.leader_running && !hooks_.group_alive(pgid)) {
      done.push_back(succeed(pgid, op, now));
    } else if (op.kill_sent && now >= op.kill_deadline) {
      done.push_back(time_out(pgid, op,
                              std::string{op.leader_running ? "the leader" : "a group member"}
                                + " survived SIGKILL for " + std::to_string(kill_timeout_.count())
                                + " ms (uninterruptible sleep?)"));
    } else {
      ++it;
      continue;
    }
    it = stops_.erase(it);
  }
  return done;
}

void process_stop_tracker::kill_all(clock::time_point now) {
  for (auto& [pgid, op] : stops_)
    if (!op.kill_sent)
      send_kill(pgid, op, now);
}

std::vector<process_stop_tracker::completion>
process_stop_tracker::finish_all(clock::time_point now) {
  std::vector<completion> done;
  for (auto& [pgid, op] : stops_) {
    if (!op.leader_running && !hooks_.group_alive(pgid))
      done.push_back(succeed(pgid, op, now));
    else
      done.push_back(time_out(pgid, op, "survived the launcher's shutdown"));
  }
  stops_.clear();
  return done;
}

std::optional<process_stop_tracker::clock::time_point>
process_stop_tracker::next_wakeup(clock::time_point now) const {
  std::optional<clock::time_point> next;
  auto consider = [&](clock::time_point t) { next = next ? std::min(*next, t) : t; };
  for (const auto& [pgid, op] : stops_) {
    consider(op.kill_sent ? op.kill_deadline : op.grace_deadline);
    if (!op.leader_running)
      consider(now + poll_interval_);
  }
  return next;
}

} // namespace snakepit::transport
