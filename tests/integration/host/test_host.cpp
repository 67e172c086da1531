// A small host program for chaos tests: starts a runtime of the given
// instance, prints its run id and worker pids, then waits to be killed.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <snakepit/snakepit.hpp>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: snakepit-test-host DATA_DIR INSTANCE [grandchild]\n");
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
  line += " dir " + rt.runtime_dir();
  if (argc == 4) {  // a worker starts a grandchild that outlives it if nobody sweeps
    auto g = rt.execute("spawn_grandchild");
    if (!g) {
      std::fprintf(stderr, "spawn_grandchild: %s\n", g.error().to_string().c_str());
      return 1;
    }
    line += " grandchild " + std::to_string(g->at("pid").get<int>());
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  for (;;)
    ::pause();  // until SIGKILL
}
