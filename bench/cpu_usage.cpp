#include "bench/cpu_usage.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace snakepit::bench {

double self_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double self_context_switches() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_nvcsw) + static_cast<double>(u.ru_nivcsw);
}

namespace {

/// Sum over the live threads of one field of /proc/PID/task/*/schedstat
/// (0: ns on CPU, 1: ns waiting, 2: times scheduled in), or a negative value
/// if schedstat is not available.
double schedstat_sum(pid_t pid, int field) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec)
    return -1;
  unsigned long long total = 0;
  bool any = false;
  for (auto& t : tasks) {
    std::ifstream in(t.path() / "schedstat");
    unsigned long long value = 0;
    int i = 0;
    while (i <= field && in >> value)
      ++i;
    if (i > field) {
      total += value;
      any = true;
    }
  }
  return any ? static_cast<double>(total) : -1;
}

/// utime + stime from /proc/PID/stat (clock-tick resolution).
double stat_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name may hold spaces: fields count from the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  // After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime(14) stime(15).
  for (int i = 3; i < 14; ++i)
    fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace

double process_context_switches(pid_t pid) {
  return std::max(0.0, schedstat_sum(pid, 2));
}

double process_cpu_seconds(pid_t pid) {
  double ns = schedstat_sum(pid, 0);
  return ns >= 0 ? ns * 1e-9 : stat_seconds(pid);
}

namespace {

double sum_over(const std::vector<pid_t>& pids, double (*of)(pid_t)) {
  double s = 0;
  for (auto p : pids)
    s += of(p);
  return s;
}

} // namespace

cpu_meter::cpu_meter(std::vector<pid_t> workers)
  : workers_(std::move(workers)),
    host_start_(self_cpu_seconds()),
    workers_start_(sum_over(workers_, process_cpu_seconds)),
    switches_start_(self_context_switches()),
    workers_switches_start_(sum_over(workers_, process_context_switches)) {}

cpu_meter::per_call_us cpu_meter::per_call(double calls) const {
  if (calls <= 0)
    return {};
  return {(self_cpu_seconds() - host_start_) / calls * 1e6,
          (sum_over(workers_, process_cpu_seconds) - workers_start_) / calls * 1e6,
          (self_context_switches() - switches_start_) / calls,
          (sum_over(workers_, process_context_switches) - workers_switches_start_) / calls};
}

} // namespace snakepit::bench
