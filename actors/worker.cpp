#include "actors/worker.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <sstream>
#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/worker_protocol.hpp"
#include "supervision/supervision_messages.hpp"
#include "transport/process_group_probe.hpp"
#include "transport/process_launcher.hpp"
#include "transport/value_codec.hpp"
#include "transport/worker_channel.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::bridge::v1::Reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::bridge::v1::Chunk)

namespace snakepit {

const char* to_string(log_level l) {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "?";
}

namespace detail {

namespace {

namespace wire = snakepit::bridge::v1;
namespace tp = snakepit::transport;
using namespace std::chrono_literals;

// Messages from the launcher's and gRPC's threads, posted to the worker.
using proc_started_atom = caf::atom_constant<caf::atom("p_started")>;
using proc_launch_failed_atom = caf::atom_constant<caf::atom("p_lfailed")>;
using proc_line_atom = caf::atom_constant<caf::atom("p_line")>;
using proc_exited_atom = caf::atom_constant<caf::atom("p_exited")>;
using proc_stopped_atom = caf::atom_constant<caf::atom("p_stopped")>;
using ping_done_atom = caf::atom_constant<caf::atom("ping_done")>;
using chan_reply_atom = caf::atom_constant<caf::atom("c_reply")>;
using chan_chunk_atom = caf::atom_constant<caf::atom("c_chunk")>;
using chan_closed_atom = caf::atom_constant<caf::atom("c_closed")>;
using startup_timer_atom = caf::atom_constant<caf::atom("st_timer")>;
using slot_poll_atom = caf::atom_constant<caf::atom("slot_poll")>;

constexpr std::size_t stderr_tail_lines = 12;

snakepit::error from_wire(const wire::ErrorInfo& e) {
  errc code = errc::internal;
  switch (e.category()) {
    case wire::PYTHON_EXCEPTION: code = errc::python_exception; break;
    case wire::UNKNOWN_COMMAND: code = errc::unknown_command; break;
    case wire::INVALID_ARGUMENT: code = errc::invalid_argument; break;
    case wire::TIMEOUT: code = errc::timeout; break;
    case wire::CANCELLED: code = errc::cancelled; break;
    default: code = errc::internal; break;
  }
  return snakepit::error{code, e.message(), e.type(), e.traceback()};
}

/// Posts to the worker from foreign threads without keeping it alive.
class mailbox_ref {
public:
  explicit mailbox_ref(caf::weak_actor_ptr w) : weak_(std::move(w)) {}

  template <class... Ts>
  void post(Ts&&... xs) const {
    if (auto strong = caf::actor_cast<caf::actor>(weak_))
      caf::anon_send(strong, std::forward<Ts>(xs)...);
  }

private:
  caf::weak_actor_ptr weak_;
};

class worker_actor : public caf::event_based_actor {
public:
  worker_actor(caf::actor_config& cfg, worker_options opts, std::shared_ptr<worker_slot> slot)
    : caf::event_based_actor(cfg), opts_(std::move(opts)), slot_(std::move(slot)) {}

