#include "transport/standby_poller.hpp"

#include <grpcpp/alarm.h>
#include <grpcpp/completion_queue.h>

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace snakepit::transport {

namespace {

class standby_impl;

// What the polling threads and the standby tell each other. Never destroyed:
// threads of a host that is exiting may still enter a scope.
struct presence {
  std::atomic<int> active{0};
  std::atomic<std::uint64_t> entries{0};
  std::atomic<bool> standby_polling{false};
  std::mutex mutex; // guards `standby`
  std::weak_ptr<standby_impl> standby;
};

presence& the_presence() {
  static auto* p = new presence;
  return *p;
}

void* const kick_tag = reinterpret_cast<void*>(std::uintptr_t{1});

class standby_impl final : public standby_poller {
public:
  standby_impl() { thread_ = std::thread([this] { run(); }); }

  ~standby_impl() override {
    {
      std::lock_guard g{mutex_};
      stop_ = true;
      kick_locked();
    }
    wake_.notify_all();
    thread_.join();
    cq_.Shutdown();
    void* t = nullptr;
    bool ok = false;
    while (cq_.Next(&t, &ok)) {
    }
  }

  void kick() {
    std::lock_guard g{mutex_};
    kick_locked();
  }

private:
  void kick_locked() {
    if (polling_ && !kick_pending_) {
      kick_pending_ = true;
      alarm_.Set(&cq_, std::chrono::system_clock::now(), kick_tag);
    }
  }

  void run() {
    ::pthread_setname_np(::pthread_self(), "sp-standby");
    auto& p = the_presence();
    std::unique_lock lock{mutex_};
    std::uint64_t seen = ~std::uint64_t{0};
    while (!stop_) {
      // Quiet: nobody polls now, and nobody started to since the last look.
      const auto entries = p.entries.load();
      const bool quiet = p.active.load() == 0 && entries == seen;
      seen = entries;
      if (!quiet) {
        wake_.wait_for(lock, quiet_period, [&] { return stop_; });
        continue;
      }
      polling_ = true;
      p.standby_polling.store(true);
      // A scope entered between the look and the flag did not see the flag.
      if (p.active.load() != 0 || p.entries.load() != entries) {
        polling_ = false;
        p.standby_polling.store(false);
        continue;
      }
      lock.unlock();
      while (true) {
        void* t = nullptr;
        bool ok = false;
        const auto r =
          cq_.AsyncNext(&t, &ok, std::chrono::system_clock::now() + std::chrono::seconds(1));
        if (r != grpc::CompletionQueue::TIMEOUT)
          break; // the kick (nothing else is posted here)
      }
      lock.lock();
      polling_ = false;
      kick_pending_ = false;
      p.standby_polling.store(false);
      seen = ~std::uint64_t{0};
    }
  }

  grpc::CompletionQueue cq_; // polled only by the standby; declared before alarm_
  grpc::Alarm alarm_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool polling_ = false;
  bool kick_pending_ = false;
  std::thread thread_;
};

void kick_standby(presence& p) {
  std::shared_ptr<standby_impl> s;
  {
    std::lock_guard g{p.mutex};
    s = p.standby.lock();
  }
  if (s)
    s->kick();
}

} // namespace

polling_scope::polling_scope() {
  auto& p = the_presence();
  p.active.fetch_add(1);
  p.entries.fetch_add(1);
  if (p.standby_polling.load())
    kick_standby(p);
}

polling_scope::~polling_scope() { the_presence().active.fetch_sub(1); }

bool standby_poller::needed() {
  const char* env = std::getenv("GRPC_POLL_STRATEGY");
  if (env == nullptr || *env == '\0')
    return true;
  const std::string first = std::string{env}.substr(0, std::string{env}.find(','));
  return first == "epoll1" || first == "all";
}

std::shared_ptr<standby_poller> standby_poller::acquire() {
  auto& p = the_presence();
  std::lock_guard g{p.mutex};
  if (auto s = p.standby.lock())
    return s;
  auto s = std::make_shared<standby_impl>();
  p.standby = s;
  return s;
}

} // namespace snakepit::transport
