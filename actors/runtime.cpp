#include "actors/runtime.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>
#include <mutex>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/application_cleanup.hpp"
#include "actors/bridge_server_actor.hpp"
#include "actors/current_actor.hpp"
#include "actors/fast_lane.hpp"
#include "actors/grpc_python_adapter.hpp"
#include "actors/pool.hpp"
#include "actors/pool_error.hpp"
#include "actors/process_registry_actor.hpp"
#include "actors/session_client.hpp"
#include "actors/session_store.hpp"
#include "actors/tool_registry.hpp"
#include "actors/worker.hpp"
#include "actors/worker_protocol.hpp"
#include "supervision/blocking_calls.hpp"
#include "supervision/dynamic_supervisor.hpp"
#include "supervision/starter.hpp"
#include "supervision/supervision_error.hpp"
#include "supervision/supervisor.hpp"
#include "transport/boot_sweep.hpp"
#include "transport/caller_poll.hpp"
#include "transport/orphan_sweep.hpp"
#include "transport/process_launcher.hpp"
#include "transport/process_registry.hpp"

namespace snakepit {

namespace {

namespace sv = snakepit::supervision;
using namespace std::chrono_literals;

// Extra time a blocking caller waits beyond the call's own deadline: the pool
// answers `timeout` itself at the deadline, this only guards against a pool
// that is gone.
constexpr auto answer_slack = 2000ms;

std::string random_run_id() {
  std::random_device rd;
  std::mt19937_64 gen{(static_cast<uint64_t>(rd()) << 32) ^ rd()};
  return fmt::format("{:012x}", gen() & 0xffffffffffffULL);
}

std::vector<std::string> default_python_path() {
  std::error_code ec;
  if (std::filesystem::exists(SNAKEPIT_PYTHON_SOURCE_DIR "/snakepit_bridge", ec))
    return {SNAKEPIT_PYTHON_SOURCE_DIR, SNAKEPIT_PYTHON_GEN_DIR};
  return {SNAKEPIT_PYTHON_INSTALL_DIR};
}

void default_log(log_level level, const std::string& line) {
  if (level >= log_level::warning)
    std::fprintf(stderr, "snakepit %s: %s\n", to_string(level), line.c_str());
}

std::string default_data_dir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x)
    return std::string{x} + "/snakepit";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string{h} + "/.local/state/snakepit";
  return fmt::format("/tmp/snakepit-{}", ::getuid());
}

std::string instance_of(const config& c) {
  if (!c.instance.empty())
    return c.instance;
  if (const char* e = std::getenv("SNAKEPIT_INSTANCE"); e && *e)
    return e;
  return "default";
}

std::string registry_path(const config& c) {
  auto dir = c.data_dir.empty() ? default_data_dir() : c.data_dir;
  return dir + "/" + instance_of(c) + ".sqlite";
}

runtime::sweep_report to_report(const transport::sweep_result& r) {
  runtime::sweep_report out;
  out.ran = true;
  out.found = r.found;
  out.killed = r.killed;
  out.survived = r.survived;
  out.already_gone = r.already_gone;
  out.skipped_pid_reused = r.skipped_pid_reused;
  out.runtime_dirs_removed = r.runtime_dirs_removed;
  return out;
}

// The second net after the registry's sweep (boot and runtime::cleanup):
// orphans of dead hosts of the instance, found by their environment, added
// to `report`.
void sweep_by_environment(runtime::sweep_report& report, const config& cfg,
                          const std::string& current_run_id, const char* who) {
  transport::orphan_sweep_options oo;
  oo.grace = cfg.shutdown_grace;
  auto orphans = transport::sweep_orphans_by_environment(instance_of(cfg), current_run_id, oo);
  report.ran = true;
  report.found += orphans.found;
  report.found_by_environment = orphans.found;
  report.killed += orphans.killed;
  report.survived += orphans.survived;
  if (cfg.log)
    for (auto pid : orphans.killed_pids)
      cfg.log(log_level::warning,
              fmt::format("{}: killed process {} of a dead host of instance {} "
                          "(found by its environment)", who, pid, instance_of(cfg)));
}

caf::actor_system_config& configure(caf::actor_system_config& cfg, const config& c) {
  if (c.scheduler_policy == "stealing")
    cfg.set("scheduler.policy", caf::atom("stealing"));
  else
    cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  sv::register_error_category(cfg);
  return cfg;
}

} // namespace

