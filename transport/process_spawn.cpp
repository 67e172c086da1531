// transport/process_spawn.cpp — everything between "here is a spec" and "the
// child runs the program": argv/envp built before fork, async-signal-safe
// child setup, errno carried back over a close-on-exec pipe.
#include "transport/process_spawn.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include "transport/process_pidfd.hpp"
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static_assert(sizeof(snakepit::transport::process_id) == sizeof(pid_t));

namespace snakepit::transport {
namespace {

// Steps of the child's setup, reported with errno when one fails.
enum class child_stage : int { setpgid = 1, prctl, sigmask, chdir, dup, dup2, close, execve };

struct child_failure {
  int stage;
  int err;
};

const char* stage_name(int stage) {
  switch (static_cast<child_stage>(stage)) {
    case child_stage::setpgid:
      return "setpgid (in child)";
    case child_stage::prctl:
      return "prctl PR_SET_PDEATHSIG (in child)";
    case child_stage::sigmask:
      return "sigprocmask (in child)";
    case child_stage::chdir:
      return "chdir (in child)";
    case child_stage::dup:
      return "fcntl F_DUPFD_CLOEXEC (in child)";
    case child_stage::dup2:
      return "dup2 (in child)";
    case child_stage::close:
      return "close_range (in child)";
    case child_stage::execve:
      return "execve";
  }
  return "unknown step (in child)";
}

// Everything the child needs, prepared before fork so that the child never
// allocates, locks or calls anything that is not async-signal-safe.
struct exec_plan {
  std::string path;
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  const char* cwd = nullptr;
  std::vector<int> sources;      // descriptors in this process...
  std::vector<int> targets;      // ...and their numbers in the child
  mutable std::vector<int> high; // scratch: copies above every target
  std::vector<int> kept_above_2; // sorted targets >= 3
  int min_high = 3;
  int max_fd_fallback = 1024; // for a kernel without close_range
  pid_t parent_pid = 0;
  struct sigaction default_action {};
  sigset_t empty_mask{};
};

std::string label_prefix(const process_spec& spec) {
  return spec.label.empty() ? std::string{} : spec.label + ": ";
}

process_error spec_error(const process_spec& spec, std::string what) {
  return make_process_error(process_errc::invalid_spec, {}, 0, label_prefix(spec) + std::move(what));
}

process_error sys_error(const process_spec& spec, const char* operation, int err) {
  return make_process_error(process_errc::system_error, operation, err,
                            label_prefix(spec) + "cannot launch '" + spec.program + "'");
}

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

// ---- environment and program lookup (parent side, before fork) ------------

std::vector<std::string> build_environment(const process_spec& spec) {
  std::vector<std::string> env;
  auto overridden = [&](std::string_view entry) {
    const auto name = entry.substr(0, entry.find('='));
    for (const auto& [k, v] : spec.environment)
      if (k == name)
        return true;
    for (const auto& k : spec.unset_environment)
      if (k == name)
        return true;
    return false;
  };
  if (spec.inherit_environment)
    for (char** e = ::environ; e && *e; ++e)
      if (!overridden(*e))
        env.emplace_back(*e);
  for (const auto& [k, v] : spec.environment)
    env.push_back(k + "=" + v);
  return env;
}

std::string search_path(const std::vector<std::string>& env) {
  for (const auto& entry : env)
    if (entry.starts_with("PATH="))
      return entry.substr(5);
  return "/usr/local/bin:/usr/bin:/bin";
}

process_result<std::string> resolve_program(const process_spec& spec,
                                            const std::vector<std::string>& env) {
  if (spec.program.find('/') != std::string::npos)
    return spec.program; // execve reports ENOENT/EACCES/ENOEXEC through the error pipe
  const std::string path = search_path(env);
  bool found_not_executable = false;
  std::string_view rest = path;
  for (;;) {
    const auto colon = rest.find(':');
    std::string dir{rest.substr(0, colon)};
    if (dir.empty())
      dir = ".";
    std::string candidate = dir + "/" + spec.program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0)
        return candidate;
      found_not_executable = true;
    }
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  if (found_not_executable)
    return make_process_error(process_errc::permission_denied, {}, EACCES,
                              label_prefix(spec) + "'" + spec.program
                                + "' is on PATH but not executable (PATH=" + path + ")");
  return make_process_error(process_errc::program_not_found, {}, ENOENT,
                            label_prefix(spec) + "'" + spec.program
                              + "' is not on PATH (PATH=" + path + ")");
}

process_result<exec_plan> make_plan(const process_spec& spec,
                                    const std::vector<inherited_fd>& extra) {
  if (spec.program.empty())
    return spec_error(spec, "empty program");
  if (has_nul(spec.program) || has_nul(spec.working_directory))
    return spec_error(spec, "NUL byte in program or working directory");
  for (const auto& a : spec.arguments)
    if (has_nul(a))
      return spec_error(spec, "NUL byte in an argument");
  for (const auto& [k, v] : spec.environment)
    if (k.empty() || k.find('=') != std::string::npos || has_nul(k) || has_nul(v))
      return spec_error(spec, "bad environment variable name or value '" + k + "'");
  std::set<int> seen;
  if (spec.notify_fd >= 0) {
    if (spec.notify_fd < 3 || spec.notify_fd > 65535)
      return spec_error(spec, "notify fd number " + std::to_string(spec.notify_fd)
                                + " must be between 3 and 65535");
    seen.insert(spec.notify_fd);
  }
  for (const auto& x : extra) {
    if (!x.fd.valid())
      return spec_error(spec, "extra fd for child fd " + std::to_string(x.child_fd) + " is not open");
    if (x.child_fd < 3)
      return spec_error(spec, "extra fd number " + std::to_string(x.child_fd)
                                + " clashes with stdin/stdout/stderr");
    if (x.child_fd > 65535)
      return spec_error(spec, "extra fd number " + std::to_string(x.child_fd) + " is too large");
    if (!seen.insert(x.child_fd).second)
      return spec_error(spec, "child fd number " + std::to_string(x.child_fd)
                                + " given twice (extra fds, notify fd)");
  }

  exec_plan plan;
  plan.env_storage = build_environment(spec);
  auto path = resolve_program(spec, plan.env_storage);
  if (!path)
    return std::move(path).error();
  plan.path = std::move(*path);
  plan.argv_storage.reserve(spec.arguments.size() + 1);
  plan.argv_storage.push_back(spec.program);
  plan.argv_storage.insert(plan.argv_storage.end(), spec.arguments.begin(), spec.arguments.end());
  for (auto& a : plan.argv_storage)
    plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env_storage)
    plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  if (!spec.working_directory.empty())
    plan.cwd = spec.working_directory.c_str();
  plan.kept_above_2.assign(seen.begin(), seen.end());
  plan.min_high = seen.empty() ? 3 : *seen.rbegin() + 1;
  if (const long open_max = ::sysconf(_SC_OPEN_MAX); open_max > 0)
    plan.max_fd_fallback = static_cast<int>(std::min<long>(open_max, 1 << 20));
  plan.parent_pid = ::getpid();
  plan.default_action.sa_handler = SIG_DFL;
  ::sigemptyset(&plan.default_action.sa_mask);
  ::sigemptyset(&plan.empty_mask);
  return plan;
}

