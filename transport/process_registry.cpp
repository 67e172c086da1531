// transport/process_registry.cpp
#include "transport/process_registry.hpp"

#include "transport/process_error.hpp" // errno_text
#include "transport/process_registry_proc.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <system_error>

#include <unistd.h>

namespace snakepit::transport {
namespace {

namespace fs = std::filesystem;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

registry_error make_error(registry_errc code, const std::string& path, std::string operation,
                          int sys_errno, int sqlite_code, std::string detail) {
  registry_error err;
  err.code = code;
  err.sys_errno = sys_errno;
  err.sqlite_code = sqlite_code;
  err.message = path + ": " + operation;
  if (!detail.empty())
    err.message += ": " + detail;
  if (sys_errno != 0)
    err.message += ": " + errno_text(sys_errno);
  err.operation = std::move(operation);
  return err;
}

// The SQLite error of the last call on `db`, e.g. "database is locked (SQLITE_BUSY)".
std::string sqlite_text(sqlite3* db, int rc) {
  std::string out = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  out += " (code ";
  out += std::to_string(rc);
  out += ')';
  return out;
}

// A prepared statement, finalized on scope exit.
class statement {
public:
  statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  [[nodiscard]] bool ok() const noexcept { return rc_ == SQLITE_OK; }
  [[nodiscard]] int rc() const noexcept { return rc_; }

  statement& bind(int i, std::int64_t v) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  statement& bind(int i, const std::string& v) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind_null(int i) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_null(stmt_, i);
    return *this;
  }
  template <class T>
  statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, static_cast<std::int64_t>(*v)) : bind_null(i);
  }

  /// SQLITE_ROW, SQLITE_DONE or an error code (also kept in rc()).
  int step() {
    if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW)
      return rc_;
    const int r = sqlite3_step(stmt_);
    rc_ = (r == SQLITE_ROW) ? SQLITE_ROW : (r == SQLITE_DONE ? SQLITE_OK : r);
    return r;
  }

  [[nodiscard]] bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  [[nodiscard]] std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  [[nodiscard]] std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string{};
  }
  template <class T>
  [[nodiscard]] std::optional<T> opt(int col) const {
    if (is_null(col))
      return std::nullopt;
    return static_cast<T>(int64(col));
  }

private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id           TEXT NOT NULL UNIQUE,
  instance         TEXT NOT NULL,
  host_pid         INTEGER NOT NULL,
  host_start_ticks INTEGER,
  started_at_ms    INTEGER NOT NULL,
  ended_at_ms      INTEGER);
CREATE TABLE IF NOT EXISTS processes(
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id           TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  worker_id        TEXT NOT NULL,
  command_line     TEXT NOT NULL,
  reserved_at_ms   INTEGER NOT NULL,
  pid              INTEGER,
  pgid             INTEGER,
  start_ticks      INTEGER,
  exited_at_ms     INTEGER,
  exit_description TEXT);
CREATE INDEX IF NOT EXISTS processes_by_run ON processes(run_id);
CREATE TABLE IF NOT EXISTS run_dirs(
  run_id TEXT PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
  path   TEXT NOT NULL);
)sql";

// Closes a connection (nullptr-safe).
struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using db_handle = std::unique_ptr<sqlite3, db_closer>;

// Why an existing file is not a usable registry, or nullopt if it is one (or
// an empty database that can be initialized in place). `transient` is set
// for errors that say nothing about the file (a lock held too long, no memory).
struct file_problem {
  std::string reason;
  int sqlite_code = 0;
  bool transient = false;
};

std::optional<file_problem> check_existing(sqlite3* db) {
  auto failure = [&](int rc, std::string what) {
    const int primary = rc & 0xff;
    file_problem p{std::move(what) + ": " + sqlite_text(db, rc), rc,
                   primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_NOMEM};
    return p;
  };
  {
    statement s{db, "PRAGMA quick_check"};
    if (!s.ok())
      return failure(s.rc(), "quick_check");
    std::string first;
    int r = s.step();
    if (r == SQLITE_ROW)
      first = s.text(0);
    while (r == SQLITE_ROW)
      r = s.step();
    if (r != SQLITE_DONE)
      return failure(r, "quick_check");
    if (first != "ok")
      return file_problem{"integrity check failed: " + first, SQLITE_CORRUPT, false};
  }
  {
    statement s{db, "SELECT count(*) FROM sqlite_master"};
    if (s.step() != SQLITE_ROW)
      return failure(s.rc(), "read schema");
    if (s.int64(0) == 0)
      return std::nullopt; // an empty database (e.g. created by a crashed open): initialize it
  }
  statement s{db, "SELECT value FROM meta WHERE key = 'schema_version'"};
  if (!s.ok())
    return file_problem{"no meta table: " + sqlite_text(db, s.rc()), s.rc(), false};
  const int r = s.step();
  if (r != SQLITE_ROW) {
    if (r == SQLITE_DONE)
      return file_problem{"no schema_version in meta", 0, false};
    return failure(r, "read schema_version");
  }
  const std::string version = s.text(0);
  if (version != std::to_string(process_registry::schema_version))
    return file_problem{"schema version " + version + ", expected "
                          + std::to_string(process_registry::schema_version),
                        0, false};
  return std::nullopt;
}