struct runtime::impl {
  config cfg;
  std::string run_id;
  std::string host_identity = transport::current_host_identity();
  std::string dir;
  // Declared before the actor system: outlives every actor that records into it.
  std::shared_ptr<transport::process_registry> registry;
  runtime::sweep_report sweep;
  runtime::cleanup_report cleanup;  // written by application_cleanup, under cleanup_mx
  std::mutex cleanup_mx;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<transport::process_launcher> launcher;
  std::shared_ptr<detail::current_actor> pool = std::make_shared<detail::current_actor>();
  std::shared_ptr<detail::fast_lane> lane;  // null when config.fast_lane is off
  std::shared_ptr<detail::current_actor> registry_actor = std::make_shared<detail::current_actor>();
  std::shared_ptr<detail::current_actor> store = std::make_shared<detail::current_actor>();
  std::shared_ptr<detail::current_actor> tools = std::make_shared<detail::current_actor>();
  std::shared_ptr<detail::host_tool_table> tool_table = std::make_shared<detail::host_tool_table>();
  std::unique_ptr<detail::session_client> sessions;
  caf::actor tree;
  std::atomic<uint64_t> next_call_id{1};
  std::mutex stop_mx;
  bool stopped = false;
  std::optional<snakepit::error> fatal;  // set when the runtime could not start at all

  explicit impl(config c) : cfg(std::move(c)) {
    if (!cfg.log)
      cfg.log = default_log;
    if (cfg.python_path.empty())
      cfg.python_path = default_python_path();
    run_id = cfg.run_id.empty() ? random_run_id() : cfg.run_id;
    sys = std::make_unique<caf::actor_system>(configure(sys_cfg, cfg));
    sessions = std::make_unique<detail::session_client>(*sys, store, tools,
                                                        [this] { return not_usable(); });
    if (auto err = validate()) {
      fatal = std::move(*err);
      return;
    }
    if (auto err = make_runtime_dir()) {
      fatal = std::move(*err);
      return;
    }
    auto l = transport::process_launcher::create();
    if (!l) {
      fatal = snakepit::error{errc::startup_failed, transport::to_string(l.error())};
      return;
    }
    launcher = std::shared_ptr<transport::process_launcher>(std::move(*l));
    if (auto err = open_registry()) {
      fatal = std::move(*err);
      return;
    }
    run_boot_sweep();
    start_tree();
  }

  void emit(std::string name, std::map<std::string, double> measurements,
            std::map<std::string, std::string> metadata) const {
    if (!cfg.telemetry)
      return;
    telemetry_event ev;
    ev.name = std::move(name);
    ev.measurements = std::move(measurements);
    ev.metadata = std::move(metadata);
    ev.metadata.emplace("run_id", run_id);
    ev.metadata.emplace("instance", instance_of(cfg));
    cfg.telemetry(ev);
  }

  // The durable record of our processes, and the boot sweep of what earlier
  // runs of this instance left behind, before any worker starts.
  std::optional<snakepit::error> open_registry() {
    transport::registry_options ro;
    ro.on_warning = [log = cfg.log](const std::string& w) {
      log(log_level::warning, "process registry: " + w);
    };
    auto path = registry_path(cfg);
    auto reg = transport::process_registry::open(path, ro);
    if (!reg) {
      auto msg = fmt::format("cannot open the process registry {}: {}", path,
                             transport::to_string(reg.error()));
      if (!cfg.data_dir.empty())  // asked for explicitly: a configuration error
        return snakepit::error{errc::invalid_argument, msg};
      cfg.log(log_level::warning, msg + " (running without it)");
      return std::nullopt;
    }
    registry = std::shared_ptr<transport::process_registry>(std::move(*reg));
    if (auto& moved = registry->moved_aside_to())
      emit("snakepit.registry.moved_aside", {}, {{"path", path}, {"moved_to", *moved}});
    if (auto r = registry->begin_run(run_id, instance_of(cfg), ::getpid()); !r)
      cfg.log(log_level::warning, "process registry: " + transport::to_string(r.error()));
    else if (auto d = registry->record_runtime_dir(run_id, dir); !d)
      cfg.log(log_level::warning, "process registry: " + transport::to_string(d.error()));
    return std::nullopt;
  }