  caf::behavior make_behavior() override {
    set_exit_handler([this](caf::exit_msg& em) {
      if (em.reason && em.reason != caf::exit_reason::normal)
        begin_stop(em.reason);
    });
    slot_->starts++;
    created_ = clock().now();
    delayed_send(self_handle(), opts_.startup_timeout, startup_timer_atom::value, uint64_t{1});
    wait_for_previous_process();
    return {
      [this](supervision::await_started_atom) { return caf::ok_atom::value; },
      [this](execute_atom, call& c) -> caf::result<call_outcome> { return execute(std::move(c)); },
      [this](cancel_call_atom, uint64_t id) {
        if (channel_ && pending_.count(id))
          (void) channel_->cancel({id});
      },
      [this](slot_poll_atom) { wait_for_previous_process(); },
      [this](proc_started_atom, int pid) { on_started(pid); },
      [this](proc_launch_failed_atom, std::string& why) {
        launch_in_flight_ = false;
        if (state_ == state::stopping)
          wind_down();
        else
          fail_startup(fmt::format("could not launch {}: {}", opts_.python, why));
      },
      [this](proc_line_atom, int stream, std::string& text) { on_line(stream, std::move(text)); },
      [this](proc_exited_atom, std::string& status, bool clean) { on_exited(status, clean); },
      [this](proc_stopped_atom) { finish_stop(); },
      [this](ping_done_atom, std::string& err, int pid) { on_ping(err, pid); },
      [this](chan_reply_atom, wire::Reply& r) { on_reply(std::move(r)); },
      [this](chan_chunk_atom, wire::Chunk& c) { on_chunk(std::move(c)); },
      [this](chan_closed_atom, std::string& why) { on_channel_closed(why); },
      [this](startup_timer_atom, uint64_t) {
        if (state_ != state::ready && state_ != state::stopping)
          fail_startup(fmt::format("not ready within {} ms", opts_.startup_timeout.count()));
      },
    };
  }

  void on_exit() override {
    // However we end, the process must not outlive us.
    if (pid_ > 0 && !exited_)
      if (auto l = opts_.launcher.lock())
        l->kill_group(pid_);
    channel_.reset();
  }

private:
  enum class state { waiting_previous, launching, waiting_ready, health_check, ready, stopping };

  struct pending_call {
    caf::typed_response_promise<call_outcome> promise;
    caf::actor sink;
    std::vector<nlohmann::json> collected;  // chunks of a stream called without a sink
  };

  void log(log_level level, const std::string& msg) {
    if (opts_.log)
      opts_.log(level, fmt::format("[{}] {}", opts_.worker_id, msg));
  }

  // -- start ------------------------------------------------------------------

  // Restart rule of the seed: the new process starts only once the old
  // process group is gone and its socket removed.
  void wait_for_previous_process() {
    if (state_ != state::waiting_previous)
      return;
    if (slot_->last_pgid > 0 && tp::process_group_has_live_member(slot_->last_pgid)) {
      if (clock().now() - created_ > opts_.previous_process_wait) {
        fail_startup(fmt::format("previous process group {} still alive after {} ms",
                                 slot_->last_pgid, opts_.previous_process_wait.count()));
        return;
      }
      delayed_send(self_handle(), 10ms, slot_poll_atom::value);
      return;
    }
    if (::unlink(opts_.socket_path.c_str()) != 0 && errno != ENOENT) {
      fail_startup(fmt::format("cannot remove stale socket {}: {}", opts_.socket_path,
                               std::strerror(errno)));
      return;
    }
    launch_process();
  }

  caf::actor self_handle() { return caf::actor_cast<caf::actor>(this); }

  mailbox_ref me() { return mailbox_ref{caf::actor_cast<caf::weak_actor_ptr>(this)}; }

  void launch_process() {
    state_ = state::launching;
    launch_in_flight_ = true;
    tp::process_spec spec;
    spec.program = opts_.python;
    spec.arguments = {"-m",         "snakepit_bridge.server",
                      "--adapter",  opts_.adapter,
                      "--listen",   "unix:" + opts_.socket_path,
                      "--run-id",   opts_.run_id,
                      "--worker-id", opts_.worker_id,
                      "--ready-fd", "3",
                      "--grace-ms", std::to_string(opts_.stop_grace.count())};
    std::string path;
    for (auto& p : opts_.python_path)
      path += (path.empty() ? "" : ":") + p;
    if (const char* inherited = std::getenv("PYTHONPATH"); inherited && *inherited)
      path += (path.empty() ? "" : ":") + std::string{inherited};
    spec.environment = {{"PYTHONPATH", path}, {"PYTHONUNBUFFERED", "1"}};
    spec.notify_fd = 3;
    spec.label = opts_.worker_id;
    auto me = this->me();
    tp::process_observer obs;
    obs.on_started = [me](tp::process_result<tp::process_started> r) {
      if (r)
        me.post(proc_started_atom::value, static_cast<int>(r->pid));
      else
        me.post(proc_launch_failed_atom::value, tp::to_string(r.error()));
    };
    obs.on_output = [me](tp::process_output out) {
      me.post(proc_line_atom::value, static_cast<int>(out.stream), std::move(out.text));
    };
    obs.on_exit = [me](tp::process_exit ex) {
      bool clean = ex.status.exited() && ex.status.code() == 0;
      me.post(proc_exited_atom::value, tp::to_string(ex.status), clean);
    };
    auto l = opts_.launcher.lock();
    if (!l) {
      launch_in_flight_ = false;
      fail_startup("the runtime is shutting down");
      return;
    }
    l->launch(std::move(spec), std::move(obs));
  }

