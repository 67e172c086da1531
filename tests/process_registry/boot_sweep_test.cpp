// tests/process_registry/boot_sweep_test.cpp — the boot sweep kills what an
// earlier run left, and nothing else. Every process here is a real one,
// started by the test in its own group and killed/reaped by its owner object.
#include "registry_test_support.hpp"

#include "transport/boot_sweep.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

sweep_options quick_sweep() {
  sweep_options o;
  o.grace = 300ms;
  o.kill_timeout = 2000ms;
  o.poll_interval = 5ms;
  return o;
}

sweep_result sweep(process_registry& reg, const std::string& current,
                   sweep_options options = quick_sweep()) {
  auto r = boot_sweep(reg, current, options);
  REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : to_string(r.error())));
  CHECK(r->errors.empty());
  return std::move(r).value();
}

// A group of a run: sh carrying the run id, with a background sleep (grandchild).
constexpr const char* with_grandchild = "sleep 600 & wait";

} // namespace

TEST_CASE("the boot sweep kills a process of an earlier run and its group's grandchild") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto old_run = fresh_run_id("old");
  REQUIRE(reg->begin_run(old_run, "inst", ::getpid()));
  auto child = child_group::shell(with_grandchild, old_run);
  child->wait_for_members(2);
  const auto members = group_members(child->pid());
  process_id grandchild = 0;
  for (auto m : members)
    if (m != child->pid())
      grandchild = m;
  REQUIRE(grandchild > 0);
  const auto row = record(*reg, old_run, *child);

  const auto result = sweep(*reg, fresh_run_id("new"));
  CHECK(result.runs_swept == 1);
  CHECK(result.recorded == 1);
  CHECK(result.found == 1);
  CHECK(result.killed == 1);
  CHECK(result.killed_after_grace == 0);
  CHECK(result.survived == 0);
  CHECK(result.killed_pids == std::vector<process_id>{child->pid()});
  CHECK_FALSE(alive(child->pid()));
  CHECK(eventually([&] { return !alive(grandchild); }, 2000ms));
  CHECK(group_members(child->pid()).empty());
  // Recorded as killed; the run ended, so the next sweep has nothing to do.
  auto rows = reg->processes_of(old_run).value();
  if (!rows.empty()) { // may already be pruned with the default policy: kept here
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].id == row);
    CHECK(rows[0].exit_description.value_or("").find("killed by the boot sweep")
          != std::string::npos);
  }
  CHECK(reg->runs_other_than("").value().at(0).ended_at_ms.has_value());
  const auto again = sweep(*reg, fresh_run_id("newer"));
  CHECK(again.found == 0);
  CHECK(again.recorded == 0);
}

TEST_CASE("the boot sweep does not touch a live pid whose cmdline lacks the run id (pid reuse)") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto old_run = fresh_run_id("old");
  REQUIRE(reg->begin_run(old_run, "inst", ::getpid()));
  child_group unrelated{{"sleep", "600"}}; // no run id on its command line
  record(*reg, old_run, unrelated);        // with its true start time

  std::vector<std::string> events;
  auto options = quick_sweep();
  options.on_event = [&](const std::string& e) { events.push_back(e); };
  const auto result = sweep(*reg, fresh_run_id("new"), options);
  CHECK(result.found == 0);
  CHECK(result.skipped_pid_reused == 1);
  CHECK(result.killed == 0);
  CHECK(alive(unrelated.pid()));
  std::this_thread::sleep_for(50ms); // a stray signal would have landed by now
  CHECK(alive(unrelated.pid()));
  REQUIRE(events.size() == 1);
  CHECK(events[0].find("no run id") != std::string::npos);
  // The row no longer names a live process of ours.
  CHECK(reg->live_processes_of(old_run).value().empty());
}

TEST_CASE("the boot sweep does not touch a process whose start time differs from the recorded one") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto old_run = fresh_run_id("old");
  REQUIRE(reg->begin_run(old_run, "inst", ::getpid()));
  // The cmdline carries the run id, but the recorded start time is another process's.
  auto imposter = child_group::shell(with_grandchild, old_run);
  record(*reg, old_run, *imposter, imposter->start_ticks() + 1);
  const auto result = sweep(*reg, fresh_run_id("new"));
  CHECK(result.found == 0);
  CHECK(result.skipped_pid_reused == 1);
  CHECK(alive(imposter->pid()));
  std::this_thread::sleep_for(50ms); // a stray signal would have landed by now
  CHECK(alive(imposter->pid()));
}

