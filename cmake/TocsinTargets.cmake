# Compile settings shared by every tocsin target.
add_library(tocsin_build_flags INTERFACE)
target_compile_options(tocsin_build_flags INTERFACE -Wall -Wextra -Wpedantic)
if(TOCSIN_WERROR)
  target_compile_options(tocsin_build_flags INTERFACE -Werror)
endif()
# Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>; g++ 12 in C++20 mode
# then fails ("'exchange' is not a member of 'std'"). Including it first everywhere is the smallest fix.
target_compile_options(tocsin_build_flags INTERFACE -include utility)
target_compile_definitions(tocsin_build_flags INTERFACE BOOST_ASIO_NO_DEPRECATED)
if(TOCSIN_SANITIZE)
  target_compile_options(tocsin_build_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                      -fno-sanitize-recover=undefined)
  target_link_options(tocsin_build_flags INTERFACE -fsanitize=address,undefined)
endif()

# tocsin_library(NAME SOURCES... DEPS...): one subsystem library, public headers in include/tocsin.
function(tocsin_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC tocsin_build_flags ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
endfunction()

# tocsin_test(NAME SOURCES... DEPS...): one GoogleTest executable registered with ctest.
function(tocsin_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE tocsin_build_flags ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE TOCSIN_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                             TOCSIN_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
