// transport/worker_channel.cpp — see worker_channel.hpp. The channel's
// arguments and error names live here; everything in flight lives in its
// channel_driver.
#include "transport/worker_channel.hpp"

#include "transport/channel_driver.hpp"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

namespace snakepit::transport {

std::string_view to_string(channel_errc code) noexcept {
  switch (code) {
    case channel_errc::timeout:
      return "timeout";
    case channel_errc::worker_unavailable:
      return "worker unavailable";
    case channel_errc::cancelled:
      return "cancelled";
    case channel_errc::invalid_argument:
      return "invalid argument";
    case channel_errc::resource_exhausted:
      return "resource exhausted";
    case channel_errc::unimplemented:
      return "unimplemented";
    case channel_errc::rpc_failed:
      return "rpc failed";
    case channel_errc::invalid_address:
      return "invalid address";
    case channel_errc::not_open:
      return "stream not open";
    case channel_errc::already_open:
      return "stream already open";
    case channel_errc::stream_closed:
      return "stream closed";
  }
  return "unknown channel error";
}

std::string to_string(const channel_error& error) {
  std::string out{to_string(error.code)};
  if (!error.operation.empty()) {
    out += ": ";
    out += error.operation;
  }
  if (!error.message.empty()) {
    out += ": ";
    out += error.message;
  }
  if (error.grpc_code != 0) {
    out += " (grpc ";
    out += std::to_string(error.grpc_code);
    out += ')';
  }
  return out;
}

struct worker_channel::impl {
  std::string address;
  std::shared_ptr<channel_driver> driver;
};

channel_result<std::unique_ptr<worker_channel>>
worker_channel::connect(worker_channel_options options) {
  if (options.address.empty())
    return channel_error{channel_errc::invalid_address, "connect", 0, "empty address"};
  if (options.address.rfind("unix:", 0) == 0 && options.address.size() == 5)
    return channel_error{channel_errc::invalid_address, "connect", 0, "unix: without a path"};
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // One connection per worker: no sharing of subchannels (and their backoff
  // state) with an earlier worker that listened on the same path.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  const int backoff = static_cast<int>(options.reconnect_backoff.count());
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, backoff);
  // gRPC core also uses the minimum backoff as the connect timeout: 100 ms
  // is too short for a busy Python server to answer the HTTP/2 handshake
  // (seen in the bench starting 8 workers). Keep the minimum at 1 s.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::max(backoff, 1000));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, std::max(backoff, 1000));
  auto channel =
    grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args);
  if (!channel)
    return channel_error{channel_errc::invalid_address, "connect", 0,
                         "cannot create a channel to " + options.address};
  auto state = std::make_unique<impl>();
  state->address = options.address;
  state->driver = channel_driver::start(std::move(channel));
  return std::unique_ptr<worker_channel>{new worker_channel{std::move(state)}};
}

worker_channel::worker_channel(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

worker_channel::~worker_channel() {
  impl_->driver->release();
}

const std::string& worker_channel::address() const noexcept {
  return impl_->address;
}

void worker_channel::ping(std::chrono::milliseconds timeout, callback<wire::PingReply> done) {
  impl_->driver->ping(timeout, std::move(done));
}

void worker_channel::describe_tools(std::chrono::milliseconds timeout,
                                    callback<wire::DescribeToolsReply> done) {
  impl_->driver->describe_tools(timeout, std::move(done));
}

void worker_channel::shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds timeout,
                              callback<wire::ShutdownReply> done) {
  impl_->driver->shutdown(grace, timeout, std::move(done));
}

channel_result<channel_ok> worker_channel::open(channel_callbacks callbacks) {
  return impl_->driver->open(std::move(callbacks));
}

channel_result<channel_ok> worker_channel::send(std::vector<wire::Request> requests) {
  return impl_->driver->enqueue(&requests, nullptr, "send");
}

channel_result<channel_ok> worker_channel::send(wire::Request request) {
  std::vector<wire::Request> one;
  one.push_back(std::move(request));
  return send(std::move(one));
}

channel_result<channel_ok> worker_channel::cancel(std::vector<std::uint64_t> ids) {
  return impl_->driver->enqueue(nullptr, &ids, "cancel");
}

void worker_channel::close() {
  impl_->driver->close();
}

void worker_channel::abort() {
  impl_->driver->abort();
}

worker_channel::stream_stats worker_channel::stats() const {
  return impl_->driver->stats();
}

} // namespace snakepit::transport
