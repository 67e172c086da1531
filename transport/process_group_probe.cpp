// transport/process_group_probe.cpp
#include "transport/process_group_probe.hpp"

#include "transport/process_registry_proc.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace snakepit::transport {
namespace {

enum class member { no, live, zombie, unknown };

// Reads /proc/<pid>/stat ("pid (comm) S ppid pgrp ...") of one process.
member classify(int proc_dir, const char* pid_name, process_id pgid) noexcept {
  char path[64];
  std::strcpy(path, pid_name);
  std::strcat(path, "/stat");
  const int fd = ::openat(proc_dir, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return member::no; // exited meanwhile
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0)
    return member::no;
  buf[n] = '\0';
  // comm may contain spaces and parentheses: parse after the last ')'.
  char* close = std::strrchr(buf, ')');
  if (!close || close[1] != ' ')
    return member::unknown;
  const char state = close[2];
  char* end = nullptr;
  std::strtol(close + 3, &end, 10); // ppid
  const long pgrp = std::strtol(end, &end, 10);
  if (pgrp != pgid)
    return member::no;
  return state == 'Z' || state == 'X' ? member::zombie : member::live;
}

} // namespace

bool process_group_exists(process_id pgid) noexcept {
  return ::kill(-pgid, 0) == 0 || errno == EPERM;
}

bool process_group_has_live_member(process_id pgid) noexcept {
  if (::kill(-pgid, 0) != 0 && errno == ESRCH)
    return false;
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return true;
  bool live = false;
  const int proc_fd = ::dirfd(proc);
  while (const dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9')
      continue;
    const member m = classify(proc_fd, entry->d_name, pgid);
    if (m == member::live || m == member::unknown) {
      live = true;
      break;
    }
  }
  ::closedir(proc);
  return live;
}

std::vector<group_member> live_group_members(process_id pgid) {
  std::vector<group_member> out;
  if (pgid <= 1)
    return out;
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return out;
  while (const dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    const auto pid = static_cast<process_id>(std::strtol(e->d_name, nullptr, 10));
    const auto st = read_proc_stat(pid);
    if (st && !st->zombie() && st->pgrp == pgid)
      out.push_back({pid, st->start_ticks});
  }
  ::closedir(proc);
  return out;
}

bool group_still_holds(process_id pgid, const std::vector<group_member>& members) {
  for (const auto& m : members) {
    const auto st = read_proc_stat(m.pid);
    if (st && !st->zombie() && st->pgrp == pgid && st->start_ticks == m.start_ticks)
      return true;
  }
  return false;
}

} // namespace snakepit::transport
