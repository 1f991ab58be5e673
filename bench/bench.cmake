# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Benchmarks: bench/<name>_bench.cpp, each an executable linked against flis_daemon; built by
# `cmake --build build --target bench` (not part of the default build), run by the bench/*.sh scripts.
file(GLOB BENCH_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/*_bench.cpp)
add_custom_target(bench)
foreach(src ${BENCH_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} EXCLUDE_FROM_ALL ${src})
  target_link_libraries(${name} PRIVATE flis_daemon)
  target_compile_definitions(${name} PRIVATE FLISD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  add_dependencies(bench ${name})
endforeach()