  void on_started(int pid) {
    launch_in_flight_ = false;
    pid_ = pid;
    slot_->last_pgid = pid;  // each process leads its own group
    if (state_ == state::launching)
      state_ = state::waiting_ready;
    else if (state_ == state::stopping)
      wind_down();
  }

  void on_line(int stream, std::string text) {
    auto s = static_cast<tp::output_stream>(stream);
    if (s == tp::output_stream::notify_stream) {
      if (text.rfind("READY ", 0) == 0 && state_ == state::waiting_ready)
        connect();
      return;
    }
    if (s == tp::output_stream::stderr_stream) {
      stderr_tail_.push_back(text);
      if (stderr_tail_.size() > stderr_tail_lines)
        stderr_tail_.pop_front();
    }
    log(log_level::info, fmt::format("{}: {}", tp::to_string(s), text));
  }

  void connect() {
    state_ = state::health_check;
    tp::worker_channel_options copts;
    copts.address = "unix:" + opts_.socket_path;
    auto ch = tp::worker_channel::connect(copts);
    if (!ch) {
      fail_startup("cannot create channel: " + tp::to_string(ch.error()));
      return;
    }
    channel_ = std::move(*ch);
    auto me = this->me();
    channel_->ping(opts_.health_timeout, [me](tp::channel_result<wire::PingReply> r) {
      if (r)
        me.post(ping_done_atom::value, std::string{}, static_cast<int>(r->pid()));
      else
        me.post(ping_done_atom::value, tp::to_string(r.error()), 0);
    });
  }

  void on_ping(const std::string& err, int pid) {
    if (state_ != state::health_check)
      return;
    if (!err.empty()) {
      fail_startup("health ping failed: " + err);
      return;
    }
    if (pid != pid_) {
      fail_startup(fmt::format("health ping answered by pid {}, expected {}", pid, pid_));
      return;
    }
    auto me = this->me();
    tp::channel_callbacks cb;
    cb.on_reply = [me](wire::Reply&& r) { me.post(chan_reply_atom::value, std::move(r)); };
    cb.on_chunk = [me](wire::Chunk&& c) { me.post(chan_chunk_atom::value, std::move(c)); };
    cb.on_closed = [me](tp::channel_result<tp::channel_ok> r) {
      me.post(chan_closed_atom::value, r ? std::string{} : tp::to_string(r.error()));
    };
    if (auto opened = channel_->open(std::move(cb)); !opened) {
      fail_startup("cannot open execute stream: " + tp::to_string(opened.error()));
      return;
    }
    state_ = state::ready;
    auto pool = opts_.pool();
    if (!pool) {
      fail_startup("no pool to report to");
      return;
    }
    send(pool, worker_ready_atom::value,
         worker_hello{opts_.worker_id, caf::actor_cast<caf::actor>(this), pid_});
  }

  std::string stderr_tail() const {
    std::string out;
    for (auto& l : stderr_tail_)
      out += "\n  " + l;
    return out;
  }

