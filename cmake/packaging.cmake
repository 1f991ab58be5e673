# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Packaging: man pages (scdoc), the operator files beside the binaries (examples, bash completion,
# git hook sample), and the Debian package (`cpack -G DEB` in the build folder).
#
# The systemd unit, sysusers.d and tmpfiles.d files are installed by cmake/install.cmake when the
# service's author provides one; otherwise here, so the package always carries them.

# --- Man pages: docs/man/<page>.scd -> <build>/man/<page>.gz, part of the default build -----------
find_program(SCDOC_EXECUTABLE scdoc)
set(FLISD_MAN_PAGES flisd.8 flisctl.1 flisd.yaml.5 flisd-orders.5)
if(SCDOC_EXECUTABLE)
  set(man_outputs)
  foreach(page ${FLISD_MAN_PAGES})
    set(src ${CMAKE_SOURCE_DIR}/docs/man/${page}.scd)
    set(out ${CMAKE_BINARY_DIR}/man/${page})
    # scdoc reads stdin and writes stdout; gzip -n keeps the package reproducible (no timestamp).
    add_custom_command(OUTPUT ${out} ${out}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND sh -c "'${SCDOC_EXECUTABLE}' < '${src}' > '${out}' && gzip -9nc '${out}' > '${out}.gz'"
      DEPENDS ${src}
      COMMENT "scdoc ${page}"
      VERBATIM)
    list(APPEND man_outputs ${out} ${out}.gz)
    string(REGEX MATCH "[0-9]$" section ${page})
    install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(man ALL DEPENDS ${man_outputs})
else()
  message(STATUS "scdoc not found: man pages are not built (apt-get install scdoc)")
endif()

# --- Operator files -------------------------------------------------------------------------------
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The licence, in Debian's machine-readable form (DEP-5), where Debian keeps it for every package.
install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md" PATTERN "man" EXCLUDE)
# Not what the demo leaves behind in the source tree (its warehouse, state database and outbox).
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        USE_SOURCE_PERMISSIONS
        PATTERN "demo" EXCLUDE PATTERN "*.db" EXCLUDE PATTERN "*.db-*" EXCLUDE PATTERN ".git*" EXCLUDE)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/bash-completion/flisctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/contrib/git-hooks/pre-commit DESTINATION ${CMAKE_INSTALL_DOCDIR})
# A sample warehouse for the examples, so flisd(8)'s example delivers something.
install(PROGRAMS ${CMAKE_SOURCE_DIR}/scripts/make-sample-warehouse.sh DESTINATION ${CMAKE_INSTALL_DOCDIR}
        RENAME make-sample-warehouse)
# Prometheus alert rules and their unit tests (the guide, "Monitoring").
install(FILES ${CMAKE_SOURCE_DIR}/contrib/prometheus/flisd-alerts.yml ${CMAKE_SOURCE_DIR}/contrib/prometheus/flisd-alerts.test.yml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/prometheus)
# An example, to be filled in with the site's SFTP addresses: never active by itself.
install(FILES ${CMAKE_SOURCE_DIR}/contrib/systemd/flisd.service.d/network.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/flisd.service.d)
# CI for the configuration repository: the template and its README as documentation, the job's
# script where a slim CI image (which drops /usr/share/doc) still has it.
install(FILES ${CMAKE_SOURCE_DIR}/contrib/ci/gitlab-ci.yml ${CMAKE_SOURCE_DIR}/contrib/ci/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/ci)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/contrib/ci/flisd-review DESTINATION ${CMAKE_INSTALL_DATADIR}/flisd/ci)

# --- systemd files, unless cmake/install.cmake (the service's own) takes care of them --------------
if(NOT EXISTS ${CMAKE_SOURCE_DIR}/cmake/install.cmake)
  file(GLOB units CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/systemd/*.service ${CMAKE_SOURCE_DIR}/systemd/*.socket)
  if(units)
    install(FILES ${units} DESTINATION lib/systemd/system)
  endif()
  file(GLOB sysusers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/systemd/*sysusers*)
  foreach(f ${sysusers})
    install(FILES ${f} DESTINATION lib/sysusers.d RENAME flisd.conf)
  endforeach()
  file(GLOB tmpfiles CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/systemd/*tmpfiles*)
  foreach(f ${tmpfiles})
    install(FILES ${f} DESTINATION lib/tmpfiles.d RENAME flisd.conf)
  endforeach()
endif()

# --- The journal catalog: `journalctl -x -u flisd` explains each MESSAGE_ID ---------------------------
# Debian's systemd package runs `journalctl --update-catalog` by a dpkg trigger on this folder.
install(FILES ${CMAKE_SOURCE_DIR}/systemd/flisd.catalog DESTINATION lib/systemd/catalog)

# --- The Debian package ---------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME flisd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "flisd")
set(CPACK_PACKAGE_CONTACT "flisd maintainers <flisd@localhost>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "flisd maintainers <flisd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "delivers FLIS data packages to Danish municipalities over SFTP")
# The first line of the control file's Description is the summary above; this is the body.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"flisd is a systemd service that reads FLIS orders (bestillinger) kept as
YAML in a git checkout under /etc/flisd, follows the FLIS data calendar
(datakalender), and delivers each ordered period exactly once as a
zstd-compressed tar package (datapakke) to the municipality's SFTP folder or
a local directory. flisctl validates the configuration, shows the delivery
plan and the runs table (datapakkekoersler), and controls the daemon.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/flisd")
# Runtime libraries (libssh, libyaml-cpp, libzstd, libsqlite3, libsystemd, ...) from dpkg-shlibdeps,
# plus what is not linked but read: the system time zone database (date/tz).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "tzdata")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, git")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
