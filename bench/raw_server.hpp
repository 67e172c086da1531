#pragma once
// bench/raw_server.hpp — the raw anchor's worker: the same Python gRPC
// server the runtime starts (`python3 -m snakepit_bridge.server ...
// --ready-fd 3`), started with fork/exec from this thread, with no runtime
// around it. Each one leads its own process group and gets PR_SET_PDEATHSIG;
// the destructor SIGKILLs the group and reaps the leader, so every path out
// of a figure (errors included) leaves nothing behind.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "bench/bench_options.hpp"

namespace snakepit::bench {

class raw_server {
public:
  /// Starts `python -m snakepit_bridge.server` listening on
  /// unix:<dir>/<name>.sock, stderr to <dir>/<name>.log. Returns once the
  /// process exists (not ready yet). Throws bench_error. Call from a thread
  /// that lives as long as the server (the death signal follows the thread).
  static raw_server start(const bench_options& opts, const std::string& name);

  raw_server() = default;
  raw_server(raw_server&& other) noexcept;
  raw_server& operator=(raw_server&& other) noexcept;
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;
  ~raw_server();

  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }
  /// "unix:/tmp/spb-XXXXXX/NAME.sock"
  std::string address() const { return "unix:" + socket_path_; }

  /// SIGKILL to the group, reap the leader, remove the socket. Idempotent.
  void kill_and_reap();

  /// Waits until every server has written its READY line (or throws with the
  /// failing server's stderr tail, or on timeout).
  static void wait_all_ready(std::vector<raw_server*> servers, std::chrono::milliseconds timeout);
  void wait_ready(std::chrono::milliseconds timeout) { wait_all_ready({this}, timeout); }

private:
  std::string stderr_tail() const;
  /// After the ready pipe closed: how the process ended (reaps it if it did
  /// within a second).
  std::string reap_briefly();
  void close_ready_fd();

  pid_t pid_ = -1;
  int ready_fd_ = -1;
  bool ready_ = false;
  std::string buffer_;  // what the ready pipe delivered so far
  std::string socket_path_;
  std::string log_path_;
};

/// Starts n servers named <prefix>1..<prefix>n at once and waits for all.
std::vector<raw_server> start_ready_servers(const bench_options& opts, const std::string& prefix,
                                            int n, std::chrono::milliseconds timeout);

} // namespace snakepit::bench
