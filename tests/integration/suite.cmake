# The chaos tests start this host program and kill it.
add_executable(snakepit-test-host "${CMAKE_CURRENT_SOURCE_DIR}/integration/host/test_host.cpp")
target_link_libraries(snakepit-test-host PRIVATE snakepit snakepit_warnings)
add_dependencies(${target} snakepit-test-host)
target_compile_definitions(${target} PRIVATE
  SNAKEPIT_TEST_HOST="$<TARGET_FILE:snakepit-test-host>")
