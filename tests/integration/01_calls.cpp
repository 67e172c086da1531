// Calls through the whole stack: runtime → pool → worker → gRPC → Python.
#include <atomic>
#include <future>
#include <mutex>
#include <set>

#include "integration/runtime_fixture.hpp"

using namespace snakepit::test;
using snakepit::errc;
using snakepit::json;

TEST_CASE("every_showcase_tool_answers_with_typed_results") {
  ready_runtime rt;
  auto ping = rt->execute("ping");
  REQUIRE_MESSAGE(bool(ping), why(ping));
  CHECK(ping->at("pong") == true);

  auto sum = rt->execute("add", {{"a", 40}, {"b", 2}});
  REQUIRE(sum);
  CHECK(sum->is_number_integer());
  CHECK(*sum == 42);

  auto slept = rt->execute("sleep_ms", {{"ms", 5}});
  REQUIRE(slept);
  CHECK(slept->at("slept_ms") == 5);

  auto info = rt->execute("worker_info");
  REQUIRE(info);
  std::set<int> pids;
  for (auto& w : rt->list_workers())
    pids.insert(w.os_pid);
  CHECK(pids.count(info->at("pid").get<int>()) == 1);
}

TEST_CASE("values_round_trip_with_their_types") {
  ready_runtime rt;
  json args = {{"i", 7},
               {"big", int64_t{1} << 53},
               {"neg", -3},
               {"f", 2.5},
               {"s", "snake"},
               {"t", true},
               {"n", nullptr},
               {"list", {1, "two", 3.0}},
               {"nested", {{"a", {{"b", {1, 2, {{"c", false}}}}}}}},
               {"bytes", json::binary({0, 1, 2, 254, 255})}};
  auto r = rt->execute("echo", args);
  REQUIRE_MESSAGE(bool(r), why(r));
  CHECK(*r == args);
  CHECK(r->at("i").is_number_integer());
  CHECK(r->at("f").is_number_float());
  CHECK(r->at("bytes").is_binary());
  CHECK(r->at("t").is_boolean());
}

TEST_CASE("bytes_stay_bytes_through_echo_bytes") {
  ready_runtime rt;
  std::vector<uint8_t> payload(256 * 1024);
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i * 31);
  auto r = rt->execute("echo_bytes", {{"data", json::binary(payload)}});
  REQUIRE(r);
  REQUIRE(r->is_binary());
  CHECK(static_cast<const std::vector<uint8_t>&>(r->get_binary()) == payload);
}

TEST_CASE("a_python_exception_is_a_typed_error_with_type_and_traceback") {
  ready_runtime rt;
  auto r = rt->execute("raise_error", {{"type", "KeyError"}, {"message", "no such key"}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::python_exception);
  CHECK(r.error().python_type() == "KeyError");
  CHECK(r.error().message().find("no such key") != std::string::npos);
  CHECK(r.error().traceback().find("Traceback") != std::string::npos);
  // The worker stays up.
  CHECK(rt->execute("ping"));
}

TEST_CASE("an_unknown_tool_is_unknown_command") {
  ready_runtime rt;
  auto r = rt->execute("no_such_tool");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::unknown_command);
}

TEST_CASE("bad_arguments_are_invalid_argument") {
  ready_runtime rt;
  auto r = rt->execute("add", {{"a", 1}});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_argument);
  auto not_object = rt->execute("echo", json::array({1, 2}));
  REQUIRE_FALSE(not_object);
  CHECK(not_object.error().code() == errc::invalid_argument);
}

TEST_CASE("a_call_past_its_timeout_fails_with_timeout_and_the_worker_comes_back") {
  auto cfg = test_config(1);
  ready_runtime rt{cfg};
  snakepit::call_options o;
  o.timeout = 200ms;
  auto t0 = std::chrono::steady_clock::now();
  auto r = rt->execute("sleep_ms", {{"ms", 1000}}, o);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::timeout);
  CHECK(took < 900ms);
  // The abandoned call ends in Python; the worker then serves again.
  auto next = rt->execute("ping");
  CHECK(next);
}

TEST_CASE("streaming_chunks_arrive_in_order") {
  ready_runtime rt;
  std::vector<int> seen;
  auto r = rt->execute_stream("stream_count", {{"count", 20}},
                              [&](const json& chunk) { seen.push_back(chunk.at("i")); });
  REQUIRE_MESSAGE(bool(r), why(r));
  REQUIRE(seen.size() == 20);
  for (int i = 0; i < 20; ++i)
    CHECK(seen[i] == i);
}

TEST_CASE("a_stream_whose_consumer_stops_early_ends_cleanly") {
  auto cfg = test_config(1);
  ready_runtime rt{cfg};
  int seen = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto r = rt->execute_stream("stream_count", {{"count", 1000}, {"delay_ms", 5}},
                              [&](const json&) { return ++seen < 3; });
  CHECK(r);
  CHECK(seen == 3);
  CHECK(std::chrono::steady_clock::now() - t0 < 3000ms);  // not all 1000 × 5 ms
  CHECK(rt->execute("ping"));  // the worker is free again
}

TEST_CASE("workers_can_be_reached_over_loopback_tcp") {
  auto cfg = test_config(2);
  cfg.transport = snakepit::config::worker_transport::tcp_loopback;
  ready_runtime rt{cfg};
  auto r = rt->execute("echo", {{"over", "tcp"}});
  REQUIRE_MESSAGE(bool(r), why(r));
  CHECK(r->at("over") == "tcp");
}

TEST_CASE("pool_events_reach_the_hosts_observer") {
  auto cfg = test_config(1);
  auto events = std::make_shared<std::vector<snakepit::pool_event>>();
  auto mx = std::make_shared<std::mutex>();
  cfg.pool_events = [events, mx](const snakepit::pool_event& ev) {
    std::lock_guard<std::mutex> guard{*mx};
    events->push_back(ev);
  };
  ready_runtime rt{cfg};
  REQUIRE(rt->execute("ping"));
  std::lock_guard<std::mutex> guard{*mx};
  int ready = 0, done = 0;
  for (auto& ev : *events) {
    ready += ev.kind == snakepit::pool_event_kind::worker_ready;
    done += ev.kind == snakepit::pool_event_kind::call_done;
  }
  CHECK(ready == 1);
  CHECK(done == 1);
}

TEST_CASE("one_thread_keeps_many_calls_in_flight_with_execute_async") {
  ready_runtime rt;
  std::vector<std::future<snakepit::result<json>>> futures;
  for (int i = 0; i < 200; ++i)
    futures.push_back(rt->execute_async("add", {{"a", i}, {"b", 1}}));
  int right = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = futures[i].get();
    right += r && *r == i + 1;
  }
  CHECK(right == 200);
  CHECK(rt->stats().batched_calls > 0);  // the queue formed, and batches were handed out

  std::atomic<int> done{0}, ok{0};
  for (int i = 0; i < 50; ++i)
    rt->execute_async("add", {{"a", i}, {"b", i}}, [&, i](snakepit::result<json> r) {
      ok += r && *r == 2 * i;
      ++done;
    });
  CHECK(eventually([&] { return done == 50; }));
  CHECK(ok == 50);
}
