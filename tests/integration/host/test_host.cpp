// A small host program for chaos tests: starts a runtime of the given
// instance, prints its run id and worker pids, then waits to be killed.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <snakepit/snakepit.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: snakepit-test-host DATA_DIR INSTANCE\n");
    return 64;
  }
  snakepit::config cfg;
  cfg.pool_size = 2;
  cfg.data_dir = argv[1];
  cfg.instance = argv[2];
  snakepit::runtime rt{cfg};
  auto ok = rt.await_ready(std::chrono::seconds(20));
  if (!ok) {
    std::fprintf(stderr, "not ready: %s\n", ok.error().to_string().c_str());
    return 1;
  }
  std::string line = "READY " + rt.run_id();
  for (auto& w : rt.list_workers())
    line += " " + std::to_string(w.os_pid);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  for (;;)
    ::pause();  // until SIGKILL
}
