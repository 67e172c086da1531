// transport/deadline_timer.cpp
#include "transport/deadline_timer.hpp"

namespace snakepit::transport {

deadline_timer::deadline_timer()
  : state_(std::make_shared<state>()), thread_([st = state_] { run(st); }) {}

deadline_timer::~deadline_timer() { stop(); }

deadline_timer::timer_id deadline_timer::schedule(clock::time_point when,
                                                  std::function<void()> fn) {
  timer_id id = 0;
  bool earliest = false;
  {
    std::lock_guard g{state_->mutex};
    if (state_->stopping)
      return 0;
    id = state_->next_id++;
    auto it = state_->due.emplace(std::pair{when, id}, std::move(fn)).first;
    state_->when.emplace(id, when);
    earliest = it == state_->due.begin() && when < state_->wakes_at;
  }
  if (earliest)
    state_->wake.notify_one();
  return id;
}

void deadline_timer::cancel(timer_id id) {
  std::function<void()> dropped; // destroyed after the lock is released
  std::lock_guard g{state_->mutex};
  auto it = state_->when.find(id);
  if (it == state_->when.end())
    return;
  auto entry = state_->due.find(std::pair{it->second, id});
  dropped = std::move(entry->second);
  state_->due.erase(entry);
  state_->when.erase(it);
}

void deadline_timer::stop() {
  decltype(state::due) dropped; // destroyed after the lock is released
  {
    std::lock_guard g{state_->mutex};
    if (state_->stopping)
      return;
    state_->stopping = true;
    dropped.swap(state_->due);
    state_->when.clear();
  }
  state_->wake.notify_one();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach(); // called from a callback: run() returns after it
    else
      thread_.join();
  }
}

std::size_t deadline_timer::pending() const {
  std::lock_guard g{state_->mutex};
  return state_->due.size();
}

void deadline_timer::run(const std::shared_ptr<state>& st) {
  std::unique_lock g{st->mutex};
  while (!st->stopping) {
    if (st->due.empty()) {
      st->wakes_at = clock::time_point::max();
      st->wake.wait(g);
      continue;
    }
    auto first = st->due.begin();
    if (first->first.first > clock::now()) {
      st->wakes_at = first->first.first;
      st->wake.wait_until(g, st->wakes_at);
      continue;
    }
    st->wakes_at = clock::time_point::min();
    auto fn = std::move(first->second);
    st->when.erase(first->first.second);
    st->due.erase(first);
    g.unlock();
    fn();         // outside the lock: it may schedule or cancel
    fn = nullptr; // release what it captured before taking the lock again
    g.lock();
  }
}

} // namespace snakepit::transport