  // Before any worker starts: what earlier runs of this instance left
  // running. First by the registry's rows (pid, start time and run id must
  // all match), then by environment, which also finds what the registry lost
  // (a corrupt file moved aside, a registry that could not be opened).
  void run_boot_sweep() {
    if (!cfg.boot_sweep)
      return;
    auto began = std::chrono::steady_clock::now();
    if (registry) {
      transport::sweep_options so;
      so.grace = cfg.shutdown_grace;
      so.on_event = [log = cfg.log](const std::string& line) {
        log(log_level::warning, "boot sweep: " + line);
      };
      if (auto r = transport::boot_sweep(*registry, run_id, so))
        sweep = to_report(*r);
      else
        cfg.log(log_level::warning, "boot sweep: " + transport::to_string(r.error()));
    }
    sweep_by_environment(sweep, cfg, run_id, "boot sweep");
    std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - began;
    emit("snakepit.boot_sweep.done",
         {{"found", double(sweep.found)}, {"killed", double(sweep.killed)},
          {"survived", double(sweep.survived)}, {"already_gone", double(sweep.already_gone)},
          {"skipped_pid_reused", double(sweep.skipped_pid_reused)},
          {"found_by_environment", double(sweep.found_by_environment)},
          {"duration_ms", took.count()}},
         {});
    if (sweep.found > 0)
      cfg.log(log_level::warning,
              fmt::format("boot sweep: {} processes of earlier runs found, {} killed", sweep.found,
                          sweep.killed));
  }

  // After the tree has stopped (application_cleanup, the last actor down,
  // has reported by then): the run is over in the registry.
  void end_run() {
    if (registry) {
      (void) registry->end_run(run_id);
      (void) registry->prune();
    }
  }

  std::optional<snakepit::error> validate() const {
    auto bad = [](std::string msg) {
      return std::optional<snakepit::error>{snakepit::error{errc::invalid_argument, std::move(msg)}};
    };
    if (cfg.pool_size == 0)
      return bad("config.pool_size must be at least 1");
    if (cfg.adapter.empty())
      return bad("config.adapter is empty");
    if (::access(cfg.python.c_str(), X_OK) != 0)
      return bad(fmt::format("config.python '{}' is not an executable file: {}", cfg.python,
                             std::strerror(errno)));
    if (cfg.startup_timeout.count() <= 0 || cfg.call_timeout.count() <= 0
        || cfg.shutdown_grace.count() <= 0)
      return bad("config timeouts must be > 0 ms");
    if (cfg.max_queue == 0)
      return bad("config.max_queue must be at least 1");
    if (cfg.max_batch == 0 || cfg.max_batch_bytes == 0)
      return bad("config.max_batch and config.max_batch_bytes must be at least 1");
    if (cfg.max_in_flight_per_worker == 0)
      return bad("config.max_in_flight_per_worker must be at least 1");
    if (cfg.max_sessions == 0 || cfg.max_variables_per_session == 0)
      return bad("config.max_sessions and config.max_variables_per_session must be at least 1");
    if (cfg.session_ttl.count() <= 0 || cfg.session_reap_interval.count() <= 0
        || cfg.bridge_deadline.count() <= 0)
      return bad("config.session_ttl, session_reap_interval and bridge_deadline must be > 0 ms");
    std::set<std::string> tool_names;
    for (auto& t : cfg.host_tools) {
      if (auto ok = snakepit::validate(t); !ok)
        return ok.error();
      if (!tool_names.insert(t.name).second)
        return bad(fmt::format("config.host_tools names '{}' twice", t.name));
    }
    return std::nullopt;
  }

  std::optional<snakepit::error> make_runtime_dir() {
    std::string parent = cfg.runtime_parent;
    if (parent.empty()) {
      const char* xdg = std::getenv("XDG_RUNTIME_DIR");
      parent = xdg && *xdg && ::access(xdg, W_OK) == 0 ? xdg : "/tmp";
    }
    std::string templ = parent + "/snakepit-XXXXXX";
    if (!::mkdtemp(templ.data()))  // mkdtemp creates it with mode 0700
      return snakepit::error{errc::startup_failed,
                             fmt::format("cannot create runtime directory under {}: {}", parent,
                                         std::strerror(errno))};
    dir = templ;
    // A Unix socket path must fit in sun_path (108 bytes).
    if (dir.size() + 1 + 16 + 5 > 107)
      return snakepit::error{errc::invalid_argument,
                             fmt::format("runtime directory {} is too long for socket paths", dir)};
    return std::nullopt;
  }

