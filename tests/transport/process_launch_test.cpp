// tests/transport/process_launch_test.cpp — what a launched child gets, and
// how failures to launch and ways to end are reported.
#include "process_test_support.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

// Starts `spec`, waits for on_started and returns the events.
std::shared_ptr<process_events> start(process_launcher& launcher, process_spec spec) {
  auto ev = std::make_shared<process_events>();
  launcher.launch(std::move(spec), observe(ev));
  REQUIRE(eventually([&] { return ev->has_started(); }));
  return ev;
}

process_error launch_error(process_launcher& launcher, process_spec spec) {
  auto ev = start(launcher, std::move(spec));
  auto r = ev->start_result();
  REQUIRE_FALSE(r.has_value());
  // No child, so nothing else ever arrives.
  std::this_thread::sleep_for(20ms);
  std::lock_guard g{ev->mutex};
  CHECK(ev->exit_calls == 0);
  CHECK(ev->sequence == std::vector<std::string>{"started"});
  return r.error();
}

exit_status run_to_exit(process_launcher& launcher, process_spec spec) {
  auto ev = start(launcher, std::move(spec));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  return ev->exit_info().status;
}

// Reads from `fd` until EOF (or 5 s pass).
std::string read_to_eof(int fd) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + 5s;
  char buf[256];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    const auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
  FAIL("no EOF within 5 s: someone still holds the write end");
  return out;
}

struct temp_file {
  std::string path;
  temp_file(const std::string& content, mode_t mode) {
    char name[] = "/tmp/snakepit-transport-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::fchmod(fd, mode);
    ::close(fd);
    path = name;
  }
  ~temp_file() { ::unlink(path.c_str()); }
};

} // namespace

TEST_CASE("launched_process_runs_in_its_own_process_group") {
  auto launcher = make_launcher();
  auto ev = start(*launcher, command("/bin/sleep", {"600"}, "grouped"));
  auto started = ev->start_result();
  REQUIRE(started.has_value());
  CHECK(started->pgid == started->pid);
  CHECK(started->label == "grouped");
  CHECK(::getpgid(started->pid) == started->pid);
  CHECK(::getpgid(started->pid) != ::getpgrp());
  CHECK(::getsid(started->pid) == ::getsid(0)); // a group, not a new session
}

TEST_CASE("launched_process_gets_dev_null_stdin_and_no_other_descriptor") {
  // A descriptor the host forgot to mark close-on-exec must not leak.
  int leaky[2];
  REQUIRE(::pipe(leaky) == 0);
  auto launcher = make_launcher();
  auto ev = start(*launcher, command("/bin/sleep", {"600"}));
  const auto pid = ev->pid();
  std::set<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    fds.insert(std::stoi(entry.path().filename().string()));
  CHECK(fds == std::set<int>{0, 1, 2});
  CHECK(std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/0") == "/dev/null");
  ::close(leaky[0]);
  ::close(leaky[1]);
}

TEST_CASE("missing_program_is_a_typed_error_not_exit_127") {
  auto launcher = make_launcher();
  SUBCASE("by path") {
    auto err = launch_error(*launcher, command("/nonexistent/snakepit-no-such-program", {}, "w1"));
    CHECK(err.code == process_errc::program_not_found);
    CHECK(err.operation == "execve");
    CHECK(err.sys_errno == ENOENT);
    CHECK(to_string(err).find("w1") != std::string::npos);
    CHECK(to_string(err).find("No such file or directory") != std::string::npos);
  }
  SUBCASE("by name on PATH") {
    auto err = launch_error(*launcher, command("snakepit-no-such-program", {}, "w2"));
    CHECK(err.code == process_errc::program_not_found);
    CHECK(to_string(err).find("PATH") != std::string::npos);
  }
}

TEST_CASE("non_executable_program_is_a_permission_error") {
  temp_file script{"#!/bin/sh\nexit 0\n", 0644};
  auto launcher = make_launcher();
  auto err = launch_error(*launcher, command(script.path, {}));
  CHECK(err.code == process_errc::permission_denied);
  CHECK(err.sys_errno == EACCES);
}

TEST_CASE("file_in_an_unknown_format_is_an_exec_format_error") {
  temp_file junk{std::string("\x01\x02\x03garbage", 10), 0755};
  auto launcher = make_launcher();
  auto err = launch_error(*launcher, command(junk.path, {}));
  CHECK(err.code == process_errc::exec_format_error);
  CHECK(err.sys_errno == ENOEXEC);
}

TEST_CASE("missing_working_directory_is_a_typed_error") {
  auto launcher = make_launcher();
  auto spec = command("/bin/true", {});
  spec.working_directory = "/nonexistent/snakepit-dir";
  auto err = launch_error(*launcher, std::move(spec));
  CHECK(err.code == process_errc::bad_working_directory);
  CHECK(err.operation == "chdir (in child)");
  CHECK(err.sys_errno == ENOENT);
}

TEST_CASE("malformed_spec_is_an_invalid_spec_error") {
  auto launcher = make_launcher();
  SUBCASE("empty program") {
    CHECK(launch_error(*launcher, command("", {})).code == process_errc::invalid_spec);
  }
  SUBCASE("extra fd onto stdout") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    ::close(p[0]);
    auto spec = command("/bin/true", {});
    spec.extra_fds.push_back({unique_fd{p[1]}, 1});
    CHECK(launch_error(*launcher, std::move(spec)).code == process_errc::invalid_spec);
    // The spec's descriptor was consumed (closed) all the same.
    CHECK(::fcntl(p[1], F_GETFD) == -1);
  }
  SUBCASE("notify fd clashes with an extra fd") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    ::close(p[0]);
    auto spec = command("/bin/true", {});
    spec.extra_fds.push_back({unique_fd{p[1]}, 4});
    spec.notify_fd = 4;
    CHECK(launch_error(*launcher, std::move(spec)).code == process_errc::invalid_spec);
  }
  SUBCASE("bad environment name") {
    auto spec = command("/bin/true", {});
    spec.environment.push_back({"A=B", "c"});
    CHECK(launch_error(*launcher, std::move(spec)).code == process_errc::invalid_spec);
  }
}

