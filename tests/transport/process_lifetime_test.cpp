// tests/transport/process_lifetime_test.cpp — nothing outlives the launcher or
// its host, and every launch is answered.
#include "process_test_support.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

constexpr const char* host_mode_variable = "SNAKEPIT_TRANSPORT_TEST_HOST";

// When this test binary is re-executed with SNAKEPIT_TRANSPORT_TEST_HOST=pdeath
// it becomes a small host: it launches `sleep 600` through a process_launcher,
// prints "sleep-pid <pid>" and waits (at most 60 s) to be killed. This runs
// during static initialization, before doctest's main.
[[noreturn]] void run_pdeath_host() {
  auto launcher = process_launcher::create();
  if (!launcher)
    std::_Exit(3);
  process_observer obs;
  obs.on_started = [](process_result<process_started> r) {
    if (!r)
      std::_Exit(4);
    const std::string line = "sleep-pid " + std::to_string(r->pid) + "\n";
    [[maybe_unused]] auto n = ::write(STDOUT_FILENO, line.data(), line.size());
  };
  process_spec spec;
  spec.program = "/bin/sleep";
  spec.arguments = {"600"};
  spec.label = "pdeath-victim";
  (*launcher)->launch(std::move(spec), std::move(obs));
  ::sleep(60); // the test kills us long before; bounded in case it does not
  launcher->reset();
  std::_Exit(0);
}

[[maybe_unused]] const bool host_mode = [] {
  if (const char* mode = std::getenv(host_mode_variable);
      mode && std::string{mode} == "pdeath")
    run_pdeath_host();
  return false;
}();

bool reaped_by_launcher(process_id pid) {
  // ECHILD: not our child any more, i.e. already reaped (no zombie left).
  return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

} // namespace

TEST_CASE("child_dies_when_launcher_thread_owner_process_dies") {
  auto launcher = make_launcher();
  auto host = std::make_shared<process_events>();
  auto spec = command(std::filesystem::read_symlink("/proc/self/exe").string(), {}, "pdeath-host");
  spec.environment = {{host_mode_variable, "pdeath"}};
  launcher->launch(std::move(spec), observe(host));
  REQUIRE(eventually([&] { return host->line_after("sleep-pid ").has_value(); }));
  const process_id host_pid = host->pid();
  const process_id victim = std::stoi(*host->line_after("sleep-pid "));
  REQUIRE_FALSE(process_gone(victim));
  REQUIRE(proc_cmdline(victim).find("sleep 600") != std::string::npos);

  ::kill(host_pid, SIGKILL); // the host dies without any chance to clean up

  const bool gone = eventually([&] { return process_gone(victim); }, 2000ms);
  if (!gone && proc_cmdline(victim).find("sleep 600") != std::string::npos)
    ::kill(victim, SIGKILL); // clean up after a failure
  CHECK_MESSAGE(gone, "sleep " << victim << " survived its host");
  REQUIRE(eventually([&] { return host->has_exited(); }));
  CHECK(host->exit_info().status == exit_status::killed_by(SIGKILL));
}

TEST_CASE("destroying_the_launcher_leaves_no_child_running") {
  auto launcher = make_launcher();
  std::vector<std::shared_ptr<process_events>> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(std::make_shared<process_events>());
    launcher->launch(command("/bin/sleep", {"600"}, "sleeper" + std::to_string(i)),
                     observe(events.back()));
  }
  // One that ignores SIGTERM and has a grandchild.
  events.push_back(std::make_shared<process_events>());
  launcher->launch(shell("trap '' TERM; sleep 600 & echo grandchild $!; wait", "parent"),
                   observe(events.back()));
  REQUIRE(eventually([&] { return events.back()->line_after("grandchild ").has_value(); }));
  const process_id grandchild = std::stoi(*events.back()->line_after("grandchild "));
  std::vector<process_id> pids;
  for (auto& ev : events) {
    REQUIRE(eventually([&] { return ev->has_started(); }));
    pids.push_back(ev->pid());
  }

  const auto before = std::chrono::steady_clock::now();
  launcher.reset();
  CHECK(std::chrono::steady_clock::now() - before < 3s);

  for (std::size_t i = 0; i < pids.size(); ++i) {
    CAPTURE(pids[i]);
    CHECK(reaped_by_launcher(pids[i])); // no zombie
    CHECK(process_gone(pids[i]));
    REQUIRE(events[i]->has_exited()); // on_exit delivered before the destructor returned
    CHECK(events[i]->exit_info().status == exit_status::killed_by(SIGKILL));
    std::lock_guard g{events[i]->mutex};
    CHECK(events[i]->exit_calls == 1);
  }
  // The grandchild is gone too (at most a zombie waiting for init to reap it).
  CHECK(process_gone(grandchild));
  if (!process_gone(grandchild))
    ::kill(grandchild, SIGKILL);
}