  std::string bridge_address() const {
    return "unix:" + dir + "/bridge.sock";
  }

  // Every session event goes to the host's observer and, as
  // snakepit.session.<kind>, to telemetry.
  session_observer session_observer_for() const {
    return [this](const session_event& ev) {
      if (ev.kind == session_event_kind::terminated)
        if (auto p = pool->get())
          caf::anon_send(p, detail::forget_session_atom::value, ev.session_id);
      if (cfg.session_events)
        cfg.session_events(ev);
      if (cfg.telemetry) {
        std::map<std::string, std::string> meta{{"session_id", ev.session_id}};
        if (!ev.detail.empty())
          meta.emplace("detail", ev.detail);
        if (ev.error)
          meta.emplace("error", ev.error->to_string());
        emit(std::string{"snakepit.session."} + to_string(ev.kind), {}, std::move(meta));
      }
    };
  }

  detail::worker_options worker_options_for(std::size_t i) {
    detail::worker_options w;
    w.context.worker_id = fmt::format("worker-{}", i);
    w.context.run_id = run_id;
    w.context.endpoint = fmt::format("{}/w{}.sock", dir, i);
    w.context.tcp = cfg.transport == config::worker_transport::tcp_loopback;
    w.context.python = cfg.python;
    w.context.module = cfg.adapter;
    w.context.python_path = cfg.python_path;
    w.context.stop_grace = cfg.shutdown_grace;
    w.context.host_address = bridge_address();
    w.pool = [ref = pool] { return ref->get(); };
    w.launcher = launcher;
    if (registry)
      w.registry = [ref = registry_actor] { return ref->get(); };
    w.tools = [ref = tools] { return ref->get(); };
    w.adapter = cfg.worker_adapter ? cfg.worker_adapter : make_grpc_python_adapter();
    w.environment = {{std::string{transport::instance_variable}, instance_of(cfg)},
                     {std::string{transport::host_variable}, host_identity}};
    w.startup_timeout = cfg.startup_timeout;
    w.log = cfg.log;
    return w;
  }