// ---- the child, between fork and execve: async-signal-safe calls only -----

[[noreturn]] void child_fail(int report_fd, child_stage stage) {
  const child_failure failure{static_cast<int>(stage), errno};
  // A short write to a pipe (8 bytes < PIPE_BUF) is atomic; nothing to do if it fails.
  [[maybe_unused]] auto n = ::write(report_fd, &failure, sizeof failure);
  ::_exit(127);
}

void close_from_to(unsigned lo, unsigned hi, int max_fd_fallback) {
  if (lo > hi)
    return;
  if (::close_range(lo, hi, 0) == 0)
    return;
  const unsigned last = std::min<unsigned>(hi, static_cast<unsigned>(max_fd_fallback));
  for (unsigned fd = lo; fd <= last; ++fd)
    ::close(static_cast<int>(fd));
}

[[noreturn]] void run_child(const exec_plan& plan, int report_fd) {
  if (::setpgid(0, 0) != 0)
    child_fail(report_fd, child_stage::setpgid);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
    child_fail(report_fd, child_stage::prctl);
  if (::getppid() != plan.parent_pid)
    ::_exit(127); // the host died before the prctl: nobody to run for
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP)
      ::sigaction(sig, &plan.default_action, nullptr); // EINVAL for glibc-reserved ones: fine
  if (::sigprocmask(SIG_SETMASK, &plan.empty_mask, nullptr) != 0)
    child_fail(report_fd, child_stage::sigmask);
  if (plan.cwd && ::chdir(plan.cwd) != 0)
    child_fail(report_fd, child_stage::chdir);

  // Move every descriptor we keep above all target numbers first, so that no
  // dup2 onto a target can clobber a source (or the report pipe).
  const int report = ::fcntl(report_fd, F_DUPFD_CLOEXEC, plan.min_high);
  if (report < 0)
    child_fail(report_fd, child_stage::dup);
  const std::size_t n = plan.sources.size();
  for (std::size_t i = 0; i < n; ++i) {
    plan.high[i] = ::fcntl(plan.sources[i], F_DUPFD_CLOEXEC, plan.min_high);
    if (plan.high[i] < 0)
      child_fail(report, child_stage::dup);
  }
  for (std::size_t i = 0; i < n; ++i)
    if (::dup2(plan.high[i], plan.targets[i]) < 0) // the copy at the target is not CLOEXEC
      child_fail(report, child_stage::dup2);

  // Close everything but 0-2, the targets and the report pipe (which closes
  // itself on a successful exec).
  unsigned lo = 3;
  for (int keep : plan.kept_above_2) {
    close_from_to(lo, static_cast<unsigned>(keep) - 1, plan.max_fd_fallback);
    lo = static_cast<unsigned>(keep) + 1;
  }
  close_from_to(lo, static_cast<unsigned>(report) - 1, plan.max_fd_fallback);
  close_from_to(static_cast<unsigned>(report) + 1, ~0U, plan.max_fd_fallback);

  ::execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  child_fail(report, child_stage::execve);
}