TEST_CASE("a process that ignores SIGTERM is killed after the grace period") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto old_run = fresh_run_id("old");
  REQUIRE(reg->begin_run(old_run, "inst", ::getpid()));
  auto stubborn = child_group::shell("trap '' TERM; sleep 600 & wait", old_run);
  stubborn->wait_for_members(2);
  record(*reg, old_run, *stubborn);
  auto options = quick_sweep();
  options.grace = 200ms;
  const auto t0 = std::chrono::steady_clock::now();
  const auto result = sweep(*reg, fresh_run_id("new"), options);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(result.found == 1);
  CHECK(result.killed == 1);
  CHECK(result.killed_after_grace == 1);
  CHECK(took >= 200ms);
  CHECK(took < 2000ms);
  CHECK(group_members(stubborn->pid()).empty());
}

TEST_CASE("the current run's processes are untouched") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto old_run = fresh_run_id("old");
  const auto current = fresh_run_id("current");
  REQUIRE(reg->begin_run(old_run, "inst", ::getpid()));
  REQUIRE(reg->begin_run(current, "inst", ::getpid()));
  auto old_child = child_group::shell(with_grandchild, old_run);
  auto mine = child_group::shell(with_grandchild, current);
  mine->wait_for_members(2);
  record(*reg, old_run, *old_child);
  record(*reg, current, *mine);
  const auto result = sweep(*reg, current);
  CHECK(result.killed == 1);
  CHECK_FALSE(alive(old_child->pid()));
  CHECK(alive(mine->pid()));
  CHECK(group_members(mine->pid()).size() == 2);
  CHECK(reg->live_processes_of(current).value().size() == 1);
}

TEST_CASE("two instances (two database files) do not touch each other's processes") {
  temp_dir dir;
  auto a = open_registry(dir.file("a.sqlite"));
  auto b = open_registry(dir.file("b.sqlite"));
  const auto run_a = fresh_run_id("a");
  const auto run_b = fresh_run_id("b");
  REQUIRE(a->begin_run(run_a, "a", ::getpid()));
  REQUIRE(b->begin_run(run_b, "b", ::getpid()));
  auto child_a = child_group::shell(with_grandchild, run_a);
  auto child_b = child_group::shell(with_grandchild, run_b);
  record(*a, run_a, *child_a);
  record(*b, run_b, *child_b);
  // Instance a restarts: only a's earlier run is swept.
  const auto result = sweep(*a, fresh_run_id("a2"));
  CHECK(result.killed == 1);
  CHECK_FALSE(alive(child_a->pid()));
  CHECK(alive(child_b->pid()));
  CHECK(b->live_processes_of(run_b).value().size() == 1);
}

TEST_CASE("rows of processes already gone are marked exited, and the run is ended and pruned") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto old_run = fresh_run_id("old");
  REQUIRE(reg->begin_run(old_run, "inst", ::getpid()));
  std::int64_t row = 0;
  {
    child_group gone{{"sleep", "600"}};
    row = record(*reg, old_run, gone);
  } // killed and reaped
  const auto result = sweep(*reg, fresh_run_id("new"));
  CHECK(result.recorded == 1);
  CHECK(result.already_gone == 1);
  CHECK(result.found == 0);
  auto rows = reg->processes_of(old_run).value();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == row);
  CHECK(rows[0].exit_description == "gone before the boot sweep");
  // With keep_last_runs = 0 the ended run is pruned at once.
  auto options = quick_sweep();
  options.prune.keep_last_runs = 0;
  sweep(*reg, fresh_run_id("newer"), options);
  CHECK(reg->processes_of(old_run).value().empty());
  CHECK(reg->runs_other_than("").value().empty());
}

TEST_CASE("a spawn reserved but never completed is found by its command line") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto old_run = fresh_run_id("old");
  REQUIRE(reg->begin_run(old_run, "inst", ::getpid()));
  REQUIRE(reg->reserve(old_run, "w1", "cmd")); // the host died before complete()
  auto child = child_group::shell(with_grandchild, old_run);
  child->wait_for_members(2);
  const auto result = sweep(*reg, fresh_run_id("new"));
  CHECK(result.found == 1);
  CHECK(result.found_unrecorded == 1);
  CHECK(result.killed == 1);
  CHECK(group_members(child->pid()).empty());
  CHECK(reg->live_processes_of(old_run).value().empty());
}

