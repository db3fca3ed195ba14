# History full-text search (HistoryStore::search) against the same FTS5 SQL run directly
# through the sqlite3 API on the same database, plus an unindexed LIKE scan for scale
# (prints the ratios). Included from bench/CMakeLists.txt.
add_executable(history_search_benchmark ${CMAKE_CURRENT_LIST_DIR}/history_search_benchmark.cpp)
joey_target_defaults(history_search_benchmark)
target_link_libraries(history_search_benchmark PRIVATE joey_client SQLite::SQLite3
                      benchmark::benchmark)
set_target_properties(history_search_benchmark PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${JOEY_BENCH_OUTPUT_DIR})
