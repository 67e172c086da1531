#pragma once
// bench/cpu_usage.hpp — CPU time of this process (all threads) and of a
// worker process, to say where a figure's time goes (host vs Python).

#include <sys/types.h>

#include <vector>

namespace snakepit::bench {

/// CPU seconds this process has used so far (all threads, user + system).
double self_cpu_seconds();
/// CPU seconds a process has used so far, all its live threads (from
/// /proc/PID/task/*/schedstat, in ns; else /proc/PID/stat, in clock ticks).
/// 0 if it is gone.
double process_cpu_seconds(pid_t pid);
/// Times the threads of a process were scheduled in so far (its live
/// threads, from /proc/PID/task/*/schedstat); 0 if it is gone.
double process_context_switches(pid_t pid);

/// Context switches of this process so far (all threads, voluntary and not):
/// on 2 cores a thread handoff costs more than the work around it.
double self_context_switches();

/// Host and worker CPU used between construction and `per_call(n)`, and the
/// host's context switches.
class cpu_meter {
public:
  explicit cpu_meter(std::vector<pid_t> workers);
  struct per_call_us {
    double host = 0;
    double workers = 0;
    double host_switches = 0;     // per call, not microseconds
    double workers_switches = 0;  // per call: the workers' threads scheduled in
  };
  /// CPU microseconds per call over `calls` calls since construction.
  per_call_us per_call(double calls) const;

private:
  std::vector<pid_t> workers_;
  double host_start_ = 0;
  double workers_start_ = 0;
  double switches_start_ = 0;
  double workers_switches_start_ = 0;
};

} // namespace snakepit::bench
