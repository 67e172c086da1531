// tests/process_registry/registry_test_support.hpp — scratch directories,
// process groups started by the tests (always killed and reaped), bounded
// polling and /proc probes shared by the registry and boot sweep tests.
#pragma once

#include "transport/process_group_probe.hpp"
#include "transport/process_registry.hpp"
#include "transport/process_registry_proc.hpp"

#include <doctest/doctest.h>

#include "support/eventually.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

namespace snakepit::transport::test {

using namespace std::chrono_literals;

using snakepit::test::eventually;

/// A fresh directory under /tmp, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    char tmpl[] = "/tmp/snakepit-registry-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path / name).string(); }
};

/// A run id no other test (or test run) uses.
inline std::string fresh_run_id(const std::string& tag = "run") {
  static std::atomic<int> counter{0};
  static const auto salt = std::random_device{}();
  return "sp-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(salt) + "-"
         + std::to_string(counter++);
}

/// True while `pid` is a live process (not a zombie).
inline bool alive(process_id pid) {
  const auto st = read_proc_stat(pid);
  return st && !st->zombie();
}

/// The live members of group `pgid`.
inline std::vector<process_id> group_members(process_id pgid) {
  std::vector<process_id> out;
  for (const auto& m : live_group_members(pgid))
    out.push_back(m.pid);
  return out;
}

/// A child started in its own process group (setpgid), killed as a group
/// with SIGKILL and reaped when the object goes away.
class child_group {
public:
  explicit child_group(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_); // either call wins the race; both set the same group
    // Wait for the exec: the cmdline is then the new program's.
    REQUIRE(eventually([&] {
      const auto a = read_process_arguments(pid_);
      return a && !a->empty() && (*a)[0] == argv[0];
    }));
  }
  /// `sh -c SCRIPT snakepit-test --run-id RUN`: sh keeps the run id on its
  /// command line; what the script starts in the background is a grandchild
  /// of the test in the same group.
  static std::unique_ptr<child_group> shell(const std::string& script, const std::string& run_id) {
    return std::make_unique<child_group>(
      std::vector<std::string>{"sh", "-c", script, "snakepit-test", "--run-id", run_id});
  }
  ~child_group() {
    if (reaped_)
      return;
    ::kill(-pid_, SIGKILL); // the leader is unreaped, so its pid (and group id) is still ours
    ::waitpid(pid_, nullptr, 0);
  }
  child_group(const child_group&) = delete;
  child_group& operator=(const child_group&) = delete;

  [[nodiscard]] process_id pid() const noexcept { return pid_; }
  [[nodiscard]] std::uint64_t start_ticks() const {
    const auto t = read_process_start_ticks(pid_);
    REQUIRE(t.has_value());
    return *t;
  }
  /// Waits (bounded) until the group has `n` live members.
  void wait_for_members(std::size_t n) const {
    REQUIRE(eventually([&] { return group_members(pid_).size() >= n; }));
  }

private:
  process_id pid_ = -1;
  bool reaped_ = false;
};

/// Opens a registry, failing the test on error.
inline std::unique_ptr<process_registry> open_registry(const std::string& path,
                                                       registry_options options = {}) {
  auto r = process_registry::open(path, std::move(options));
  REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : to_string(r.error())));
  return std::move(r).value();
}

/// Records a launched child of `run_id` as the runtime would: reserve, complete.
inline std::int64_t record(process_registry& reg, const std::string& run_id,
                           const child_group& child, std::optional<std::uint64_t> ticks = {}) {
  auto row = reg.reserve(run_id, "w" + std::to_string(child.pid()), "sh ... --run-id " + run_id);
  REQUIRE(row.has_value());
  REQUIRE(reg.complete(*row, child.pid(), child.pid(), ticks.value_or(child.start_ticks())));
  return *row;
}

} // namespace snakepit::transport::test
