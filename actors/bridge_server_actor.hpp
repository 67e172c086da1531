#pragma once
// bridge_server: the actor in the tree that serves the host bridge (the gRPC
// service HostBridge that Python workers call back into, see
// transport/bridge_server.hpp) and answers its calls from the session store,
// the sessions and the tool registry.
//
// It starts the gRPC server on its own start (a Unix socket in the private
// runtime directory), stops it when it stops, and a restart serves the same
// address again (the workers' channels reconnect by themselves). gRPC threads
// never wait on an actor: each call becomes one message to this actor, which
// asks the store or the registry with `request(...).then` and completes the
// call from there.

#include <chrono>
#include <memory>
#include <string>

#include "actors/current_actor.hpp"
#include "actors/worker.hpp"
#include "supervision/child_spec.hpp"

namespace snakepit::detail {

struct bridge_actor_options {
  std::string address;                       // "unix:/run/dir/bridge.sock" or "127.0.0.1:0"
  std::shared_ptr<current_actor> store;      // the session store
  std::shared_ptr<current_actor> tools;      // the tool registry
  std::chrono::milliseconds request_deadline{10000};
  log_function log;
};

/// A permanent worker-kind child. Its start fails (start_failed, with the
/// transport's reason) when the server cannot listen.
supervision::child_spec bridge_server_child(bridge_actor_options options);

} // namespace snakepit::detail
