// transport/worker_channel against real Python showcase workers on Unix sockets.
#include "grpc_test_support.hpp"

#include <signal.h>

#include "transport/value_codec.hpp"

#include <algorithm>
#include <set>

using nlohmann::json;
using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

json result_of(const wire::Reply& reply) {
  REQUIRE_MESSAGE(reply.has_result(), "reply " << reply.id() << " is an error: "
                                                << reply.error().type() << ": "
                                                << reply.error().message());
  auto j = from_value(reply.result());
  REQUIRE(j.has_value());
  return *j;
}

json bytes(std::initializer_list<std::uint8_t> b) {
  return json::binary(json::binary_t::container_type(b));
}

} // namespace

TEST_CASE("ping answers with the worker's pid") {
  python_worker worker;
  auto ch = worker.connect();
  call_box<wire::PingReply> box;
  ch->ping(2000ms, box.callback());
  REQUIRE(box.wait());
  auto r = box.result();
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : to_string(r.error())));
  CHECK(static_cast<process_id>(r->pid()) == worker.pid());
  CHECK(r->run_id() == "test-transport-grpc");
}

TEST_CASE("describe_tools lists the showcase tools with their stream flags") {
  python_worker worker;
  auto ch = worker.connect();
  call_box<wire::DescribeToolsReply> box;
  ch->describe_tools(2000ms, box.callback());
  REQUIRE(box.wait());
  auto r = box.result();
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : to_string(r.error())));
  std::map<std::string, bool> streaming;
  for (const auto& t : r->tools())
    streaming[t.name()] = t.streaming();
  for (auto name : {"ping", "echo", "add", "sleep_ms", "raise_error", "crash", "stream_count",
                    "echo_bytes", "worker_info"})
    CHECK_MESSAGE(streaming.count(name) == 1, name);
  CHECK(streaming["stream_count"]);
  CHECK_FALSE(streaming["echo"]);
  CHECK_FALSE(streaming["add"]);
}

TEST_CASE("a ping to a socket with no server fails with a typed error within its deadline") {
  private_dir dir;
  auto ch = worker_channel::connect({"unix:" + dir.path + "/w.sock"});
  REQUIRE(ch.has_value());
  call_box<wire::PingReply> box;
  const auto start = std::chrono::steady_clock::now();
  (*ch)->ping(500ms, box.callback());
  REQUIRE(box.wait(3000ms));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  auto r = box.result();
  REQUIRE_FALSE(r.has_value());
  CHECK((r.error().code == channel_errc::worker_unavailable
         || r.error().code == channel_errc::timeout));
  CHECK(r.error().operation == "Ping");
  CHECK(elapsed < 1500ms);

  // The stream fails the same way, through on_closed.
  stream_box sb;
  REQUIRE((*ch)->open(sb.callbacks()).has_value());
  REQUIRE(sb.wait_closed(3000ms));
  REQUIRE_FALSE(sb.closed().has_value());
  CHECK(sb.closed().error().code == channel_errc::worker_unavailable);
}

TEST_CASE("connect refuses an empty address, send before open is not_open") {
  auto bad = worker_channel::connect({""});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == channel_errc::invalid_address);
  auto ch = worker_channel::connect({"unix:/tmp/spg-none/w.sock"});
  REQUIRE(ch.has_value());
  auto r = (*ch)->send(wire::Request{});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == channel_errc::not_open);
}

