# The demo suite drives the runner library in-process.
target_link_libraries(test_demos PRIVATE snakepit_demos)
