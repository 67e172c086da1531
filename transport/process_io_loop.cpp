// transport/process_io_loop.cpp — epoll over pidfds and output pipes, stop
// timers as epoll timeouts, one eventfd to wake the loop for posted tasks.
#include "transport/process_io_loop.hpp"

#include "transport/process_group_probe.hpp"
#include "transport/process_output_pipe.hpp"
#include "transport/process_pidfd.hpp"
#include "transport/process_stop_tracker.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace snakepit::transport {
namespace {

using steady = std::chrono::steady_clock;

// What an fd in the epoll set stands for.
enum class watch_role { wake, pidfd, out, err, notify };

struct watch {
  process_id pid = 0;
  watch_role role = watch_role::wake;
};

struct child_record {
  process_id pid = 0;
  std::string label;
  unique_fd pidfd;
  process_output_pipe out;
  process_output_pipe err;
  process_output_pipe notify;
  process_observer observer;

  process_output_pipe* pipe(watch_role role) {
    switch (role) {
      case watch_role::out:
        return &out;
      case watch_role::err:
        return &err;
      case watch_role::notify:
        return &notify;
      default:
        return nullptr;
    }
  }
};

exit_status status_from(const siginfo_t& info) {
  switch (info.si_code) {
    case CLD_EXITED:
      return exit_status::exited_with(info.si_status);
    case CLD_KILLED:
      return exit_status::killed_by(info.si_status, false);
    case CLD_DUMPED:
      return exit_status::killed_by(info.si_status, true);
    default:
      return exit_status::unknown_status();
  }
}

std::string who(process_id pid, const std::string& label) {
  return label.empty() ? "pid " + std::to_string(pid)
                       : label + " (pid " + std::to_string(pid) + ")";
}

} // namespace

struct process_io_loop::state {
  explicit state(process_launcher_options opts)
    : options(std::move(opts)),
      stops({[this](process_id pgid, int sig) { signal_group(pgid, sig); },
             [this](process_id pgid) {
               return children.contains(pgid) ? process_group_has_live_member(pgid)
                                              : lingering_is_ours(pgid);
             }},
            options.kill_timeout, options.group_poll_interval) {}

  process_launcher_options options;
  unique_fd epoll_fd;
  unique_fd wake_fd;
  std::thread thread;

  // Shared with other threads.
  std::mutex mutex;
  std::deque<std::function<void()>> tasks;
  bool accepting = true;
  std::mutex shutdown_mutex;
  bool joined = false;

  // I/O thread only.
  std::unordered_map<process_id, child_record> children;
  std::unordered_map<int, watch> watches;
  /// Groups whose leader is reaped but whose members live on, with those
  /// members as they were at the reap: the group id is ours only while one
  /// of them lives (after that, a wrapped pid may name a stranger's group).
  std::unordered_map<process_id, std::vector<group_member>> lingering;

  bool lingering_is_ours(process_id pgid) const {
    auto it = lingering.find(pgid);
    return it != lingering.end() && group_still_holds(pgid, it->second);
  }
  process_stop_tracker stops;
  bool shutting_down = false;
  steady::time_point shutdown_deadline;
  std::array<char, 64 * 1024> buffer{};
  std::vector<process_output_pipe::line> lines;

  // ---- diagnostics and callbacks -------------------------------------------