TEST_CASE("Channel: requests sent at once come back per id with their types kept") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());

  const json echo_args = {{"i", 42},
                          {"neg", -7},
                          {"f", 1.5},
                          {"whole_float", 2.0},
                          {"s", "snake"},
                          {"b", bytes({0, 1, 254, 255})},
                          {"none", nullptr},
                          {"nested", {{"list", {1, "two", 3.0, bytes({7})}}, {"map", {{"k", true}}}}}};
  std::vector<wire::Request> batch;
  batch.push_back(make_request(1, "echo", echo_args));
  batch.push_back(make_request(2, "add", {{"a", 2}, {"b", 3}}));
  batch.push_back(make_request(3, "add", {{"a", 0.5}, {"b", 0.25}}));
  batch.push_back(make_request(4, "echo_bytes", {{"data", bytes({1, 2, 3})}}));
  batch.push_back(make_request(5, "ping", json::object()));
  REQUIRE(ch->send(std::move(batch)).has_value());
  REQUIRE(sb.wait_replies(5));

  auto echoed = result_of(sb.reply(1));
  CHECK(echoed.at("i").is_number_integer());
  CHECK(echoed.at("i") == 42);
  CHECK(echoed.at("neg") == -7);
  CHECK(echoed.at("f").is_number_float());
  CHECK(echoed.at("whole_float").is_number_float());
  CHECK(echoed.at("s") == "snake");
  CHECK(echoed.at("b").is_binary());
  CHECK(echoed.at("b") == echo_args.at("b"));
  CHECK(echoed.at("none").is_null());
  CHECK(echoed.at("nested").at("list").at(3).is_binary());
  CHECK(echoed.at("nested").at("list").at(2).is_number_float());
  CHECK(echoed == echo_args);

  auto sum = result_of(sb.reply(2));
  CHECK(sum.is_number_integer());
  CHECK(sum == 5);
  auto fsum = result_of(sb.reply(3));
  CHECK(fsum.is_number_float());
  CHECK(fsum.get<double>() == doctest::Approx(0.75));
  CHECK(result_of(sb.reply(4)) == bytes({1, 2, 3}));
  sb.reply(5); // present
  CHECK(ch->stats().frames_written == 1);
  CHECK(ch->stats().requests_written == 5);

  ch->close();
  REQUIRE(sb.wait_closed());
  CHECK(sb.closed().has_value());
}

TEST_CASE("Channel: a raising call is a python_exception, its neighbours in the frame succeed") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  std::vector<wire::Request> batch;
  batch.push_back(make_request(10, "add", {{"a", 1}, {"b", 1}}));
  batch.push_back(make_request(11, "raise_error", {{"type", "KeyError"}, {"message", "nope"}}));
  batch.push_back(make_request(12, "add", {{"a", 2}, {"b", 2}}));
  REQUIRE(ch->send(std::move(batch)).has_value());
  REQUIRE(sb.wait_replies(3));
  CHECK(result_of(sb.reply(10)) == 2);
  CHECK(result_of(sb.reply(12)) == 4);
  auto err = sb.reply(11);
  REQUIRE(err.has_error());
  CHECK(err.error().category() == wire::PYTHON_EXCEPTION);
  CHECK(err.error().type() == "KeyError");
  CHECK(err.error().message().find("nope") != std::string::npos);
  CHECK(err.error().traceback().find("Traceback") != std::string::npos);
  ch->close();
  REQUIRE(sb.wait_closed());
}

TEST_CASE("Channel: stream_count chunks arrive in order and end with a final chunk") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  REQUIRE(ch->send(make_request(20, "stream_count", {{"count", 5}, {"delay_ms", 1}})).has_value());
  REQUIRE(sb.wait_final_chunk(20));
  auto chunks = sb.chunks(20);
  REQUIRE(chunks.size() == 6);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(chunks[i].seq() == i);
    CHECK_FALSE(chunks[i].final());
    auto data = from_value(chunks[i].data());
    REQUIRE(data.has_value());
    CHECK(data->at("i") == static_cast<int>(i));
  }
  CHECK(chunks[5].final());
  CHECK(chunks[5].seq() == 5);
  CHECK_FALSE(chunks[5].has_error());
  ch->close();
  REQUIRE(sb.wait_closed());
}

TEST_CASE("Channel: cancel of a queued request answers it CANCELLED") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  std::vector<wire::Request> batch;
  batch.push_back(make_request(30, "sleep_ms", {{"ms", 3000}}));
  batch.push_back(make_request(31, "add", {{"a", 1}, {"b", 2}}));
  REQUIRE(ch->send(std::move(batch)).has_value());
  REQUIRE(ch->cancel({31, 30}).has_value());
  REQUIRE(sb.wait_replies(2, 2500ms)); // well before the sleep would end
  auto queued = sb.reply(31);
  REQUIRE(queued.has_error());
  CHECK(queued.error().category() == wire::CANCELLED);
  ch->close();
  REQUIRE(sb.wait_closed());
}

