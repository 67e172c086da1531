#include "proc_scan.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace snakepit::demos {

namespace {

bool read_entry(int pid, process_entry& out) {
  std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat(base + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // pid (comm) state ppid ...: comm may hold spaces and parentheses.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream rest(text.substr(close + 1));
  rest >> out.state >> out.ppid;
  out.pid = pid;
  std::ifstream cmd(base + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  for (auto& c : args)
    if (c == '\0')
      c = ' ';
  while (!args.empty() && args.back() == ' ')
    args.pop_back();
  out.cmdline = std::move(args);
  return true;
}

} // namespace

std::vector<process_entry> list_processes() {
  std::vector<process_entry> found;
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return found;
  int self = static_cast<int>(::getpid());
  while (auto* e = ::readdir(proc)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == self)
      continue;
    process_entry entry;
    if (read_entry(pid, entry))
      found.push_back(std::move(entry));
  }
  ::closedir(proc);
  return found;
}

std::vector<process_entry> processes_with(const std::string& needle) {
  std::vector<process_entry> found;
  if (needle.empty())
    return found;
  for (auto& p : list_processes())
    if (p.cmdline.find(needle) != std::string::npos)
      found.push_back(p);
  return found;
}

std::vector<process_entry> children_of_this_process() {
  std::vector<process_entry> found;
  int self = static_cast<int>(::getpid());
  for (auto& p : list_processes())
    if (p.ppid == self)
      found.push_back(p);
  return found;
}

} // namespace snakepit::demos
