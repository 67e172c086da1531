// Sessions end to end: state the host owns, read and written by real Python
// workers through SessionContext over the host bridge.
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "integration/runtime_fixture.hpp"

using namespace snakepit::test;
using snakepit::errc;
using snakepit::json;

namespace {

json counter(snakepit::runtime& rt, const std::string& session) {
  auto r = rt.execute_in_session(session, "get_counter");
  REQUIRE_MESSAGE(bool(r), why(r));
  return r->at("value");
}

} // namespace

TEST_CASE("the_counter_tools_keep_all_state_in_the_host_session") {
  ready_runtime rt{test_config(2)};
  REQUIRE(rt->execute_in_session("s1", "init_session", {{"counter", 0}}));
  for (int i = 1; i <= 5; ++i) {
    auto r = rt->execute_in_session("s1", "increment_counter", {{"by", i}});
    REQUIRE_MESSAGE(bool(r), why(r));
    CHECK(r->at("value") == i * (i + 1) / 2);
  }
  CHECK(counter(*rt.rt, "s1") == 15);
  // The host sees the very same variable, typed.
  auto v = rt->get_variable("s1", "counter");
  REQUIRE(v);
  CHECK(v->value == 15);
  CHECK(v->type == snakepit::variable_type::integer);
  auto done = rt->execute_in_session("s1", "cleanup");
  REQUIRE_MESSAGE(bool(done), why(done));
  CHECK(done->at("command_count") == 8);  // init, 5 increments, get, cleanup
  CHECK(done->at("duration_ms").get<double>() >= 0.0);
  CHECK_FALSE(rt->get_variable("s1", "counter"));
}

TEST_CASE("session_state_survives_sigkill_of_the_worker_in_the_middle_of_a_session") {
  ready_runtime rt{test_config(1)};
  REQUIRE(rt->execute_in_session("s1", "init_session", {{"counter", 40}}));
  REQUIRE(rt->execute_in_session("s1", "increment_counter", {{"by", 2}}));
  int pid = rt->list_workers().at(0).os_pid;
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(eventually([&] {
    auto ws = rt->list_workers();
    return ws.size() == 1 && ws[0].os_pid != pid && ws[0].state == snakepit::worker_state::ready;
  }));
  CHECK(counter(*rt.rt, "s1") == 42);  // a new process, the same state
}

TEST_CASE("a_session_served_by_two_different_workers_sees_one_state") {
  auto cfg = test_config(2);
  cfg.affinity = snakepit::affinity_mode::hint;
  ready_runtime rt{cfg};
  REQUIRE(rt->execute_in_session("shared", "init_session"));
  // Hold the session's own worker busy (a call of the session itself) so
  // that its next call goes to the other (hint affinity).
  std::set<int> pids;
  snakepit::call_options in_session;
  in_session.session_id = "shared";
  for (int round = 0; round < 6 && pids.size() < 2; ++round) {
    auto busy = rt->execute_async("sleep_ms", {{"ms", 300}}, in_session);
    auto r = rt->execute_in_session("shared", "increment_counter");
    REQUIRE_MESSAGE(bool(r), why(r));
    auto info = rt->execute_in_session("shared", "worker_info");
    REQUIRE(info);
    pids.insert(info->at("pid").get<int>());
    busy.wait();
  }
  CHECK(pids.size() == 2);
  auto v = rt->get_variable("shared", "counter");
  REQUIRE(v);
  CHECK(counter(*rt.rt, "shared") == v->value);
}

TEST_CASE("eight_callers_incrementing_one_session_a_thousand_times_each_end_at_8000") {
  ready_runtime rt{test_config(2)};
  REQUIRE(rt->execute_in_session("hot", "init_session"));
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c)
    callers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (!rt->execute_in_session("hot", "increment_counter"))
          ++failures;
    });
  for (auto& t : callers)
    t.join();
  CHECK(failures == 0);
  auto v = rt->get_variable("hot", "counter");
  REQUIRE(v);
  CHECK(v->value == 8000);
}