TEST_CASE("Channel: an unknown tool gives UNKNOWN_COMMAND") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  REQUIRE(ch->send(make_request(40, "no_such_tool", json::object())).has_value());
  REQUIRE(sb.wait_replies(1));
  auto r = sb.reply(40);
  REQUIRE(r.has_error());
  CHECK(r.error().category() == wire::UNKNOWN_COMMAND);
  ch->close();
  REQUIRE(sb.wait_closed());
}

TEST_CASE("Channel: single sends queued while a write is in flight are batched and all answered") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  constexpr std::uint64_t n = 300;
  for (std::uint64_t i = 0; i < n; ++i)
    REQUIRE(ch->send(make_request(100 + i, "add", {{"a", i}, {"b", 1}})).has_value());
  REQUIRE(sb.wait_replies(n, 10000ms));
  for (std::uint64_t i = 0; i < n; i += 37)
    CHECK(result_of(sb.reply(100 + i)) == static_cast<std::int64_t>(i + 1));
  const auto stats = ch->stats();
  CHECK(stats.requests_written == n);
  CHECK(stats.frames_written <= n);
  MESSAGE("frames written for ", n, " requests: ", stats.frames_written,
          "; frames read: ", stats.frames_read);
  ch->close();
  REQUIRE(sb.wait_closed());
}

TEST_CASE("Channel: the worker crashing closes the stream with a typed error") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  std::vector<wire::Request> batch;
  batch.push_back(make_request(50, "crash", json::object()));
  batch.push_back(make_request(51, "add", {{"a", 1}, {"b", 2}}));
  REQUIRE(ch->send(std::move(batch)).has_value());
  REQUIRE(sb.wait_closed(5000ms));
  auto closed = sb.closed();
  REQUIRE_FALSE(closed.has_value());
  CHECK(closed.error().code == channel_errc::worker_unavailable);
  CHECK(closed.error().operation == "Channel");
  CHECK(worker.wait_exit(5000ms));
  // After the end, sends fail at once.
  auto late = ch->send(make_request(52, "add", {{"a", 1}, {"b", 2}}));
  REQUIRE_FALSE(late.has_value());
  CHECK(late.error().code == channel_errc::stream_closed);
  CHECK(sb.state->closed_calls == 1);
}

TEST_CASE("Channel: a worker killed while its stream is idle fails the next call with a typed error") {
  // An idle stream has no read out (the next starts once a reply is due):
  // the loss must still surface when the host next sends.
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  REQUIRE(ch->send(make_request(70, "ping", json::object())).has_value());
  REQUIRE(sb.wait_replies(1));
  REQUIRE(::kill(static_cast<pid_t>(worker.pid()), SIGKILL) == 0);
  REQUIRE(worker.wait_exit(5000ms));
  auto sent = ch->send(make_request(71, "echo", {{"x", 1}}));
  if (!sent.has_value())  // the loss was seen already
    CHECK(sent.error().code == channel_errc::stream_closed);
  REQUIRE(sb.wait_closed(5000ms));
  REQUIRE_FALSE(sb.closed().has_value());
  CHECK(sb.closed().error().code == channel_errc::worker_unavailable);
  std::lock_guard g{sb.state->box.mutex};
  CHECK(sb.state->closed_calls == 1);
  CHECK(sb.state->replies.count(71) == 0);
}

TEST_CASE("shutdown is accepted and the worker exits") {
  python_worker worker;
  auto ch = worker.connect();
  call_box<wire::ShutdownReply> box;
  ch->shutdown(200ms, 2000ms, box.callback());
  REQUIRE(box.wait());
  auto r = box.result();
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : to_string(r.error())));
  CHECK(r->accepted());
  CHECK(worker.wait_exit(5000ms));
}

TEST_CASE("destroying the channel with a stream and calls in flight is safe") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  call_box<wire::PingReply> ping;
  REQUIRE(ch->open(sb.callbacks()).has_value());
  REQUIRE(ch->send(make_request(60, "sleep_ms", {{"ms", 2000}})).has_value());
  ch->ping(2000ms, ping.callback());
  ch.reset();
  REQUIRE(sb.wait_closed(3000ms));
  REQUIRE_FALSE(sb.closed().has_value());
  CHECK(sb.closed().error().code == channel_errc::cancelled);
  REQUIRE(ping.wait(3000ms)); // answered or cancelled, but exactly once
}
