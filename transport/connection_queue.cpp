#include "transport/connection_queue.hpp"

#include "transport/standby_poller.hpp"

#include <pthread.h>

#include <thread>
#include <utility>

namespace snakepit::transport {

// What acquire() hands out: the queue, stopped when the last holder lets go.
// The helper thread holds the queue itself (not a lease), so it outlives the
// stop by as long as the drain takes; a stop may run on the helper thread
// (a connection's last completion releases it there).
class connection_queue::lease {
public:
  explicit lease(std::shared_ptr<connection_queue> q) : queue(std::move(q)) {}
  ~lease() { queue->stop(); }
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  std::shared_ptr<connection_queue> queue;
};

namespace {

struct registry {
  std::mutex mutex;
  std::weak_ptr<connection_queue> current;
};

// Never destroyed: connections of a host that is exiting may still let go.
registry& the_registry() {
  static auto* r = new registry;
  return *r;
}

} // namespace

std::shared_ptr<connection_queue> connection_queue::acquire() {
  auto& r = the_registry();
  std::lock_guard guard{r.mutex};
  if (auto q = r.current.lock())
    return q;
  auto queue = std::make_shared<connection_queue>();
  std::thread{[queue] { queue->help(); }}.detach();
  auto held = std::make_shared<lease>(queue);
  std::shared_ptr<connection_queue> out{held, held->queue.get()};
  r.current = out;
  return out;
}

connection_queue::connection_queue() { kick_done_.queue = this; }

connection_queue::~connection_queue() = default;

void connection_queue::stop() {
  {
    std::lock_guard guard{mutex_};
    stopping_ = true;
    // Nothing posts on the queue any more: every holder is gone.
    cq_.Shutdown();
  }
  helper_wake_.notify_one();
}

void connection_queue::add_work() {
  bool wake = false;
  {
    std::lock_guard guard{mutex_};
    wake = ++work_ == 1 && reader_ == reader::none;
  }
  if (wake)
    helper_wake_.notify_one();
}

void connection_queue::remove_work() {
  std::lock_guard guard{mutex_};
  --work_;
}

bool connection_queue::take_for_caller() {
  std::lock_guard guard{mutex_};
  if (reader_ != reader::none)
    return false;
  reader_ = reader::caller;
  return true;
}

void connection_queue::help() {
  // Named for ps/perf (it would inherit its creator's name).
  ::pthread_setname_np(::pthread_self(), "sp-connections");
  std::unique_lock lock{mutex_};
  while (true) {
    helper_wake_.wait(lock,
                      [&] { return stopping_ || (reader_ == reader::none && work_ > 0); });
    if (stopping_)
      break;
    reader_ = reader::helper;
    do {
      lock.unlock();
      void* t = nullptr;
      bool ok = false;
      bool got = false;
      {
        const polling_scope polling;  // not around complete(): a slow callback does not poll
        got = cq_.Next(&t, &ok);
      }
      if (got)
        static_cast<completion*>(t)->complete(ok);
      lock.lock();
      if (!got)
        return;  // shut down and drained
    } while (work_ > 0 && !stopping_);
    reader_ = reader::none;
  }
  lock.unlock();
  // Stopped: what is left is the kick alarm at most.
  void* t = nullptr;
  bool ok = false;
  while (cq_.Next(&t, &ok))
    static_cast<completion*>(t)->complete(ok);
}

void connection_queue::poll_until(const std::function<bool()>& done,
                                  std::chrono::steady_clock::time_point deadline) {
  const auto until = std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                       deadline - std::chrono::steady_clock::now());
  while (!done()) {
    void* t = nullptr;
    bool ok = false;
    grpc::CompletionQueue::NextStatus status;
    {
      const polling_scope polling;  // not around complete(): a slow callback does not poll
      status = cq_.AsyncNext(&t, &ok, until);
    }
    if (status != grpc::CompletionQueue::GOT_EVENT)
      break;  // the deadline (the queue is not shut down while a caller holds it)
    static_cast<completion*>(t)->complete(ok);
  }
  bool wake = false;
  {
    std::lock_guard guard{mutex_};
    reader_ = reader::none;
    wake = work_ > 0;
  }
  if (wake)
    helper_wake_.notify_one();
}

void connection_queue::kick() {
  std::lock_guard guard{mutex_};
  // Set under the lock, so the queue cannot be shut down meanwhile.
  if (reader_ != reader::caller || kick_pending_ || stopping_)
    return;
  kick_pending_ = true;
  ++work_;  // its completion must be read, by the caller or the helper
  kick_.Set(&cq_, gpr_now(GPR_CLOCK_MONOTONIC), &kick_done_);
}

void connection_queue::kick_completion::complete(bool) {
  std::lock_guard guard{queue->mutex_};
  queue->kick_pending_ = false;
  --queue->work_;
}

} // namespace snakepit::transport