  void diagnose(std::string_view text) const noexcept {
    try {
      if (options.on_diagnostic) {
        options.on_diagnostic(text);
        return;
      }
    } catch (...) {
      // The sink itself failed: fall through to stderr.
    }
    try {
      std::string line = "[snakepit.transport] ";
      line.append(text);
      line += '\n';
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, text.data(), text.size());
    }
  }

  // Runs a user callback; an exception is reported, never propagated.
  template <class F>
  void guarded(const char* what, F&& f) noexcept {
    try {
      f();
    } catch (const std::exception& e) {
      diagnose(std::string{what} + " threw: " + e.what());
    } catch (...) {
      diagnose(std::string{what} + " threw a non-standard exception");
    }
  }

  void deliver(std::vector<process_stop_tracker::completion> done) {
    for (auto& c : done)
      for (auto& cb : c.callbacks)
        if (cb)
          guarded("on_stopped", [&] { cb(c.result); });
  }

  // ---- epoll registration --------------------------------------------------

  bool add_watch(int fd, process_id pid, watch_role role) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
      return false;
    watches[fd] = watch{pid, role};
    return true;
  }

  void forget(int fd) {
    if (fd < 0)
      return;
    ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, fd, nullptr);
    watches.erase(fd);
  }

  void close_pipe(process_output_pipe& p) {
    forget(p.fd());
    p.close();
  }

  // ---- signals -------------------------------------------------------------

  void signal_group(process_id pgid, int sig) {
    // A leader not yet reaped keeps its pid (and so the group id) ours; once
    // reaped, only a member we knew does.
    if (!children.contains(pgid) && !lingering_is_ours(pgid))
      return;
    if (::kill(-pgid, sig) != 0 && errno != ESRCH)
      diagnose("kill(-" + std::to_string(pgid) + ", " + signal_name(sig)
               + ") failed: " + errno_text(errno));
    // The leader may have left its group (setsid/setpgid): then signal it
    // through its pidfd too (only then, so that it never gets a signal twice).
    if (auto it = children.find(pgid);
        it != children.end() && it->second.pidfd && ::getpgid(pgid) != pgid)
      ::pidfd_send_signal(it->second.pidfd.get(), sig, nullptr, 0);
  }

  void sweep_lingering() {
    std::erase_if(lingering, [this](const auto& entry) {
      return !stops.contains(entry.first) && !group_still_holds(entry.first, entry.second);
    });
  }

  // ---- tasks ---------------------------------------------------------------

  void run_tasks() {
    std::uint64_t count = 0;
    while (::read(wake_fd.get(), &count, sizeof count) < 0 && errno == EINTR) {
    }
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard guard{mutex};
      batch.swap(tasks);
    }
    for (auto& task : batch)
      guarded("a launcher task or callback", task);
  }

  // ---- adopting a child ----------------------------------------------------

  void adopt(const std::shared_ptr<spawned_process>& sp, std::string label,
             process_observer observer) {
    const process_id pid = sp->pid;
    auto refuse = [&](process_error error) {
      discard_spawned_process(*sp);
      if (observer.on_started)
        guarded("on_started", [&] { observer.on_started(std::move(error)); });
    };
    if (shutting_down)
      return refuse(make_process_error(process_errc::launcher_stopped, {}, 0,
                                       who(pid, label) + " killed: the launcher is stopping"));
    const int fds[] = {sp->pidfd.get(), sp->stdout_fd.get(), sp->stderr_fd.get(),
                       sp->notify_fd.get()};
    const watch_role roles[] = {watch_role::pidfd, watch_role::out, watch_role::err,
                                watch_role::notify};
    for (std::size_t i = 0; i < 4; ++i) {
      if (fds[i] < 0 || add_watch(fds[i], pid, roles[i]))
        continue;
      const int error = errno;
      for (std::size_t j = 0; j < i; ++j)
        forget(fds[j]);
      return refuse(make_process_error(process_errc::system_error, "epoll_ctl", error,
                                       who(pid, label) + " killed: cannot watch it"));
    }
    const std::size_t max_line = options.max_line_bytes;
    child_record rec{pid,
                     std::move(label),
                     std::move(sp->pidfd),
                     {std::move(sp->stdout_fd), output_stream::stdout_stream, max_line},
                     {std::move(sp->stderr_fd), output_stream::stderr_stream, max_line},
                     {std::move(sp->notify_fd), output_stream::notify_stream, max_line},
                     std::move(observer)};
    sp->pid = 0; // ours now
    sweep_lingering();
    lingering.erase(pid);
    auto& c = children.emplace(pid, std::move(rec)).first->second;
    if (c.observer.on_started)
      guarded("on_started", [&] { c.observer.on_started(process_started{pid, pid, c.label}); });
  }

  // ---- output --------------------------------------------------------------

  void deliver_lines(child_record& c, output_stream stream) {
    for (auto& l : lines) {
      if (!c.observer.on_output)
        break;
      process_output out{c.pid, c.label, stream, std::move(l.text), l.truncated};
      guarded("on_output", [&] { c.observer.on_output(std::move(out)); });
    }
    lines.clear();
  }

  // Reads what the pipe holds; at its end, flushes the partial line and closes it.
  void pump(child_record& c, process_output_pipe& p, int max_reads) {
    if (!p.is_open())
      return;
    const auto r = p.read_available(buffer, max_reads, lines);
    deliver_lines(c, p.stream());
    if (r.what == process_output_pipe::outcome::failed)
      diagnose(who(c.pid, c.label) + ": read " + to_string(p.stream())
               + " failed: " + errno_text(r.error));
    if (r.what == process_output_pipe::outcome::ended
        || r.what == process_output_pipe::outcome::failed)
      close_pipe(p);
  }

  // ---- exit ----------------------------------------------------------------

  void on_pidfd_ready(process_id pid) {
    auto it = children.find(pid);
    if (it == children.end())
      return;
    siginfo_t info{};
    exit_status status;
    if (::waitid(P_PIDFD, static_cast<id_t>(it->second.pidfd.get()), &info, WEXITED | WNOHANG)
        == 0) {
      if (info.si_pid == 0)
        return; // not exited yet (spurious wake-up)
      status = status_from(info);
    } else if (errno == EINTR) {
      return; // level-triggered: we come back
    } else {
      diagnose(who(pid, it->second.label) + ": waitid failed (" + errno_text(errno)
               + "); was it reaped elsewhere? (SIGCHLD set to SIG_IGN, or waitpid(-1))");
      status = exit_status::unknown_status();
    }
    finish_child(it, status);
  }

  void finish_child(std::unordered_map<process_id, child_record>::iterator it,
                    const exit_status& status) {
    child_record c = std::move(it->second);
    children.erase(it);
    // Everything the leader wrote is in the pipes by now: drain it (bounded, in
    // case a grandchild keeps writing), flush partial lines, close.
    for (process_output_pipe* p : {&c.out, &c.err, &c.notify}) {
      pump(c, *p, 64);
      if (p->is_open()) {
        p->flush(lines);
        deliver_lines(c, p->stream());
        close_pipe(*p);
      }
    }
    forget(c.pidfd.get());
    c.pidfd.reset();
    if (process_group_exists(c.pid))  // cheap; then who exactly is left
      if (auto members = live_group_members(c.pid); !members.empty())
        lingering[c.pid] = std::move(members);
    stops.leader_exited(c.pid, status);
    if (c.observer.on_exit)
      guarded("on_exit", [&] { c.observer.on_exit(process_exit{c.pid, c.pid, c.label, status}); });
  }

  // ---- stops ---------------------------------------------------------------

  void start_stop(process_id pid, std::chrono::milliseconds grace, bool brutal,
                  stop_callback done) {
    const auto child = children.find(pid);
    const bool leader = child != children.end();
    if (!stops.contains(pid) && !leader
        && !lingering_is_ours(pid)) {
      lingering.erase(pid);
      if (done)
        guarded("on_stopped", [&] { done(stop_report{pid, false, std::nullopt, false, {}}); });
      return;
    }
    stops.start(pid, leader ? child->second.label : std::string{}, leader, grace, brutal,
                std::move(done), steady::now());
  }

  void advance_stops() {
    auto done = stops.advance(steady::now());
    for (auto& c : done)
      if (c.result.has_value())
        lingering.erase(c.result->pid);
    deliver(std::move(done));
  }

  // Milliseconds until the next timer, -1 for none.
  int next_timeout() const {
    const auto now = steady::now();
    auto next = stops.next_wakeup(now);
    if (shutting_down) {
      const auto tick = now + std::max(options.group_poll_interval, std::chrono::milliseconds{1});
      next = next ? std::min(*next, tick) : tick;
    }
    if (!next)
      return -1;
    if (*next <= now)
      return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
    return static_cast<int>(std::min<long long>(ms, 60'000));
  }

  // ---- shutdown ------------------------------------------------------------

  void begin_shutdown() {
    if (shutting_down)
      return;
    shutting_down = true;
    const auto now = steady::now();
    shutdown_deadline = now + options.kill_timeout;
    for (auto& [pid, c] : children)
      signal_group(pid, SIGKILL);
    for (auto& [pgid, members] : lingering)
      signal_group(pgid, SIGKILL);
    stops.kill_all(now);
  }

  bool shutdown_complete() {
    if (steady::now() >= shutdown_deadline)
      return true;
    if (!children.empty())
      return false;
    for (auto& [pgid, members] : lingering) {
      signal_group(pgid, SIGKILL); // a member may have been forking while we killed
      if (lingering_is_ours(pgid))
        return false;
    }
    return true;
  }

  void finish_shutdown() {
    for (const auto& [pid, c] : children)
      diagnose(who(pid, c.label) + " survived SIGKILL for "
               + std::to_string(options.kill_timeout.count())
               + " ms; it is left behind (uninterruptible sleep?)");
    for (auto& [pgid, members] : lingering)
      if (lingering_is_ours(pgid))
        diagnose("process group " + std::to_string(pgid) + " survived SIGKILL for "
                 + std::to_string(options.kill_timeout.count()) + " ms; left behind");
    deliver(stops.finish_all(steady::now()));
    std::deque<std::function<void()>> rest;
    {
      std::lock_guard guard{mutex};
      accepting = false;
      rest.swap(tasks);
    }
    // Work posted before the door closed still runs (stop requests then find
    // nothing to stop).
    for (auto& task : rest)
      guarded("a launcher task or callback", task);
  }

  // The loop failed: kill everything and reap by polling, bounded by kill_timeout.
  void reap_without_epoll() {
    shutting_down = true;
    for (auto& [pid, c] : children)
      signal_group(pid, SIGKILL);
    const auto deadline = steady::now() + options.kill_timeout;
    while (!children.empty() && steady::now() < deadline) {
      for (auto it = children.begin(); it != children.end();) {
        auto next = std::next(it);
        siginfo_t info{};
        const int r = ::waitid(P_PIDFD, static_cast<id_t>(it->second.pidfd.get()), &info,
                               WEXITED | WNOHANG);
        if (r == 0 && info.si_pid != 0)
          finish_child(it, status_from(info));
        else if (r != 0 && errno != EINTR)
          finish_child(it, exit_status::unknown_status());
        it = next;
      }
      if (!children.empty())
        std::this_thread::sleep_for(options.group_poll_interval);
    }
  }

  // ---- the loop ------------------------------------------------------------

  void dispatch(const epoll_event& ev) {
    auto w = watches.find(ev.data.fd);
    if (w == watches.end())
      return; // closed earlier in this batch
    const watch target = w->second;
    if (target.role == watch_role::wake)
      return run_tasks();
    auto c = children.find(target.pid);
    if (c == children.end())
      return;
    if (target.role == watch_role::pidfd)
      on_pidfd_ready(target.pid);
    else if (process_output_pipe* p = c->second.pipe(target.role))
      pump(c->second, *p, 16);
  }

  void run() noexcept {
    bool loop_failed = false;
    try {
      std::array<epoll_event, 64> events{};
      for (;;) {
        const int n = ::epoll_wait(epoll_fd.get(), events.data(), static_cast<int>(events.size()),
                                   next_timeout());
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0) {
          diagnose("epoll_wait failed: " + errno_text(errno) + "; killing every child");
          loop_failed = true;
          break;
        }
        for (int i = 0; i < n; ++i) {
          try {
            dispatch(events[static_cast<std::size_t>(i)]);
          } catch (const std::exception& e) {
            diagnose(std::string{"I/O loop event handling threw: "} + e.what());
          }
        }
        advance_stops();
        if (shutting_down && shutdown_complete())
          break;
      }
    } catch (const std::exception& e) {
      diagnose(std::string{"I/O loop failed: "} + e.what() + "; killing every child");
      loop_failed = true;
    } catch (...) {
      diagnose("I/O loop failed with a non-standard exception; killing every child");
      loop_failed = true;
    }
    try {
      if (loop_failed)
        reap_without_epoll();
      finish_shutdown();
    } catch (...) {
      diagnose("I/O loop shutdown failed; some children may be left behind");
    }
  }
};

