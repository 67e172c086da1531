// Chaos: a host killed with SIGKILL, then a new host of the same instance.
// Its workers must be gone (parent-death signal, Python watchdog, boot sweep)
// and the new host's workers untouched.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include <sstream>

#include <fmt/format.h>

#include "integration/runtime_fixture.hpp"

extern char** environ;

using namespace snakepit::test;

namespace {

struct killed_host {
  std::string run_id;
  std::vector<int> worker_pids;
};

// Starts the test host, reads its READY line, kills it with SIGKILL, reaps it.
killed_host start_and_kill_host(const std::string& data_dir, const std::string& instance) {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<std::string> args{SNAKEPIT_TEST_HOST, data_dir, instance};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t host = 0;
  REQUIRE(::posix_spawn(&host, SNAKEPIT_TEST_HOST, &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[256];
      auto n = ::read(out[0], buf, sizeof buf);
      if (n <= 0)
        break;
      text.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(out[0]);
  ::kill(host, SIGKILL);
  int status = 0;
  ::waitpid(host, &status, 0);
  killed_host k;
  std::istringstream in(text);
  std::string word;
  in >> word >> k.run_id;
  int pid = 0;
  while (in >> pid)
    k.worker_pids.push_back(pid);
  return k;
}

} // namespace

TEST_CASE("a_host_killed_with_sigkill_leaves_nothing_once_a_new_host_of_its_instance_starts") {
  const std::string data_dir = "/tmp/snakepit-tests";
  const std::string instance = fmt::format("chaos-{}", ::getpid());
  for (int round = 0; round < 5; ++round) {
    auto old = start_and_kill_host(data_dir, instance);
    REQUIRE(old.worker_pids.size() == 2);
    auto cfg = test_config(2);
    cfg.instance = instance;
    auto t0 = std::chrono::steady_clock::now();
    ready_runtime fresh{cfg};
    // The old workers are gone within 2 s of the new start.
    CHECK(eventually([&] { return pids_with_run_id(old.run_id).empty(); },
                     2000ms - std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - t0)));
    for (int pid : old.worker_pids)
      CHECK_FALSE(process_alive(pid));
    // The new host's workers were not touched by the sweep.
    auto workers = fresh->list_workers();
    REQUIRE(workers.size() == 2);
    for (auto& w : workers)
      CHECK(process_alive(w.os_pid));
    CHECK(fresh->execute("ping"));
    CHECK(fresh->boot_sweep().ran);
  }
}
