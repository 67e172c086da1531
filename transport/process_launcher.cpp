// transport/process_launcher.cpp — the launcher thread (a queue of launches
// and the fork/exec) in front of the I/O loop.
#include "transport/process_launcher.hpp"

#include "transport/process_io_loop.hpp"
#include "transport/process_spawn.hpp"

#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include <pthread.h>

namespace snakepit::transport {
namespace {

struct launch_job {
  process_spec spec;
  process_observer observer;
};

process_error stopped_error(const process_spec& spec) {
  return make_process_error(process_errc::launcher_stopped, {}, 0,
                            (spec.label.empty() ? std::string{} : spec.label + ": ")
                              + "not launched: the launcher is stopping");
}

} // namespace

struct process_launcher::impl {
  explicit impl(process_launcher_options opts) : options(std::move(opts)) {}

  process_launcher_options options;
  std::unique_ptr<process_io_loop> io;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<launch_job> queue;
  bool stopping = false;

  // Delivers a launch failure on the I/O thread (so every callback of every
  // process runs there), or here if the I/O loop is already closed.
  void fail(process_observer& observer, process_error error) {
    if (!observer.on_started)
      return;
    auto obs = std::make_shared<process_observer>(std::move(observer));
    auto err = std::make_shared<process_error>(std::move(error));
    std::function<void()> task = [obs, err] { obs->on_started(std::move(*err)); };
    if (!io->post(task))
      try {
        obs->on_started(std::move(*err));
      } catch (...) {
        io->diagnose("on_started threw");
      }
  }

  void run_job(launch_job& job) {
    // A child that was forked but could not be handed to the I/O loop (an
    // exception, i.e. out of memory) is killed and reaped, never left behind.
    std::optional<spawned_process> pending;
    std::shared_ptr<spawned_process> child;
    bool handed_over = false;
    auto discard = [&] {
      if (pending)
        discard_spawned_process(*pending);
      else if (child && !handed_over)
        discard_spawned_process(*child);
    };
    try {
      auto spawned = spawn_process(job.spec, options.exec_timeout);
      if (!spawned) {
        fail(job.observer, std::move(spawned).error());
        return;
      }
      pending.emplace(std::move(*spawned));
      child = std::make_shared<spawned_process>(std::move(*pending));
      pending.reset();
      io->adopt(child, job.spec.label, std::move(job.observer)); // throws only before posting
      handed_over = true;
    } catch (const std::exception& e) {
      discard();
      io->diagnose(std::string{"launch of '"} + job.spec.program + "' threw: " + e.what());
      fail(job.observer, make_process_error(process_errc::system_error, {}, 0,
                                            std::string{"launch threw: "} + e.what()));
    } catch (...) {
      discard();
      io->diagnose("launch of '" + job.spec.program + "' threw a non-standard exception");
      fail(job.observer, make_process_error(process_errc::system_error, {}, 0,
                                            "launch threw a non-standard exception"));
    }
  }

  void run() noexcept {
    for (;;) {
      launch_job job;
      bool cancelled = false;
      {
        std::unique_lock lock{mutex};
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty())
          return; // stopping, nothing left
        job = std::move(queue.front());
        queue.pop_front();
        cancelled = stopping;
      }
      try {
        if (cancelled)
          fail(job.observer, stopped_error(job.spec));
        else
          run_job(job);
      } catch (...) {
        io->diagnose("cannot report the outcome of a launch (out of memory?)");
      }
    }
  }
};

process_result<std::unique_ptr<process_launcher>>
process_launcher::create(process_launcher_options options) {
  auto state = std::make_unique<impl>(options);
  auto io = process_io_loop::create(std::move(options));
  if (!io)
    return std::move(io).error();
  state->io = std::move(*io);
  // The launcher thread blocks every signal: a fork happens with no handler
  // able to run in the child before it resets its dispositions.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    state->thread = std::thread([raw = state.get()] {
      ::pthread_setname_np(::pthread_self(), "snakepit-launch");
      raw->run();
    });
  } catch (const std::system_error& e) {
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return make_process_error(process_errc::system_error, "std::thread", e.code().value(),
                              "cannot start the launcher thread");
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return std::unique_ptr<process_launcher>(new process_launcher(std::move(state)));
}

process_launcher::process_launcher(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

process_launcher::~process_launcher() {
  // 1. No new forks; queued launches fail with launcher_stopped. Joining the
  //    launcher thread also fires every child's PDEATHSIG (SIGKILL).
  {
    std::lock_guard guard{impl_->mutex};
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable())
    impl_->thread.join();
  // 2. Kill every group, reap, deliver the last callbacks, join the I/O thread.
  impl_->io->shutdown();
}

void process_launcher::launch(process_spec spec, process_observer observer) {
  {
    std::lock_guard guard{impl_->mutex};
    if (!impl_->stopping) {
      impl_->queue.push_back({std::move(spec), std::move(observer)});
      impl_->wake.notify_one();
      return;
    }
  }
  if (observer.on_started)
    observer.on_started(stopped_error(spec));
}

void process_launcher::terminate(process_id pid, std::chrono::milliseconds grace,
                                 stop_callback on_stopped) {
  impl_->io->stop(pid, grace, false, std::move(on_stopped));
}

void process_launcher::kill_group(process_id pid, stop_callback on_stopped) {
  impl_->io->stop(pid, std::chrono::milliseconds{0}, true, std::move(on_stopped));
}

} // namespace snakepit::transport