// Per-connection settings, then (idempotently) the schema.
std::optional<registry_error> configure(sqlite3* db, const std::string& path,
                                        const registry_options& options) {
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  sqlite3_extended_result_codes(db, 1);
  auto exec = [&](const char* sql, const char* op) -> std::optional<registry_error> {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    if (rc == SQLITE_OK)
      return std::nullopt;
    std::string detail = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return make_error(registry_errc::database_error, path, op, 0, rc, detail);
  };
  // auto_vacuum only takes effect before the first table is created.
  if (auto e = exec("PRAGMA auto_vacuum = INCREMENTAL", "set auto_vacuum"))
    return e;
  {
    statement s{db, "PRAGMA journal_mode = WAL"};
    if (s.step() != SQLITE_ROW || s.text(0) != "wal")
      return make_error(registry_errc::database_error, path, "set journal_mode=WAL", 0, s.rc(),
                        s.ok() || s.rc() == SQLITE_ROW ? "mode is " + s.text(0) : sqlite_text(db, s.rc()));
  }
  if (auto e = exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                    " PRAGMA journal_size_limit = 1048576;",
                    "set pragmas"))
    return e;
  const std::string init = std::string{"BEGIN IMMEDIATE;"} + schema_sql
                           + "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '"
                           + std::to_string(process_registry::schema_version) + "'); COMMIT;";
  if (auto e = exec(init.c_str(), "create schema")) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  }
  return std::nullopt;
}

std::string utc_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

} // namespace

// --- impl --------------------------------------------------------------------

struct process_registry::impl {
  std::string path;
  std::optional<std::string> moved_aside;
  std::mutex mutex;
  db_handle db;

  registry_error db_error(std::string op, int rc) const {
    return make_error(registry_errc::database_error, path, std::move(op), 0, rc,
                      sqlite_text(db.get(), rc));
  }
  registry_error db_error(std::string op, const statement& s) const {
    return db_error(std::move(op), s.rc());
  }
  registry_error invalid(std::string op, std::string detail) const {
    return make_error(registry_errc::invalid_argument, path, std::move(op), 0, 0, std::move(detail));
  }

  // Runs `sql` (no result rows); error is a database_error named `op`.
  std::optional<registry_error> exec(const char* sql, const char* op) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, &msg);
    sqlite3_free(msg);
    if (rc == SQLITE_OK)
      return std::nullopt;
    return db_error(op, rc);
  }

  std::vector<process_record> read_rows(statement& s) {
    std::vector<process_record> rows;
    while (s.step() == SQLITE_ROW) {
      process_record r;
      r.id = s.int64(0);
      r.run_id = s.text(1);
      r.worker_id = s.text(2);
      r.command_line = s.text(3);
      r.reserved_at_ms = s.int64(4);
      r.pid = s.opt<process_id>(5);
      r.pgid = s.opt<process_id>(6);
      r.start_ticks = s.opt<std::uint64_t>(7);
      r.exited_at_ms = s.opt<std::int64_t>(8);
      if (!s.is_null(9))
        r.exit_description = s.text(9);
      rows.push_back(std::move(r));
    }
    return rows;
  }
};