  void start_tree() {
    auto observer = cfg.supervision_observer;
    pool_options popts;
    popts.size = cfg.pool_size;
    popts.max_queue = cfg.max_queue;
    popts.default_affinity = cfg.affinity;
    popts.observer = cfg.pool_events;
    popts.max_batch = cfg.max_batch;
    popts.max_batch_bytes = cfg.max_batch_bytes;
    popts.max_in_flight_per_worker = cfg.max_in_flight_per_worker;
    if (cfg.fast_lane) {
      lane = std::make_shared<detail::fast_lane>();
      popts.lane = lane;
    }

    sv::child_spec pool_spec;
    pool_spec.id = "pool";
    pool_spec.shutdown = sv::shutdown_spec::timeout(cfg.shutdown_grace + 5000ms);
    pool_spec.start = [popts, ref = pool](caf::actor_system& s) -> caf::expected<caf::actor> {
      auto p = spawn_pool(s, popts);
      if (p)
        ref->set(*p);
      return p;
    };

    // The worker supervisor starts with its slots: the start_child messages
    // are queued before anything else reaches it, and it acknowledges its
    // start only after handling them, so the slots exist once the tree is up
    // (and again after any restart of the supervisor).
    sv::dynamic_supervisor_flags wflags;
    wflags.name = "worker_supervisor";
    wflags.intensity = cfg.pool_restarts;
    wflags.max_children = cfg.pool_size;
    wflags.observer = observer;
    std::vector<sv::child_spec> slots;
    for (std::size_t i = 1; i <= cfg.pool_size; ++i) {
      sv::starter_options so;
      so.intensity = cfg.worker_restarts;
      so.observer = observer;
      auto wopts = worker_options_for(i);
      slots.push_back(sv::starter_child(wopts.context.worker_id, detail::worker_child_spec(wopts), so));
    }
    auto workers_spec = sv::dynamic_supervisor_child("worker_supervisor", wflags);
    auto spawn_dyn = workers_spec.start;
    workers_spec.start = [spawn_dyn, slots](caf::actor_system& s) -> caf::expected<caf::actor> {
      auto sup = spawn_dyn(s);
      if (sup)
        for (auto& slot : slots)
          caf::anon_send(*sup, sv::start_child_atom::value, slot);
      return sup;
    };

    sv::supervisor_flags app;
    app.name = "snakepit";
    app.strategy = sv::restart_strategy::rest_for_one;
    app.intensity = {3, 5000ms};
    app.observer = observer;
    detail::cleanup_options co;
    co.run_id = run_id;
    co.log = cfg.log;
    co.report = [this](const detail::cleanup_counts& c) {
      {
        std::lock_guard<std::mutex> guard{cleanup_mx};
        cleanup.ran = true;
        cleanup.orphans_found += c.orphans_found;
        cleanup.orphans_killed += c.orphans_killed;
      }
      emit("snakepit.cleanup.done",
           {{"orphans_found", double(c.orphans_found)}, {"orphans_killed", double(c.orphans_killed)}},
           {});
    };
    // First up, last down: it stops after every worker has stopped.
    std::vector<sv::child_spec> children{detail::application_cleanup_child(co)};
    if (registry) {
      detail::registry_actor_options ro;
      ro.registry = registry;
      ro.run_id = run_id;
      ro.log = cfg.log;
      auto spec = detail::process_registry_child(ro);
      spec.start = [start = spec.start, ref = registry_actor](caf::actor_system& s) {
        auto a = start(s);
        if (a)
          ref->set(*a);
        return a;
      };
      children.push_back(std::move(spec));
    }
    session_store_options so;
    so.max_sessions = cfg.max_sessions;
    so.ttl = cfg.session_ttl;
    so.reap_interval = cfg.session_reap_interval;
    so.max_variables = cfg.max_variables_per_session;
    so.session_restarts = cfg.session_restarts;
    so.observer = session_observer_for();
    so.supervision_observer = observer;
    children.push_back(sessions_child(so, store));
    for (auto& t : cfg.host_tools)
      tool_table->tools.emplace(t.name, t);
    auto tools_spec = detail::tool_registry_child(tool_table);
    tools_spec.start = [start = tools_spec.start, ref = tools](caf::actor_system& s) {
      auto a = start(s);
      if (a)
        ref->set(*a);
      return a;
    };
    children.push_back(tools_spec);
    detail::bridge_actor_options bo;
    bo.address = bridge_address();
    bo.store = store;
    bo.tools = tools;
    bo.request_deadline = cfg.bridge_deadline;
    bo.log = cfg.log;
    children.push_back(detail::bridge_server_child(bo));
    children.push_back(pool_spec);
    children.push_back(workers_spec);
    auto t = sv::start_supervisor(*sys, app, children, 10000ms);
    if (!t) {
      fatal = snakepit::error{errc::startup_failed, sv::describe(t.error())};
      return;
    }
    tree = *t;
  }

  caf::actor current_pool() const {
    return pool->get();
  }

  std::optional<snakepit::error> not_usable() {
    if (fatal)
      return fatal;
    std::lock_guard<std::mutex> guard{stop_mx};
    if (stopped)
      return snakepit::error{errc::shutting_down, "the runtime has been shut down"};
    return std::nullopt;
  }

  detail::pool_call make_call(const std::string& tool, json args, const call_options& o,
                              std::chrono::milliseconds& timeout) {
    timeout = o.timeout.value_or(cfg.call_timeout);
    detail::pool_call pc;
    pc.c.id = next_call_id++;
    pc.c.tool = tool;
    pc.c.args = std::move(args);
    pc.c.session_id = o.session_id;
    pc.c.deadline = std::chrono::steady_clock::now() + timeout;
    pc.c.metadata = o.metadata;
    pc.affinity = o.affinity.value_or(cfg.affinity);
    return pc;
  }

  // The cheap crossing: the call goes to the pool with a reply function
  // instead of a reply address, so no actor is created on the caller's side
  // and the outcome comes straight back from the pool's thread.
  void call_async(const std::string& tool, json args, const call_options& o,
                  std::function<void(result<json>)> done) {
    if (auto err = not_usable()) {
      done(*err);
      return;
    }
    if (!args.is_object() && !args.is_null()) {
      done(snakepit::error{errc::invalid_argument, "arguments must be a JSON object"});
      return;
    }
    std::chrono::milliseconds timeout;
    auto pc = make_call(tool, std::move(args), o, timeout);
    pc.reply = [done = std::move(done)](detail::call_outcome r) {
      if (r.value)
        done(std::move(*r.value));
      else
        done(std::move(r.error));
    };
    if (!pc.c.session_id.empty()) {
      dispatch_in_session(std::move(pc));
      return;
    }
    if (lane && lane->try_execute(pc.c, pc.reply))
      return;
    auto pool_handle = current_pool();
    if (!pool_handle) {
      pc.reply(detail::call_outcome::failed({errc::shutting_down, "the pool is gone"}));
      return;
    }
    caf::anon_send(pool_handle, detail::pool_execute_atom::value, std::move(pc));
  }