TEST_CASE("exit_code_is_reported") {
  auto launcher = make_launcher();
  auto status = run_to_exit(*launcher, shell("exit 2"));
  CHECK(status == exit_status::exited_with(2));
  CHECK(to_string(status) == "exited with code 2");
  CHECK(run_to_exit(*launcher, command("/bin/true", {})).success());
}

TEST_CASE("death_by_signal_is_reported") {
  auto launcher = make_launcher();
  auto status = run_to_exit(*launcher, shell("kill -KILL $$"));
  CHECK(status == exit_status::killed_by(SIGKILL));
  CHECK(to_string(status) == "killed by signal 9 (SIGKILL)");
}

TEST_CASE("ignored_signals_of_the_host_are_reset_in_the_child") {
  // Hosts (gRPC, Python) often ignore SIGPIPE; the child must start with defaults.
  auto old = std::signal(SIGTERM, SIG_IGN);
  auto launcher = make_launcher();
  auto status = run_to_exit(*launcher, shell("kill -TERM $$; sleep 5"));
  std::signal(SIGTERM, old);
  CHECK(status == exit_status::killed_by(SIGTERM));
}

TEST_CASE("environment_and_working_directory_reach_the_child") {
  auto launcher = make_launcher();
  ::setenv("SNAKEPIT_TEST_DROPPED", "x", 1);
  auto spec = shell("echo \"$SNAKEPIT_TEST_FOO\"; echo \"${SNAKEPIT_TEST_DROPPED-unset}\"; pwd; "
                    "echo \"${PATH:+path-inherited}\"");
  spec.environment = {{"SNAKEPIT_TEST_FOO", "bar baz"}};
  spec.unset_environment = {"SNAKEPIT_TEST_DROPPED"};
  spec.working_directory = "/tmp";
  auto ev = start(*launcher, std::move(spec));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  ::unsetenv("SNAKEPIT_TEST_DROPPED");
  CHECK(ev->texts(output_stream::stdout_stream)
        == std::vector<std::string>{"bar baz", "unset", "/tmp", "path-inherited"});
}

TEST_CASE("replaced_environment_is_exactly_the_given_one") {
  auto launcher = make_launcher();
  auto spec = command("/usr/bin/env", {});
  spec.inherit_environment = false;
  spec.environment = {{"ONLY", "1"}, {"ALSO", "two"}};
  auto ev = start(*launcher, std::move(spec));
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  CHECK(ev->texts(output_stream::stdout_stream) == std::vector<std::string>{"ONLY=1", "ALSO=two"});
}

TEST_CASE("extra_fd_reaches_the_child") {
  int ready[2];
  REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  unique_fd read_end{ready[0]};
  auto launcher = make_launcher();
  auto spec = shell("echo ready >&3");
  spec.extra_fds.push_back({unique_fd{ready[1]}, 3});
  auto ev = start(*launcher, std::move(spec));
  REQUIRE(ev->start_result().has_value());
  // EOF proves that neither the launcher nor a leaked copy keeps the write end.
  CHECK(read_to_eof(read_end.get()) == "ready\n");
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  CHECK(ev->exit_info().status.success());
}

TEST_CASE("extra_fds_may_swap_numbers") {
  // Source descriptors numbered like each other's targets must not clobber each other.
  int a[2], b[2];
  REQUIRE(::pipe2(a, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(b, O_CLOEXEC) == 0);
  unique_fd a_read{a[0]}, b_read{b[0]};
  const int a_write = a[1], b_write = b[1];
  auto launcher = make_launcher();
  auto spec = shell("echo to-a >&" + std::to_string(b_write) + "; echo to-b >&"
                    + std::to_string(a_write));
  spec.extra_fds.push_back({unique_fd{a_write}, b_write}); // a's pipe appears at b's number
  spec.extra_fds.push_back({unique_fd{b_write}, a_write});
  auto ev = start(*launcher, std::move(spec));
  REQUIRE(ev->start_result().has_value());
  CHECK(read_to_eof(a_read.get()) == "to-a\n");
  CHECK(read_to_eof(b_read.get()) == "to-b\n");
  REQUIRE(eventually([&] { return ev->has_exited(); }));
  CHECK(ev->exit_info().status.success());
}
