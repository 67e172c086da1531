#include "actors/grpc_python_adapter.hpp"

#include <cstdlib>

#include "transport/value_codec.hpp"
#include "transport/worker_channel.hpp"

namespace snakepit {

namespace {

namespace wire = snakepit::bridge::v1;
namespace tp = snakepit::transport;

constexpr int ready_fd = 3;

snakepit::error from_wire(const wire::ErrorInfo& e) {
  errc code = errc::internal;
  switch (e.category()) {
    case wire::PYTHON_EXCEPTION: code = errc::python_exception; break;
    case wire::UNKNOWN_COMMAND: code = errc::unknown_command; break;
    case wire::INVALID_ARGUMENT: code = errc::invalid_argument; break;
    case wire::TIMEOUT: code = errc::timeout; break;
    case wire::CANCELLED: code = errc::cancelled; break;
    default: code = errc::internal; break;
  }
  return snakepit::error{code, e.message(), e.type(), e.traceback()};
}

/// The wire request of a call (its deadline becomes a timeout from `now`).
std::optional<snakepit::error> to_request(detail::call c, std::chrono::steady_clock::time_point now,
                                          wire::Request& req) {
  if (c.deadline <= now)
    return snakepit::error{errc::timeout, "deadline passed before the call reached Python"};
  req.set_id(c.id);
  req.set_tool(std::move(c.tool));
  if (auto enc = tp::encode_args(std::move(c.args), *req.mutable_args()); !enc)
    return snakepit::error{errc::invalid_argument, tp::to_string(enc.error())};
  req.set_session_id(std::move(c.session_id));
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
  req.set_timeout_ms(static_cast<uint32_t>(std::max<int64_t>(1, left)));
  for (auto& [k, v] : c.metadata)
    (*req.mutable_metadata())[k] = v;
  return std::nullopt;
}

class grpc_connection : public worker_connection {
public:
  explicit grpc_connection(std::unique_ptr<tp::worker_channel> ch) : channel_(std::move(ch)) {}

  void health_check(std::chrono::milliseconds timeout,
                    std::function<void(int, std::string)> done) override {
    channel_->ping(timeout, [done = std::move(done)](tp::channel_result<wire::PingReply> r) {
      if (r)
        done(static_cast<int>(r->pid()), {});
      else
        done(0, tp::to_string(r.error()));
    });
  }

  void describe_tools(std::chrono::milliseconds timeout,
                      std::function<void(result<std::vector<tool_info>>)> done) override {
    channel_->describe_tools(timeout, [done = std::move(done)](
                                        tp::channel_result<wire::DescribeToolsReply> r) {
      if (!r) {
        done(snakepit::error{errc::internal, tp::to_string(r.error())});
        return;
      }
      std::vector<tool_info> tools;
      for (auto& t : r->tools()) {
        tool_info info;
        info.name = t.name();
        info.description = t.description();
        info.streaming = t.streaming();
        info.from = tool_info::origin::python;
        for (auto& p : t.parameters())
          info.parameters.push_back({p.name(), p.annotation(), p.required()});
        tools.push_back(std::move(info));
      }
      done(std::move(tools));
    });
  }

  std::optional<snakepit::error> open(connection_callbacks cb) override {
    tp::channel_callbacks ccb;
    ccb.on_reply = [out = cb.on_outcome](wire::Reply&& r) {
      if (r.has_error()) {
        out(r.id(), detail::call_outcome::failed(from_wire(r.error())));
        return;
      }
      auto v = tp::from_value(std::move(*r.mutable_result()));
      if (v)
        out(r.id(), detail::call_outcome::ok(std::move(*v)));
      else
        out(r.id(), detail::call_outcome::failed({errc::internal, tp::to_string(v.error())}));
    };
    ccb.on_chunk = [out = cb.on_outcome, chunk = cb.on_chunk](wire::Chunk&& c) {
      if (c.has_data()) {
        auto v = tp::from_value(std::move(*c.mutable_data()));
        if (!v) {
          out(c.id(), detail::call_outcome::failed({errc::internal, tp::to_string(v.error())}));
          return;
        }
        chunk(c.id(), std::move(*v));
      }
      if (!c.final())
        return;
      if (c.has_error())
        out(c.id(), detail::call_outcome::failed(from_wire(c.error())));
      else
        out(c.id(), detail::call_outcome::ok(nullptr));
    };
    ccb.on_closed = [closed = cb.on_closed](tp::channel_result<tp::channel_ok> r) {
      closed(r ? std::string{} : tp::to_string(r.error()));
    };
    if (auto opened = channel_->open(std::move(ccb)); !opened)
      return snakepit::error{errc::worker_crashed,
                             "cannot open execute stream: " + tp::to_string(opened.error())};
    return std::nullopt;
  }