  // A call in a session first makes sure the session exists (created on
  // first use) and takes commands (not paused, not closing); the store
  // answers on its own thread, which then hands the call to the pool. The
  // time this takes counts against the call's deadline.
  void dispatch_in_session(detail::pool_call pc) {
    auto store_handle = store->get();
    if (!store_handle) {
      pc.reply(detail::call_outcome::failed({errc::shutting_down, "the session store is not running"}));
      return;
    }
    auto id = pc.c.session_id;
    auto held = std::make_shared<detail::pool_call>(std::move(pc));
    caf::anon_send(store_handle, store_ensure_atom::value, id,
                   ensure_done{[held, pool_ref = pool](result<void> ok) {
                     if (!ok) {
                       held->reply(detail::call_outcome::failed(ok.error()));
                       return;
                     }
                     auto p = pool_ref->get();
                     if (!p) {
                       held->reply(detail::call_outcome::failed({errc::shutting_down, "the pool is gone"}));
                       return;
                     }
                     caf::anon_send(p, detail::pool_execute_atom::value, std::move(*held));
                   }});
  }

  /// A synchronous caller reading its call's stream: whoever answers the
  /// call on another thread wakes it.
  struct polling_caller {
    std::mutex mx;
    std::shared_ptr<transport::polled_connection> connection;
    std::thread::id thread;

    void attach(std::shared_ptr<transport::polled_connection> c) {
      std::lock_guard<std::mutex> guard{mx};
      connection = std::move(c);
      thread = std::this_thread::get_id();
    }
    void answered() {
      std::shared_ptr<transport::polled_connection> c;
      {
        std::lock_guard<std::mutex> guard{mx};
        if (thread != std::this_thread::get_id())
          c = connection;
      }
      if (c)
        c->kick();
    }
  };

  std::future<result<json>> call_future(const std::string& tool, json args,
                                        const call_options& o) {
    auto promise = std::make_shared<std::promise<result<json>>>();
    auto future = promise->get_future();
    call_async(tool, std::move(args), o,
               [promise](result<json> r) { promise->set_value(std::move(r)); });
    return future;
  }

  result<json> call(const std::string& tool, json args, const call_options& o) {
    auto timeout = o.timeout.value_or(cfg.call_timeout);
    const auto give_up = std::chrono::steady_clock::now() + timeout + answer_slack;
    auto promise = std::make_shared<std::promise<result<json>>>();
    auto future = promise->get_future();
    auto poller = std::make_shared<polling_caller>();
    {
      // This thread offers to read the call's stream itself while it waits
      // (transport/caller_poll.hpp): no thread handoff for the outcome.
      transport::caller_poll_offer offer;
      call_async(tool, std::move(args), o, [promise, poller](result<json> r) {
        promise->set_value(std::move(r));
        poller->answered();
      });
      offer.withdraw();
      if (auto& connection = offer.taken()) {
        poller->attach(connection);
        connection->poll_until(
          [&] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
          give_up);
      }
    }
    // The pool answers `timeout` itself at the deadline; the slack only
    // guards against a pool that vanished without answering.
    if (future.wait_until(give_up) != std::future_status::ready)
      return snakepit::error{errc::timeout, "no outcome from the pool"};
    try {
      return future.get();
    } catch (const std::future_error&) {  // the pool went away with the call
      return snakepit::error{errc::shutting_down, "the pool stopped before answering"};
    }
  }