TEST_CASE("constraint_and_type_violations_from_python_change_nothing") {
  ready_runtime rt{test_config(1)};
  auto reg = rt->execute_in_session(
    "s1", "session_register",
    {{"name", "temperature"}, {"type", "float"}, {"value", 0.5},
     {"constraints", {{"min", 0.0}, {"max", 1.0}}}});
  REQUIRE_MESSAGE(bool(reg), why(reg));
  auto too_hot = rt->execute_in_session("s1", "session_set",
                                        {{"name", "temperature"}, {"value", 3.5}});
  REQUIRE_FALSE(too_hot);
  CHECK(too_hot.error().code() == errc::python_exception);
  CHECK(too_hot.error().python_type() == "InvalidValueError");
  auto wrong_type = rt->execute_in_session("s1", "session_set",
                                           {{"name", "temperature"}, {"value", "warm"}});
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.error().python_type() == "InvalidValueError");
  auto v = rt->get_variable("s1", "temperature");
  REQUIRE(v);
  CHECK(v->value == 0.5);
  CHECK(v->version == 1);
  // The same rule from C++.
  auto from_host = rt->set_variable("s1", "temperature", -1.0);
  REQUIRE_FALSE(from_host);
  CHECK(from_host.error().code() == errc::invalid_value);
  CHECK(rt->get_variable("s1", "temperature")->version == 1);
}

TEST_CASE("a_python_tool_calls_a_host_tool") {
  auto cfg = test_config(1);
  snakepit::host_tool multiply;
  multiply.name = "multiply";
  multiply.description = "a * b, computed by the host";
  multiply.parameters = {{"a", "int", true}, {"b", "int", true}};
  multiply.function = [](const json& args, const snakepit::host_tool_call& call)
    -> snakepit::result<json> {
    return json{{"product", args.at("a").get<int>() * args.at("b").get<int>()},
                {"session", call.session_id}};
  };
  cfg.host_tools.push_back(multiply);
  ready_runtime rt{cfg};
  auto r = rt->execute_in_session("s1", "call_host",
                                  {{"name", "multiply"}, {"args", {{"a", 6}, {"b", 7}}}});
  REQUIRE_MESSAGE(bool(r), why(r));
  CHECK(r->at("product") == 42);
  CHECK(r->at("session") == "s1");
  // An unknown host tool is a typed Python error, and the worker stays up.
  auto missing = rt->execute_in_session("s1", "call_host", {{"name", "nope"}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().python_type() == "HostToolError");
  // A host tool registered at run time is callable at once.
  snakepit::host_tool hello{"hello", "greets", {}, [](const json&, const snakepit::host_tool_call&)
                                                     -> snakepit::result<json> { return json("hi"); }};
  REQUIRE(rt->register_host_tool(hello));
  auto hi = rt->execute_in_session("s1", "call_host", {{"name", "hello"}});
  REQUIRE_MESSAGE(bool(hi), why(hi));
  CHECK(*hi == "hi");
  auto again = rt->register_host_tool(hello);
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == errc::already_exists);
  CHECK(rt->list_tools().size() >= 2);
}

TEST_CASE("a_paused_session_refuses_calls_with_invalid_state_until_resumed") {
  ready_runtime rt{test_config(1)};
  REQUIRE(rt->execute_in_session("s1", "init_session", {{"counter", 1}}));
  REQUIRE(rt->pause_session("s1"));
  auto r = rt->execute_in_session("s1", "increment_counter");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_state);
  REQUIRE(rt->resume_session("s1"));
  CHECK(counter(*rt.rt, "s1") == 1);  // the refused call changed nothing
  REQUIRE(rt->close_session("s1"));
  CHECK(eventually([&] { return rt->list_sessions().empty(); }, 2000ms));
}

