// transport/bridge_server.cpp — HostBridge on gRPC's core API, so that the
// thread waiting for its calls need not poll (transport/standby_poller.hpp
// says why that matters). gRPC's C++ server wants every queue it is told
// about to come from its builder, and those all poll.
#include "transport/bridge_server.hpp"

#include "transport/bridge_call.hpp"
#include "transport/bridge_socket_dir.hpp"
#include "transport/standby_poller.hpp"

#include "host_bridge.grpc.pb.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace snakepit::transport {

namespace {

using bridge_detail::call_registry;
using bridge_detail::call_state;
using bridge_detail::completion;
using bridge_detail::parse_payload;

enum method_index : std::size_t { session_method, call_tool_method, list_tools_method, method_count };

const std::array<const char*, method_count> method_names{"Session", "CallHostTool",
                                                         "ListHostTools"};

// How many calls of each method gRPC may hand over before we ask again.
constexpr int requests_per_method = 4;

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

/// Tells shutdown that gRPC's server has stopped.
struct shutdown_notice final : completion {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  void complete(bool) override {
    std::lock_guard g{mutex};
    done = true;
    cv.notify_all();
  }
  bool wait_until(std::chrono::steady_clock::time_point until) {
    std::unique_lock lock{mutex};
    return cv.wait_until(lock, until, [&] { return done; });
  }
  void wait() {
    std::unique_lock lock{mutex};
    cv.wait(lock, [&] { return done; });
  }
};

grpc_completion_queue* make_queue(grpc_cq_polling_type polling) {
  grpc_completion_queue_attributes attr{GRPC_CQ_CURRENT_VERSION, GRPC_CQ_NEXT, polling, nullptr};
  return grpc_completion_queue_create(grpc_completion_queue_factory_lookup(&attr), &attr, nullptr);
}

void shut_down_and_drain(grpc_completion_queue* cq) {
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr).type
         != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
}

} // namespace

struct bridge_server::impl {
  /// One outstanding "next call of this method, please" with gRPC.
  struct request_slot final : completion {
    impl* server = nullptr;
    method_index method = session_method;
    grpc_call* call = nullptr;
    gpr_timespec deadline{};
    grpc_metadata_array metadata{};
    grpc_byte_buffer* payload = nullptr;

    bool request() {
      grpc_metadata_array_init(&metadata);
      const bool asked =
        grpc_server_request_registered_call(server->server, server->methods[method], &call,
                                            &deadline, &metadata, &payload, server->cq,
                                            server->cq, this)
        == GRPC_CALL_OK;
      if (!asked)
        grpc_metadata_array_destroy(&metadata); // no completion will come for it
      return asked;
    }
    void complete(bool ok) override {
      grpc_metadata_array_destroy(&metadata);
      if (!ok)
        return; // the server is shutting down: this slot is done
      grpc_call* c = std::exchange(call, nullptr);
      grpc_byte_buffer* p = std::exchange(payload, nullptr);
      server->dispatch(method, c, p);
      if (p != nullptr)
        grpc_byte_buffer_destroy(p);
      request();
    }
  };

  std::shared_ptr<bridge_handler> handler;
  std::shared_ptr<call_registry> registry;
  /// Held while the queue does not poll: someone must read our sockets.
  std::shared_ptr<standby_poller> standby;
  grpc_completion_queue* cq = nullptr;         // calls and batches; polls only without a standby
  grpc_completion_queue* pollset_cq = nullptr; // never waited on: gRPC's server needs a pollset
  grpc_server* server = nullptr;
  std::array<void*, method_count> methods{};
  std::vector<std::unique_ptr<request_slot>> slots;
  shutdown_notice stopped;
  std::thread thread;
  std::string address;
  std::optional<std::string> socket_path;
  std::mutex shutdown_mutex;
  bool down = false;

  impl() { grpc_init(); }
  ~impl() {
    if (server != nullptr)
      grpc_server_destroy(server);
    if (cq != nullptr)
      shut_down_and_drain(cq);
    if (pollset_cq != nullptr)
      shut_down_and_drain(pollset_cq);
    grpc_shutdown();
  }

  // The bridge's thread: runs every completion, so handler methods are
  // called here (they only send a message and return).
  void run() {
    ::pthread_setname_np(::pthread_self(), "sp-bridge");
    while (true) {
      const grpc_event ev =
        grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
      if (ev.type == GRPC_QUEUE_SHUTDOWN)
        return;
      if (ev.type == GRPC_OP_COMPLETE)
        static_cast<completion*>(ev.tag)->complete(ev.success != 0);
    }
  }

