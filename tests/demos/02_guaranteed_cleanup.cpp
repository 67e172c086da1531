// The runner's guarantees: a demo that fails in its second step (a failure
// result, a failed check, an exception) still has everything from its first
// step released; a demo that leaks on purpose is caught by the global
// tracker, which also removes what leaked.
#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <memory>
#include <stdexcept>

#include <caf/all.hpp>

#include "demo.hpp"
#include "proc_scan.hpp"
#include "runner.hpp"

extern char** environ;

using namespace snakepit::demos;
using snakepit::json;

namespace {

caf::behavior idle_actor(caf::event_based_actor*) {
  return {[](int x) { return x; }};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// Step 1 creates one resource of every kind through the context; step 2
/// fails the way `how` says; step 3 must never run.
class fails_in_step_two : public demo {
public:
  explicit fails_in_step_two(std::string how, std::shared_ptr<std::atomic<bool>> actor_down)
    : how_(std::move(how)), actor_down_(std::move(actor_down)) {}
  std::string name() const override { return "fails_in_step_two_" + how_; }
  std::string description() const override { return "fails in its second step (" + how_ + ")"; }
  bool expected_to_fail() const override { return true; }
  std::vector<step_info> steps() const override {
    return {{"create", "create one of everything"}, {"boom", "fail"}, {"never", "never runs"}};
  }
  step_result run_step(const std::string& step, context& ctx) override {
    if (step == "create") {
      auto& rt = ctx.start_runtime([](snakepit::config& cfg) { cfg.pool_size = 1; });
      auto session = ctx.create_session("doomed");
      ctx.value(rt.execute_in_session(session, "session_set", {{"name", "x"}, {"value", 1}}),
                "session_set");
      ctx.track_variable(session, "x");
      auto file = ctx.temp_file("doomed.txt", "bytes");
      auto actor = ctx.actor_system().spawn(idle_actor);
      auto flag = actor_down_;
      actor->attach_functor([flag] { *flag = true; });
      ctx.track_actor(actor, "idle actor");
      snakepit::host_tool tool;
      tool.name = "doomed_tool";
      tool.description = "a host tool of the failing demo";
      tool.function = [](const json&, const snakepit::host_tool_call&) -> snakepit::result<json> {
        return json(1);
      };
      ctx.register_host_tool(std::move(tool));
      ctx.note("created session {}, file {}", session, file);
      return step_result::success({{"run_id", rt.run_id()}, {"session", session}, {"file", file},
                                   {"workers", rt.list_workers().size()}});
    }
    if (step == "boom") {
      if (how_ == "exception")
        throw std::runtime_error("thrown on purpose");
      if (how_ == "check")
        ctx.check(false, "checked on purpose");
      return step_result::failure("failed on purpose");
    }
    FAIL("step ", step, " ran after the failure");
    return step_result::success();
  }

private:
  std::string how_;
  std::shared_ptr<std::atomic<bool>> actor_down_;
};

int spawn_process_with(const std::string& marker) {
  const char* argv[] = {"/usr/bin/python3", "-c", "import time; time.sleep(60)", marker.c_str(),
                        nullptr};
  pid_t pid = 0;
  if (::posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  return pid;
}

/// Leaks one of every kind past the context: all its steps pass.
class leaks_on_purpose : public demo {
public:
  explicit leaks_on_purpose(caf::actor* leaked_actor) : leaked_actor_(leaked_actor) {}
  std::string name() const override { return "leaks_on_purpose"; }
  std::string description() const override { return "creates things behind the runner's back"; }
  bool expected_to_fail() const override { return true; }
  std::vector<step_info> steps() const override { return {{"leak", "leak everything"}}; }
  step_result run_step(const std::string&, context& ctx) override {
    auto& rt = ctx.start_runtime([](snakepit::config& cfg) { cfg.pool_size = 1; });
    ctx.ok(rt.create_session("leaked-session"), "create_session");  // not tracked
    auto file = ctx.scratch_dir() + "/leaked.txt";
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fputs("leak", f);
    std::fclose(f);
    *leaked_actor_ = ctx.actor_system().spawn(idle_actor);
    int pid = spawn_process_with("leak-marker-" + rt.run_id());
    ctx.check(pid > 0, "spawn failed");
    return step_result::success({{"file", file}, {"pid", pid}, {"run_id", rt.run_id()}});
  }

private:
  caf::actor* leaked_actor_;
};

} // namespace

TEST_CASE("a demo that fails in its second step still releases everything from its first") {
  for (std::string how : {"result", "check", "exception"}) {
    CAPTURE(how);
    auto actor_down = std::make_shared<std::atomic<bool>>(false);
    run_options options;
    options.quick = true;
    runner r(options);
    fails_in_step_two d(how, actor_down);
    auto o = r.run(d);

    CHECK_FALSE(o.passed);
    CHECK_FALSE(o.unexpected());
    CHECK(o.failed_step == "boom");
    REQUIRE(o.steps.size() == 3);
    CHECK(o.steps[0].outcome == step_record::status::passed);
    CHECK(o.steps[1].outcome == step_record::status::failed);
    CHECK(o.steps[2].outcome == step_record::status::skipped);
    if (how == "exception")
      CHECK(o.steps[1].failure.find("thrown on purpose") != std::string::npos);

    std::set<std::string> kinds;
    for (auto& rel : o.released) {
      CHECK_MESSAGE(rel.ok, rel.kind, " ", rel.id, ": ", rel.error);
      kinds.insert(rel.kind);
    }
    CHECK(kinds == std::set<std::string>{"actor", "file", "host_tool", "runtime", "session", "variable"});
    // The runtime goes last, after everything that lives in it.
    CHECK(o.released.back().kind == "runtime");
    for (auto& l : o.leaks)
      FAIL_CHECK("leak ", l.kind, ": ", l.what);

    auto& created = o.steps[0].value;
    CHECK_FALSE(exists(created.at("file").get<std::string>()));
    CHECK(actor_down->load());
    CHECK(processes_with(created.at("run_id").get<std::string>()).empty());
  }
}

TEST_CASE("a demo that leaks on purpose is caught by the global tracker, which sweeps the leak") {
  caf::actor leaked_actor;
  run_options options;
  options.quick = true;
  runner r(options);
  leaks_on_purpose d(&leaked_actor);
  auto o = r.run(d);

  CHECK(o.failed_step == "");  // every step passed ...
  CHECK_FALSE(o.passed);       // ... and the demo fails on its leaks
  CHECK_FALSE(o.unexpected());
  std::set<std::string> kinds;
  for (auto& l : o.leaks) {
    MESSAGE("leak ", l.kind, ": ", l.what);
    kinds.insert(l.kind);
  }
  CHECK(kinds.count("session") == 1);
  CHECK(kinds.count("file") == 1);
  CHECK(kinds.count("actor") == 1);
  CHECK(kinds.count("process") == 1);

  auto& leaked = o.steps[0].value;
  CHECK_FALSE(exists(leaked.at("file").get<std::string>()));
  int pid = leaked.at("pid");
  CHECK((::kill(pid, 0) != 0 && errno == ESRCH));
  CHECK(processes_with(leaked.at("run_id").get<std::string>()).empty());

  // The tracker cannot stop an actor it never saw; the test does.
  caf::anon_send_exit(leaked_actor, caf::exit_reason::kill);
}

TEST_CASE("the report is machine-readable and counts unexpected failures") {
  run_options options;
  options.quick = true;
  runner r(options);
  auto actor_down = std::make_shared<std::atomic<bool>>(false);
  run_report report;
  fails_in_step_two d("result", actor_down);
  report.demos.push_back(r.run(d));
  auto j = json::parse(report.to_json().dump());
  CHECK(j.at("total") == 1);
  CHECK(j.at("passed") == 0);
  CHECK(j.at("unexpected") == 0);  // it was expected to fail
  auto& demo_json = j.at("demos").at(0);
  CHECK(demo_json.at("failed_step") == "boom");
  CHECK(demo_json.at("steps").size() == 3);
  CHECK(demo_json.at("steps").at(2).at("status") == "skipped");
  CHECK(demo_json.at("leaks").empty());
}
