// tests/transport_grpc/grpc_test_support.hpp — a real Python worker on a Unix
// socket in a private temp dir, bounded waits, and recorders for channel
// callbacks.
#pragma once

#include "transport/process_launcher.hpp"
#include "transport/value_codec.hpp"
#include "transport/worker_channel.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace snakepit::transport::test {

using namespace std::chrono_literals;
namespace wire = snakepit::bridge::v1;

/// A mutex + condition variable with deadline-bounded waits.
struct signal_box {
  std::mutex mutex;
  std::condition_variable cv;

  template <class F>
  void update(F&& f) {
    {
      std::lock_guard g{mutex};
      f();
    }
    cv.notify_all();
  }
  /// Waits until pred() (called under the lock) holds or `limit` passes.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds limit) {
    std::unique_lock g{mutex};
    return cv.wait_until(g, std::chrono::steady_clock::now() + limit, pred);
  }
};

/// A private 0700 directory under /tmp with a short path; removed (with the
/// socket) on destruction.
struct private_dir {
  std::string path;
  private_dir() {
    char tmpl[] = "/tmp/spg-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~private_dir() {
    ::unlink((path + "/w.sock").c_str());
    ::rmdir(path.c_str());
  }
};

/// One showcase worker, launched and awaited (READY on the notify fd).
/// Killed (whole group) and reaped on destruction.
class python_worker {
public:
  python_worker() {
    auto created = process_launcher::create();
    REQUIRE_MESSAGE(created.has_value(), (created ? "" : to_string(created.error())));
    launcher_ = std::move(*created);
    address_ = "unix:" + dir_.path + "/w.sock";
    process_spec spec;
    spec.program = SNAKEPIT_TEST_PYTHON;
    spec.arguments = {"-m",         "snakepit_bridge.server",
                      "--adapter",  "snakepit_bridge.adapters.showcase",
                      "--listen",   address_,
                      "--run-id",   "test-transport-grpc",
                      "--ready-fd", "3"};
    spec.notify_fd = 3;
    spec.environment = {{"PYTHONPATH", SNAKEPIT_TEST_PYTHONPATH}};
    spec.label = "grpc-test-worker";
    process_observer obs;
    auto st = state_;
    obs.on_started = [st](process_result<process_started> r) {
      st->box.update([&] {
        st->started = true;
        if (r)
          st->pid = r->pid;
        else
          st->start_error = to_string(r.error());
      });
    };
    obs.on_output = [st](process_output line) {
      st->box.update([&] {
        if (line.stream == output_stream::notify_stream && line.text.rfind("READY ", 0) == 0)
          st->ready = true;
        if (line.stream == output_stream::stderr_stream)
          st->stderr_tail.push_back(line.text);
      });
    };
    obs.on_exit = [st](process_exit e) { st->box.update([&] { st->exited = true; (void) e; }); };
    launcher_->launch(std::move(spec), std::move(obs));
    const bool ok = st->box.wait_for([&] { return st->ready || st->exited || !st->start_error.empty(); },
                                     15s);
    REQUIRE_MESSAGE(ok, "worker not ready within 15 s");
    REQUIRE_MESSAGE(st->ready, "worker failed: " << st->start_error << " " << stderr_text());
  }

  ~python_worker() {
    if (pid() > 0 && !exited()) {
      auto st = state_;
      auto stopped = std::make_shared<bool>(false);
      launcher_->kill_group(pid(), [st, stopped](process_result<stop_report>) {
        st->box.update([&] { *stopped = true; });
      });
      st->box.wait_for([&] { return *stopped; }, 5s);
    }
    launcher_.reset(); // kills and reaps anything left
  }

  const std::string& address() const { return address_; }
  process_id pid() const {
    std::lock_guard g{state_->box.mutex};
    return state_->pid;
  }
  bool exited() const {
    std::lock_guard g{state_->box.mutex};
    return state_->exited;
  }
  bool wait_exit(std::chrono::milliseconds limit) {
    return state_->box.wait_for([&] { return state_->exited; }, limit);
  }
  std::string stderr_text() const {
    std::lock_guard g{state_->box.mutex};
    std::string out;
    for (const auto& l : state_->stderr_tail)
      out += l + "\n";
    return out;
  }