  // An exception thrown by the handler (std::exception) reaches the caller
  // as INTERNAL rather than taking down the bridge's thread.
  template <class Request, class Reply, class Call>
  void serve(const std::shared_ptr<call_state>& call, grpc_byte_buffer* payload, method_index method,
             Call&& to_handler) {
    Request request;
    if (!parse_payload(payload, request)) {
      call->fail(GRPC_STATUS_INTERNAL, "the request does not parse as a " + request.GetTypeName());
      return;
    }
    try {
      to_handler(std::move(request), call->done<Reply>());
    } catch (const std::exception& e) {
      call->fail(GRPC_STATUS_INTERNAL, std::string{"the host's "} + method_names[method] + " handler threw: " + e.what());
    }
  }

  void dispatch(method_index method, grpc_call* c, grpc_byte_buffer* payload) {
    auto call = std::make_shared<call_state>(c, registry, method_names[method]);
    if (!call->start())
      return;
    switch (method) {
    case session_method:
      serve<wire::SessionRequest, wire::SessionReply>(
        call, payload, method, [&](auto req, auto done) { handler->session(std::move(req), std::move(done)); });
      break;
    case call_tool_method:
      serve<wire::HostToolCall, wire::HostToolReply>(call, payload, method, [&](auto req, auto done) {
        handler->call_host_tool(std::move(req), std::move(done));
      });
      break;
    case list_tools_method:
      serve<wire::HostToolListRequest, wire::HostToolList>(
        call, payload, method, [&](auto, auto done) { handler->list_host_tools(std::move(done)); });
      break;
    case method_count:
      break;
    }
  }
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
  state->handler = options.handler;
  state->registry = std::make_shared<call_registry>(options.request_deadline);
  state->socket_path = unix_socket_path(options.address);

  std::array<grpc_arg, 3> args{};
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = const_cast<char*>(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH);
  args[0].value.integer = options.max_message_bytes;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = const_cast<char*>(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH);
  args[1].value.integer = options.max_message_bytes;
  // A second server on a busy TCP port must fail, not share it silently.
  args[2].type = GRPC_ARG_INTEGER;
  args[2].key = const_cast<char*>(GRPC_ARG_ALLOW_REUSEPORT);
  args[2].value.integer = 0;
  const grpc_channel_args channel_args{args.size(), args.data()};
  state->server = grpc_server_create(&channel_args, nullptr);

  const bool standby = standby_poller::needed();
  state->cq = make_queue(standby ? GRPC_CQ_NON_POLLING : GRPC_CQ_DEFAULT_POLLING);
  grpc_server_register_completion_queue(state->server, state->cq, nullptr);
  if (standby) {
    state->pollset_cq = make_queue(GRPC_CQ_DEFAULT_POLLING);
    grpc_server_register_completion_queue(state->server, state->pollset_cq, nullptr);
  }
  const std::string service = wire::HostBridge::service_full_name();
  for (std::size_t m = 0; m < method_count; ++m)
    state->methods[m] =
      grpc_server_register_method(state->server, ("/" + service + "/" + method_names[m]).c_str(),
                                  nullptr, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);

  grpc_server_credentials* creds = grpc_insecure_server_credentials_create();
  const int port = grpc_server_add_http2_port(state->server, options.address.c_str(), creds);
  grpc_server_credentials_release(creds);
  if (port == 0) {
    state->registry->timer().stop();
    return bridge_error{bridge_errc::bind_failed, "cannot listen on " + options.address};
  }
  grpc_server_start(state->server);
  if (standby)
    state->standby = standby_poller::acquire();
  state->address = state->socket_path ? options.address : with_port(options.address, port);
  state->thread = std::thread([s = state.get()] { s->run(); });
  for (std::size_t m = 0; m < method_count; ++m)
    for (int i = 0; i < requests_per_method; ++i) {
      auto slot = std::make_unique<impl::request_slot>();
      slot->server = state.get();
      slot->method = static_cast<method_index>(m);
      slot->request();
      state->slots.push_back(std::move(slot));
    }
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
  // Answer what is in flight first: a handler may never answer.
  for (const auto& call : impl_->registry->close())
    call->fail(GRPC_STATUS_UNAVAILABLE, "the host bridge is shutting down");
  grpc_server_shutdown_and_notify(impl_->server, impl_->cq, &impl_->stopped);
  if (!impl_->stopped.wait_until(std::chrono::steady_clock::now() + deadline)) {
    grpc_server_cancel_all_calls(impl_->server);
    impl_->stopped.wait();
  }
  impl_->registry->timer().stop();
  grpc_server_destroy(impl_->server);
  impl_->server = nullptr;
  grpc_completion_queue_shutdown(impl_->cq);
  impl_->thread.join();
  grpc_completion_queue_destroy(impl_->cq);
  impl_->cq = nullptr;
  if (impl_->socket_path)
    remove_socket_file(*impl_->socket_path);
}

std::size_t bridge_server::in_flight() const { return impl_->registry->size(); }

} // namespace snakepit::transport
