// transport/bridge_server: the HostBridge gRPC server with a fake handler,
// called through the generated C++ client stub over Unix sockets and TCP.
#include "grpc_test_support.hpp"

#include "transport/bridge_server.hpp"
#include "transport/value_codec.hpp"

#include "host_bridge.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <sys/stat.h>

#include <algorithm>
#include <future>
#include <thread>

using nlohmann::json;
using namespace snakepit::transport;
using namespace snakepit::transport::test;

namespace {

/// Variables in a map; or, with `hold` set, keeps every `done` for the test
/// to call (later, from another thread, or never).
class fake_handler final : public bridge_handler {
public:
  bool hold = false;

  void session(wire::SessionRequest req, std::function<void(wire::SessionReply)> done) override {
    if (park([&] { held_session.push_back(std::move(done)); }))
      return;
    wire::SessionReply reply;
    std::lock_guard g{box.mutex};
    if (req.has_set_variables()) {
      for (const auto& w : req.set_variables().writes()) {
        auto& v = vars[w.name()];
        v.set_name(w.name());
        v.set_type("any");
        *v.mutable_value() = w.value();
        v.set_version(v.version() + 1);
        *reply.add_variables() = v;
      }
    } else if (req.has_get_variables()) {
      for (const auto& name : req.get_variables().names()) {
        auto it = vars.find(name);
        if (it == vars.end()) {
          reply.Clear();
          reply.mutable_error()->set_code(wire::SessionError::VARIABLE_NOT_FOUND);
          reply.mutable_error()->set_message(name);
          break;
        }
        *reply.add_variables() = it->second;
      }
    } else {
      reply.mutable_error()->set_code(wire::SessionError::INVALID_ARGUMENT);
    }
    last_session_id = req.session_id();
    done(std::move(reply));
  }

  void call_host_tool(wire::HostToolCall call,
                      std::function<void(wire::HostToolReply)> done) override {
    if (park([&] { held_tool.push_back(std::move(done)); }))
      return;
    wire::HostToolReply reply;
    if (call.name() == "echo") {
      auto args = from_value_map(call.args());
      REQUIRE(args.has_value());
      auto v = to_value(*args);
      REQUIRE(v.has_value());
      *reply.mutable_value() = std::move(*v);
    } else {
      reply.mutable_error()->set_category(wire::UNKNOWN_COMMAND);
      reply.mutable_error()->set_message("no host tool " + call.name());
    }
    done(std::move(reply));
  }

  void list_host_tools(std::function<void(wire::HostToolList)> done) override {
    wire::HostToolList list;
    auto* t = list.add_tools();
    t->set_name("echo");
    t->set_description("returns its arguments");
    done(std::move(list));
  }

  std::size_t held_count() {
    std::lock_guard g{box.mutex};
    return held_session.size() + held_tool.size();
  }
  bool wait_held(std::size_t n) {
    return box.wait_for([&] { return held_session.size() + held_tool.size() >= n; }, 5000ms);
  }
  std::function<void(wire::SessionReply)> take_session() {
    std::lock_guard g{box.mutex};
    REQUIRE_FALSE(held_session.empty());
    auto f = std::move(held_session.front());
    held_session.erase(held_session.begin());
    return f;
  }

  signal_box box;
  std::map<std::string, wire::VariableState> vars;
  std::vector<std::function<void(wire::SessionReply)>> held_session;
  std::vector<std::function<void(wire::HostToolReply)>> held_tool;
  std::string last_session_id;

private:
  template <class F>
  bool park(F&& keep) {
    if (!hold)
      return false;
    box.update(keep);
    return true;
  }
};

struct started {
  std::shared_ptr<fake_handler> handler = std::make_shared<fake_handler>();
  std::unique_ptr<bridge_server> server;
};

started start_bridge(const std::string& address, std::chrono::milliseconds deadline = 5000ms) {
  started s;
  auto r = bridge_server::start({address, s.handler, deadline});
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : to_string(r.error())));
  s.server = std::move(*r);
  return s;
}

