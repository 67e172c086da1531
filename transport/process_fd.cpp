// transport/process_fd.cpp
#include "transport/process_fd.hpp"

#include <unistd.h>

namespace snakepit::transport {

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd)
    ::close(fd_); // Linux releases the descriptor even when close reports EINTR.
  fd_ = fd;
}

} // namespace snakepit::transport
