#include "actors/worker.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <sstream>
#include <unordered_map>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/call_port.hpp"
#include "actors/process_registry_actor.hpp"
#include "actors/tool_registry.hpp"
#include "actors/worker_adapter.hpp"
#include "actors/worker_protocol.hpp"
#include "supervision/supervision_messages.hpp"
#include "transport/process_group_probe.hpp"
#include "transport/process_launcher.hpp"
#include "transport/process_registry_proc.hpp"

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

namespace tp = snakepit::transport;
using namespace std::chrono_literals;

// Messages from the launcher's and gRPC's threads, posted to the worker.
using proc_started_atom = caf::atom_constant<caf::atom("p_started")>;
using proc_launch_failed_atom = caf::atom_constant<caf::atom("p_lfailed")>;
using proc_line_atom = caf::atom_constant<caf::atom("p_line")>;
using proc_exited_atom = caf::atom_constant<caf::atom("p_exited")>;
using proc_stopped_atom = caf::atom_constant<caf::atom("p_stopped")>;
using ping_done_atom = caf::atom_constant<caf::atom("ping_done")>;
using conn_outcome_atom = caf::atom_constant<caf::atom("c_outcome")>;
using send_failed_atom = caf::atom_constant<caf::atom("c_sendfail")>;
using chan_closed_atom = caf::atom_constant<caf::atom("c_closed")>;
using startup_timer_atom = caf::atom_constant<caf::atom("st_timer")>;
using slot_poll_atom = caf::atom_constant<caf::atom("slot_poll")>;

constexpr std::size_t stderr_tail_lines = 12;

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
        if (port_ && pending_.count(id))
          port_->cancel(id);
      },
      [this](slot_poll_atom) { wait_for_previous_process(); },
      [this](proc_started_atom, int pid) { on_started(pid); },
      [this](proc_launch_failed_atom, std::string& why) {
        launch_in_flight_ = false;
        if (state_ == state::stopping)
          wind_down();
        else
          fail_startup(fmt::format("could not launch {}: {}", opts_.context.python, why));
      },
      [this](proc_line_atom, int stream, std::string& text) { on_line(stream, std::move(text)); },
      [this](proc_exited_atom, std::string& status, bool clean) { on_exited(status, clean); },
      [this](proc_stopped_atom) { finish_stop(); },
      [this](ping_done_atom, std::string& err, int pid) { on_ping(err, pid); },
      [this](conn_outcome_atom, uint64_t id, call_outcome& o) { on_outcome(id, std::move(o)); },
      [this](chan_closed_atom, std::string& why) { on_channel_closed(why); },
      [this](send_failed_atom, std::string& why) {
        if (state_ == state::ready)
          crash(fmt::format("worker {} cannot send: {}", opts_.context.worker_id, why));
      },
      [this](startup_timer_atom, uint64_t) {
        if (state_ != state::ready && state_ != state::stopping)
          fail_startup(fmt::format("not ready within {} ms", opts_.startup_timeout.count()));
      },
    };
  }

  void on_exit() override {
    // However we end, neither the process nor its group may outlive us (a
    // group already gone makes this a no-op).
    if (pid_ > 0)
      if (auto l = opts_.launcher.lock())
        l->kill_group(pid_);
    drop_connection(errc::shutting_down, fmt::format("worker {} ended", opts_.context.worker_id));
  }