  result<void> stream(const std::string& tool, json args,
                      const std::function<bool(const json&)>& on_chunk, const call_options& o) {
    if (auto err = not_usable())
      return *err;
    if (!o.session_id.empty())
      if (auto ok = sessions->ensure(o.session_id); !ok)
        return ok.error();
    std::chrono::milliseconds timeout;
    auto pc = make_call(tool, std::move(args), o, timeout);
    caf::scoped_actor self{*sys};
    pc.c.stream_sink = caf::actor_cast<caf::actor>(self);
    auto id = pc.c.id;
    auto pool_handle = current_pool();
    // A plain send: the pool's answer comes back as an ordinary message, so
    // chunks and the outcome are received in order by one loop.
    self->send(pool_handle, detail::pool_execute_atom::value, std::move(pc));
    bool done = false;
    bool stopped_early = false;
    result<void> out;
    auto deadline = std::chrono::steady_clock::now() + timeout + answer_slack;
    while (!done) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        out = snakepit::error{errc::timeout, "no outcome from the pool"};
        break;
      }
      self->receive(
        [&](detail::chunk_atom, uint64_t cid, json& chunk) {
          if (cid != id || stopped_early)
            return;
          if (!on_chunk(chunk)) {
            stopped_early = true;
            self->send(pool_handle, detail::cancel_call_atom::value, id);
          }
        },
        [&](detail::call_outcome& r) {
          done = true;
          if (!r.value && !(stopped_early && r.error.code() == errc::cancelled))
            out = std::move(r.error);
        },
        [&](caf::error& e) {
          done = true;
          out = from_caf_error(e);
        },
        caf::after(left) >> [&] {});
    }
    return out;
  }

  result<void> await_ready(std::chrono::milliseconds timeout) {
    if (auto err = not_usable())
      return *err;
    caf::scoped_actor self{*sys};
    result<void> out;
    self->request(current_pool(), timeout + answer_slack, detail::await_ready_atom::value, timeout)
      .receive([](caf::ok_atom) {}, [&](caf::error& e) { out = from_caf_error(e); });
    if (!out && out.error().code() == errc::startup_failed) {
      // A worker that cannot start will not start on a retry either (bad
      // interpreter, adapter that does not import): stop the tree rather
      // than let it crash-loop, and keep the reason for every later call.
      fatal = out.error();
      stop_tree();
    }
    return out;
  }

  pool_stats stats() {
    if (not_usable())
      return {};
    caf::scoped_actor self{*sys};
    pool_stats out;
    self->request(current_pool(), 5000ms, detail::pool_stats_atom::value)
      .receive([&](pool_stats& s) { out = s; }, [](caf::error&) {});
    return out;
  }

  std::vector<worker_info> list_workers() {
    if (not_usable())
      return {};
    caf::scoped_actor self{*sys};
    std::vector<worker_info> out;
    self->request(current_pool(), 5000ms, detail::list_workers_atom::value)
      .receive([&](std::vector<worker_info>& w) { out = std::move(w); }, [](caf::error&) {});
    return out;
  }

  void stop_tree() {
    if (!tree)
      return;
    // Workers take up to the grace period plus the group check; the tree
    // stops them concurrently.
    auto limit = cfg.shutdown_grace + 15000ms;
    auto ended = sv::stop_and_wait(*sys, tree, limit);
    if (!ended)
      cfg.log(log_level::error, "supervision tree did not stop in time: "
                                  + sv::describe(ended.error()));
    tree = nullptr;
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> guard{stop_mx};
      if (stopped)
        return;
      stopped = true;
    }
    stop_tree();
    end_run();
    // The launcher kills and reaps anything still running, then joins its threads.
    launcher.reset();
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