TEST_CASE("session_events_reach_a_subscriber_and_telemetry") {
  auto cfg = test_config(1);
  std::mutex mx;
  std::vector<std::string> telemetry;
  cfg.telemetry = [&](const snakepit::telemetry_event& ev) {
    std::lock_guard<std::mutex> guard{mx};
    telemetry.push_back(ev.name);
  };
  ready_runtime rt{cfg};
  REQUIRE(rt->create_session("watched"));
  std::vector<snakepit::session_event_kind> seen;
  auto sub = rt->subscribe("watched", [&](const snakepit::session_event& ev) {
    std::lock_guard<std::mutex> guard{mx};
    seen.push_back(ev.kind);
  });
  REQUIRE(sub);
  REQUIRE(rt->pause_session("watched"));
  REQUIRE(rt->resume_session("watched"));
  REQUIRE(rt->close_session("watched"));
  using k = snakepit::session_event_kind;
  CHECK(eventually([&] {
    std::lock_guard<std::mutex> guard{mx};
    return std::find(seen.begin(), seen.end(), k::terminated) != seen.end();
  }, 2000ms));
  std::lock_guard<std::mutex> guard{mx};
  CHECK(seen.front() == k::paused);
  CHECK(std::find(seen.begin(), seen.end(), k::resumed) != seen.end());
  CHECK(std::find(telemetry.begin(), telemetry.end(), "snakepit.session.created")
        != telemetry.end());
  CHECK(std::find(telemetry.begin(), telemetry.end(), "snakepit.session.terminated")
        != telemetry.end());
}

TEST_CASE("the_bridge_socket_lives_in_a_directory_no_other_user_can_read") {
  ready_runtime rt{test_config(1)};
  struct stat dir {};
  REQUIRE(::stat(rt->runtime_dir().c_str(), &dir) == 0);
  CHECK((dir.st_mode & 0777) == 0700);
  CHECK(dir.st_uid == ::getuid());
  struct stat sock {};
  REQUIRE(::stat((rt->runtime_dir() + "/bridge.sock").c_str(), &sock) == 0);
  CHECK(S_ISSOCK(sock.st_mode));
}

TEST_CASE("session_calls_with_bad_ids_and_unknown_sessions_are_typed_errors") {
  ready_runtime rt{test_config(1)};
  auto bad = rt->execute_in_session("has space", "ping");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == errc::invalid_argument);
  auto none = rt->get_variable("never-created", "x");
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == errc::session_not_found);
  CHECK(rt->execute("ping"));  // nothing else was disturbed
}

TEST_CASE("list_tools_shows_host_tools_and_the_python_tools_each_worker_reported") {
  auto cfg = test_config(1);
  cfg.host_tools.push_back({"host_only", "a host tool", {{"x", "int", true}},
                            [](const json& a, const snakepit::host_tool_call&)
                              -> snakepit::result<json> { return a; }});
  ready_runtime rt{cfg};
  std::vector<snakepit::tool_info> tools;
  // Workers report their tools right after they start, without holding up
  // their readiness.
  REQUIRE(eventually([&] {
    tools = rt->list_tools();
    return tools.size() > 1;
  }, 5000ms));
  auto find = [&](const std::string& name) -> const snakepit::tool_info* {
    for (auto& t : tools)
      if (t.name == name)
        return &t;
    return nullptr;
  };
  REQUIRE(find("host_only"));
  CHECK(find("host_only")->from == snakepit::tool_info::origin::host);
  auto add = find("add");
  REQUIRE(add);
  CHECK(add->from == snakepit::tool_info::origin::python);
  CHECK_FALSE(add->streaming);
  REQUIRE(add->parameters.size() == 2);
  CHECK(add->parameters[0].name == "a");
  CHECK(add->parameters[0].required);
  auto stream = find("stream_count");
  REQUIRE(stream);
  CHECK(stream->streaming);
  CHECK_FALSE(stream->description.empty());
  auto sleep = find("sleep_ms");
  REQUIRE(sleep);
  REQUIRE(sleep->parameters.size() == 1);  // `ctx` is supplied by the worker, not a parameter
  CHECK(sleep->parameters[0].name == "ms");
}
