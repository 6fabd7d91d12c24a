# Installation layout and the Debian package (`cpack -G DEB` in the build directory, or
# scripts/package.sh): docs/operations.md, "Installing the package".
#
#   /usr/bin/tocsin                         stripped; debug symbols in tocsin-dbgsym (a .ddeb)
#   /etc/tocsin/tocsin.yaml                 conffile, watching the two rule directories below
#   /etc/tocsin/rules.d/local.yaml          conffile, for local rules
#   /usr/share/tocsin/rules/*.yaml          the bundled rules, and their tests in tests/
#   /usr/share/tocsin/runbooks/*.md         the runbook pages their runbook_url links to (web.runbooks_dir)
#   /lib/systemd/system/tocsin.service      the hardened unit
#   /usr/share/doc/tocsin/                  docs/, copyright, changelog
#   /usr/share/man/man8/tocsin.8.gz
#   /usr/share/bash-completion/completions/tocsin
#   /var/lib/tocsin                         made by postinst (0700, the tocsin system user)

set(TOCSIN_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

# Relative destinations land under CPACK_PACKAGING_INSTALL_PREFIX (/usr) in the package; /etc and
# /lib are absolute, as Debian wants them whatever the prefix.
install(FILES ${TOCSIN_PACKAGING_DIR}/tocsin.yaml DESTINATION /etc/tocsin)
install(FILES ${TOCSIN_PACKAGING_DIR}/local-rules.yaml DESTINATION /etc/tocsin/rules.d RENAME local.yaml)
install(FILES ${TOCSIN_PACKAGING_DIR}/tocsin.service DESTINATION /lib/systemd/system)
file(GLOB TOCSIN_BUNDLED_RULES ${PROJECT_SOURCE_DIR}/rules/*.yaml)
install(FILES ${TOCSIN_BUNDLED_RULES} DESTINATION share/tocsin/rules)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/rules/tests DESTINATION share/tocsin/rules FILES_MATCHING PATTERN "*.yaml")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/runbooks/ DESTINATION share/tocsin/runbooks FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/tocsin)
install(FILES ${TOCSIN_PACKAGING_DIR}/copyright DESTINATION share/doc/tocsin)
install(FILES ${TOCSIN_PACKAGING_DIR}/completions/tocsin DESTINATION share/bash-completion/completions)

# The man page and the changelog, gzipped as Debian policy wants (-n: no timestamp, reproducible).
configure_file(${TOCSIN_PACKAGING_DIR}/tocsin.8 ${CMAKE_CURRENT_BINARY_DIR}/packaging/tocsin.8 @ONLY)
configure_file(${TOCSIN_PACKAGING_DIR}/changelog ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog @ONLY)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/packaging/tocsin.8.gz ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9nkf ${CMAKE_CURRENT_BINARY_DIR}/packaging/tocsin.8 ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog
  DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/packaging/tocsin.8 ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog
  COMMENT "Compressing the man page and the changelog")
add_custom_target(tocsin_packaging_files ALL
  DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/packaging/tocsin.8.gz ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/tocsin.8.gz DESTINATION share/man/man8)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz DESTINATION share/doc/tocsin
        RENAME changelog.Debian.gz)

# `cpack` installs what is already built; it must not rebuild the whole tree (tests, benches) first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tocsin)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tocsin developers <tocsin@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "performance-monitoring daemon with an embedded rule engine")
# The extended description (CPack puts the summary first and indents each line). One string: a
# CMake list would put semicolons in the control file.
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
       "tocsin collects the host, PostgreSQL, Redis, worker queues, cgroups and the\n"
       "application's own /metrics, evaluates Prometheus rule files with severity\n"
       "tiers and SLOs over recent samples, serves Prometheus metrics, and delivers\n"
       "alerts through escalation policies with acknowledgements and silences.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # tocsin_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, postgresql, redis-server")
# The debug symbols are split into tocsin-dbgsym_<version>_amd64.ddeb and the binary stripped
# (CPACK_STRIP_FILES would strip first, leaving nothing to split).
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${TOCSIN_PACKAGING_DIR}/debian/postinst ${TOCSIN_PACKAGING_DIR}/debian/prerm
    ${TOCSIN_PACKAGING_DIR}/debian/postrm ${TOCSIN_PACKAGING_DIR}/debian/conffiles)
include(CPack)
