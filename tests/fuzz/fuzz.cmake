# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# libFuzzer targets, one per tests/fuzz/fuzz_<name>.cpp with seeds in tests/fuzz/corpus_<name>:
# the configuration loader, the calendar, the period and instant parsers, and the SFTP reply parser
# (what a hostile server sends). Only with clang and -DFLISD_FUZZ=ON; scripts/fuzz.sh configures a
# separate build with the whole tree instrumented (-fsanitize=fuzzer-no-link,address,undefined).
option(FLISD_FUZZ "Build the libFuzzer targets (clang only)" OFF)
if(FLISD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  file(GLOB FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.cpp)
  foreach(src ${FUZZ_SOURCES})
    get_filename_component(target ${src} NAME_WE)
    add_executable(${target} ${src})
    target_compile_definitions(${target} PRIVATE FLISD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${target} PRIVATE flis_jobs)
  endforeach()
elseif(FLISD_FUZZ)
  message(WARNING "FLISD_FUZZ needs clang (CXX=clang++-16); the fuzz targets are not built")
endif()