private:
  enum class state { waiting_previous, launching, waiting_ready, health_check, ready, stopping };

  /// A call sent with an execute request (the pool uses the port instead).
  struct pending_call {
    caf::typed_response_promise<call_outcome> promise;
  };

  void log(log_level level, const std::string& msg) {
    if (opts_.log)
      opts_.log(level, fmt::format("[{}] {}", opts_.context.worker_id, msg));
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
    if (::unlink(opts_.context.endpoint.c_str()) != 0 && errno != ENOENT) {
      fail_startup(fmt::format("cannot remove stale socket {}: {}", opts_.context.endpoint,
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
    auto spec = opts_.adapter->launch_spec(opts_.context);
    // Whatever the adapter, the process and every descendant that keeps its
    // environment carry the run id: sweeps recognise grandchildren by it.
    spec.environment.emplace_back(std::string{tp::run_id_variable}, opts_.context.run_id);
    for (auto& kv : opts_.environment)
      spec.environment.push_back(kv);
    // The durable record comes first: a host that dies right after the spawn
    // still leaves a row the next boot sweep finds.
    caf::actor registry = opts_.registry ? opts_.registry() : caf::actor{};
    if (!registry) {
      spawn_process(std::move(spec), registry, -1);
      return;
    }
    std::string cmd = spec.program;
    for (auto& a : spec.arguments)
      cmd += " " + a;
    auto shared_spec = std::make_shared<tp::process_spec>(std::move(spec));
    request(registry, opts_.registry_timeout, registry_reserve_atom::value,
            opts_.context.worker_id, std::move(cmd))
      .then(
        [this, shared_spec, registry](int64_t row) {
          spawn_process(std::move(*shared_spec), registry, row);
        },
        [this, shared_spec, registry](caf::error& e) {
          log(log_level::warning,
              "process registry: no row reserved (" + to_string(e) + "); spawning anyway");
          spawn_process(std::move(*shared_spec), registry, -1);
        });
  }

  void spawn_process(tp::process_spec spec, caf::actor registry, int64_t row) {
    if (state_ == state::stopping) {  // stopped while the row was being reserved
      launch_in_flight_ = false;
      if (registry && row >= 0)
        anon_send(registry, registry_exited_atom::value, row, std::string{"never spawned"});
      wind_down();
      return;
    }
    auto me = this->me();
    tp::process_observer obs;
    // The registry learns of the process from the launcher's I/O thread: it
    // is also the reaper, so the pid cannot have been reused when the start
    // time is read.
    obs.on_started = [me, registry, row](tp::process_result<tp::process_started> r) {
      if (registry && row >= 0) {
        if (r)
          caf::anon_send(registry, registry_complete_atom::value, row, static_cast<int>(r->pid),
                         static_cast<int>(r->pgid),
                         static_cast<uint64_t>(tp::read_process_start_ticks(r->pid).value_or(0)));
        else
          caf::anon_send(registry, registry_exited_atom::value, row,
                         "spawn failed: " + tp::to_string(r.error()));
      }
      if (r)
        me.post(proc_started_atom::value, static_cast<int>(r->pid));
      else
        me.post(proc_launch_failed_atom::value, tp::to_string(r.error()));
    };
    obs.on_output = [me](tp::process_output out) {
      me.post(proc_line_atom::value, static_cast<int>(out.stream), std::move(out.text));
    };
    obs.on_exit = [me, registry, row](tp::process_exit ex) {
      if (registry && row >= 0)
        caf::anon_send(registry, registry_exited_atom::value, row, tp::to_string(ex.status));
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
    if (state_ == state::waiting_ready && opts_.adapter->is_ready_line(s, text)) {
      connect(text);
      return;
    }
    if (s == tp::output_stream::notify_stream)
      return;
    if (s == tp::output_stream::stderr_stream) {
      stderr_tail_.push_back(text);
      if (stderr_tail_.size() > stderr_tail_lines)
        stderr_tail_.pop_front();
    }
    log(log_level::info, fmt::format("{}: {}", tp::to_string(s), text));
  }

  void connect(const std::string& ready_line) {
    state_ = state::health_check;
    auto c = opts_.adapter->connect(opts_.context, ready_line);
    if (!c) {
      fail_startup(c.error().message());
      return;
    }
    conn_ = std::move(*c);
    conn_->health_check(opts_.health_timeout, [me = me()](int pid, std::string why) {
      me.post(ping_done_atom::value, std::move(why), pid);
    });
  }

  void on_ping(const std::string& err, int pid) {
    if (state_ != state::health_check)
      return;
    if (!err.empty()) {
      fail_startup("health check failed: " + err);
      return;
    }
    if (pid != pid_) {
      fail_startup(fmt::format("health check answered by pid {}, expected {}", pid, pid_));
      return;
    }
    // From here on, calls and their outcomes go through the port, off this
    // actor: the pool sends into it, gRPC's threads answer from it.
    port_ = std::make_shared<call_port>([me = me()](std::string why) {
      me.post(send_failed_atom::value, std::move(why));
    });
    auto cb = port_->callbacks(
      [me = me()](std::string why) { me.post(chan_closed_atom::value, std::move(why)); });
    if (auto err = conn_->open(std::move(cb))) {
      fail_startup(err->message());
      return;
    }
    report_tools();
    port_->attach(std::move(conn_));
    state_ = state::ready;
    auto pool = opts_.pool();
    if (!pool) {
      fail_startup("no pool to report to");
      return;
    }
    send(pool, worker_ready_atom::value,
         worker_hello{opts_.context.worker_id, caf::actor_cast<caf::actor>(this), pid_}, port_);
  }

  // The tool registry learns what this process offers; the answer goes
  // there straight from gRPC's thread, the worker does not wait for it.
  void report_tools() {
    auto registry = opts_.tools ? opts_.tools() : caf::actor{};
    if (!registry)
      return;
    conn_->describe_tools(opts_.health_timeout, [registry, adapter = opts_.adapter->name(),
                                                 module = opts_.context.module](
                                                  result<std::vector<tool_info>> r) {
      if (r)
        caf::anon_send(registry, python_tools_atom::value, adapter + ":" + module, std::move(*r));
    });
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
    auto msg = fmt::format("worker {} failed to start: {}", opts_.context.worker_id, why);
    if (!stderr_tail_.empty())
      msg += "; last stderr lines:" + stderr_tail();
    log(log_level::error, msg);
    if (auto pool = opts_.pool())
      send(pool, worker_failed_atom::value, opts_.context.worker_id,
           snakepit::error{errc::startup_failed, msg});
    exit_reason_ = caf::make_error(caf::sec::runtime_error, msg);
    state_ = state::stopping;
    brutal_ = true;
    wind_down();
  }

  // -- calls ------------------------------------------------------------------

  // An execute request (the pool itself sends through the port): the
  // outcome comes back to this actor, which answers the request.
  caf::result<call_outcome> execute(call c) {
    if (state_ != state::ready)
      return call_outcome::failed({state_ == state::stopping ? errc::shutting_down : errc::not_ready,
                                   fmt::format("worker {} is not ready", opts_.context.worker_id)});
    auto id = c.id;
    auto done = [me = me(), id](call_outcome o) {
      me.post(conn_outcome_atom::value, id, std::move(o));
    };
    if (auto err = port_->submit(std::move(c), std::move(done)))
      return call_outcome::failed(std::move(*err));
    auto rp = make_response_promise<call_outcome>();
    pending_.emplace(id, pending_call{rp});
    return rp;
  }

  void on_outcome(uint64_t id, call_outcome out) {
    auto it = pending_.find(id);
    if (it == pending_.end())
      return;
    auto p = std::move(it->second);
    pending_.erase(it);
    p.promise.deliver(std::move(out));
  }

  /// Every call held (in the port, or as an execute request) fails with
  /// `code`; the port refuses new ones.
  void fail_pending(errc code, const std::string& why) {
    for (auto& [id, p] : pending_)
      p.promise.deliver(call_outcome::failed({code, why}));
    pending_.clear();
    if (port_)
      port_->close(code, why);
  }

  /// Ends the connection now (whoever holds the port gets refusals).
  void drop_connection(errc code, const std::string& why) {
    conn_.reset();
    if (port_) {
      port_->close(code, why);
      auto c = port_->detach();
      c.reset();
    }
  }

  // -- endings ----------------------------------------------------------------

  void on_channel_closed(const std::string& why) {
    if (state_ != state::ready)
      return;
    // The stream ends on its own only when the process goes (or is about
    // to). Leave at once: while this worker stayed registered, the pool
    // would hand it call after call, each failing at once.
    crash(fmt::format("worker {} execute stream closed: {}", opts_.context.worker_id,
                      why.empty() ? "by the worker" : why));
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
    // A worker is not supposed to end on its own, even with code 0.
    crash(fmt::format("worker {} python process {}{}", opts_.context.worker_id, status,
                      clean ? " (unexpectedly)" : ""));
  }

  // The process died or its stream broke: answer every call held with
  // worker_crashed and exit abnormally, so the starter restarts this slot.
  void crash(std::string why) {
    log(log_level::warning, why);
    fail_pending(errc::worker_crashed, why);
    exit_reason_ = caf::make_error(caf::sec::runtime_error, why);
    state_ = state::stopping;
    // The group may still hold the process or grandchildren: kill it, but do
    // not wait here; the pool must see this worker gone at once, and the
    // slot's next worker waits until the old group is empty before it launches.
    // Even when the leader has already exited: its group may hold
    // grandchildren (the launcher keeps such lingering groups killable).
    if (pid_ > 0)
      if (auto l = opts_.launcher.lock())
        l->kill_group(pid_);
    finish_stop();
  }

  void begin_stop(caf::error reason) {
    if (state_ == state::stopping)
      return;
    state_ = state::stopping;
    exit_reason_ = std::move(reason);
    fail_pending(errc::shutting_down, fmt::format("worker {} is shutting down", opts_.context.worker_id));
    if (port_)
      port_->close_connection();
    else if (conn_)
      conn_->close();
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
      l->terminate(pid_, opts_.context.stop_grace, done);
  }

  void finish_stop() {
    drop_connection(errc::worker_crashed, fmt::format("worker {} is gone", opts_.context.worker_id));
    ::unlink(opts_.context.endpoint.c_str());
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
  std::unique_ptr<worker_connection> conn_;  // until ready; then the port holds it
  std::shared_ptr<call_port> port_;
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
  spec.id = options.context.worker_id;
  spec.restart = supervision::restart_type::permanent;
  // SIGTERM, the grace period, SIGKILL and the group check must fit.
  spec.shutdown = supervision::shutdown_spec::timeout(options.context.stop_grace + 5000ms);
  auto slot = std::make_shared<worker_slot>();
  slot->id = options.context.worker_id;
  spec.start = [options = std::move(options), slot](caf::actor_system& sys)
    -> caf::expected<caf::actor> { return spawn_worker(sys, options, slot); };
  return spec;
}

} // namespace detail
} // namespace snakepit