process_result<std::unique_ptr<process_io_loop>>
process_io_loop::create(process_launcher_options options) {
  auto s = std::make_unique<state>(std::move(options));
  s->epoll_fd.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!s->epoll_fd)
    return make_process_error(process_errc::system_error, "epoll_create1", errno,
                              "cannot create the process I/O loop");
  s->wake_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->wake_fd)
    return make_process_error(process_errc::system_error, "eventfd", errno,
                              "cannot create the process I/O loop");
  if (!s->add_watch(s->wake_fd.get(), 0, watch_role::wake))
    return make_process_error(process_errc::system_error, "epoll_ctl", errno,
                              "cannot create the process I/O loop");
  // The thread starts with every signal blocked: signals are the host's business.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    s->thread = std::thread([raw = s.get()] {
      ::pthread_setname_np(::pthread_self(), "snakepit-procio");
      raw->run();
    });
  } catch (const std::system_error& e) {
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return make_process_error(process_errc::system_error, "std::thread", e.code().value(),
                              "cannot start the process I/O thread");
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return std::unique_ptr<process_io_loop>(new process_io_loop(std::move(s)));
}

process_io_loop::process_io_loop(std::unique_ptr<state> s) : state_(std::move(s)) {}

process_io_loop::~process_io_loop() {
  shutdown();
}