std::unique_ptr<wire::HostBridge::Stub> client(const std::string& address) {
  return wire::HostBridge::NewStub(
    grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

struct session_outcome {
  grpc::Status status;
  wire::SessionReply reply;
};

session_outcome call_session(wire::HostBridge::Stub& stub, const wire::SessionRequest& req,
                             std::chrono::milliseconds deadline = 5000ms) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  session_outcome out;
  out.status = stub.Session(&ctx, req, &out.reply);
  return out;
}

wire::SessionRequest get_request(std::vector<std::string> names) {
  wire::SessionRequest req;
  req.set_session_id("s1");
  for (auto& n : names)
    req.mutable_get_variables()->add_names(std::move(n));
  return req;
}

wire::SessionRequest set_request(const json& values) {
  wire::SessionRequest req;
  req.set_session_id("s1");
  for (const auto& [name, value] : values.items()) {
    auto* w = req.mutable_set_variables()->add_writes();
    w->set_name(name);
    auto enc = encode_value(value, *w->mutable_value());
    REQUIRE(enc.has_value());
  }
  return req;
}

json value_of(const wire::VariableState& v) {
  auto j = from_value(v.value());
  REQUIRE(j.has_value());
  return *j;
}

json bytes(std::initializer_list<std::uint8_t> b) {
  return json::binary(json::binary_t::container_type(b));
}

} // namespace

TEST_CASE("bridge: a session op round-trips typed values over a Unix socket") {
  private_dir dir;
  auto s = start_bridge("unix:" + dir.path + "/w.sock");
  CHECK(s.server->address() == "unix:" + dir.path + "/w.sock");
  auto stub = client(s.server->address());

  const json values = {{"count", 42},
                       {"blob", bytes({0, 255, 7})},
                       {"nested", {{"a", json::array({1, "x", {{"b", true}}})}, {"f", 2.5}}}};
  auto set = call_session(*stub, set_request(values));
  REQUIRE_MESSAGE(set.status.ok(), set.status.error_message());
  REQUIRE(set.reply.variables_size() == 3);
  CHECK(set.reply.variables(0).version() == 1);
  CHECK(s.handler->last_session_id == "s1");

  auto got = call_session(*stub, get_request({"count", "blob", "nested"}));
  REQUIRE(got.status.ok());
  REQUIRE_FALSE(got.reply.has_error());
  REQUIRE(got.reply.variables_size() == 3);
  const auto count = value_of(got.reply.variables(0));
  CHECK(count.is_number_integer());
  CHECK(count == 42);
  const auto blob = value_of(got.reply.variables(1));
  CHECK(blob.is_binary());
  CHECK(blob == bytes({0, 255, 7}));
  CHECK(value_of(got.reply.variables(2)) == values["nested"]);

  auto missing = call_session(*stub, get_request({"count", "nope"}));
  REQUIRE(missing.status.ok()); // refusals travel in the reply, not as a status
  REQUIRE(missing.reply.has_error());
  CHECK(missing.reply.error().code() == wire::SessionError::VARIABLE_NOT_FOUND);
  CHECK(missing.reply.variables_size() == 0);
}

TEST_CASE("bridge: host tools are called and listed") {
  private_dir dir;
  auto s = start_bridge("unix:" + dir.path + "/w.sock");
  auto stub = client(s.server->address());

  wire::HostToolCall call;
  call.set_name("echo");
  REQUIRE(encode_args(json{{"n", 7}, {"b", bytes({1})}}, *call.mutable_args()).has_value());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  wire::HostToolReply reply;
  REQUIRE(stub->CallHostTool(&ctx, call, &reply).ok());
  REQUIRE(reply.has_value());
  CHECK(*from_value(reply.value()) == json{{"n", 7}, {"b", bytes({1})}});

  call.set_name("missing");
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + 5s);
  REQUIRE(stub->CallHostTool(&ctx2, call, &reply).ok());
  REQUIRE(reply.has_error());
  CHECK(reply.error().category() == wire::UNKNOWN_COMMAND);

  grpc::ClientContext ctx3;
  ctx3.set_deadline(std::chrono::system_clock::now() + 5s);
  wire::HostToolList list;
  REQUIRE(stub->ListHostTools(&ctx3, wire::HostToolListRequest{}, &list).ok());
  REQUIRE(list.tools_size() == 1);
  CHECK(list.tools(0).name() == "echo");
}

