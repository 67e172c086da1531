#pragma once
// process_registry: the actor in the tree through which workers record their
// processes in the durable registry (transport/process_registry.hpp). It runs
// on its own thread (detached): every message is an SQLite statement, which
// does disk I/O and must not hold a scheduler thread (DESIGN rule 2).
//
// The runtime opens the registry and runs the boot sweep before the tree
// starts, and ends the run after the tree has stopped; while the tree runs,
// this actor is the registry's only user. A restart of the actor re-wraps the
// same open connection.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/atom.hpp>

#include "actors/worker.hpp"
#include "supervision/child_spec.hpp"

namespace snakepit::transport {
class process_registry;
}

namespace snakepit::detail {

/// (reserve, worker_id, command_line) → int64_t row: before a spawn.
using registry_reserve_atom = caf::atom_constant<caf::atom("rg_reserve")>;
/// (complete, row, pid, pgid, start_ticks): after the spawn succeeded.
using registry_complete_atom = caf::atom_constant<caf::atom("rg_complet")>;
/// (exited, row, description): the process was reaped or never started.
using registry_exited_atom = caf::atom_constant<caf::atom("rg_exited")>;

struct registry_actor_options {
  std::shared_ptr<transport::process_registry> registry;  // open, run begun
  std::string run_id;
  log_function log;
};

/// A permanent worker-kind child spec.
supervision::child_spec process_registry_child(registry_actor_options options);

} // namespace snakepit::detail
