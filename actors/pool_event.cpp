#include "actors/pool_event.hpp"

#include <fmt/format.h>

namespace snakepit {

const char* to_string(pool_event_kind k) {
  switch (k) {
    case pool_event_kind::worker_ready: return "worker_ready";
    case pool_event_kind::worker_failed: return "worker_failed";
    case pool_event_kind::worker_down: return "worker_down";
    case pool_event_kind::call_queued: return "call_queued";
    case pool_event_kind::call_dispatched: return "call_dispatched";
    case pool_event_kind::call_done: return "call_done";
    case pool_event_kind::call_failed: return "call_failed";
    case pool_event_kind::queue_timeout: return "queue_timeout";
    case pool_event_kind::batch_dispatched: return "batch_dispatched";
  }
  return "?";
}

std::string to_string(const pool_event& ev) {
  std::string out = to_string(ev.kind);
  if (!ev.worker_id.empty())
    out += fmt::format(" worker={}", ev.worker_id);
  if (ev.call_id != 0)
    out += fmt::format(" call={}", ev.call_id);
  if (ev.queue_time.count() != 0)
    out += fmt::format(" queued_us={}", ev.queue_time.count());
  if (ev.run_time.count() != 0)
    out += fmt::format(" run_us={}", ev.run_time.count());
  if (ev.error)
    out += fmt::format(" error={}", ev.error->to_string());
  if (!ev.detail.empty())
    out += fmt::format(" detail={}", ev.detail);
  return out;
}

} // namespace snakepit
