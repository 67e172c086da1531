// A synchronous caller that reads its own call's stream (transport/caller_poll)
// against real Python showcase workers.
#include "grpc_test_support.hpp"

#include "transport/caller_poll.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

using nlohmann::json;
using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

/// A worker's stream, started (a first call answered without an offer), that
/// records which thread read each reply.
struct started_stream {
  python_worker worker;
  std::unique_ptr<worker_channel> ch = worker.connect();
  stream_box sb;
  std::mutex mx;
  std::map<std::uint64_t, std::thread::id> read_on;

  started_stream() {
    auto cb = sb.callbacks();
    cb.on_reply = [this, inner = cb.on_reply](wire::Reply&& r) {
      {
        std::lock_guard g{mx};
        read_on[r.id()] = std::this_thread::get_id();
      }
      inner(std::move(r));
    };
    REQUIRE(ch->open(std::move(cb)).has_value());
    REQUIRE(ch->send(make_request(1, "ping", json::object())).has_value());
    REQUIRE(sb.wait_replies(1));
  }
  ~started_stream() {
    ch->close();
    CHECK(sb.wait_closed());
  }

  bool read(std::uint64_t id) {
    std::lock_guard g{mx};
    return read_on.count(id) > 0;
  }
  std::thread::id reader_of(std::uint64_t id) {
    std::lock_guard g{mx};
    return read_on.at(id);
  }

  /// Sends `tool` with an offer open until the stream takes it: the helper
  /// may still be polling the last call's completions, and then the stream
  /// rightly leaves the offer. Returns the id that went out with it.
  std::uint64_t send_taken(caller_poll_offer& offer, std::uint64_t first_id, const char* tool,
                           const json& args) {
    for (std::uint64_t id = first_id; id < first_id + 100; ++id) {
      REQUIRE(ch->send(make_request(id, tool, args)).has_value());
      if (offer.taken())
        return id;
      REQUIRE(sb.wait_replies(static_cast<std::size_t>(id)));
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the stream never took the offer");
    return 0;
  }
};

} // namespace

TEST_CASE("an idle stream takes a caller's offer and the caller reads its own reply") {
  started_stream s;
  caller_poll_offer offer;
  const auto id = s.send_taken(offer, 2, "echo", {{"x", "hi"}});
  offer.withdraw();
  offer.taken()->poll_until([&] { return s.read(id); }, std::chrono::steady_clock::now() + 5000ms);
  REQUIRE(s.read(id));
  CHECK(s.reader_of(id) == std::this_thread::get_id());
  CHECK(s.sb.reply(id).has_result());
  // Reading goes back to the helper: a later call without an offer is
  // answered on another thread.
  REQUIRE(s.ch->send(make_request(id + 1, "ping", json::object())).has_value());
  REQUIRE(s.sb.wait_replies(static_cast<std::size_t>(id + 1)));
  CHECK(s.reader_of(id + 1) != std::this_thread::get_id());
}

TEST_CASE("a stream with a call in flight leaves the offer and its helper answers both") {
  started_stream s;
  REQUIRE(s.ch->send(make_request(2, "sleep_ms", {{"ms", 200}})).has_value());
  caller_poll_offer offer;
  REQUIRE(s.ch->send(make_request(3, "echo", {{"x", 1}})).has_value());
  offer.withdraw();
  CHECK(offer.taken() == nullptr);
  REQUIRE(s.sb.wait_replies(3));
  CHECK(s.reader_of(3) != std::this_thread::get_id());
}

TEST_CASE("a withdrawn offer is not taken") {
  started_stream s;
  caller_poll_offer offer;
  offer.withdraw();
  REQUIRE(s.ch->send(make_request(2, "echo", {{"x", 1}})).has_value());
  CHECK(offer.taken() == nullptr);
  REQUIRE(s.sb.wait_replies(2));
}

TEST_CASE("a kick wakes a polling caller long before its deadline") {
  started_stream s;
  caller_poll_offer offer;
  const auto id = s.send_taken(offer, 2, "sleep_ms", {{"ms", 3000}});
  offer.withdraw();
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
  REQUIRE(s.sb.wait_replies(static_cast<std::size_t>(id), 10000ms));
}

TEST_CASE("a polling caller also reads the replies of another worker's stream") {
  // Every connection shares one queue, read by one thread at a time: while
  // this thread reads it, the helper does not, so a reply on a second
  // worker's stream is answered here too.
  started_stream a;
  started_stream b;
  caller_poll_offer offer;
  const auto id = a.send_taken(offer, 2, "sleep_ms", {{"ms", 300}});
  offer.withdraw();
  std::thread other{[&] { REQUIRE(b.ch->send(make_request(2, "echo", {{"x", 7}})).has_value()); }};
  other.join();
  offer.taken()->poll_until([&] { return a.read(id) && b.read(2); },
                            std::chrono::steady_clock::now() + 5000ms);
  REQUIRE(b.read(2));
  CHECK(b.reader_of(2) == std::this_thread::get_id());
  CHECK(b.sb.reply(2).has_result());
  REQUIRE(a.read(id));
  CHECK(a.reader_of(id) == std::this_thread::get_id());
}

namespace {

int threads_named(const std::string& name) {
  int found = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm{task.path() / "comm"};
    std::string line;
    if (std::getline(comm, line) && line == name)
      ++found;
  }
  return found;
}

} // namespace

TEST_CASE("the connections' helper thread ends once the last worker channel is gone") {
  {
    started_stream s;
    CHECK(threads_named("sp-connections") == 1);
  }
  const auto limit = std::chrono::steady_clock::now() + 5000ms;
  while (threads_named("sp-connections") != 0 && std::chrono::steady_clock::now() < limit)
    std::this_thread::sleep_for(10ms);
  CHECK(threads_named("sp-connections") == 0);
}
