#include "bench/private_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "bench/bench_error.hpp"

namespace snakepit::bench {

private_dir::private_dir() {
  std::string templ = "/tmp/spb-XXXXXX";
  if (!::mkdtemp(templ.data()))  // mode 0700
    throw bench_error(std::string("cannot create a private directory under /tmp: ")
                      + std::strerror(errno));
  path_ = templ;
}

private_dir::~private_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

} // namespace snakepit::bench