runtime::runtime(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

runtime::~runtime() {
  shutdown();
}

result<void> runtime::await_ready(std::chrono::milliseconds timeout) {
  return impl_->await_ready(timeout);
}

result<json> runtime::execute(const std::string& tool, json args, call_options options) {
  return impl_->call(tool, std::move(args), options);
}

result<json> runtime::execute_in_session(const std::string& session_id, const std::string& tool,
                                         json args, call_options options) {
  options.session_id = session_id;
  return impl_->call(tool, std::move(args), options);
}

std::future<result<json>> runtime::execute_async(const std::string& tool, json args,
                                                 call_options options) {
  return impl_->call_future(tool, std::move(args), options);
}

void runtime::execute_async(const std::string& tool, json args,
                            std::function<void(result<json>)> done, call_options options) {
  impl_->call_async(tool, std::move(args), options, std::move(done));
}

result<void> runtime::stream(const std::string& tool, json args,
                             std::function<bool(const json&)> on_chunk, call_options options) {
  return impl_->stream(tool, std::move(args), on_chunk, options);
}

result<void> runtime::create_session(const std::string& id) {
  return impl_->sessions->create(id);
}
result<session_info> runtime::session(const std::string& id) {
  return impl_->sessions->info(id);
}
std::vector<std::string> runtime::list_sessions() {
  return impl_->sessions->list();
}
result<void> runtime::pause_session(const std::string& id) {
  return impl_->sessions->pause(id);
}
result<void> runtime::resume_session(const std::string& id) {
  return impl_->sessions->resume(id);
}
result<void> runtime::close_session(const std::string& id) {
  return impl_->sessions->close(id);
}
result<variable> runtime::register_variable(const std::string& session, std::string name,
                                            variable_type type, json value,
                                            variable_constraints constraints) {
  return impl_->sessions->register_variable(
    session, {std::move(name), type, std::move(value), std::move(constraints)});
}
result<variable> runtime::get_variable(const std::string& session, std::string name) {
  return impl_->sessions->get(session, std::move(name));
}
result<variable> runtime::set_variable(const std::string& session, std::string name, json value,
                                       std::optional<uint64_t> expected_version) {
  return impl_->sessions->set(session, {std::move(name), std::move(value), expected_version});
}
result<variable> runtime::increment_variable(const std::string& session, std::string name,
                                             json delta) {
  return impl_->sessions->increment(session, {std::move(name), std::move(delta)});
}
result<void> runtime::delete_variable(const std::string& session, std::string name) {
  return impl_->sessions->remove(session, std::move(name));
}
result<std::vector<variable>> runtime::list_variables(const std::string& session) {
  return impl_->sessions->list_variables(session);
}
result<std::vector<variable>> runtime::get_variables(const std::string& session,
                                                     std::vector<std::string> names) {
  return impl_->sessions->get_many(session, std::move(names));
}
result<std::vector<variable>>
runtime::set_variables(const std::string& session, std::vector<std::pair<std::string, json>> writes) {
  return impl_->sessions->set_many(session, {std::move(writes)});
}
result<runtime::subscription>
runtime::subscribe(const std::string& session, std::function<void(const session_event&)> on_event) {
  return impl_->sessions->subscribe(session, std::move(on_event));
}
result<void> runtime::register_host_tool(host_tool tool) {
  return impl_->sessions->register_tool(std::move(tool));
}
result<void> runtime::unregister_host_tool(const std::string& name) {
  return impl_->sessions->unregister_tool(name);
}
std::vector<tool_info> runtime::list_tools() {
  return impl_->sessions->list_tools();
}

pool_stats runtime::stats() {
  return impl_->stats();
}

std::vector<worker_info> runtime::list_workers() {
  return impl_->list_workers();
}

void runtime::shutdown() {
  impl_->shutdown();
}

const std::string& runtime::run_id() const {
  return impl_->run_id;
}

const std::string& runtime::runtime_dir() const {
  return impl_->dir;
}

const runtime::sweep_report& runtime::boot_sweep() const {
  return impl_->sweep;
}

const runtime::cleanup_report& runtime::last_cleanup() const {
  std::lock_guard<std::mutex> guard{impl_->cleanup_mx};
  return impl_->cleanup;
}

result<runtime::sweep_report> runtime::cleanup(const config& cfg) {
  auto path = registry_path(cfg);
  auto reg = transport::process_registry::open(path);
  if (!reg)
    return snakepit::error{errc::invalid_argument,
                           fmt::format("cannot open the process registry {}: {}", path,
                                       transport::to_string(reg.error()))};
  transport::sweep_options so;
  so.grace = cfg.shutdown_grace;
  if (cfg.log)
    so.on_event = [log = cfg.log](const std::string& line) { log(log_level::warning, "cleanup: " + line); };
  // A run id no run has: every earlier run of the instance is swept.
  auto r = transport::boot_sweep(**reg, "cleanup-" + random_run_id(), so);
  if (!r)
    return snakepit::error{errc::internal, transport::to_string(r.error())};
  auto report = to_report(*r);
  sweep_by_environment(report, cfg, "", "cleanup");
  return report;
}

caf::actor_system& runtime::system() {
  return *impl_->sys;
}

caf::actor runtime::supervision_tree() const {
  return impl_->tree;
}

} // namespace snakepit
