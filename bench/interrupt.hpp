#pragma once
// bench/interrupt.hpp — Ctrl-C / SIGTERM end the run cleanly: the first
// signal sets a flag that every measuring loop checks (it then throws, and
// RAII stops the runtime and kills our raw servers); a second one kills the
// bench at once (the workers then die of PR_SET_PDEATHSIG).

namespace snakepit::bench {

void install_interrupt_handlers();
bool interrupted();
/// Throws bench_error("interrupted") once a signal has arrived.
void check_interrupted();

} // namespace snakepit::bench
