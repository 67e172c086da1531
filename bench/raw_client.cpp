#include "bench/raw_client.hpp"

#include <grpcpp/grpcpp.h>

#include <fmt/format.h>

#include "bench/bench_error.hpp"
#include "snakepit_bridge.grpc.pb.h"

namespace snakepit::bench {

namespace {

using clock_type = std::chrono::system_clock;

constexpr auto call_deadline = std::chrono::seconds(30);
constexpr auto stream_deadline = std::chrono::minutes(10);

std::string describe(const grpc::Status& st) {
  return fmt::format("gRPC {}: {}", static_cast<int>(st.error_code()), st.error_message());
}

void check_reply(const wire::Reply& reply) {
  if (reply.has_error())
    throw bench_error(fmt::format("raw call failed: {} {}: {}",
                                  static_cast<int>(reply.error().category()),
                                  reply.error().type(), reply.error().message()));
}

void add_arg(wire::Request& r, const std::string& key, wire::Value v) {
  auto* e = r.mutable_args()->add_entries();
  e->set_key(key);
  *e->mutable_value() = std::move(v);
}

} // namespace

struct raw_connection::impl {
  std::shared_ptr<grpc::Channel> channel;
};

raw_connection raw_connection::connect(const std::string& address,
                                       std::chrono::milliseconds timeout) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  raw_connection c;
  c.impl_ = std::make_shared<impl>();
  c.impl_->channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  if (!c.impl_->channel->WaitForConnected(clock_type::now() + timeout))
    throw bench_error(fmt::format("cannot connect to {} within {} ms", address, timeout.count()));
  return c;
}

// -- unary ----------------------------------------------------------------------

struct raw_unary_client::impl {
  std::unique_ptr<wire::WorkerService::Stub> stub;
};

raw_unary_client::raw_unary_client(const raw_connection& conn) : impl_(std::make_unique<impl>()) {
  impl_->stub = wire::WorkerService::NewStub(conn.impl_->channel);
}

raw_unary_client::~raw_unary_client() = default;

wire::Reply raw_unary_client::call(const wire::Request& request) {
  grpc::ClientContext ctx;
  ctx.set_deadline(clock_type::now() + call_deadline);
  wire::Reply reply;
  auto st = impl_->stub->Execute(&ctx, request, &reply);
  if (!st.ok())
    throw bench_error("raw Execute: " + describe(st));
  check_reply(reply);
  return reply;
}

// -- bidi Channel, lock-step ----------------------------------------------------

struct raw_stream_client::impl {
  std::unique_ptr<wire::WorkerService::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<wire::HostFrame, wire::WorkerFrame>> rw;
  uint64_t next_id = 1;
  bool broken = false;
  wire::HostFrame out;
  wire::WorkerFrame in;

  void send(wire::Request&& request) {
    out.clear_requests();
    *out.add_requests() = std::move(request);
    if (!rw->Write(out)) {
      broken = true;
      throw bench_error("raw Channel: write failed (stream closed)");
    }
  }

  void read() {
    if (!rw->Read(&in)) {
      broken = true;
      throw bench_error("raw Channel: stream ended while waiting for a reply");
    }
  }
};

raw_stream_client::raw_stream_client(const raw_connection& conn)
  : impl_(std::make_unique<impl>()) {
  impl_->stub = wire::WorkerService::NewStub(conn.impl_->channel);
  impl_->ctx.set_deadline(clock_type::now() + stream_deadline);
  impl_->rw = impl_->stub->Channel(&impl_->ctx);
}

raw_stream_client::~raw_stream_client() {
  if (!impl_->broken && impl_->rw->WritesDone()) {
    // The worker answers what it holds (nothing: lock-step) and ends the stream.
    wire::WorkerFrame rest;
    while (impl_->rw->Read(&rest)) {
    }
  } else {
    impl_->ctx.TryCancel();
  }
  impl_->rw->Finish();
}

wire::Reply raw_stream_client::call(wire::Request request) {
  auto id = impl_->next_id++;
  request.set_id(id);
  impl_->send(std::move(request));
  for (;;) {
    impl_->read();
    for (auto& r : *impl_->in.mutable_replies()) {
      if (r.id() == id) {
        check_reply(r);
        return std::move(r);
      }
    }
  }
}

uint64_t raw_stream_client::stream(wire::Request request) {
  auto id = impl_->next_id++;
  request.set_id(id);
  impl_->send(std::move(request));
  uint64_t chunks = 0;
  for (;;) {
    impl_->read();
    for (auto& r : impl_->in.replies())
      if (r.id() == id)
        check_reply(r);  // a Reply to a streaming tool is an error
    for (auto& c : impl_->in.chunks()) {
      if (c.id() != id)
        continue;
      if (!c.final()) {
        ++chunks;
        continue;
      }
      if (c.has_error())
        throw bench_error("raw stream failed: " + c.error().message());
      return chunks;
    }
  }
}

// -- requests -------------------------------------------------------------------

wire::Request echo_request() {
  wire::Request r;
  r.set_tool("echo");
  wire::Value v;
  v.set_string_value(echo_payload);
  add_arg(r, "x", std::move(v));
  return r;
}

wire::Request echo_bytes_request(std::size_t size) {
  wire::Request r;
  r.set_tool("echo_bytes");
  wire::Value v;
  v.set_bytes_value(std::string(size, '\x5a'));
  add_arg(r, "data", std::move(v));
  return r;
}

wire::Request stream_count_request(int64_t count) {
  wire::Request r;
  r.set_tool("stream_count");
  wire::Value c;
  c.set_int_value(count);
  add_arg(r, "count", std::move(c));
  wire::Value d;
  d.set_int_value(0);
  add_arg(r, "delay_ms", std::move(d));
  return r;
}

} // namespace snakepit::bench