TEST_CASE("bridge: a handler may answer later from another thread") {
  private_dir dir;
  auto s = start_bridge("unix:" + dir.path + "/w.sock");
  s.handler->hold = true;
  auto stub = client(s.server->address());

  auto pending = std::async(std::launch::async, [&] {
    return call_session(*stub, set_request({{"x", 1}}));
  });
  REQUIRE(s.handler->wait_held(1));
  CHECK(s.server->in_flight() == 1);
  std::thread answerer([done = s.handler->take_session()] {
    std::this_thread::sleep_for(100ms);
    wire::SessionReply reply;
    reply.add_variables()->set_name("x");
    done(std::move(reply));
  });
  auto out = pending.get();
  answerer.join();
  REQUIRE_MESSAGE(out.status.ok(), out.status.error_message());
  REQUIRE(out.reply.variables_size() == 1);
  CHECK(out.reply.variables(0).name() == "x");
  CHECK(s.server->in_flight() == 0);
}

TEST_CASE("bridge: a call the handler never answers ends with DEADLINE_EXCEEDED and a late done is ignored") {
  private_dir dir;
  auto s = start_bridge("unix:" + dir.path + "/w.sock", 200ms);
  s.handler->hold = true;
  auto stub = client(s.server->address());

  const auto start = std::chrono::steady_clock::now();
  auto out = call_session(*stub, get_request({"x"}), 5000ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(out.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(out.status.error_message().find("within 200 ms") != std::string::npos);
  CHECK(elapsed >= 150ms);
  CHECK(elapsed < 2000ms);
  CHECK(s.server->in_flight() == 0);

  // A caller's own shorter deadline ends a call as well (CANCELLED here).
  auto s2 = start_bridge("unix:" + dir.path + "/w2.sock", 5000ms);
  s2.handler->hold = true;
  auto stub2 = client(s2.server->address());
  auto short_call = call_session(*stub2, get_request({"x"}), 150ms);
  CHECK(short_call.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server learns of the cancel a moment later (OnCancel).
  for (int i = 0; i < 300 && s2.server->in_flight() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(s2.server->in_flight() == 0);

  // The late answers: ignored now, and after the servers are gone.
  auto late = s.handler->take_session();
  late(wire::SessionReply{});
  auto later = s2.handler->take_session();
  s.server.reset();
  s2.server.reset();
  later(wire::SessionReply{});
  late(wire::SessionReply{});
  ::unlink((dir.path + "/w2.sock").c_str());
}

TEST_CASE("bridge: shutdown answers a call in flight with UNAVAILABLE and never hangs") {
  private_dir dir;
  auto s = start_bridge("unix:" + dir.path + "/w.sock");
  s.handler->hold = true;
  auto stub = client(s.server->address());

  auto pending = std::async(std::launch::async, [&] { return call_session(*stub, get_request({"x"})); });
  REQUIRE(s.handler->wait_held(1));
  const auto start = std::chrono::steady_clock::now();
  s.server->shutdown(1000ms);
  CHECK(std::chrono::steady_clock::now() - start < 2000ms);
  auto out = pending.get();
  CHECK(out.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(s.server->in_flight() == 0);

  s.server->shutdown(1000ms); // idempotent
  s.handler->take_session()(wire::SessionReply{}); // late: ignored

  // Nothing listens any more.
  auto after = call_session(*client("unix:" + dir.path + "/w.sock"), get_request({"x"}), 500ms);
  CHECK_FALSE(after.status.ok());
  struct stat st {};
  CHECK(::stat((dir.path + "/w.sock").c_str(), &st) != 0); // socket file removed
}

TEST_CASE("bridge: refuses a socket directory other users can read, a missing one, bad options") {
  private_dir dir;
  auto handler = std::make_shared<fake_handler>();
  const std::string address = "unix:" + dir.path + "/w.sock";

  REQUIRE(::chmod(dir.path.c_str(), 0755) == 0);
  auto open = bridge_server::start({address, handler, 1000ms});
  REQUIRE_FALSE(open.has_value());
  CHECK(open.error().code == bridge_errc::insecure_directory);
  CHECK(open.error().message.find("0755") != std::string::npos);

  REQUIRE(::chmod(dir.path.c_str(), 0750) == 0);
  auto group = bridge_server::start({address, handler, 1000ms});
  REQUIRE_FALSE(group.has_value());
  CHECK(group.error().code == bridge_errc::insecure_directory);

  REQUIRE(::chmod(dir.path.c_str(), 0700) == 0);
  auto ok = bridge_server::start({address, handler, 1000ms});
  CHECK_MESSAGE(ok.has_value(), (ok ? "" : to_string(ok.error())));

  auto missing = bridge_server::start({"unix:" + dir.path + "/nope/w.sock", handler, 1000ms});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == bridge_errc::directory_missing);

  auto relative = bridge_server::start({"unix:w.sock", handler, 1000ms});
  REQUIRE_FALSE(relative.has_value());
  CHECK(relative.error().code == bridge_errc::invalid_address);

  auto no_handler = bridge_server::start({address, nullptr, 1000ms});
  REQUIRE_FALSE(no_handler.has_value());
  CHECK(no_handler.error().code == bridge_errc::invalid_options);
}

TEST_CASE("bridge: TCP port 0 reports the port bound and a busy port is a typed error") {
  auto s = start_bridge("127.0.0.1:0");
  const auto& address = s.server->address();
  REQUIRE(address.rfind("127.0.0.1:", 0) == 0);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  CHECK(port > 0);

  auto stub = client(address);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  wire::HostToolList list;
  REQUIRE(stub->ListHostTools(&ctx, wire::HostToolListRequest{}, &list).ok());
  CHECK(list.tools_size() == 1);

  auto busy = bridge_server::start({address, s.handler, 1000ms});
  REQUIRE_FALSE(busy.has_value());
  CHECK(busy.error().code == bridge_errc::bind_failed);
}

// The bridge's own thread waits on a queue that does not poll; while no
// thread of this process polls a worker connection, only the standby poller
// reads the bridge's sockets. So the client is another process, and this
// thread only waits for it (an in-process client would read the sockets
// itself while it waits for its answer).
TEST_CASE("bridge: a client in another process is answered while no host thread polls") {
  private_dir dir;
  auto s = start_bridge("unix:" + dir.path + "/w.sock");

  const std::string client_code = R"py(
import sys, grpc, host_bridge_pb2 as pb, host_bridge_pb2_grpc as rpc
stub = rpc.HostBridgeStub(grpc.insecure_channel(sys.argv[1]))
answered = 0
for i in range(20):
    req = pb.SessionRequest(session_id="s1")
    req.get_variables.names.append("count")
    reply = stub.Session(req, timeout=5)
    if reply.HasField("error"):
        answered += 1
print("answered", answered, flush=True)
)py";

  auto launcher = process_launcher::create();
  REQUIRE(launcher.has_value());
  process_spec spec;
  spec.program = SNAKEPIT_TEST_PYTHON;
  spec.arguments = {"-c", client_code, s.server->address()};
  spec.environment = {{"PYTHONPATH", SNAKEPIT_TEST_PYTHONPATH}};
  spec.label = "bridge-test-client";
  struct seen {
    signal_box box;
    std::vector<std::string> out;
    std::optional<exit_status> exit;
  };
  auto st = std::make_shared<seen>();
  process_observer obs;
  obs.on_output = [st](process_output line) {
    st->box.update([&] { st->out.push_back(line.text); });
  };
  obs.on_exit = [st](process_exit e) { st->box.update([&] { st->exit = e.status; }); };
  (*launcher)->launch(std::move(spec), std::move(obs));
  REQUIRE(st->box.wait_for([&] { return st->exit.has_value(); }, 30s));
  std::lock_guard g{st->box.mutex};
  std::string all;
  for (const auto& l : st->out)
    all += l + "\n";
  INFO(all);
  CHECK(std::find(st->out.begin(), st->out.end(), "answered 20") != st->out.end());
}
