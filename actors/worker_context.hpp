#pragma once
// What an adapter knows about the worker slot it serves, and what the
// worker actor itself is told about that slot's process.

#include <chrono>
#include <string>
#include <vector>

namespace snakepit {

struct worker_context {
  std::string worker_id;                 // the slot id, e.g. "worker-1"
  std::string run_id;                    // must appear on the process's command line
  std::string endpoint;                  // a private path for this slot (e.g. a socket)
  bool tcp = false;                      // listen on loopback TCP instead of `endpoint`
  std::string python = "/usr/bin/python3";  // interpreter (for Python adapters)
  std::string module;                    // what to run (config.adapter)
  std::vector<std::string> python_path;  // for Python adapters
  std::chrono::milliseconds stop_grace{2000};
  std::string host_address;              // the host bridge the process may call ("unix:PATH"); empty: none
};

} // namespace snakepit
