#include "bench/cpu_usage.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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

/// Sum of the first field of /proc/PID/task/*/schedstat (ns on CPU), or a
/// negative value if schedstat is not available.
double schedstat_seconds(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec)
    return -1;
  unsigned long long total = 0;
  bool any = false;
  for (auto& t : tasks) {
    std::ifstream in(t.path() / "schedstat");
    unsigned long long ns = 0;
    if (in >> ns) {
      total += ns;
      any = true;
    }
  }
  return any ? static_cast<double>(total) * 1e-9 : -1;
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
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec)
    return 0;
  double total = 0;
  for (auto& t : tasks) {
    // schedstat: ns on CPU, ns waiting, times scheduled in.
    std::ifstream in(t.path() / "schedstat");
    unsigned long long run = 0, wait = 0, slices = 0;
    if (in >> run >> wait >> slices)
      total += static_cast<double>(slices);
  }
  return total;
}

double process_cpu_seconds(pid_t pid) {
  double s = schedstat_seconds(pid);
  return s >= 0 ? s : stat_seconds(pid);
}

namespace {

double sum_cpu(const std::vector<pid_t>& pids) {
  double s = 0;
  for (auto p : pids)
    s += process_cpu_seconds(p);
  return s;
}

double sum_switches(const std::vector<pid_t>& pids) {
  double s = 0;
  for (auto p : pids)
    s += process_context_switches(p);
  return s;
}

} // namespace

cpu_meter::cpu_meter(std::vector<pid_t> workers)
  : workers_(std::move(workers)),
    host_start_(self_cpu_seconds()),
    workers_start_(sum_cpu(workers_)),
    switches_start_(self_context_switches()),
    workers_switches_start_(sum_switches(workers_)) {}

cpu_meter::per_call_us cpu_meter::per_call(double calls) const {
  if (calls <= 0)
    return {};
  return {(self_cpu_seconds() - host_start_) / calls * 1e6,
          (sum_cpu(workers_) - workers_start_) / calls * 1e6,
          (self_context_switches() - switches_start_) / calls,
          (sum_switches(workers_) - workers_switches_start_) / calls};
}

} // namespace snakepit::bench