process_registry::process_registry(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
process_registry::~process_registry() = default;

const std::string& process_registry::path() const noexcept { return impl_->path; }
const std::optional<std::string>& process_registry::moved_aside_to() const noexcept {
  return impl_->moved_aside;
}

registry_result<std::unique_ptr<process_registry>>
process_registry::open(const std::string& path, registry_options options) {
  if (path.empty())
    return make_error(registry_errc::invalid_argument, path, "open", 0, 0, "empty path");
  auto warn = [&](const std::string& line) {
    if (options.on_warning)
      options.on_warning(line);
  };
  // The directory: create it if missing, and it must be a writable directory.
  fs::path dir = fs::path{path}.parent_path();
  if (dir.empty())
    dir = ".";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(registry_errc::cannot_create, path, "create directory " + dir.string(),
                      ec.value(), 0, "");
  if (!fs::is_directory(dir, ec))
    return make_error(registry_errc::cannot_create, path, "open directory " + dir.string(),
                      ENOTDIR, 0, "");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return make_error(registry_errc::cannot_create, path, "access directory " + dir.string(),
                      errno, 0, "");

  auto state = std::make_unique<impl>();
  state->path = path;
  constexpr int flags_existing = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  constexpr int flags_create = flags_existing | SQLITE_OPEN_CREATE;

  if (fs::exists(fs::symlink_status(path, ec))) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags_existing, nullptr);
    db_handle db{raw};
    std::optional<file_problem> problem;
    if (rc != SQLITE_OK) {
      problem = file_problem{"cannot open: " + sqlite_text(raw, rc), rc, false};
    } else {
      sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
      sqlite3_extended_result_codes(raw, 1);
      problem = check_existing(raw);
    }
    if (problem && problem->transient)
      return make_error(registry_errc::database_error, path, "check existing database", 0,
                        problem->sqlite_code, problem->reason);
    if (problem) {
      db.reset();
      std::string target = path + ".corrupt-" + utc_stamp();
      for (int n = 2; fs::exists(fs::symlink_status(target, ec)); ++n)
        target = path + ".corrupt-" + utc_stamp() + "-" + std::to_string(n);
      if (::rename(path.c_str(), target.c_str()) != 0)
        return make_error(registry_errc::cannot_create, path, "rename to " + target, errno, 0,
                          "moving a corrupt registry aside");
      // A WAL left by the corrupt file must not be replayed into the new one.
      const std::string wal = path + "-wal";
      if (fs::exists(fs::symlink_status(wal, ec)))
        ::rename(wal.c_str(), (target + "-wal").c_str());
      ::unlink((path + "-shm").c_str());
      state->moved_aside = target;
      warn("process registry " + path + " is unusable (" + problem->reason + "); moved it to "
           + target + " and started a fresh one");
    } else {
      if (auto e = configure(db.get(), path, options))
        return *e;
      state->db = std::move(db);
      return std::unique_ptr<process_registry>{new process_registry(std::move(state))};
    }
  }

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags_create, nullptr);
  db_handle db{raw};
  if (rc != SQLITE_OK)
    return make_error(registry_errc::cannot_create, path, "sqlite3_open_v2",
                      sqlite3_system_errno(raw), rc, sqlite_text(raw, rc));
  if (auto e = configure(db.get(), path, options)) {
    // SQLite creates the file lazily: a failure to write it is a creation failure.
    const int primary = e->sqlite_code & 0xff;
    if (primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_PERM
        || primary == SQLITE_IOERR) {
      e->code = registry_errc::cannot_create;
      e->sys_errno = sqlite3_system_errno(db.get());
    }
    return *e;
  }
  state->db = std::move(db);
  return std::unique_ptr<process_registry>{new process_registry(std::move(state))};
}

registry_result<void> process_registry::begin_run(const std::string& run_id,
                                                  const std::string& instance,
                                                  process_id host_pid) {
  if (run_id.empty())
    return impl_->invalid("begin_run", "empty run id");
  const auto ticks = read_process_start_ticks(host_pid);
  std::lock_guard guard{impl_->mutex};
  statement s{impl_->db.get(),
              "INSERT INTO runs(run_id, instance, host_pid, host_start_ticks, started_at_ms)"
              " VALUES(?1, ?2, ?3, ?4, ?5)"};
  s.bind(1, run_id).bind(2, instance).bind(3, std::int64_t{host_pid}).bind(4, ticks).bind(5, now_ms());
  if (s.step() != SQLITE_DONE) {
    if ((s.rc() & 0xff) == SQLITE_CONSTRAINT)
      return impl_->invalid("begin_run", "run " + run_id + " already exists");
    return impl_->db_error("begin_run", s);
  }
  return {};
}

registry_result<void> process_registry::record_runtime_dir(const std::string& run_id,
                                                           const std::string& path) {
  if (path.empty())
    return impl_->invalid("record_runtime_dir", "empty path");
  std::lock_guard guard{impl_->mutex};
  statement s{impl_->db.get(), "INSERT OR REPLACE INTO run_dirs(run_id, path) VALUES(?1, ?2)"};
  s.bind(1, run_id).bind(2, path);
  if (s.step() != SQLITE_DONE) {
    if ((s.rc() & 0xff) == SQLITE_CONSTRAINT)
      return impl_->invalid("record_runtime_dir", "no run " + run_id);
    return impl_->db_error("record_runtime_dir", s);
  }
  return {};
}