  std::unique_ptr<worker_channel> connect() const {
    auto ch = worker_channel::connect({address_});
    REQUIRE_MESSAGE(ch.has_value(), (ch ? "" : to_string(ch.error())));
    return std::move(*ch);
  }

private:
  struct shared {
    mutable signal_box box;
    bool started = false;
    bool ready = false;
    bool exited = false;
    process_id pid = 0;
    std::string start_error;
    std::vector<std::string> stderr_tail;
  };
  private_dir dir_;
  std::shared_ptr<shared> state_ = std::make_shared<shared>();
  std::unique_ptr<process_launcher> launcher_;
  std::string address_;
};

/// The result of one unary call.
template <class T>
struct call_box {
  struct shared {
    signal_box box;
    std::optional<channel_result<T>> result;
  };
  std::shared_ptr<shared> state = std::make_shared<shared>();

  worker_channel::callback<T> callback() const {
    return [s = state](channel_result<T> r) { s->box.update([&] { s->result = std::move(r); }); };
  }
  bool wait(std::chrono::milliseconds limit = 5000ms) const {
    return state->box.wait_for([&] { return state->result.has_value(); }, limit);
  }
  channel_result<T> result() const {
    std::lock_guard g{state->box.mutex};
    REQUIRE(state->result.has_value());
    return *state->result;
  }
};

/// Everything a Channel stream delivered.
struct stream_box {
  struct shared {
    signal_box box;
    std::map<std::uint64_t, wire::Reply> replies;
    std::map<std::uint64_t, std::vector<wire::Chunk>> chunks;
    std::optional<channel_result<channel_ok>> closed;
    int closed_calls = 0;
  };
  std::shared_ptr<shared> state = std::make_shared<shared>();

  channel_callbacks callbacks() const {
    channel_callbacks cb;
    cb.on_reply = [s = state](wire::Reply&& r) {
      s->box.update([&] { s->replies[r.id()] = std::move(r); });
    };
    cb.on_chunk = [s = state](wire::Chunk&& c) {
      s->box.update([&] { s->chunks[c.id()].push_back(std::move(c)); });
    };
    cb.on_closed = [s = state](channel_result<channel_ok> r) {
      s->box.update([&] {
        s->closed = std::move(r);
        ++s->closed_calls;
      });
    };
    return cb;
  }
  bool wait_replies(std::size_t n, std::chrono::milliseconds limit = 5000ms) const {
    return state->box.wait_for([&] { return state->replies.size() >= n; }, limit);
  }
  bool wait_final_chunk(std::uint64_t id, std::chrono::milliseconds limit = 5000ms) const {
    return state->box.wait_for(
      [&] {
        auto it = state->chunks.find(id);
        return it != state->chunks.end() && !it->second.empty() && it->second.back().final();
      },
      limit);
  }
  bool wait_closed(std::chrono::milliseconds limit = 5000ms) const {
    return state->box.wait_for([&] { return state->closed.has_value(); }, limit);
  }
  wire::Reply reply(std::uint64_t id) const {
    std::lock_guard g{state->box.mutex};
    auto it = state->replies.find(id);
    REQUIRE_MESSAGE(it != state->replies.end(), "no reply for id " << id);
    return it->second;
  }
  std::vector<wire::Chunk> chunks(std::uint64_t id) const {
    std::lock_guard g{state->box.mutex};
    return state->chunks[id];
  }
  channel_result<channel_ok> closed() const {
    std::lock_guard g{state->box.mutex};
    REQUIRE(state->closed.has_value());
    return *state->closed;
  }
};

/// A Channel request for `tool` with `args` (a JSON object) encoded.
inline wire::Request make_request(std::uint64_t id, std::string tool, const nlohmann::json& args) {
  wire::Request r;
  r.set_id(id);
  r.set_tool(std::move(tool));
  auto enc = encode_args(args, *r.mutable_args());
  REQUIRE_MESSAGE(enc.has_value(), (enc ? "" : to_string(enc.error())));
  return r;
}

} // namespace snakepit::transport::test