TEST_CASE("live_pids_with_run_id lists live carriers of the run id, not zombies or others") {
  const auto run = fresh_run_id();
  CHECK(live_pids_with_run_id(run).empty());
  auto a = child_group::shell("sleep 600 & wait", run);
  auto b = child_group::shell("sleep 600 & wait", run + "-other");
  child_group plain{{"sleep", "600"}};
  CHECK(live_pids_with_run_id(run) == std::vector<process_id>{a->pid()});
  ::kill(-a->pid(), SIGKILL);
  REQUIRE(eventually([&] { return !alive(a->pid()); })); // a zombie until reaped
  CHECK(live_pids_with_run_id(run).empty());
}

TEST_CASE("the run id must be a whole argument after --run-id") {
  CHECK(arguments_carry_run_id({"py", "--run-id", "abc"}, "abc"));
  CHECK(arguments_carry_run_id({"py", "--run-id=abc"}, "abc"));
  CHECK_FALSE(arguments_carry_run_id({"py", "--run-id", "abcd"}, "abc"));
  CHECK_FALSE(arguments_carry_run_id({"py", "abc"}, "abc"));
  CHECK_FALSE(arguments_carry_run_id({"py", "--run-id"}, "abc"));
  CHECK_FALSE(arguments_carry_run_id({"py", "--run-id", ""}, ""));
}

namespace {

// A directory like a host's runtime directory, with a bound (left) socket.
std::string runtime_dir_with_socket(const temp_dir& dir, const std::string& name, mode_t mode) {
  const auto path = dir.file(name);
  REQUIRE(::mkdir(path.c_str(), 0700) == 0);
  const std::string socket_path = path + "/w1.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  ::close(fd); // the socket file stays, as a killed host's does
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path;
}

std::string dead_run_with_dir(process_registry& reg, const std::string& path) {
  const auto run = fresh_run_id("dead");
  REQUIRE(reg.begin_run(run, "inst", ::getpid()));
  REQUIRE(reg.record_runtime_dir(run, path));
  return run;
}

} // namespace

TEST_CASE("the sweep that ends a dead run removes its runtime directory and the sockets in it") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto path = runtime_dir_with_socket(dir, "snakepit-dead", 0700);
  dead_run_with_dir(*reg, path);
  const auto result = sweep(*reg, fresh_run_id("new"));
  CHECK(result.runtime_dirs_removed == 1);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("a runtime directory holding more than sockets, or open to others, is left in place") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  const auto with_file = runtime_dir_with_socket(dir, "snakepit-file", 0700);
  { std::ofstream{with_file + "/notes.txt"} << "not a socket"; }
  const auto open_dir = runtime_dir_with_socket(dir, "snakepit-open", 0755);
  dead_run_with_dir(*reg, with_file);
  dead_run_with_dir(*reg, open_dir);
  std::vector<std::string> events;
  auto options = quick_sweep();
  options.on_event = [&](const std::string& line) { events.push_back(line); };
  const auto result = sweep(*reg, fresh_run_id("new"), options);
  CHECK(result.runtime_dirs_removed == 0);
  CHECK(std::filesystem::exists(with_file + "/notes.txt"));
  CHECK(std::filesystem::exists(with_file + "/w1.sock"));
  CHECK(std::filesystem::exists(open_dir + "/w1.sock"));
  const auto left = std::count_if(events.begin(), events.end(), [](const std::string& e) {
    return e.find("left in place") != std::string::npos;
  });
  CHECK(left == 2);
  // The runs are ended all the same: the next sweep does not try again.
  events.clear();
  sweep(*reg, fresh_run_id("newer"), options);
  CHECK(events.empty());
}

TEST_CASE("a runtime directory is recorded only for a run that exists") {
  temp_dir dir;
  auto reg = open_registry(dir.file("inst.sqlite"));
  auto r = reg->record_runtime_dir("no-such-run", "/tmp/snakepit-x");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == registry_errc::invalid_argument);
}