registry_result<void> process_registry::end_run(const std::string& run_id) {
  std::lock_guard guard{impl_->mutex};
  statement s{impl_->db.get(),
              "UPDATE runs SET ended_at_ms = coalesce(ended_at_ms, ?2) WHERE run_id = ?1"};
  s.bind(1, run_id).bind(2, now_ms());
  if (s.step() != SQLITE_DONE)
    return impl_->db_error("end_run", s);
  if (sqlite3_changes(impl_->db.get()) == 0)
    return impl_->invalid("end_run", "no run " + run_id);
  return {};
}

registry_result<std::int64_t> process_registry::reserve(const std::string& run_id,
                                                        const std::string& worker_id,
                                                        const std::string& command_line) {
  if (run_id.empty())
    return impl_->invalid("reserve", "empty run id");
  const process_id self = ::getpid();
  const auto ticks = read_process_start_ticks(self);
  const auto now = now_ms();
  std::lock_guard guard{impl_->mutex};
  if (auto e = impl_->exec("BEGIN IMMEDIATE", "reserve"))
    return *e;
  auto fail = [&](const statement& s) {
    auto err = impl_->db_error("reserve", s);
    impl_->exec("ROLLBACK", "reserve");
    return err;
  };
  {
    statement s{impl_->db.get(),
                "INSERT OR IGNORE INTO runs(run_id, instance, host_pid, host_start_ticks,"
                " started_at_ms) VALUES(?1, '', ?2, ?3, ?4)"};
    s.bind(1, run_id).bind(2, std::int64_t{self}).bind(3, ticks).bind(4, now);
    if (s.step() != SQLITE_DONE)
      return fail(s);
  }
  statement s{impl_->db.get(),
              "INSERT INTO processes(run_id, worker_id, command_line, reserved_at_ms)"
              " VALUES(?1, ?2, ?3, ?4)"};
  s.bind(1, run_id).bind(2, worker_id).bind(3, command_line).bind(4, now);
  if (s.step() != SQLITE_DONE)
    return fail(s);
  const std::int64_t row = sqlite3_last_insert_rowid(impl_->db.get());
  if (auto e = impl_->exec("COMMIT", "reserve")) {
    impl_->exec("ROLLBACK", "reserve");
    return *e;
  }
  return row;
}

registry_result<void> process_registry::complete(std::int64_t row, process_id pid,
                                                 process_id pgid, std::uint64_t start_ticks) {
  if (pid <= 0 || pgid <= 0)
    return impl_->invalid("complete", "pid and pgid must be positive");
  std::lock_guard guard{impl_->mutex};
  statement s{impl_->db.get(),
              "UPDATE processes SET pid = ?2, pgid = ?3, start_ticks = ?4 WHERE id = ?1"};
  s.bind(1, row).bind(2, std::int64_t{pid}).bind(3, std::int64_t{pgid})
    .bind(4, static_cast<std::int64_t>(start_ticks));
  if (s.step() != SQLITE_DONE)
    return impl_->db_error("complete", s);
  if (sqlite3_changes(impl_->db.get()) == 0)
    return make_error(registry_errc::unknown_row, impl_->path, "complete", 0, 0,
                      "no row " + std::to_string(row));
  return {};
}

registry_result<void> process_registry::mark_exited(std::int64_t row,
                                                    const std::string& description) {
  std::lock_guard guard{impl_->mutex};
  statement s{impl_->db.get(),
              "UPDATE processes SET exited_at_ms = ?2, exit_description = ?3"
              " WHERE id = ?1 AND exited_at_ms IS NULL"};
  s.bind(1, row).bind(2, now_ms()).bind(3, description);
  if (s.step() != SQLITE_DONE)
    return impl_->db_error("mark_exited", s);
  if (sqlite3_changes(impl_->db.get()) == 0) {
    statement q{impl_->db.get(), "SELECT 1 FROM processes WHERE id = ?1"};
    q.bind(1, row);
    const int r = q.step();
    if (r == SQLITE_DONE)
      return make_error(registry_errc::unknown_row, impl_->path, "mark_exited", 0, 0,
                        "no row " + std::to_string(row));
    if (r != SQLITE_ROW)
      return impl_->db_error("mark_exited", q);
  }
  return {};
}

