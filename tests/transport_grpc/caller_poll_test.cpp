// A synchronous caller that reads its own call's stream (transport/caller_poll)
// against real Python showcase workers.
#include "grpc_test_support.hpp"

#include "transport/caller_poll.hpp"
#include "transport/value_codec.hpp"

#include <atomic>
#include <thread>

using nlohmann::json;
using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

wire::Request request(std::uint64_t id, std::string tool, const json& args) {
  wire::Request r;
  r.set_id(id);
  r.set_tool(std::move(tool));
  REQUIRE(encode_args(args, *r.mutable_args()).has_value());
  return r;
}

/// Which thread each reply was read on.
struct reply_threads {
  std::mutex mx;
  std::map<std::uint64_t, std::thread::id> by_id;

  channel_callbacks callbacks(stream_box& sb) {
    auto cb = sb.callbacks();
    cb.on_reply = [this, inner = cb.on_reply](wire::Reply&& r) {
      {
        std::lock_guard g{mx};
        by_id[r.id()] = std::this_thread::get_id();
      }
      inner(std::move(r));
    };
    return cb;
  }
  bool has(std::uint64_t id) {
    std::lock_guard g{mx};
    return by_id.count(id) > 0;
  }
  std::thread::id of(std::uint64_t id) {
    std::lock_guard g{mx};
    return by_id.at(id);
  }
};

/// Opens the stream and waits until it has started (a first call answered).
void open_started(worker_channel& ch, stream_box& sb, reply_threads& threads) {
  REQUIRE(ch.open(threads.callbacks(sb)).has_value());
  REQUIRE(ch.send(request(1, "ping", json::object())).has_value());
  REQUIRE(sb.wait_replies(1));
}

} // namespace

TEST_CASE("an idle stream takes a caller's offer and the caller reads its own reply") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  reply_threads threads;
  open_started(*ch, sb, threads);

  caller_poll_offer offer;
  REQUIRE(ch->send(request(2, "echo", {{"x", "hi"}})).has_value());
  offer.withdraw();
  REQUIRE(offer.taken() != nullptr);
  offer.taken()->poll_until([&] { return threads.has(2); },
                            std::chrono::steady_clock::now() + 5000ms);
  REQUIRE(threads.has(2));
  CHECK(threads.of(2) == std::this_thread::get_id());
  CHECK(sb.reply(2).has_result());
  // Reading goes back to the helper: a later call without an offer is
  // answered on another thread.
  REQUIRE(ch->send(request(3, "ping", json::object())).has_value());
  REQUIRE(sb.wait_replies(3));
  CHECK(threads.of(3) != std::this_thread::get_id());
  ch->close();
  REQUIRE(sb.wait_closed());
  CHECK(sb.closed().has_value());
}

TEST_CASE("a stream with a call in flight leaves the offer and its helper answers both") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  reply_threads threads;
  open_started(*ch, sb, threads);

  REQUIRE(ch->send(request(2, "sleep_ms", {{"ms", 200}})).has_value());
  caller_poll_offer offer;
  REQUIRE(ch->send(request(3, "echo", {{"x", 1}})).has_value());
  offer.withdraw();
  CHECK(offer.taken() == nullptr);
  REQUIRE(sb.wait_replies(3));
  CHECK(threads.of(3) != std::this_thread::get_id());
  ch->close();
  REQUIRE(sb.wait_closed());
}

TEST_CASE("a withdrawn offer is not taken") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  reply_threads threads;
  open_started(*ch, sb, threads);

  caller_poll_offer offer;
  offer.withdraw();
  REQUIRE(ch->send(request(2, "echo", {{"x", 1}})).has_value());
  CHECK(offer.taken() == nullptr);
  REQUIRE(sb.wait_replies(2));
  ch->close();
  REQUIRE(sb.wait_closed());
}

TEST_CASE("a kick wakes a polling caller long before its deadline") {
  python_worker worker;
  auto ch = worker.connect();
  stream_box sb;
  reply_threads threads;
  open_started(*ch, sb, threads);

  caller_poll_offer offer;
  REQUIRE(ch->send(request(2, "sleep_ms", {{"ms", 3000}})).has_value());
  offer.withdraw();
  REQUIRE(offer.taken() != nullptr);
  // Another thread answers the call (as a deadline would) and kicks.
  std::atomic<bool> answered{false};
  std::thread other{[&] {
    std::this_thread::sleep_for(100ms);
    answered = true;
    offer.taken()->kick();
  }};
  const auto start = std::chrono::steady_clock::now();
  offer.taken()->poll_until([&] { return answered.load(); },
                            std::chrono::steady_clock::now() + 10000ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  other.join();
  CHECK(answered);
  CHECK(waited < 2000ms);  // woken by the kick, not by the sleep's reply
  // The helper takes the stream back: the sleeping call still gets its reply.
  REQUIRE(sb.wait_replies(2, 10000ms));
  ch->close();
  REQUIRE(sb.wait_closed());
}