// ---- parent side after fork ----------------------------------------------

process_errc classify(int stage, int err) {
  if (static_cast<child_stage>(stage) == child_stage::chdir)
    return process_errc::bad_working_directory;
  if (static_cast<child_stage>(stage) != child_stage::execve)
    return process_errc::system_error;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
      return process_errc::program_not_found;
    case EACCES:
    case EPERM:
      return process_errc::permission_denied;
    case ENOEXEC:
    case ELIBBAD:
    case EINVAL:
    case EISDIR:
      return process_errc::exec_format_error;
    default:
      return process_errc::system_error;
  }
}

// Reaps a child that is known to be dying (it reported a failure or was SIGKILLed).
void reap_dying(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) != 0 && errno == EINTR) {
  }
}

void kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  reap_dying(pid);
}

bool make_pipe(unique_fd& read_end, unique_fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return true;
}

} // namespace

process_result<spawned_process> spawn_process(process_spec& spec,
                                              std::chrono::milliseconds exec_timeout) {
  // Descriptors handed over by the caller are closed when we return, whatever happens.
  std::vector<inherited_fd> extra = std::move(spec.extra_fds);
  spec.extra_fds.clear();
  auto plan_result = make_plan(spec, extra);
  if (!plan_result)
    return std::move(plan_result).error();
  exec_plan& plan = *plan_result;

  unique_fd out_r, out_w, err_r, err_w, report_r, report_w;
  if (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) || !make_pipe(report_r, report_w))
    return sys_error(spec, "pipe2", errno);
  unique_fd notify_r, notify_w;
  if (spec.notify_fd >= 0 && !make_pipe(notify_r, notify_w))
    return sys_error(spec, "pipe2", errno);
  for (int fd : {out_r.get(), err_r.get(), notify_r.get()})
    if (fd >= 0 && ::fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
      return sys_error(spec, "fcntl O_NONBLOCK", errno);
  unique_fd dev_null{::open("/dev/null", O_RDONLY | O_CLOEXEC)};
  if (!dev_null)
    return sys_error(spec, "open /dev/null", errno);

  plan.sources = {dev_null.get(), out_w.get(), err_w.get()};
  plan.targets = {0, 1, 2};
  for (const auto& x : extra) {
    plan.sources.push_back(x.fd.get());
    plan.targets.push_back(x.child_fd);
  }
  if (notify_w) {
    plan.sources.push_back(notify_w.get());
    plan.targets.push_back(spec.notify_fd);
  }
  plan.high.assign(plan.sources.size(), -1);

  const pid_t pid = ::fork();
  if (pid == 0)
    run_child(plan, report_w.get());
  if (pid < 0)
    return sys_error(spec, "fork", errno);

  // Parent: drop the child's ends so EOF on the pipes means "the child is gone".
  out_w.reset();
  err_w.reset();
  report_w.reset();
  notify_w.reset();
  dev_null.reset();
  extra.clear();

  // The child also does this; doing it here too closes the window in which a
  // group signal would miss it. EACCES: it has already exec'd; ESRCH: gone.
  if (::setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH) {
    const int err = errno;
    kill_and_reap(pid);
    return sys_error(spec, "setpgid", err);
  }

  // Wait for EOF (exec succeeded: the pipe was close-on-exec) or a failure report.
  const auto deadline = std::chrono::steady_clock::now() + exec_timeout;
  child_failure failure{0, 0};
  std::size_t got = 0;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill_and_reap(pid);
      return make_process_error(process_errc::spawn_timeout, {}, 0,
                                label_prefix(spec) + "'" + spec.program
                                  + "' neither exec'd nor failed within "
                                  + std::to_string(exec_timeout.count()) + " ms");
    }
    pollfd p{report_r.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready < 0) {
      const int err = errno;
      kill_and_reap(pid);
      return sys_error(spec, "poll (exec report pipe)", err);
    }
    if (ready == 0)
      continue;
    const ssize_t n = ::read(report_r.get(), reinterpret_cast<char*>(&failure) + got,
                             sizeof failure - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      kill_and_reap(pid);
      return sys_error(spec, "read (exec report pipe)", err);
    }
    if (n == 0)
      break;
    got += static_cast<std::size_t>(n);
    if (got == sizeof failure)
      break;
  }

  if (got == sizeof failure) {
    reap_dying(pid); // it _exit(127)s right after the report
    return make_process_error(classify(failure.stage, failure.err), stage_name(failure.stage),
                              failure.err,
                              label_prefix(spec) + "cannot run '" + plan.path + "'");
  }
  if (got != 0) { // a torn report cannot happen with an 8-byte pipe write; be safe anyway
    kill_and_reap(pid);
    return make_process_error(process_errc::system_error, "read (exec report pipe)", 0,
                              label_prefix(spec) + "short failure report from the child");
  }

  unique_fd pidfd{::pidfd_open(pid, 0)}; // always close-on-exec
  if (!pidfd) {
    const int err = errno;
    kill_and_reap(pid);
    return sys_error(spec, "pidfd_open", err);
  }
  spawned_process child;
  child.pid = pid;
  child.pidfd = std::move(pidfd);
  child.stdout_fd = std::move(out_r);
  child.stderr_fd = std::move(err_r);
  child.notify_fd = std::move(notify_r);
  return child;
}

void discard_spawned_process(spawned_process& child) noexcept {
  if (child.pid > 0)
    kill_and_reap(child.pid);
  child.pid = 0;
  child.pidfd.reset();
  child.stdout_fd.reset();
  child.stderr_fd.reset();
  child.notify_fd.reset();
}

} // namespace snakepit::transport
