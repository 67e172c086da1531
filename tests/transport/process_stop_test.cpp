// tests/transport/process_stop_test.cpp — terminate and kill_group: SIGTERM to
// the group, grace, SIGKILL, and on_stopped only when the group is gone.
#include "process_test_support.hpp"

#include "transport/process_group_probe.hpp"

#include <csignal>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

std::shared_ptr<process_events> start(process_launcher& launcher, process_spec spec) {
  auto ev = std::make_shared<process_events>();
  launcher.launch(std::move(spec), observe(ev));
  REQUIRE(eventually([&] { return ev->has_started(); }));
  REQUIRE(ev->start_result().has_value());
  return ev;
}

// Waits for a stdout line starting with `prefix`; returns the rest.
std::string wait_line(const process_events& ev, const std::string& prefix) {
  REQUIRE(eventually([&] { return ev.line_after(prefix).has_value(); }));
  return *ev.line_after(prefix);
}

} // namespace

TEST_CASE("terminate_stops_a_cooperative_process_with_sigterm") {
  auto launcher = make_launcher();
  auto ev = start(*launcher, command("/bin/sleep", {"600"}));
  const auto pid = ev->pid();
  stop_box stop;
  launcher->terminate(pid, 5s, stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  auto report = stop.report();
  CHECK(report.pid == pid);
  CHECK(report.was_running);
  CHECK_FALSE(report.killed);
  REQUIRE(report.leader_status.has_value());
  CHECK(*report.leader_status == exit_status::killed_by(SIGTERM));
  CHECK(report.elapsed < 2s); // well before the grace
  // on_exit came first, with the same status.
  REQUIRE(ev->has_exited());
  CHECK(ev->exit_info().status == exit_status::killed_by(SIGTERM));
  CHECK(process_gone(pid));
}

TEST_CASE("terminate_kills_a_process_that_ignores_sigterm_after_the_grace") {
  auto launcher = make_launcher();
  auto ev = start(*launcher, shell("trap '' TERM; echo ready; sleep 600"));
  wait_line(*ev, "ready");
  const auto pid = ev->pid();
  stop_box stop;
  launcher->terminate(pid, 300ms, stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  auto report = stop.report();
  CHECK(report.was_running);
  CHECK(report.killed);
  REQUIRE(report.leader_status.has_value());
  CHECK(*report.leader_status == exit_status::killed_by(SIGKILL));
  CHECK(report.elapsed >= 300ms);
  CHECK(report.elapsed < 3s);
  CHECK(process_gone(pid));
}

TEST_CASE("terminate_kills_grandchildren_in_the_group") {
  auto launcher = make_launcher();
  // The background sleep ignores SIGTERM (inherited); the shell itself does not.
  auto ev = start(*launcher,
                  shell("trap '' TERM; sleep 600 & trap - TERM; echo grandchild $!; wait"));
  const auto grandchild = std::stoi(wait_line(*ev, "grandchild "));
  const auto pid = ev->pid();
  CHECK(::getpgid(grandchild) == pid);
  stop_box stop;
  launcher->terminate(pid, 300ms, stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  auto report = stop.report();
  CHECK(report.killed); // needed for the grandchild
  REQUIRE(report.leader_status.has_value());
  CHECK(*report.leader_status == exit_status::killed_by(SIGTERM));
  CHECK(report.elapsed >= 300ms);
  CHECK(process_gone(pid));
  CHECK(process_gone(grandchild));
}

TEST_CASE("terminate_waits_for_a_group_whose_leader_already_exited") {
  // The leader exits on its own and leaves a member behind; stopping the
  // group afterwards still finds and kills it.
  auto launcher = make_launcher();
  auto ev = start(*launcher, shell("trap '' TERM; sleep 600 & echo grandchild $!"));
  const auto grandchild = std::stoi(wait_line(*ev, "grandchild "));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  const auto pid = ev->pid();
  REQUIRE_FALSE(process_gone(grandchild));
  stop_box stop;
  launcher->terminate(pid, 200ms, stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  auto report = stop.report();
  CHECK(report.was_running);
  CHECK_FALSE(report.leader_status.has_value()); // reported earlier through on_exit
  CHECK(report.killed);
  CHECK(process_gone(grandchild));
}

TEST_CASE("kill_group_kills_at_once") {
  auto launcher = make_launcher();
  auto ev = start(*launcher, shell("trap '' TERM; echo ready; sleep 600"));
  wait_line(*ev, "ready");
  const auto pid = ev->pid();
  stop_box stop;
  launcher->kill_group(pid, stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  auto report = stop.report();
  CHECK(report.killed);
  REQUIRE(report.leader_status.has_value());
  CHECK(*report.leader_status == exit_status::killed_by(SIGKILL));
  CHECK(report.elapsed < 1s);
  CHECK(process_gone(pid));
}

TEST_CASE("terminate_of_a_process_that_already_exited_reports_not_running") {
  auto launcher = make_launcher();
  auto ev = start(*launcher, command("/bin/true", {}));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  stop_box stop;
  launcher->terminate(ev->pid(), 1s, stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  auto report = stop.report();
  CHECK_FALSE(report.was_running);
  CHECK_FALSE(report.killed);
  CHECK_FALSE(report.leader_status.has_value());
}

TEST_CASE("concurrent_stops_of_one_group_all_complete_once") {
  auto launcher = make_launcher();
  auto ev = start(*launcher, shell("trap '' TERM; echo ready; sleep 600"));
  wait_line(*ev, "ready");
  const auto pid = ev->pid();
  stop_box slow, fast, brutal;
  launcher->terminate(pid, 10s, slow.callback());
  launcher->terminate(pid, 200ms, fast.callback()); // shortest grace wins
  REQUIRE(eventually([&] { return slow.done() && fast.done(); }, 3s));
  CHECK(slow.report().killed);
  CHECK(fast.report().killed);
  launcher->kill_group(pid, brutal.callback()); // after the fact: nothing to do
  REQUIRE(eventually([&] { return brutal.done(); }));
  CHECK_FALSE(brutal.report().was_running);
  std::lock_guard g{slow.state->mutex};
  CHECK(slow.state->calls == 1);
}

TEST_CASE("a_group_whose_known_members_are_gone_is_not_ours_to_signal") {
  // Once every member the launcher saw at the leader's reap is gone, the
  // group id may be reused by a stranger's group (pids wrap at pid_max): a
  // later stop must find nothing to signal rather than kill(-pgid).
  auto launcher = make_launcher();
  auto ev = start(*launcher, shell("sleep 0.3 & echo grandchild $!"));
  const auto grandchild = std::stoi(wait_line(*ev, "grandchild "));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  REQUIRE(eventually([&] { return process_gone(grandchild); }, 3000ms));
  stop_box stop;
  launcher->kill_group(ev->pid(), stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  CHECK_FALSE(stop.report().was_running);
}

TEST_CASE("group_still_holds_names_members_by_pid_and_start_time") {
  auto launcher = make_launcher();
  auto ev = start(*launcher, shell("echo ready; sleep 600"));
  wait_line(*ev, "ready");
  const auto pid = ev->pid();
  auto members = live_group_members(pid);
  REQUIRE_FALSE(members.empty());
  CHECK(group_still_holds(pid, members));
  auto stale = members;
  for (auto& m : stale)
    m.start_ticks += 1;  // the same pids, other processes
  CHECK_FALSE(group_still_holds(pid, stale));
  CHECK_FALSE(group_still_holds(pid + 1, members));  // not in that group
  stop_box stop;
  launcher->kill_group(pid, stop.callback());
  REQUIRE(eventually([&] { return stop.done(); }));
  CHECK_FALSE(group_still_holds(pid, members));
}
