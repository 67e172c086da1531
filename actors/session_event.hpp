#pragma once
// Every lifecycle step and command of a session, reported to the observer in
// its options and to each subscribed actor (DESIGN rule 9: observable).

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "actors/error.hpp"

namespace snakepit {

enum class session_event_kind {
  created,            // the actor started (state initializing)
  activated,          // initializing → active
  paused,             // active → paused
  resumed,            // paused → active
  command_processed,  // a command ran while active (detail: "set temperature"), even if the
                      // store refused it (then an error event follows)
  error,              // a request was refused (error says why); nothing changed
  expired,            // the reaper expired it: cleanup follows
  terminated,         // cleanup done, variables gone; the actor exits next (detail: why)
};

const char* to_string(session_event_kind k);

struct session_event {
  std::string session_id;
  session_event_kind kind = session_event_kind::created;
  std::string detail;                  // what happened, for humans
  std::optional<snakepit::error> error;  // set for kind error
  std::chrono::system_clock::time_point timestamp{};  // from the session's clock
};

/// "session s1 paused" / "session s1 error: invalid_state: session s1 is paused".
std::string to_string(const session_event& ev);

/// Called synchronously on the session's thread: keep it quick and
/// thread-safe (many sessions report at once).
using session_observer = std::function<void(const session_event&)>;

} // namespace snakepit