  // A start that cannot succeed: tell the pool (await_ready fails fast with
  // this), make sure no process stays, and exit so the starter decides.
  void fail_startup(std::string why) {
    if (state_ == state::stopping)
      return;
    auto msg = fmt::format("worker {} failed to start: {}", opts_.worker_id, why);
    if (!stderr_tail_.empty())
      msg += "; last stderr lines:" + stderr_tail();
    log(log_level::error, msg);
    if (auto pool = opts_.pool())
      send(pool, worker_failed_atom::value, opts_.worker_id,
         snakepit::error{errc::startup_failed, msg});
    exit_reason_ = caf::make_error(caf::sec::runtime_error, msg);
    state_ = state::stopping;
    brutal_ = true;
    wind_down();
  }

  // -- calls ------------------------------------------------------------------

  caf::result<call_outcome> execute(call c) {
    if (state_ != state::ready)
      return call_outcome::failed({state_ == state::stopping ? errc::shutting_down : errc::not_ready,
                                   fmt::format("worker {} is not ready", opts_.worker_id)});
    auto now = std::chrono::steady_clock::now();
    if (c.deadline <= now)
      return call_outcome::failed({errc::timeout, "deadline passed before the call reached Python"});
    wire::Request req;
    req.set_id(c.id);
    req.set_tool(c.tool);
    if (auto enc = tp::encode_args(std::move(c.args), *req.mutable_args()); !enc)
      return call_outcome::failed({errc::invalid_argument, tp::to_string(enc.error())});
    req.set_session_id(c.session_id);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
    req.set_timeout_ms(static_cast<uint32_t>(std::max<int64_t>(1, left)));
    for (auto& [k, v] : c.metadata)
      (*req.mutable_metadata())[k] = v;
    if (auto sent = channel_->send(std::move(req)); !sent)
      return call_outcome::failed({errc::worker_crashed, tp::to_string(sent.error())});
    auto rp = make_response_promise<call_outcome>();
    pending_.emplace(c.id, pending_call{rp, c.stream_sink, {}});
    return rp;
  }

  void on_reply(wire::Reply r) {
    auto it = pending_.find(r.id());
    if (it == pending_.end())
      return;
    auto rp = it->second.promise;
    pending_.erase(it);
    if (r.has_error()) {
      rp.deliver(call_outcome::failed(from_wire(r.error())));
      return;
    }
    auto v = tp::from_value(std::move(*r.mutable_result()));
    if (!v)
      rp.deliver(call_outcome::failed({errc::internal, tp::to_string(v.error())}));
    else
      rp.deliver(call_outcome::ok(std::move(*v)));
  }

  void on_chunk(wire::Chunk c) {
    auto it = pending_.find(c.id());
    if (it == pending_.end())
      return;
    auto& p = it->second;
    if (c.has_data()) {
      auto v = tp::from_value(std::move(*c.mutable_data()));
      if (!v) {
        p.promise.deliver(call_outcome::failed({errc::internal, tp::to_string(v.error())}));
        pending_.erase(it);
        (void) channel_->cancel({c.id()});
        return;
      }
      if (p.sink)
        send(p.sink, chunk_atom::value, c.id(), std::move(*v));
      else
        p.collected.push_back(std::move(*v));
    }
    if (!c.final())
      return;
    if (c.has_error())
      p.promise.deliver(call_outcome::failed(from_wire(c.error())));
    else if (p.sink)
      p.promise.deliver(call_outcome::ok(nullptr));
    else
      p.promise.deliver(call_outcome::ok(nlohmann::json(std::move(p.collected))));
    pending_.erase(it);
  }

  void fail_pending(errc code, const std::string& why) {
    for (auto& [id, p] : pending_)
      p.promise.deliver(call_outcome::failed({code, why}));
    pending_.clear();
  }

  // -- endings ----------------------------------------------------------------

