// tests/process_registry/registry_recovery_test.cpp — a damaged file never
// stops the host; an unusable directory is a typed error.
#include "registry_test_support.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>

using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

namespace fs = std::filesystem;

// Opens the registry, collecting warnings; the result must be usable.
struct recovering_open {
  std::vector<std::string> warnings;
  std::unique_ptr<process_registry> reg;
  explicit recovering_open(const std::string& path) {
    registry_options options;
    options.on_warning = [this](const std::string& line) { warnings.push_back(line); };
    reg = open_registry(path, options);
  }
};

// Files in `dir` whose name starts with `prefix`.
std::vector<fs::path> files_starting_with(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with(prefix))
      out.push_back(e.path());
  return out;
}

// A fresh registry works: a row goes in and comes back.
void check_works(process_registry& reg) {
  const auto run = fresh_run_id();
  REQUIRE(reg.begin_run(run, "i", ::getpid()));
  auto row = reg.reserve(run, "w", "cmd");
  REQUIRE(row.has_value());
  CHECK(reg.live_processes_of(run).value().size() == 1);
  CHECK(reg.journal_mode().value() == "wal");
}

void check_moved_aside(const temp_dir& dir, const std::string& path, const recovering_open& o,
                       const std::string& original_bytes) {
  REQUIRE(o.reg->moved_aside_to().has_value());
  const auto aside = *o.reg->moved_aside_to();
  CHECK(aside.starts_with(path + ".corrupt-"));
  REQUIRE(fs::exists(aside));
  std::ifstream in{aside, std::ios::binary};
  const std::string kept{std::istreambuf_iterator<char>{in}, {}};
  CHECK(kept == original_bytes); // moved, not altered
  REQUIRE(o.warnings.size() == 1);
  CHECK(o.warnings[0].find(path) != std::string::npos);
  CHECK(o.warnings[0].find(aside) != std::string::npos);
  CHECK(files_starting_with(dir.path, "r.sqlite.corrupt-").size() >= 1);
}

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

} // namespace

TEST_CASE("a file of random bytes is moved aside with a warning and a fresh registry works") {
  temp_dir dir;
  const auto path = dir.file("r.sqlite");
  std::string garbage(8192, '\0');
  std::mt19937 rng{42};
  for (auto& ch : garbage)
    ch = static_cast<char>(rng());
  {
    std::ofstream out{path, std::ios::binary};
    out << garbage;
  }
  recovering_open o{path};
  check_moved_aside(dir, path, o, garbage);
  check_works(*o.reg);
  // The fresh file is a good registry on the next open.
  o.reg.reset();
  recovering_open again{path};
  CHECK(again.warnings.empty());
  CHECK_FALSE(again.reg->moved_aside_to().has_value());
}

TEST_CASE("a truncated database is moved aside with a warning and a fresh registry works") {
  temp_dir dir;
  const auto path = dir.file("r.sqlite");
  {
    auto reg = open_registry(path);
    const auto run = fresh_run_id();
    REQUIRE(reg->begin_run(run, "i", ::getpid()));
    for (int i = 0; i < 400; ++i)
      REQUIRE(reg->reserve(run, "w" + std::to_string(i), std::string(200, 'c')));
  } // the last connection checkpoints the WAL into the file
  REQUIRE_FALSE(fs::exists(path + "-wal"));
  const auto full = fs::file_size(path);
  REQUIRE(full > 16384);
  fs::resize_file(path, full / 2);
  const auto truncated = read_all(path);
  recovering_open o{path};
  check_moved_aside(dir, path, o, truncated);
  check_works(*o.reg);
}

TEST_CASE("a database of another schema version is moved aside") {
  temp_dir dir;
  const auto path = dir.file("r.sqlite");
  open_registry(path).reset();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'", nullptr,
                       nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
  registry_options options;
  std::vector<std::string> warnings;
  options.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  auto reg = open_registry(path, options);
  REQUIRE(reg->moved_aside_to().has_value());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("schema version 99") != std::string::npos);
  check_works(*reg);
}

TEST_CASE("a missing data directory is created") {
  temp_dir dir;
  const auto path = dir.file("a/b/c/r.sqlite");
  auto reg = open_registry(path);
  check_works(*reg);
}

TEST_CASE("an unusable directory is a typed error, not a crash") {
  temp_dir dir;
  const auto blocker = dir.file("not-a-dir");
  { std::ofstream{blocker} << "x"; }
  SUBCASE("its parent is a file") {
    auto r = process_registry::open(blocker + "/sub/r.sqlite");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == registry_errc::cannot_create);
    CHECK(r.error().sys_errno != 0);
    CHECK(to_string(r.error()).find(blocker) != std::string::npos);
  }
  SUBCASE("it is a file") {
    auto r = process_registry::open(blocker + "/r.sqlite");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == registry_errc::cannot_create);
  }
  SUBCASE("it is not writable (unless we are root, who may write anywhere)") {
    if (::geteuid() == 0)
      return;
    const auto ro = dir.path / "ro";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    auto r = process_registry::open((ro / "r.sqlite").string());
    fs::permissions(ro, fs::perms::owner_all);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == registry_errc::cannot_create);
    CHECK(r.error().sys_errno == EACCES);
  }
}
