#include "bench/raw_client.hpp"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "bench/bench_error.hpp"
#include "bench/stopwatch.hpp"
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

// -- bidi Channel, pipelined ----------------------------------------------------

namespace {

/// One stream kept full: a writer thread sends what the credits allow, a
/// reader thread returns credits as replies come.
class pipelined_stream {
public:
  pipelined_stream(const raw_connection& conn, const wire::Request& request, int inflight)
    : request_(request), credits_(inflight) {
    stub_ = wire::WorkerService::NewStub(conn.impl_->channel);
    ctx_.set_deadline(clock_type::now() + stream_deadline);
    rw_ = stub_->Channel(&ctx_);
  }

  void start(bench_clock::time_point window_end) {
    window_end_ = window_end;
    reader_ = std::thread([this] { read_loop(); });
    writer_ = std::thread([this] { write_loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> guard{mx_};
      stopping_ = true;
    }
    cv_.notify_all();
  }

  /// Joins both threads; throws what went wrong.
  void finish(saturated_result& into) {
    writer_.join();
    reader_.join();
    auto st = rw_->Finish();
    if (!error_.empty())
      throw bench_error(error_);
    if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED)
      throw bench_error("raw pipelined Channel: " + describe(st));
    into.calls += counted_;
    into.latency_us.insert(into.latency_us.end(), latency_us_.begin(), latency_us_.end());
  }

private:
  void fail(std::string what) {
    std::lock_guard<std::mutex> guard{mx_};
    if (error_.empty())
      error_ = std::move(what);
    stopping_ = true;
    cv_.notify_all();
  }

  void write_loop() {
    wire::HostFrame frame;
    for (;;) {
      int n = 0;
      {
        std::unique_lock<std::mutex> lock{mx_};
        cv_.wait(lock, [&] { return stopping_ || credits_ > 0; });
        if (stopping_) {
          // Let the outstanding requests come back, then half-close.
          cv_.wait(lock, [&] { return outstanding_ == 0 || !error_.empty(); });
          break;
        }
        n = credits_;
        credits_ = 0;
        outstanding_ += n;
        auto t0 = bench_clock::now();
        frame.clear_requests();
        for (int i = 0; i < n; ++i) {
          auto* r = frame.add_requests();
          *r = request_;
          r->set_id(next_id_);
          sent_at_.emplace(next_id_++, t0);
        }
      }
      if (!rw_->Write(frame)) {
        fail("raw pipelined Channel: write failed (stream closed)");
        break;
      }
    }
    bool ok = false;
    {
      std::lock_guard<std::mutex> guard{mx_};
      ok = error_.empty();
    }
    if (ok)
      rw_->WritesDone();
    else
      ctx_.TryCancel();
  }

  void read_loop() {
    wire::WorkerFrame in;
    while (rw_->Read(&in)) {
      auto t = bench_clock::now();
      std::lock_guard<std::mutex> guard{mx_};
      for (auto& r : in.replies()) {
        if (r.has_error()) {
          error_ = "raw pipelined call failed: " + r.error().message();
          stopping_ = true;
        }
        auto it = sent_at_.find(r.id());
        if (it == sent_at_.end())
          continue;
        if (t <= window_end_) {
          ++counted_;
          latency_us_.push_back(std::chrono::duration<double, std::micro>(t - it->second).count());
        }
        sent_at_.erase(it);
        --outstanding_;
        ++credits_;
      }
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> guard{mx_};
    if (outstanding_ != 0 && error_.empty())
      error_ = "raw pipelined Channel: stream ended with requests outstanding";
    outstanding_ = 0;
    cv_.notify_all();
  }

  wire::Request request_;
  std::unique_ptr<wire::WorkerService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<wire::HostFrame, wire::WorkerFrame>> rw_;
  std::thread reader_, writer_;
  bench_clock::time_point window_end_;

  std::mutex mx_;
  std::condition_variable cv_;
  int credits_;
  int outstanding_ = 0;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, bench_clock::time_point> sent_at_;
  uint64_t counted_ = 0;
  std::vector<double> latency_us_;
  std::string error_;
};

} // namespace

saturated_result run_pipelined_streams(const std::vector<raw_connection>& conns,
                                       const wire::Request& request, int inflight_per_stream,
                                       std::chrono::milliseconds window) {
  std::vector<std::unique_ptr<pipelined_stream>> streams;
  for (auto& c : conns)
    streams.push_back(std::make_unique<pipelined_stream>(c, request, inflight_per_stream));
  auto start = bench_clock::now();
  auto end = start + window;
  for (auto& s : streams)
    s->start(end);
  std::this_thread::sleep_until(end);
  for (auto& s : streams)
    s->stop();
  saturated_result out;
  std::string first_error;
  for (auto& s : streams) {
    try {
      s->finish(out);
    } catch (const std::exception& e) {
      if (first_error.empty())
        first_error = e.what();
    }
  }
  if (!first_error.empty())
    throw bench_error(first_error);
  out.seconds = std::chrono::duration<double>(window).count();
  out.per_second = static_cast<double>(out.calls) / out.seconds;
  return out;
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
