// bench/peers/trivial_bridge_server.cpp — a bare HostBridge server: session
// variables in a map behind one mutex, no actors, gRPC's synchronous API.
// The anchor of the figure "Python ctx.get/ctx.set ops/s next to a raw Python
// gRPC client calling a trivial C++ gRPC server": what the bridge costs
// without the runtime in between.
//
// Run (bench/peers/bridge_ops.py starts it for you with --server):
//   build/bench/snakepit-trivial-bridge-server unix:/tmp/DIR/bridge.sock
// prints "READY <address>" once serving and stops on SIGTERM / SIGINT.
// Every session id is accepted (created on first use). Ops: get, set (with
// compare-and-set), register, increment (int or double), delete, list;
// constraints are stored, never checked. Host tools: none.
#include "host_bridge.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <signal.h>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>

namespace wire = snakepit::bridge::v1;

namespace {

wire::SessionReply refusal(wire::SessionError::Code code, std::string message) {
  wire::SessionReply reply;
  reply.mutable_error()->set_code(code);
  reply.mutable_error()->set_message(std::move(message));
  return reply;
}

class trivial_bridge final : public wire::HostBridge::Service {
public:
  grpc::Status Session(grpc::ServerContext*, const wire::SessionRequest* req,
                       wire::SessionReply* reply) override {
    std::lock_guard g{mutex_};
    *reply = apply(sessions_[req->session_id()], *req);
    return grpc::Status::OK;
  }

  grpc::Status CallHostTool(grpc::ServerContext*, const wire::HostToolCall* call,
                            wire::HostToolReply* reply) override {
    reply->mutable_error()->set_category(wire::UNKNOWN_COMMAND);
    reply->mutable_error()->set_message("no host tool " + call->name());
    return grpc::Status::OK;
  }

  grpc::Status ListHostTools(grpc::ServerContext*, const wire::HostToolListRequest*,
                             wire::HostToolList*) override {
    return grpc::Status::OK;
  }

private:
  using variables = std::map<std::string, wire::VariableState>;

  static wire::SessionReply apply(variables& vars, const wire::SessionRequest& req) {
    wire::SessionReply reply;
    switch (req.op_case()) {
      case wire::SessionRequest::kGetVariables:
        for (const auto& name : req.get_variables().names()) {
          auto it = vars.find(name);
          if (it == vars.end())
            return refusal(wire::SessionError::VARIABLE_NOT_FOUND, "no variable " + name);
          *reply.add_variables() = it->second;
        }
        return reply;
      case wire::SessionRequest::kSetVariables: {
        for (const auto& w : req.set_variables().writes()) {
          auto it = vars.find(w.name());
          const auto version = it == vars.end() ? 0 : it->second.version();
          if (w.has_expected_version() && w.expected_version() != version)
            return refusal(wire::SessionError::VERSION_CONFLICT, "stale version of " + w.name());
        }
        for (const auto& w : req.set_variables().writes()) {
          auto& v = vars[w.name()];
          if (v.name().empty()) {
            v.set_name(w.name());
            v.set_type("any");
          }
          *v.mutable_value() = w.value();
          v.set_version(v.version() + 1);
          *reply.add_variables() = v;
        }
        return reply;
      }
      case wire::SessionRequest::kRegisterVariable: {
        const auto& r = req.register_variable();
        if (vars.count(r.name()) != 0)
          return refusal(wire::SessionError::ALREADY_EXISTS, r.name() + " exists");
        auto& v = vars[r.name()];
        v.set_name(r.name());
        v.set_type(r.type());
        *v.mutable_value() = r.value();
        *v.mutable_constraints() = r.constraints();
        v.set_version(1);
        *reply.add_variables() = v;
        return reply;
      }
      case wire::SessionRequest::kIncrementVariable: {
        const auto& inc = req.increment_variable();
        auto& v = vars[inc.name()];
        if (v.name().empty()) {
          v.set_name(inc.name());
          v.set_type(inc.delta().has_int_value() ? "integer" : "float");
        }
        auto* value = v.mutable_value();
        if (inc.delta().has_int_value() && !value->has_double_value())
          value->set_int_value(value->int_value() + inc.delta().int_value());
        else
          value->set_double_value(
            (value->has_int_value() ? static_cast<double>(value->int_value())
                                    : value->double_value())
            + (inc.delta().has_int_value() ? static_cast<double>(inc.delta().int_value())
                                           : inc.delta().double_value()));
        v.set_version(v.version() + 1);
        *reply.add_variables() = v;
        return reply;
      }
      case wire::SessionRequest::kDeleteVariable:
        if (vars.erase(req.delete_variable().name()) == 0)
          return refusal(wire::SessionError::VARIABLE_NOT_FOUND, "nothing to delete");
        return reply;
      case wire::SessionRequest::kListVariables:
        for (const auto& [name, v] : vars)
          *reply.add_variables() = v;
        return reply;
      case wire::SessionRequest::OP_NOT_SET:
        break;
    }
    return refusal(wire::SessionError::INVALID_ARGUMENT, "no op");
  }

  std::mutex mutex_;
  std::map<std::string, variables> sessions_;
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " unix:/PATH | HOST:PORT\n";
    return 64;
  }
  // Wait for the stop signal in main with sigwait: block it before gRPC
  // starts its threads, so they inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  trivial_bridge service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(argv[1], grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "cannot listen on " << argv[1] << "\n";
    return 3;
  }
  std::string address = argv[1];
  if (address.rfind("unix:", 0) != 0)
    address = address.substr(0, address.rfind(':')) + ":" + std::to_string(port);
  std::cout << "READY " << address << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
