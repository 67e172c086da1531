#pragma once
// Starts the test host program (tests/integration/host), reads its READY
// line, kills it with SIGKILL and reaps it: a host that died without a
// chance to clean up.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include <sstream>

#include "integration/runtime_fixture.hpp"

extern char** environ;

namespace snakepit::test {


struct killed_host {
  std::string run_id;
  std::string runtime_dir;  // left behind: a SIGKILLed host cannot remove it
  std::vector<int> worker_pids;
  int grandchild = 0;  // when asked for one
};

// Starts the test host, reads its READY line, kills it with SIGKILL, reaps it.
inline killed_host start_and_kill_host(const std::string& data_dir, const std::string& instance,
                                       bool with_grandchild = false) {
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<std::string> args{SNAKEPIT_TEST_HOST, data_dir, instance};
  if (with_grandchild)
    args.push_back("grandchild");
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
  std::string token;
  while (in >> token) {
    if (token == "grandchild")
      in >> k.grandchild;
    else if (token == "dir")
      in >> k.runtime_dir;
    else
      k.worker_pids.push_back(std::stoi(token));
  }
  return k;
}


} // namespace snakepit::test
