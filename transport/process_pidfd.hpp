// transport/process_pidfd.hpp — <sys/pidfd.h> usable from C++.
// glibc 2.36's <sys/pidfd.h> lacks __BEGIN_DECLS, so its functions get C++
// linkage and fail to link; include it through this header only.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>

extern "C" {
#include <sys/pidfd.h>
}
