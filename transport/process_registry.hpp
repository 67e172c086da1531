// transport/process_registry.hpp — the durable record of every OS process a
// host spawns: one SQLite database per instance (WAL mode), read at the next
// boot to find what an earlier run left behind. CAF-free.
#pragma once

#include "transport/process_id.hpp"
#include "transport/process_registry_error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace snakepit::transport {

/// How to open a registry.
struct registry_options {
  /// How long a statement waits for a lock held by another connection
  /// (another process opening the same file) before failing with SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{2000};
  /// Receives one line per problem the registry recovered from on its own
  /// (a corrupt file moved aside, ...). May be empty. Called on the caller's
  /// thread, inside open().
  std::function<void(const std::string&)> on_warning;
};

/// One run of a host (a fresh run id per start).
struct run_record {
  std::string run_id;
  std::string instance;
  process_id host_pid = 0;
  /// The host's start time (/proc/PID/stat field 22) read at begin_run, so a
  /// later boot can tell whether that host is still alive.
  std::optional<std::uint64_t> host_start_ticks;
  std::int64_t started_at_ms = 0; ///< unix time, milliseconds
  std::optional<std::int64_t> ended_at_ms; ///< set by end_run(): the run finished
  /// The host's private runtime directory (sockets), if it recorded one: a
  /// host killed with SIGKILL cannot remove it, so the sweep that ends the
  /// run does.
  std::optional<std::string> runtime_dir;
};

/// One spawned (or about to be spawned) process.
struct process_record {
  std::int64_t id = 0; ///< the row id returned by reserve()
  std::string run_id;
  std::string worker_id;
  std::string command_line;
  std::int64_t reserved_at_ms = 0;
  /// Set by complete(): nullopt while the spawn is only reserved.
  std::optional<process_id> pid;
  std::optional<process_id> pgid;
  std::optional<std::uint64_t> start_ticks;
  /// Set by mark_exited(): nullopt while the process may be alive.
  std::optional<std::int64_t> exited_at_ms;
  std::optional<std::string> exit_description;
};

/// Which finished runs prune() removes. Runs not yet ended are never removed.
struct prune_policy {
  /// Keep the rows of this many most recently started finished runs.
  std::size_t keep_last_runs = 10;
  /// Also remove finished runs that ended longer ago than this, even if they
  /// are among the last `keep_last_runs`.
  std::optional<std::chrono::milliseconds> older_than;
};

struct prune_report {
  std::size_t runs_removed = 0;
  std::size_t processes_removed = 0;
};

/// The registry. Thread-safe: one SQLite connection behind a mutex; every
/// call is one short statement or transaction (but it does disk I/O: from an
/// actor, call it from a detached/blocking actor, not the cooperative pool).
///
/// The file is SQLite in WAL mode with synchronous=NORMAL (a committed row
/// survives a host crash; an OS crash may lose the last ones), incremental
/// auto_vacuum (prune() returns freed pages to the file system) and a schema
/// version in the `meta` table.
class process_registry {
public:
  /// The schema this code reads and writes (meta.schema_version).
  static constexpr int schema_version = 1;

  /// Opens (creating if needed, along with missing parent directories) the
  /// database at `path`. A file that is there but is not a usable registry —
  /// not a database, truncated, failing `PRAGMA quick_check`, another schema
  /// version, unreadable — is renamed to `<path>.corrupt-<UTC timestamp>`
  /// (its -wal file likewise; its -shm is removed), on_warning is told, and a
  /// fresh database is created: the host still starts. Errors:
  /// cannot_create (directory unusable, rename failed), database_error.
  [[nodiscard]] static registry_result<std::unique_ptr<process_registry>>
  open(const std::string& path, registry_options options = {});

  ~process_registry();
  process_registry(const process_registry&) = delete;
  process_registry& operator=(const process_registry&) = delete;

  /// The database file.
  [[nodiscard]] const std::string& path() const noexcept;
  /// Where open() moved a corrupt file, if it did.
  [[nodiscard]] const std::optional<std::string>& moved_aside_to() const noexcept;

  /// Records the start of a run. Reads the host's start time from /proc.
  /// Beginning a run id that exists again is an error (invalid_argument).
  registry_result<void> begin_run(const std::string& run_id, const std::string& instance,
                                  process_id host_pid);
  /// Records the run's runtime directory (after begin_run; again: replaced).
  /// Unknown run id: invalid_argument.
  registry_result<void> record_runtime_dir(const std::string& run_id, const std::string& path);
  /// Marks the run finished (a clean end, or finished by the boot sweep):
  /// prune() may now remove it. Unknown run id: invalid_argument.
  registry_result<void> end_run(const std::string& run_id);

  /// Before a spawn: records the intent and returns the row id. If the run
  /// was never begun it is created (instance empty, host = this process).
  registry_result<std::int64_t> reserve(const std::string& run_id, const std::string& worker_id,
                                        const std::string& command_line);
  /// After the spawn succeeded: the pid, its process group and its start time.
  registry_result<void> complete(std::int64_t row, process_id pid, process_id pgid,
                                 std::uint64_t start_ticks);
  /// The process was reaped (or the spawn failed, or it is known gone).
  /// Marking an already exited row again keeps the first description.
  registry_result<void> mark_exited(std::int64_t row, const std::string& description);

  /// Every run other than `run_id`, oldest first.
  registry_result<std::vector<run_record>> runs_other_than(const std::string& run_id);
  /// The rows of `run_id` not marked exited (reserved or completed), by id.
  registry_result<std::vector<process_record>> live_processes_of(const std::string& run_id);
  /// Every row of `run_id`, by id.
  registry_result<std::vector<process_record>> processes_of(const std::string& run_id);

  /// Deletes finished runs (and their rows) outside the policy, then returns
  /// freed pages to the file system and truncates the WAL.
  registry_result<prune_report> prune(const prune_policy& policy = {});

  /// `PRAGMA journal_mode` as SQLite reports it ("wal").
  registry_result<std::string> journal_mode();

private:
  struct impl;
  explicit process_registry(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

} // namespace snakepit::transport
