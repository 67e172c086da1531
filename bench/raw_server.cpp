#include "bench/raw_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "bench/bench_error.hpp"
#include "bench/interrupt.hpp"
#include "bench/private_dir.hpp"

extern char** environ;

namespace snakepit::bench {

namespace {

using clock_type = std::chrono::steady_clock;

std::string sys_error(const std::string& what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

/// argv or envp as a null-terminated array of pointers into `storage`.
std::vector<char*> c_array(std::vector<std::string>& storage) {
  std::vector<char*> out;
  out.reserve(storage.size() + 1);
  for (auto& s : storage)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

} // namespace

raw_server raw_server::start(const bench_options& opts, const std::string& name) {
  raw_server s;
  s.socket_path_ = opts.dir->file(name + ".sock");
  s.log_path_ = opts.dir->file(name + ".log");
  ::unlink(s.socket_path_.c_str());

  // Everything the child needs, built before fork (the child may only make
  // async-signal-safe calls: the host has gRPC and CAF threads).
  std::vector<std::string> args{opts.python,
                                "-m",
                                "snakepit_bridge.server",
                                "--adapter",
                                opts.adapter,
                                "--listen",
                                "unix:" + s.socket_path_,
                                "--run-id",
                                fmt::format("bench-raw-{}", ::getpid()),
                                "--worker-id",
                                name,
                                "--ready-fd",
                                "3",
                                "--grace-ms",
                                "2000"};
  std::string python_path;
  for (auto& p : opts.python_path)
    python_path += (python_path.empty() ? "" : ":") + p;
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv{*e};
    if (kv.rfind("PYTHONPATH=", 0) == 0 || kv.rfind("PYTHONUNBUFFERED=", 0) == 0)
      continue;
    env.emplace_back(kv);
  }
  env.push_back("PYTHONPATH=" + python_path);
  env.push_back("PYTHONUNBUFFERED=1");
  auto argv = c_array(args);
  auto envp = c_array(env);

  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0)
    throw bench_error(sys_error("pipe2"));
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int log = ::open(s.log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (devnull < 0 || log < 0) {
    auto msg = sys_error("open /dev/null or " + s.log_path_);
    for (int fd : {ready[0], ready[1], devnull, log})
      if (fd >= 0)
        ::close(fd);
    throw bench_error(msg);
  }
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD})
      ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // The sources are all >= 3 (0..2 are open in the parent), so 0..2 can be
    // filled first; then the ready pipe goes to 3.
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);  // the READY line on stdout is not needed
    ::dup2(log, 2);
    if (ready[1] == 3)
      ::fcntl(3, F_SETFD, 0);
    else
      ::dup2(ready[1], 3);
    // Everything else of ours is O_CLOEXEC; close the rest anyway.
    if (::close_range(4, ~0U, 0) != 0)
      for (int fd = 4; fd < 4096; ++fd)
        ::close(fd);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(ready[1]);
  ::close(devnull);
  ::close(log);
  if (pid < 0) {
    ::close(ready[0]);
    errno = fork_errno;
    throw bench_error(sys_error("fork"));
  }
  s.pid_ = pid;
  s.ready_fd_ = ready[0];
  return s;
}

raw_server::raw_server(raw_server&& o) noexcept
  : pid_(std::exchange(o.pid_, -1)),
    ready_fd_(std::exchange(o.ready_fd_, -1)),
    ready_(o.ready_),
    buffer_(std::move(o.buffer_)),
    socket_path_(std::move(o.socket_path_)),
    log_path_(std::move(o.log_path_)) {}

raw_server& raw_server::operator=(raw_server&& o) noexcept {
  if (this != &o) {
    kill_and_reap();
    pid_ = std::exchange(o.pid_, -1);
    ready_fd_ = std::exchange(o.ready_fd_, -1);
    ready_ = o.ready_;
    buffer_ = std::move(o.buffer_);
    socket_path_ = std::move(o.socket_path_);
    log_path_ = std::move(o.log_path_);
  }
  return *this;
}

raw_server::~raw_server() {
  kill_and_reap();
}

void raw_server::close_ready_fd() {
  if (ready_fd_ >= 0) {
    ::close(ready_fd_);
    ready_fd_ = -1;
  }
}

void raw_server::kill_and_reap() {
  close_ready_fd();
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);  // in case it had not made its group yet
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  ready_ = false;
  if (!socket_path_.empty())
    ::unlink(socket_path_.c_str());
}

std::string raw_server::reap_briefly() {
  auto until = clock_type::now() + std::chrono::seconds(1);
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status))
        return fmt::format("exited with code {}", WEXITSTATUS(status));
      if (WIFSIGNALED(status))
        return fmt::format("killed by signal {}", WTERMSIG(status));
      return "ended";
    }
    if (r < 0 && errno != EINTR)
      return sys_error("waitpid");
    if (clock_type::now() > until)
      return "still running";
    ::usleep(5000);
  }
}

std::string raw_server::stderr_tail() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  if (text.size() > 1500)
    text = "..." + text.substr(text.size() - 1500);
  return text;
}

void raw_server::wait_all_ready(std::vector<raw_server*> servers,
                                std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<raw_server*> waiting;
    for (auto* s : servers) {
      if (s->ready_)
        continue;
      if (s->ready_fd_ < 0)
        throw bench_error(fmt::format("raw server pid {} has no ready pipe", s->pid_));
      fds.push_back(pollfd{s->ready_fd_, POLLIN, 0});
      waiting.push_back(s);
    }
    if (waiting.empty())
      return;
    check_interrupted();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      throw bench_error(fmt::format("raw server pid {} not READY after {} ms; stderr:\n{}",
                                    waiting.front()->pid_, timeout.count(),
                                    waiting.front()->stderr_tail()));
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left.count(), 200)));
    if (n < 0 && errno != EINTR)
      throw bench_error(sys_error("poll"));
    for (std::size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0)
        continue;
      auto* s = waiting[i];
      char buf[256];
      auto got = ::read(s->ready_fd_, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (got <= 0) {
        pid_t pid = s->pid_;
        auto how = s->reap_briefly();
        throw bench_error(fmt::format("raw server pid {} closed its ready pipe without READY ({}); "
                                      "stderr:\n{}",
                                      pid, how, s->stderr_tail()));
      }
      s->buffer_.append(buf, static_cast<std::size_t>(got));
      auto nl = s->buffer_.find('\n');
      if (nl != std::string::npos) {
        if (s->buffer_.rfind("READY ", 0) != 0)
          throw bench_error(fmt::format("raw server pid {} wrote '{}' instead of READY", s->pid_,
                                        s->buffer_.substr(0, nl)));
        s->ready_ = true;
        s->close_ready_fd();
      }
    }
  }
}

std::vector<raw_server> start_ready_servers(const bench_options& opts, const std::string& prefix,
                                            int n, std::chrono::milliseconds timeout) {
  std::vector<raw_server> servers;
  servers.reserve(static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i)
    servers.push_back(raw_server::start(opts, fmt::format("{}{}", prefix, i)));
  std::vector<raw_server*> ptrs;
  for (auto& s : servers)
    ptrs.push_back(&s);
  raw_server::wait_all_ready(ptrs, timeout);
  return servers;
}

} // namespace snakepit::bench
