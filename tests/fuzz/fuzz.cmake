# The libFuzzer targets (tests/fuzz/*.cc), built only with LOCALRDS_FUZZ=ON and clang:
# tests/fuzz/run.sh configures such a build of its own and runs each target for a bounded time
# over its checked-in corpus (tests/fuzz/corpus/<target>). Included from the top-level
# CMakeLists (the embedded model's generated source is its target's).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "LOCALRDS_FUZZ needs clang (libFuzzer): configure with "
                      "-DCMAKE_CXX_COMPILER=clang++, as tests/fuzz/run.sh does")
endif()
set(LOCALRDS_FUZZ_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
# The code under test, instrumented for coverage and the sanitizers.
add_library(localrds_fuzz_api STATIC api/wire_codec.cc api/request_guard.cc api/sigv4.cc
                                     api/credentials.cc common/utf8.cc common/time_util.cc
                                     ${MODEL_CC})
target_compile_options(localrds_fuzz_api PUBLIC ${LOCALRDS_FUZZ_SANITIZERS}
                                                -fsanitize=fuzzer-no-link -g -O1)
target_link_options(localrds_fuzz_api PUBLIC ${LOCALRDS_FUZZ_SANITIZERS})
target_include_directories(localrds_fuzz_api PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(localrds_fuzz_api PUBLIC nlohmann_json::nlohmann_json Boost::headers
                                               Boost::url OpenSSL::Crypto Threads::Threads)
foreach(target query xml guard)
  add_executable(fuzz_${target} tests/fuzz/fuzz_${target}.cc)
  target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_${target} PRIVATE localrds_fuzz_api)
endforeach()