  void on_channel_closed(const std::string& why) {
    if (state_ == state::stopping)
      return;
    // The stream only ends on its own when the process goes; its exit
    // message says how. A live process without a stream is useless: stop it.
    log(log_level::warning, "execute stream closed: " + (why.empty() ? "by the worker" : why));
    if (!exited_ && pid_ > 0)
      if (auto l = opts_.launcher.lock())
        l->kill_group(pid_);
  }

  void on_exited(const std::string& status, bool clean) {
    exited_ = true;
    if (state_ == state::stopping) {
      fail_pending(errc::shutting_down, "worker stopped");
      return; // the stop callback (proc_stopped) finishes
    }
    if (state_ != state::ready) {
      fail_startup(fmt::format("process {} before it was ready", status));
      return;
    }
    // A worker is not supposed to end on its own, even with code 0: the
    // exit reason is abnormal, so the starter restarts it.
    auto why = fmt::format("worker {} python process {}{}", opts_.worker_id, status,
                           clean ? " (unexpectedly)" : "");
    log(log_level::warning, why);
    fail_pending(errc::worker_crashed, why);
    exit_reason_ = caf::make_error(caf::sec::runtime_error, why);
    state_ = state::stopping;
    // The group may still hold grandchildren: kill them, but do not wait
    // here; the pool must see this worker gone at once, and the slot's next
    // worker waits until the old group is empty before it launches.
    if (auto l = opts_.launcher.lock())
      l->kill_group(pid_);
    finish_stop();
  }

  void begin_stop(caf::error reason) {
    if (state_ == state::stopping)
      return;
    state_ = state::stopping;
    exit_reason_ = std::move(reason);
    fail_pending(errc::shutting_down, fmt::format("worker {} is shutting down", opts_.worker_id));
    if (channel_)
      channel_->close();
    wind_down();
  }

  // Ends the process (gracefully, or brutally after a failed start), then
  // quits once its whole group is gone.
  void wind_down() {
    if (launch_in_flight_)
      return; // on_started or the launch failure comes back here
    if (pid_ == 0) {
      finish_stop();
      return;
    }
    if (stop_requested_)
      return;
    stop_requested_ = true;
    auto done = [me = me()](auto) { me.post(proc_stopped_atom::value); };
    auto l = opts_.launcher.lock();
    if (!l) { // the launcher is gone, and with it every process it started
      finish_stop();
      return;
    }
    if (brutal_)
      l->kill_group(pid_, done);
    else
      l->terminate(pid_, opts_.stop_grace, done);
  }

  void finish_stop() {
    channel_.reset();
    ::unlink(opts_.socket_path.c_str());
    quit(exit_reason_);
  }

  worker_options opts_;
  std::shared_ptr<worker_slot> slot_;
  state state_ = state::waiting_previous;
  int pid_ = 0;
  bool exited_ = false;
  bool launch_in_flight_ = false;
  bool stop_requested_ = false;
  bool brutal_ = false;
  caf::actor_clock::time_point created_;
  std::unique_ptr<tp::worker_channel> channel_;
  std::unordered_map<uint64_t, pending_call> pending_;
  std::deque<std::string> stderr_tail_;
  caf::error exit_reason_;
};

} // namespace

caf::actor spawn_worker(caf::actor_system& sys, worker_options options,
                        std::shared_ptr<worker_slot> slot) {
  return sys.spawn<worker_actor>(std::move(options), std::move(slot));
}

supervision::child_spec worker_child_spec(worker_options options) {
  supervision::child_spec spec;
  spec.id = options.worker_id;
  spec.restart = supervision::restart_type::permanent;
  // SIGTERM, the grace period, SIGKILL and the group check must fit.
  spec.shutdown = supervision::shutdown_spec::timeout(options.stop_grace + 5000ms);
  auto slot = std::make_shared<worker_slot>();
  slot->id = options.worker_id;
  spec.start = [options = std::move(options), slot](caf::actor_system& sys)
    -> caf::expected<caf::actor> { return spawn_worker(sys, options, slot); };
  return spec;
}

} // namespace detail
} // namespace snakepit