registry_result<std::vector<run_record>>
process_registry::runs_other_than(const std::string& run_id) {
  std::lock_guard guard{impl_->mutex};
  statement s{impl_->db.get(),
              "SELECT runs.run_id, instance, host_pid, host_start_ticks, started_at_ms,"
              " ended_at_ms, run_dirs.path FROM runs LEFT JOIN run_dirs USING (run_id)"
              " WHERE runs.run_id <> ?1 ORDER BY seq"};
  s.bind(1, run_id);
  std::vector<run_record> runs;
  while (s.step() == SQLITE_ROW) {
    run_record r;
    r.run_id = s.text(0);
    r.instance = s.text(1);
    r.host_pid = static_cast<process_id>(s.int64(2));
    r.host_start_ticks = s.opt<std::uint64_t>(3);
    r.started_at_ms = s.int64(4);
    r.ended_at_ms = s.opt<std::int64_t>(5);
    if (!s.is_null(6))
      r.runtime_dir = s.text(6);
    runs.push_back(std::move(r));
  }
  if (s.rc() != SQLITE_OK)
    return impl_->db_error("runs_other_than", s);
  return runs;
}

namespace {
constexpr const char* row_columns =
  "SELECT id, run_id, worker_id, command_line, reserved_at_ms, pid, pgid, start_ticks,"
  " exited_at_ms, exit_description FROM processes WHERE run_id = ?1";
} // namespace

registry_result<std::vector<process_record>>
process_registry::live_processes_of(const std::string& run_id) {
  std::lock_guard guard{impl_->mutex};
  const std::string sql = std::string{row_columns} + " AND exited_at_ms IS NULL ORDER BY id";
  statement s{impl_->db.get(), sql.c_str()};
  s.bind(1, run_id);
  auto rows = impl_->read_rows(s);
  if (s.rc() != SQLITE_OK)
    return impl_->db_error("live_processes_of", s);
  return rows;
}

registry_result<std::vector<process_record>>
process_registry::processes_of(const std::string& run_id) {
  std::lock_guard guard{impl_->mutex};
  const std::string sql = std::string{row_columns} + " ORDER BY id";
  statement s{impl_->db.get(), sql.c_str()};
  s.bind(1, run_id);
  auto rows = impl_->read_rows(s);
  if (s.rc() != SQLITE_OK)
    return impl_->db_error("processes_of", s);
  return rows;
}

registry_result<prune_report> process_registry::prune(const prune_policy& policy) {
  const std::optional<std::int64_t> cutoff =
    policy.older_than ? std::optional<std::int64_t>{now_ms() - policy.older_than->count()}
                      : std::nullopt;
  // The finished runs to remove: outside the newest `keep` finished ones, or
  // ended before the cutoff.
  constexpr const char* doomed =
    "SELECT run_id FROM runs WHERE ended_at_ms IS NOT NULL AND ("
    " seq NOT IN (SELECT seq FROM runs WHERE ended_at_ms IS NOT NULL ORDER BY seq DESC LIMIT ?1)"
    " OR (?2 IS NOT NULL AND ended_at_ms < ?2))";
  std::lock_guard guard{impl_->mutex};
  if (auto e = impl_->exec("BEGIN IMMEDIATE", "prune"))
    return *e;
  prune_report report;
  auto run = [&](const std::string& sql, std::size_t& count) -> std::optional<registry_error> {
    statement s{impl_->db.get(), sql.c_str()};
    s.bind(1, static_cast<std::int64_t>(policy.keep_last_runs)).bind(2, cutoff);
    if (s.step() != SQLITE_DONE) {
      auto err = impl_->db_error("prune", s);
      impl_->exec("ROLLBACK", "prune");
      return err;
    }
    count = static_cast<std::size_t>(sqlite3_changes(impl_->db.get()));
    return std::nullopt;
  };
  if (auto e = run(std::string{"DELETE FROM processes WHERE run_id IN ("} + doomed + ")",
                   report.processes_removed))
    return *e;
  if (auto e = run(std::string{"DELETE FROM runs WHERE run_id IN ("} + doomed + ")",
                   report.runs_removed))
    return *e;
  if (auto e = impl_->exec("COMMIT", "prune")) {
    impl_->exec("ROLLBACK", "prune");
    return *e;
  }
  if (report.runs_removed > 0 || report.processes_removed > 0) {
    // Give freed pages back and keep the WAL short. A checkpoint that cannot
    // finish (another reader) is not an error: the next one will.
    if (auto e = impl_->exec("PRAGMA incremental_vacuum", "prune (incremental_vacuum)"))
      return *e;
    sqlite3_exec(impl_->db.get(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  }
  return report;
}

registry_result<std::string> process_registry::journal_mode() {
  std::lock_guard guard{impl_->mutex};
  statement s{impl_->db.get(), "PRAGMA journal_mode"};
  if (s.step() != SQLITE_ROW)
    return impl_->db_error("journal_mode", s);
  return s.text(0);
}

} // namespace snakepit::transport
