// transport/bridge_server.cpp — HostBridge on gRPC's callback API.
#include "transport/bridge_server.hpp"

#include "transport/bridge_call.hpp"
#include "transport/bridge_socket_dir.hpp"

#include "host_bridge.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <utility>

namespace snakepit::transport {

namespace {

using bridge_detail::call_registry;
using bridge_detail::start_call;

/// Hands each call to the handler. The request is copied: the handler may
/// keep it beyond the call, gRPC's message may not outlive it.
class host_bridge_service final : public wire::HostBridge::CallbackService {
public:
  host_bridge_service(std::shared_ptr<bridge_handler> handler,
                      std::shared_ptr<call_registry> registry)
    : handler_(std::move(handler)), registry_(std::move(registry)) {}

  grpc::ServerUnaryReactor* Session(grpc::CallbackServerContext*,
                                    const wire::SessionRequest* request,
                                    wire::SessionReply* reply) override {
    return start_call(registry_, "Session", reply, [&](auto done) {
      handler_->session(*request, std::move(done));
    });
  }

  grpc::ServerUnaryReactor* CallHostTool(grpc::CallbackServerContext*,
                                         const wire::HostToolCall* request,
                                         wire::HostToolReply* reply) override {
    return start_call(registry_, "CallHostTool", reply, [&](auto done) {
      handler_->call_host_tool(*request, std::move(done));
    });
  }

  grpc::ServerUnaryReactor* ListHostTools(grpc::CallbackServerContext*,
                                          const wire::HostToolListRequest*,
                                          wire::HostToolList* reply) override {
    return start_call(registry_, "ListHostTools", reply,
                      [&](auto done) { handler_->list_host_tools(std::move(done)); });
  }

private:
  std::shared_ptr<bridge_handler> handler_;
  std::shared_ptr<call_registry> registry_;
};

/// "127.0.0.1:0" with port 43567 bound -> "127.0.0.1:43567".
std::string with_port(const std::string& address, int port) {
  const auto colon = address.rfind(':');
  return address.substr(0, colon) + ":" + std::to_string(port);
}

void remove_socket_file(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
    ::unlink(path.c_str());
}

} // namespace

struct bridge_server::impl {
  std::shared_ptr<call_registry> registry;
  // Declared before `server`: the service must outlive the server.
  std::unique_ptr<host_bridge_service> service;
  std::unique_ptr<grpc::Server> server;
  std::string address;
  std::optional<std::string> socket_path;
  std::mutex shutdown_mutex;
  bool down = false;
};

bridge_result<std::unique_ptr<bridge_server>> bridge_server::start(bridge_server_options options) {
  if (!options.handler)
    return bridge_error{bridge_errc::invalid_options, "no bridge_handler given"};
  if (options.address.empty())
    return bridge_error{bridge_errc::invalid_options, "empty address"};
  if (options.request_deadline.count() <= 0)
    return bridge_error{bridge_errc::invalid_options, "request_deadline must be positive"};
  if (auto checked = check_socket_address(options.address); !checked)
    return std::move(checked).error();

  auto state = std::make_unique<impl>();
  state->registry = std::make_shared<call_registry>(options.request_deadline);
  state->service = std::make_unique<host_bridge_service>(options.handler, state->registry);
  state->socket_path = unix_socket_path(options.address);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(state->service.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // A second server on a busy TCP port must fail, not share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  state->server = builder.BuildAndStart();
  if (!state->server || port == 0) {
    if (state->server)
      state->server->Shutdown();
    state->registry->timer().stop();
    return bridge_error{bridge_errc::bind_failed, "cannot listen on " + options.address};
  }
  state->address = state->socket_path ? options.address : with_port(options.address, port);
  return std::unique_ptr<bridge_server>(new bridge_server(std::move(state)));
}

bridge_server::bridge_server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

bridge_server::~bridge_server() { shutdown(); }

const std::string& bridge_server::address() const noexcept { return impl_->address; }

void bridge_server::shutdown(std::chrono::milliseconds deadline) {
  std::lock_guard g{impl_->shutdown_mutex};
  if (impl_->down)
    return;
  impl_->down = true;
  // Answer what is in flight first: gRPC's Shutdown waits for every callback
  // call to finish, and a handler may never answer.
  for (const auto& call : impl_->registry->close())
    call->fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the host bridge is shutting down"));
  impl_->server->Shutdown(std::chrono::system_clock::now() + deadline);
  impl_->server->Wait();
  impl_->registry->timer().stop();
  if (impl_->socket_path)
    remove_socket_file(*impl_->socket_path);
}

std::size_t bridge_server::in_flight() const { return impl_->registry->size(); }

} // namespace snakepit::transport
