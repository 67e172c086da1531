#include "context.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include <caf/all.hpp>

#include "proc_scan.hpp"

namespace snakepit::demos {

namespace {

using namespace std::chrono_literals;

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool gone_already(const snakepit::error& e) {
  return e.code() == errc::session_not_found || e.code() == errc::variable_not_found;
}

} // namespace

context::context(std::string demo_name, run_options options, caf::actor_system& actors,
                 std::string scratch_dir, std::FILE* out)
  : demo_name_(std::move(demo_name)),
    options_(options),
    actors_(actors),
    scratch_dir_(std::move(scratch_dir)),
    out_(out),
    in_(std::make_unique<internals>()) {}

context::~context() = default;

const json& context::result_of(const std::string& step) const {
  static const json none;
  auto i = in_->results.find(step);
  return i == in_->results.end() ? none : i->second;
}

void context::note(std::string line) {
  in_->notes.push_back(std::move(line));
}

void context::progress(std::size_t done, std::size_t total, std::string_view label) {
  if (!options_.live_progress || total == 0)
    return;
  constexpr std::size_t width = 24;
  std::size_t filled = std::min(width, done * width / total);
  std::string bar;
  for (std::size_t i = 0; i < width; ++i)
    bar += i < filled ? "█" : "░";
  fmt::print(out_, "\r\033[K      {} {}/{} {}", bar, done, total, label);
  std::fflush(out_);
  in_->progress_drawn = true;
}

snakepit::runtime& context::start_runtime(const std::function<void(snakepit::config&)>& tune) {
  snakepit::config cfg;
  cfg.pool_size = options_.pool_size;
  cfg.instance = "snakepit-demo";
  auto* log = &in_->runtime_log;
  auto verbose = options_.verbose;
  // Runtime warnings (a worker killed on purpose, ...) are kept for the
  // report, not printed over the demo's own output.
  cfg.log = [log, verbose](log_level level, const std::string& line) {
    if (level == log_level::warning || level == log_level::error) {
      if (verbose)
        fmt::print(stderr, "      [runtime] {}\n", line);
      log->push_back(line);
    }
  };
  if (tune)
    tune(cfg);
  auto rt = std::make_unique<snakepit::runtime>(cfg);
  auto* raw = rt.get();
  in_->runtimes.push_back(std::move(rt));
  const auto& run_id = raw->run_id();
  in_->run_ids.push_back(run_id);
  resource r;
  r.kind = "runtime";
  r.id = run_id;
  r.last = true;
  r.release = [raw]() -> snakepit::result<void> {
    raw->shutdown();
    return {};
  };
  r.alive = [run_id] { return !processes_with(run_id).empty(); };
  track(std::move(r));
  auto ready = raw->await_ready(std::chrono::seconds(30));
  if (!ready)
    throw step_failure("runtime did not start: " + ready.error().to_string());
  return *raw;
}

snakepit::runtime& context::rt() {
  if (in_->runtimes.empty())
    throw step_failure("no runtime: a step must call ctx.start_runtime() first");
  return *in_->runtimes.back();
}

std::string context::create_session(const std::string& prefix) {
  auto id = fmt::format("{}-{}-{}", prefix, ::getpid(), ++in_->session_counter);
  ok(rt().create_session(id), "create_session " + id);
  track_session(id);
  return id;
}

void context::track_session(const std::string& id) {
  auto* rt_ = &rt();
  resource r;
  r.kind = "session";
  r.id = id;
  r.release = [rt_, id]() -> snakepit::result<void> {
    auto closed = rt_->close_session(id);
    if (!closed && gone_already(closed.error()))
      return {};  // expired or closed by the demo itself
    return closed;
  };
  r.alive = [rt_, id] { return static_cast<bool>(rt_->session(id)); };
  track(std::move(r));
}

void context::track_variable(const std::string& session, const std::string& name) {
  auto* rt_ = &rt();
  resource r;
  r.kind = "variable";
  r.id = session + "/" + name;
  r.release = [rt_, session, name]() -> snakepit::result<void> {
    auto removed = rt_->delete_variable(session, name);
    if (!removed && (gone_already(removed.error()) || removed.error().code() == errc::invalid_state))
      return {};  // the session (and its variables) is gone or going
    return removed;
  };
  r.alive = [rt_, session, name] { return static_cast<bool>(rt_->get_variable(session, name)); };
  track(std::move(r));
}

void context::register_host_tool(snakepit::host_tool tool) {
  auto* rt_ = &rt();
  auto name = tool.name;
  ok(rt_->register_host_tool(std::move(tool)), "register_host_tool " + name);
  resource r;
  r.kind = "host_tool";
  r.id = name;
  r.release = [rt_, name] { return rt_->unregister_host_tool(name); };
  r.alive = [rt_, name] {
    for (auto& t : rt_->list_tools())
      if (t.from == tool_info::origin::host && t.name == name)
        return true;
    return false;
  };
  track(std::move(r));
}

std::string context::temp_file(const std::string& name, std::string_view content) {
  auto path = scratch_dir_ + "/" + name;
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!f)
      throw step_failure("cannot write " + path);
  }
  resource r;
  r.kind = "file";
  r.id = path;
  r.release = [path]() -> snakepit::result<void> {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return snakepit::error(errc::internal, "unlink " + path + ": " + std::strerror(errno));
    return {};
  };
  r.alive = [path] {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  };
  track(std::move(r));
  return path;
}

void context::track_actor(const caf::actor& actor, const std::string& label) {
  auto down = std::make_shared<std::atomic<bool>>(false);
  actor->attach_functor([down] { *down = true; });
  resource r;
  r.kind = "actor";
  r.id = label;
  caf::actor handle = actor;
  r.release = [handle, down]() -> snakepit::result<void> {
    if (*down)
      return {};
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    if (wait_for([&] { return down->load(); }, 3000ms))
      return {};
    caf::anon_send_exit(handle, caf::exit_reason::kill);
    if (wait_for([&] { return down->load(); }, 1000ms))
      return {};
    return snakepit::error(errc::timeout, "actor did not stop within 4 s");
  };
  r.alive = [down] { return !down->load(); };
  track(std::move(r));
}

std::map<std::string, std::shared_ptr<void>>& context::objects() {
  return in_->objects;
}

void context::track(resource r) {
  in_->resources.push_back(std::move(r));
}

json context::value(snakepit::result<json> r, std::string_view what) {
  if (!r)
    throw step_failure(fmt::format("{}: {}", what, r.error().to_string()));
  return std::move(r).value();
}

void context::ok(snakepit::result<void> r, std::string_view what) {
  if (!r)
    throw step_failure(fmt::format("{}: {}", what, r.error().to_string()));
}

void context::check(bool condition, std::string_view what) {
  if (!condition)
    throw step_failure(std::string(what));
}

} // namespace snakepit::demos