bool process_io_loop::post(std::function<void()>& task) {
  {
    std::lock_guard guard{state_->mutex};
    if (!state_->accepting)
      return false;
    state_->tasks.push_back(std::move(task));
  }
  const std::uint64_t one = 1;
  if (::write(state_->wake_fd.get(), &one, sizeof one) < 0 && errno != EAGAIN)
    state_->diagnose("cannot wake the process I/O loop: " + errno_text(errno));
  return true;
}

void process_io_loop::adopt(std::shared_ptr<spawned_process> child, std::string label,
                            process_observer observer) {
  auto obs = std::make_shared<process_observer>(std::move(observer));
  std::function<void()> task = [s = state_.get(), child, label, obs] {
    s->adopt(child, label, std::move(*obs));
  };
  if (post(task))
    return;
  const process_id pid = child->pid;
  discard_spawned_process(*child);
  if (obs->on_started)
    state_->guarded("on_started", [&] {
      obs->on_started(make_process_error(process_errc::launcher_stopped, {}, 0,
                                         who(pid, label) + " killed: the launcher is stopping"));
    });
}

void process_io_loop::stop(process_id pid, std::chrono::milliseconds grace, bool brutal,
                           stop_callback done) {
  auto cb = std::make_shared<stop_callback>(std::move(done));
  std::function<void()> task = [s = state_.get(), pid, grace, brutal, cb] {
    s->start_stop(pid, grace, brutal, std::move(*cb));
  };
  if (post(task) || !*cb)
    return;
  state_->guarded("on_stopped", [&] {
    (*cb)(make_process_error(process_errc::launcher_stopped, {}, 0,
                             "cannot stop " + who(pid, {}) + ": the launcher is stopping"));
  });
}

void process_io_loop::shutdown() {
  std::lock_guard guard{state_->shutdown_mutex};
  if (state_->joined)
    return;
  if (state_->thread.get_id() == std::this_thread::get_id()) {
    state_->diagnose("process_launcher destroyed from one of its own callbacks: not allowed");
    std::terminate();
  }
  std::function<void()> task = [s = state_.get()] { s->begin_shutdown(); };
  post(task);
  if (state_->thread.joinable())
    state_->thread.join();
  state_->joined = true;
}

void process_io_loop::diagnose(std::string_view text) const {
  state_->diagnose(text);
}

} // namespace snakepit::transport
