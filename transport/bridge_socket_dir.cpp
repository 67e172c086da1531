// transport/bridge_socket_dir.cpp
#include "transport/bridge_socket_dir.hpp"

#include "transport/process_error.hpp" // errno_text

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace snakepit::transport {

namespace {

constexpr std::string_view unix_scheme = "unix:";

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

} // namespace

std::optional<std::string> unix_socket_path(std::string_view address) {
  if (address.substr(0, unix_scheme.size()) != unix_scheme)
    return std::nullopt;
  auto path = address.substr(unix_scheme.size());
  // "unix:///abs" is the URI form of "unix:/abs".
  if (path.substr(0, 3) == "///")
    path.remove_prefix(2);
  return std::string{path};
}

bridge_result<bridge_ok> check_socket_address(std::string_view address) {
  auto path = unix_socket_path(address);
  if (!path)
    return bridge_ok{};
  if (path->empty() || path->front() != '/')
    return bridge_error{bridge_errc::invalid_address,
                        "a Unix socket path must be absolute: " + std::string{address}};
  if (path->size() >= sizeof(sockaddr_un::sun_path))
    return bridge_error{bridge_errc::invalid_address,
                        "socket path of " + std::to_string(path->size()) + " bytes exceeds "
                          + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ": " + *path};
  const auto slash = path->find_last_of('/');
  const std::string dir = slash == 0 ? "/" : path->substr(0, slash);

  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    return bridge_error{err == ENOENT ? bridge_errc::directory_missing
                                      : bridge_errc::insecure_directory,
                        "cannot use the socket directory " + dir + ": " + errno_text(err)};
  }
  if (!S_ISDIR(st.st_mode))
    return bridge_error{bridge_errc::directory_missing, dir + " is not a directory"};
  if (st.st_uid != ::geteuid())
    return bridge_error{bridge_errc::insecure_directory,
                        dir + " belongs to uid " + std::to_string(st.st_uid)
                          + ", not to this process's uid " + std::to_string(::geteuid())};
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return bridge_error{bridge_errc::insecure_directory,
                        dir + " is mode " + octal_mode(st.st_mode)
                          + "; the bridge socket's directory must grant group and others "
                            "nothing (0700)"};
  return bridge_ok{};
}

} // namespace snakepit::transport
