#include "bench/interrupt.hpp"

#include <csignal>

#include "bench/bench_error.hpp"

namespace snakepit::bench {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_signal(int signo) {
  g_interrupted = 1;
  // The next one is fatal (default disposition); sigaction is async-signal-safe.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(signo, &dfl, nullptr);
}

} // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() {
  return g_interrupted != 0;
}

void check_interrupted() {
  if (interrupted())
    throw bench_error("interrupted");
}

} // namespace snakepit::bench
