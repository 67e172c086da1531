// tests/process_registry/orphan_sweep_test.cpp — the sweep by environment
// finds orphans the registry cannot vouch for, and nothing else. Every
// process is a real one in its own group, killed and reaped by its owner.
#include "registry_test_support.hpp"

#include "transport/orphan_sweep.hpp"

#include <fmt/format.h>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

orphan_sweep_options quick() {
  orphan_sweep_options o;
  o.grace = 300ms;
  o.kill_timeout = 2000ms;
  o.poll_interval = 5ms;
  return o;
}

// An identity no live process has: pid 1 never has start time 1 on a host
// that ran long enough to start this test.
const std::string dead_host = "1:1";

// `sh -c SCRIPT` in its own group with exactly the given environment, as the
// runtime's launcher would start a worker.
class env_child {
public:
  env_child(const std::string& script, std::vector<std::string> env) {
    env.push_back("PATH=/usr/bin:/bin");
    env.push_back("SNAKEPIT_TEST_CHILD=1");  // seen once the exec has happened
    std::vector<char*> envp;
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string sh = "sh", c = "-c", s = script;
    char* argv[] = {sh.data(), c.data(), s.data(), nullptr};
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::execve("/bin/sh", argv, envp.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    REQUIRE(eventually(
      [&] { return read_environment_variable(pid_, "SNAKEPIT_TEST_CHILD").has_value(); }));
  }
  ~env_child() {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  env_child(const env_child&) = delete;
  env_child& operator=(const env_child&) = delete;
  process_id pid() const { return pid_; }
  void wait_for_members(std::size_t n) const {
    REQUIRE(eventually([&] { return group_members(pid_).size() >= n; }));
  }

private:
  process_id pid_ = -1;
};

std::vector<std::string> worker_env(const std::string& instance, const std::string& run,
                                    const std::string& host) {
  return {"SNAKEPIT_INSTANCE=" + instance, "SNAKEPIT_RUN_ID=" + run, "SNAKEPIT_HOST=" + host};
}

std::string fresh_instance(const char* tag) {
  return fmt::format("{}-{}-{}", tag, ::getpid(), fresh_run_id());
}

} // namespace

TEST_CASE("an orphan of a dead host of the instance is killed with its grandchild") {
  const auto instance = fresh_instance("orphan");
  env_child orphan{"sleep 600 & wait", worker_env(instance, fresh_run_id("old"), dead_host)};
  orphan.wait_for_members(2);
  const auto members = group_members(orphan.pid());

  const auto r = sweep_orphans_by_environment(instance, fresh_run_id("new"), quick());
  CHECK(r.found == members.size());  // the worker and the grandchild both carry it
  CHECK(r.killed == r.found);
  CHECK(r.survived == 0);
  for (auto pid : members)
    CHECK_FALSE(alive(pid));
}

TEST_CASE("a process whose host is alive is left alone, and counted as skipped") {
  const auto instance = fresh_instance("livehost");
  env_child owned{"sleep 600", worker_env(instance, fresh_run_id("other"),
                                          current_host_identity())};
  const auto r = sweep_orphans_by_environment(instance, fresh_run_id("new"), quick());
  CHECK(r.found == 0);
  CHECK(r.skipped_live_host >= 1);  // sh, and sleep if sh forked it
  CHECK(alive(owned.pid()));
}

TEST_CASE("processes of another instance or of the current run are never touched") {
  const auto instance = fresh_instance("mine");
  const auto current = fresh_run_id("current");
  env_child other{"sleep 600", worker_env(fresh_instance("theirs"), fresh_run_id("x"), dead_host)};
  env_child ours_now{"sleep 600", worker_env(instance, current, dead_host)};
  env_child no_env{"sleep 600", {}};
  const auto r = sweep_orphans_by_environment(instance, current, quick());
  CHECK(r.found == 0);
  CHECK(alive(other.pid()));
  CHECK(alive(ours_now.pid()));
  CHECK(alive(no_env.pid()));
}

TEST_CASE("an orphan that ignores SIGTERM is killed after the grace period") {
  const auto instance = fresh_instance("stubborn");
  env_child stubborn{"trap '' TERM; sleep 600 & wait",
                     worker_env(instance, fresh_run_id("old"), dead_host)};
  stubborn.wait_for_members(2);
  auto t0 = std::chrono::steady_clock::now();
  const auto r = sweep_orphans_by_environment(instance, fresh_run_id("new"), quick());
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);  // the grace was given
  CHECK(r.found == 2);
  CHECK(r.killed == 2);
  CHECK_FALSE(alive(stubborn.pid()));
}

TEST_CASE("a host identity names one process: a wrong start time is not alive") {
  CHECK(host_identity_alive(current_host_identity()));
  CHECK_FALSE(host_identity_alive(fmt::format("{}:1", ::getpid())));
  CHECK_FALSE(host_identity_alive("garbage"));
  CHECK_FALSE(host_identity_alive(""));
  CHECK_FALSE(host_identity_alive("0:0"));
}
