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
# RelWithDebInfo keeps line tables (-g1: backtraces and perf name functions and lines) but not the full
# type and variable information of -g, which for Asio's, Beast's and nlohmann_json's templates costs a
# quarter of the compile time. Debug builds keep -g.
target_compile_options(tocsin_build_flags INTERFACE $<$<CONFIG:RelWithDebInfo>:-g1>)
# Unity builds: each target's sources compiled in batches of 8, so the heavy headers are parsed and
# their templates instantiated once per batch instead of once per file. A file that cannot share a
# batch says so with SKIP_UNITY_BUILD_INCLUSION beside it.
if(TOCSIN_UNITY_BUILD)
  set(CMAKE_UNITY_BUILD ON)
  set(CMAKE_UNITY_BUILD_BATCH_SIZE 8)
endif()
if(TOCSIN_SANITIZE STREQUAL "thread")
  # -DTOCSIN_SANITIZE=thread: ThreadSanitizer (it cannot be combined with AddressSanitizer).
  # g++ 12 warns that TSan does not model atomic_thread_fence, which Asio's std_fenced_block uses around
  # each handler; the handler queues themselves are mutex-protected, which TSan does see.
  target_compile_options(tocsin_build_flags INTERFACE -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  target_link_options(tocsin_build_flags INTERFACE -fsanitize=thread)
elseif(TOCSIN_SANITIZE)
  target_compile_options(tocsin_build_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                      -fno-sanitize-recover=undefined)
  target_link_options(tocsin_build_flags INTERFACE -fsanitize=address,undefined)
endif()
if(TOCSIN_FUZZ)
  # -DTOCSIN_FUZZ=ON (clang): every library gets libFuzzer's coverage instrumentation and ASan + UBSan;
  # the fuzz targets (fuzz/) link the fuzzer's runtime. UB aborts, so the fuzzer reports it as a crash.
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TOCSIN_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++); scripts/fuzz.sh sets it")
  endif()
  target_compile_options(tocsin_build_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(tocsin_build_flags INTERFACE -fsanitize=address,undefined)
  # Boost 1.74 looks for clang's coroutines only as the Coroutines TS (__cpp_coroutines); clang 14 in C++20
  # mode has the standard ones, with libstdc++'s <coroutine>, which the HTTP client's awaitables need.
  target_compile_definitions(tocsin_build_flags INTERFACE BOOST_ASIO_HAS_CO_AWAIT BOOST_ASIO_HAS_STD_COROUTINE)
endif()
if(TOCSIN_CLANG_TIDY)
  find_program(TOCSIN_CLANG_TIDY_EXE NAMES clang-tidy clang-tidy-14 REQUIRED)
endif()

# Header boundaries. No target gets the whole of include/ or src/ on its include path: each library
# gets an include root of its own in the build tree, holding links to just its header folders, and
# passes it on (PUBLIC) only to the targets that link it. So a file that includes a header of a
# target its own target does not link fails to compile ("No such file or directory"), and the
# arrows in docs/architecture.md are the only ones the build allows.
set(TOCSIN_INCLUDE_ROOTS ${PROJECT_BINARY_DIR}/include-roots)

# _tocsin_link_headers(NAME DIR...): DIR is relative to the project root and starts with include/ or
# src/; it appears in NAME's include root without that first component (include/tocsin/store ->
# tocsin/store, src/collectors/redis -> collectors/redis).
function(_tocsin_link_headers name)
  set(root ${TOCSIN_INCLUDE_ROOTS}/${name})
  foreach(dir ${ARGN})
    if(NOT EXISTS ${PROJECT_SOURCE_DIR}/${dir})
      message(FATAL_ERROR "${name}: header folder ${dir} does not exist")
    endif()
    string(REGEX REPLACE "^(include|src)/" "" link ${dir})
    get_filename_component(parent ${root}/${link} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${dir} ${root}/${link} SYMBOLIC)
  endforeach()
  file(MAKE_DIRECTORY ${root})
endfunction()

# tocsin_library(NAME SOURCES... HEADERS... PUBLIC... PRIVATE...): one library. HEADERS are the
# folders of its own headers (public ones under include/tocsin/<folder>, private ones beside the
# sources); PUBLIC and PRIVATE are what it links.
function(tocsin_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;HEADERS;PUBLIC;PRIVATE" ${ARGN})
  if(ARG_SOURCES)
    add_library(${name} STATIC ${ARG_SOURCES})
    set(scope PUBLIC)
  else()
    add_library(${name} INTERFACE)
    set(scope INTERFACE)
  endif()
  _tocsin_link_headers(${name} ${ARG_HEADERS})
  target_include_directories(${name} ${scope} ${TOCSIN_INCLUDE_ROOTS}/${name})
  target_link_libraries(${name} ${scope} tocsin_build_flags ${ARG_PUBLIC})
  if(ARG_PRIVATE)
    target_link_libraries(${name} PRIVATE ${ARG_PRIVATE})
  endif()
  if(TOCSIN_CLANG_TIDY AND ARG_SOURCES)
    set_target_properties(${name} PROPERTIES CXX_CLANG_TIDY ${TOCSIN_CLANG_TIDY_EXE})
  endif()
endfunction()

# tocsin_test_code(TARGET): the target is test code (a test or a fixture), compiled without optimisation:
# what a test measures is the libraries it links, which keep the build type's -O2. Optimising GoogleTest's
# macro-heavy bodies costs more than half of a test's compile time and buys nothing (no test asserts
# timing). Benchmarks are not test code: they keep -O2.
function(tocsin_test_code target)
  target_compile_options(${target} PRIVATE -O0)
endfunction()

# tocsin_test(NAME SOURCES... DEPS... LABELS...): one GoogleTest executable registered with ctest. It
# sees tests/ (fixtures, test data helpers) and the headers of what it links, nothing more.
function(tocsin_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  tocsin_test_code(${name})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE tocsin_build_flags ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE TOCSIN_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                             TOCSIN_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
