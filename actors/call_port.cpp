#include "actors/call_port.hpp"

#include <utility>

#include <caf/send.hpp>

#include "actors/worker_adapter.hpp"

namespace snakepit::detail {

call_port::call_port(std::function<void(std::string)> on_send_failed)
  : on_send_failed_(std::move(on_send_failed)) {}

call_port::~call_port() = default;

connection_callbacks call_port::callbacks(std::function<void(std::string)> on_closed) {
  std::weak_ptr<call_port> weak = shared_from_this();
  connection_callbacks cb;
  cb.on_outcome = [weak](uint64_t id, call_outcome out) {
    if (auto self = weak.lock())
      self->on_outcome(id, std::move(out));
  };
  cb.on_chunk = [weak](uint64_t id, nlohmann::json chunk) {
    if (auto self = weak.lock())
      self->on_chunk(id, std::move(chunk));
  };
  cb.on_closed = std::move(on_closed);
  return cb;
}

void call_port::attach(std::unique_ptr<worker_connection> conn) {
  std::lock_guard<std::mutex> guard{send_mx_};
  conn_ = std::move(conn);
}

snakepit::error call_port::closed_error_locked() const {
  return snakepit::error{closed_code_, closed_why_};
}

std::vector<std::optional<snakepit::error>> call_port::submit(std::vector<submission> batch) {
  std::vector<std::optional<snakepit::error>> out(batch.size());
  // Registered before they go out: an outcome may come back at once, even
  // inline from execute().
  {
    std::lock_guard<std::mutex> guard{table_mx_};
    if (closed_) {
      for (auto& e : out)
        e = closed_error_locked();
      return out;
    }
    for (auto& s : batch)
      calls_.insert_or_assign(s.c.id, entry{std::move(s.done), s.c.stream_sink, {}, false});
  }
  std::vector<uint64_t> ids;
  std::vector<call> body;
  ids.reserve(batch.size());
  body.reserve(batch.size());
  for (auto& s : batch) {
    ids.push_back(s.c.id);
    body.push_back(std::move(s.c));
  }
  {
    std::lock_guard<std::mutex> guard{send_mx_};
    if (conn_) {
      if (body.size() == 1)
        out[0] = conn_->execute(std::move(body[0]));
      else
        out = conn_->execute_batch(std::move(body));
    } else {
      for (auto& e : out)
        e = snakepit::error{errc::worker_crashed, "the worker's connection is gone"};
    }
  }
  out.resize(batch.size());
  // Calls that did not go out never get an outcome from the connection.
  bool broken = false;
  std::string why;
  {
    std::lock_guard<std::mutex> guard{table_mx_};
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (!out[i])
        continue;
      if (calls_.erase(ids[i]) == 0) {
        // close() took it meanwhile and has answered it through `done`.
        out[i].reset();
        continue;
      }
      if (out[i]->code() == errc::worker_crashed && !send_failure_reported_) {
        send_failure_reported_ = true;
        broken = true;
        why = out[i]->message();
      }
    }
  }
  if (broken && on_send_failed_)
    on_send_failed_(why);
  return out;
}

std::optional<snakepit::error> call_port::submit(call c, outcome_fn done) {
  std::vector<submission> one;
  one.push_back({std::move(c), std::move(done)});
  return std::move(submit(std::move(one))[0]);
}

void call_port::cancel(uint64_t call_id) {
  {
    std::lock_guard<std::mutex> guard{table_mx_};
    if (calls_.count(call_id) == 0)
      return;
  }
  std::lock_guard<std::mutex> guard{send_mx_};
  if (conn_)
    conn_->cancel(call_id);
}

void call_port::close(errc code, const std::string& why) {
  std::unordered_map<uint64_t, entry> left;
  {
    std::lock_guard<std::mutex> guard{table_mx_};
    if (!closed_) {
      closed_ = true;
      closed_code_ = code;
      closed_why_ = why;
    }
    left.swap(calls_);
  }
  for (auto& [id, e] : left)
    e.done(call_outcome::failed({code, why}));
}

void call_port::close_connection() {
  std::lock_guard<std::mutex> guard{send_mx_};
  if (conn_)
    conn_->close();
}

std::unique_ptr<worker_connection> call_port::detach() {
  {
    std::lock_guard<std::mutex> guard{table_mx_};
    if (!closed_) {
      closed_ = true;
      closed_code_ = errc::worker_crashed;
      closed_why_ = "the worker's connection is gone";
    }
  }
  std::lock_guard<std::mutex> guard{send_mx_};
  return std::move(conn_);
}

std::size_t call_port::in_flight() const {
  std::lock_guard<std::mutex> guard{table_mx_};
  return calls_.size();
}

bool call_port::is_closed() const {
  std::lock_guard<std::mutex> guard{table_mx_};
  return closed_;
}

void call_port::on_outcome(uint64_t id, call_outcome out) {
  entry e;
  {
    std::lock_guard<std::mutex> guard{table_mx_};
    auto it = calls_.find(id);
    if (it == calls_.end())
      return;  // failed by close() already, or never ours
    e = std::move(it->second);
    calls_.erase(it);
  }
  // A stream called without a sink answers with the list of its chunks.
  if (out.value && e.streamed && !e.sink)
    out.value = nlohmann::json(std::move(e.collected));
  e.done(std::move(out));
}

void call_port::on_chunk(uint64_t id, nlohmann::json chunk) {
  caf::actor sink;
  {
    std::lock_guard<std::mutex> guard{table_mx_};
    auto it = calls_.find(id);
    if (it == calls_.end())
      return;
    auto& e = it->second;
    e.streamed = true;
    if (!e.sink) {
      e.collected.push_back(std::move(chunk));
      return;
    }
    sink = e.sink;
  }
  // Chunks of one call come from one thread, in order: sent in order.
  caf::anon_send(sink, chunk_atom::value, id, std::move(chunk));
}

} // namespace snakepit::detail