TEST_CASE("every_launch_is_answered_even_when_the_launcher_is_destroyed_at_once") {
  auto launcher = make_launcher();
  std::vector<std::shared_ptr<process_events>> events;
  for (int i = 0; i < 20; ++i) {
    events.push_back(std::make_shared<process_events>());
    launcher->launch(command("/bin/sleep", {"600"}), observe(events.back()));
  }
  launcher.reset();
  int launched = 0;
  for (auto& ev : events) {
    std::lock_guard g{ev->mutex};
    REQUIRE(ev->started_calls == 1);
    if (ev->started->has_value()) {
      ++launched;
      CHECK(ev->exit_calls == 1);
      CHECK(reaped_by_launcher((*ev->started)->pid));
    } else {
      CHECK(ev->started->error().code == process_errc::launcher_stopped);
      CHECK(ev->exit_calls == 0);
    }
  }
  MESSAGE(launched << " of 20 were launched before the destructor closed the queue");
}

TEST_CASE("launch_after_shutdown_began_is_rejected_not_lost") {
  // The only callback allowed on the caller's thread: launch() on a launcher
  // that is being destroyed. Simulated by launching from on_exit of a child
  // killed by the destructor.
  auto launcher = make_launcher();
  auto first = std::make_shared<process_events>();
  auto late = std::make_shared<process_events>();
  auto obs = observe(first);
  auto* raw = launcher.get();
  obs.on_exit = [first, late, raw, inner = obs.on_exit](process_exit e) {
    inner(std::move(e));
    raw->launch(command("/bin/sleep", {"600"}), observe(late));
  };
  launcher->launch(command("/bin/sleep", {"600"}), std::move(obs));
  REQUIRE(eventually([&] { return first->has_started(); }));
  launcher.reset();
  REQUIRE(late->has_started());
  auto r = late->start_result();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == process_errc::launcher_stopped);
}

TEST_CASE("many_concurrent_launches_are_all_observed") {
  constexpr int count = 50;
  auto launcher = make_launcher();
  std::vector<std::shared_ptr<process_events>> events;
  for (int i = 0; i < count; ++i)
    events.push_back(std::make_shared<process_events>());
  std::vector<std::thread> callers;
  for (int t = 0; t < 5; ++t)
    callers.emplace_back([&, t] {
      for (int i = t; i < count; i += 5)
        launcher->launch(shell("echo out-" + std::to_string(i) + "; exit " + std::to_string(i % 7),
                               "w" + std::to_string(i)),
                         observe(events[static_cast<std::size_t>(i)]));
    });
  for (auto& c : callers)
    c.join();
  REQUIRE(eventually([&] {
    return std::all_of(events.begin(), events.end(), [](auto& ev) { return ev->has_exited(); });
  }, 10s));
  std::set<process_id> pids;
  for (int i = 0; i < count; ++i) {
    auto& ev = *events[static_cast<std::size_t>(i)];
    CAPTURE(i);
    std::lock_guard g{ev.mutex};
    REQUIRE(ev.started->has_value());
    pids.insert((*ev.started)->pid);
    CHECK(ev.exit->status == exit_status::exited_with(i % 7));
    REQUIRE(ev.lines.size() == 1);
    CHECK(ev.lines[0].text == "out-" + std::to_string(i));
    CHECK(ev.lines[0].label == "w" + std::to_string(i));
    CHECK(ev.sequence == std::vector<std::string>{"started", "output", "exit"});
  }
  CHECK(pids.size() == count);
}
