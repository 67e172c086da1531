#pragma once
// bench/private_dir.hpp — the bench's own 0700 directory under /tmp (short
// path: Unix socket paths must fit in 108 bytes). Holds the raw servers'
// sockets and logs and the runtimes' directories; removed with everything in
// it when the object goes.

#include <string>

namespace snakepit::bench {

class private_dir {
public:
  private_dir();  // mkdtemp("/tmp/spb-XXXXXX"), throws bench_error
  ~private_dir();
  private_dir(const private_dir&) = delete;
  private_dir& operator=(const private_dir&) = delete;

  const std::string& path() const { return path_; }
  /// path()/name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

} // namespace snakepit::bench
