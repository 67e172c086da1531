#pragma once
// Value types that travel in messages between the runtime's actors and are
// not serialisable by CAF (they never leave the process). Declared once
// here: a second declaration of the same type elsewhere does not compile.

#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "actors/host_tool.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::result<void>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::result<nlohmann::json>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(snakepit::host_tool)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<snakepit::tool_info>)
