# libFuzzer target for the configuration loader: only with clang and -DFLISD_FUZZ=ON (scripts/fuzz.sh
# configures a separate build with the whole tree instrumented: -fsanitize=fuzzer-no-link,address,undefined).
option(FLISD_FUZZ "Build the libFuzzer targets (clang only)" OFF)
if(FLISD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_config ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_config.cpp)
  target_compile_definitions(fuzz_config PRIVATE FLISD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_compile_options(fuzz_config PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_config PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_config PRIVATE flis_config)
elseif(FLISD_FUZZ)
  message(WARNING "FLISD_FUZZ needs clang (CXX=clang++); the fuzz targets are not built")
endif()

# The SFTP reply parser (jobs/sftp_protocol.cpp): what a hostile server sends. Seeds in
# tests/fuzz/corpus_sftp_reply; run: fuzz-build/fuzz_sftp_reply -max_total_time=300 <corpus copy>.
if(FLISD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_sftp_reply ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_sftp_reply.cpp)
  target_compile_options(fuzz_sftp_reply PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_sftp_reply PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_sftp_reply PRIVATE flis_jobs)
endif()

# ---- faults (issue 6): the period/instant parsers and the data calendar loader ------------------
# Seeds in tests/fuzz/corpus_period and corpus_calendar; bench/reliability.sh runs them with the others.
if(FLISD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  foreach(target fuzz_period fuzz_calendar)
    add_executable(${target} ${CMAKE_SOURCE_DIR}/tests/fuzz/${target}.cpp)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${target} PRIVATE flis_config)
  endforeach()
endif()
