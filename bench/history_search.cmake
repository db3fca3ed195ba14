# History full-text search against a LIKE scan of the same table (prints the ratio).
# Included from bench/CMakeLists.txt: include(${CMAKE_CURRENT_SOURCE_DIR}/history_search.cmake)
add_executable(history_search_benchmark ${CMAKE_CURRENT_LIST_DIR}/history_search_benchmark.cpp)
joey_target_defaults(history_search_benchmark)
target_link_libraries(history_search_benchmark PRIVATE joey_client SQLite::SQLite3
                      benchmark::benchmark)
set_target_properties(history_search_benchmark PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${JOEY_BENCH_OUTPUT_DIR})
