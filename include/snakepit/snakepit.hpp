#pragma once
// The embedding API of snakepit: one header.
//
//   snakepit::config cfg;
//   cfg.pool_size = 2;
//   snakepit::runtime rt{cfg};
//   if (auto ok = rt.await_ready(std::chrono::seconds(15)); !ok) ... ok.error().to_string()
//   auto r = rt.execute("echo", {{"x", 1}});          // result<nlohmann::json>
//   rt.execute_stream("stream_count", {{"count", 5}}, [](const nlohmann::json& c) { ... });

#include "actors/config.hpp"
#include "actors/error.hpp"
#include "actors/pool_types.hpp"
#include "actors/runtime.hpp"
