# Every dependency comes from Debian 12 packages; nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(prometheus-cpp REQUIRED COMPONENTS core)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
# RE2 rather than std::regex: PromQL's regexes are RE2 syntax (Go's regexp), RE2 matches in linear time
# and never overflows the stack on long label values, where libstdc++'s std::regex is recursive.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
# The HTTP server: gzip for responses, and bcrypt (libxcrypt's crypt_rn) for basic_auth_users.
find_package(ZLIB REQUIRED)
pkg_check_modules(LIBXCRYPT REQUIRED IMPORTED_TARGET libxcrypt)
if(TOCSIN_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(TOCSIN_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
