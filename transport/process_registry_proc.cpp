// transport/process_registry_proc.cpp
#include "transport/process_registry_proc.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace snakepit::transport {
namespace {

// Reads a whole (small) /proc file; nullopt if it cannot be opened.
std::optional<std::string> read_proc_file(process_id pid, const char* name) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      ::close(fd);
      // ESRCH: the process went away between open and read.
      return std::nullopt;
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

} // namespace

std::optional<proc_stat> read_proc_stat(process_id pid) noexcept {
  if (pid <= 0)
    return std::nullopt;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  char buf[1024];
  ssize_t n;
  do
    n = ::read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0)
    return std::nullopt;
  buf[n] = '\0';
  const char* close = std::strrchr(buf, ')');
  if (!close || close[1] != ' ' || close[2] == '\0')
    return std::nullopt;
  proc_stat out;
  out.state = close[2];
  // Fields 4.. follow the state, separated by single spaces.
  const char* p = close + 3;
  char* end = nullptr;
  for (int field = 4; field <= 22; ++field) {
    const unsigned long long v = std::strtoull(p, &end, 10);
    if (end == p)
      return std::nullopt;
    if (field == 5)
      out.pgrp = static_cast<process_id>(v);
    if (field == 22)
      out.start_ticks = v;
    p = end;
  }
  return out;
}

std::optional<std::uint64_t> read_process_start_ticks(process_id pid) noexcept {
  if (auto st = read_proc_stat(pid))
    return st->start_ticks;
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_process_arguments(process_id pid) {
  if (pid <= 0)
    return std::nullopt;
  auto raw = read_proc_file(pid, "cmdline");
  if (!raw)
    return std::nullopt;
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < raw->size()) {
    std::size_t nul = raw->find('\0', start);
    if (nul == std::string::npos)
      nul = raw->size();
    args.emplace_back(raw->substr(start, nul - start));
    start = nul + 1;
  }
  return args;
}

bool arguments_carry_run_id(const std::vector<std::string>& arguments,
                            std::string_view run_id) noexcept {
  if (run_id.empty())
    return false;
  constexpr std::string_view flag = "--run-id";
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    std::string_view a = arguments[i];
    if (a == flag && i + 1 < arguments.size() && arguments[i + 1] == run_id)
      return true;
    if (a.size() == flag.size() + 1 + run_id.size() && a.starts_with(flag)
        && a[flag.size()] == '=' && a.substr(flag.size() + 1) == run_id)
      return true;
  }
  return false;
}

bool environment_carries_run_id(process_id pid, std::string_view run_id) {
  if (run_id.empty() || pid <= 0)
    return false;
  auto raw = read_proc_file(pid, "environ");
  if (!raw)
    return false;
  std::string wanted{run_id_variable};
  wanted += '=';
  wanted += run_id;
  std::size_t start = 0;
  while (start < raw->size()) {
    std::size_t nul = raw->find('\0', start);
    if (nul == std::string::npos)
      nul = raw->size();
    if (std::string_view{*raw}.substr(start, nul - start) == wanted)
      return true;
    start = nul + 1;
  }
  return false;
}

std::optional<std::string> read_environment_variable(process_id pid, std::string_view name) {
  if (pid <= 0 || name.empty())
    return std::nullopt;
  auto raw = read_proc_file(pid, "environ");
  if (!raw)
    return std::nullopt;
  std::string_view all{*raw};
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t nul = all.find('\0', start);
    if (nul == std::string_view::npos)
      nul = all.size();
    auto entry = all.substr(start, nul - start);
    if (entry.size() > name.size() && entry.substr(0, name.size()) == name
        && entry[name.size()] == '=')
      return std::string{entry.substr(name.size() + 1)};
    start = nul + 1;
  }
  return std::nullopt;
}

bool process_carries_run_id(process_id pid, std::string_view run_id) {
  const auto args = read_process_arguments(pid);
  if (args && arguments_carry_run_id(*args, run_id))
    return true;
  return environment_carries_run_id(pid, run_id);
}

std::vector<process_id> live_pids_with_run_id(std::string_view run_id) {
  std::vector<process_id> out;
  if (run_id.empty())
    return out;
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return out;
  const process_id self = ::getpid();
  while (const dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
      continue;
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid == self)
      continue;
    const auto st = read_proc_stat(static_cast<process_id>(pid));
    if (!st || st->zombie())
      continue;
    if (process_carries_run_id(static_cast<process_id>(pid), run_id))
      out.push_back(static_cast<process_id>(pid));
  }
  ::closedir(proc);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace snakepit::transport