  std::optional<snakepit::error> execute(detail::call c) override {
    wire::Request req;
    if (auto err = to_request(std::move(c), std::chrono::steady_clock::now(), req))
      return err;
    if (auto sent = channel_->send(std::move(req)); !sent)
      return snakepit::error{errc::worker_crashed, tp::to_string(sent.error())};
    return std::nullopt;
  }

  /// One HostFrame for all of them (those that cannot be encoded fail alone).
  std::vector<std::optional<snakepit::error>>
  execute_batch(std::vector<detail::call> calls) override {
    std::vector<std::optional<snakepit::error>> out(calls.size());
    std::vector<wire::Request> requests;
    std::vector<std::size_t> sent_index;
    requests.reserve(calls.size());
    auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < calls.size(); ++i) {
      wire::Request req;
      if (auto err = to_request(std::move(calls[i]), now, req)) {
        out[i] = std::move(err);
        continue;
      }
      requests.push_back(std::move(req));
      sent_index.push_back(i);
    }
    if (requests.empty())
      return out;
    if (auto sent = channel_->send(std::move(requests)); !sent)
      for (auto i : sent_index)
        out[i] = snakepit::error{errc::worker_crashed, tp::to_string(sent.error())};
    return out;
  }

  void cancel(uint64_t call_id) override {
    (void) channel_->cancel({call_id});
  }

  void close() override {
    channel_->close();
  }

private:
  std::unique_ptr<tp::worker_channel> channel_;
};

class grpc_python_adapter : public worker_adapter {
public:
  std::string name() const override {
    return "grpc-python";
  }

  tp::process_spec launch_spec(const worker_context& ctx) const override {
    tp::process_spec spec;
    spec.program = ctx.python;
    spec.arguments = {"-m",          "snakepit_bridge.server",
                      "--adapter",   ctx.module,
                      "--listen",    ctx.tcp ? "127.0.0.1:0" : "unix:" + ctx.endpoint,
                      "--run-id",    ctx.run_id,
                      "--worker-id", ctx.worker_id,
                      "--ready-fd",  std::to_string(ready_fd),
                      "--grace-ms",  std::to_string(ctx.stop_grace.count())};
    if (!ctx.host_address.empty()) {
      spec.arguments.push_back("--host");
      spec.arguments.push_back(ctx.host_address);
    }
    std::string path;
    for (auto& p : ctx.python_path)
      path += (path.empty() ? "" : ":") + p;
    if (const char* inherited = std::getenv("PYTHONPATH"); inherited && *inherited)
      path += (path.empty() ? "" : ":") + std::string{inherited};
    spec.environment = {{"PYTHONPATH", path}, {"PYTHONUNBUFFERED", "1"}};
    spec.notify_fd = ready_fd;
    spec.label = ctx.worker_id;
    return spec;
  }

  bool is_ready_line(tp::output_stream stream, const std::string& line) const override {
    return stream == tp::output_stream::notify_stream && line.rfind("READY ", 0) == 0;
  }

  result<std::unique_ptr<worker_connection>> connect(const worker_context& ctx,
                                                     const std::string& ready_line) const override {
    // "READY <address> <pid>": with TCP the address carries the port the
    // worker bound (port 0 lets the kernel choose, so there is no port race).
    tp::worker_channel_options copts;
    copts.address = "unix:" + ctx.endpoint;
    if (ctx.tcp) {
      auto first = ready_line.find(' ');
      auto second = first == std::string::npos ? first : ready_line.find(' ', first + 1);
      if (second == std::string::npos)
        return snakepit::error{errc::startup_failed, "malformed ready line: " + ready_line};
      copts.address = ready_line.substr(first + 1, second - first - 1);
    }
    auto ch = tp::worker_channel::connect(copts);
    if (!ch)
      return snakepit::error{errc::startup_failed,
                             "cannot create channel: " + tp::to_string(ch.error())};
    return std::unique_ptr<worker_connection>(std::make_unique<grpc_connection>(std::move(*ch)));
  }
};

} // namespace

std::shared_ptr<worker_adapter> make_grpc_python_adapter() {
  return std::make_shared<grpc_python_adapter>();
}

} // namespace snakepit
