# Install rules and the CPack .deb (scripts/package builds it). Layout, for
# CMAKE_INSTALL_PREFIX=/usr (the .deb's):
#   /usr/bin/pytheas
#   /etc/pytheas/labels.yaml, pytheas.env       config (dpkg conffiles)
#   /usr/lib/systemd/system/pytheas.service     the unit (docs/OPERATIONS.md)
#   /usr/share/pytheas/examples/*.yaml          example label/generator/cluster files
#   /usr/share/pytheas/prometheus/              scrape config, rules, their promtool tests
#   /usr/share/pytheas/grafana/pytheas.json     the cluster dashboard (docs/OPERATIONS.md#monitoring)
#   /usr/share/doc/pytheas/                     README, docs/
include(GNUInstallDirs)

set(PYTHEAS_BINDIR "${CMAKE_INSTALL_FULL_BINDIR}")
# Config goes to /etc for a /usr install (the .deb), else under the prefix
# (relative, so `cmake --install --prefix DIR` keeps it inside DIR).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(PYTHEAS_SYSCONFDIR_INSTALL "${CMAKE_INSTALL_FULL_SYSCONFDIR}/pytheas")
else()
  set(PYTHEAS_SYSCONFDIR_INSTALL "${CMAKE_INSTALL_SYSCONFDIR}/pytheas")
endif()
set(PYTHEAS_SYSCONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/pytheas")
set(PYTHEAS_DOCDIR "${CMAKE_INSTALL_FULL_DATADIR}/doc/pytheas")
set(PYTHEAS_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes, relative to the install prefix")
configure_file(${PROJECT_SOURCE_DIR}/packaging/pytheas.service.in
               ${PROJECT_BINARY_DIR}/packaging/pytheas.service @ONLY)
# dpkg keeps an operator's edits to these on upgrade.
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/conffiles.in
               ${PROJECT_BINARY_DIR}/packaging/conffiles @ONLY)

install(TARGETS pytheas RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/labels.example.yaml
        DESTINATION ${PYTHEAS_SYSCONFDIR_INSTALL} RENAME labels.yaml)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/pytheas.env
        DESTINATION ${PYTHEAS_SYSCONFDIR_INSTALL})
install(FILES ${PROJECT_BINARY_DIR}/packaging/pytheas.service
        DESTINATION ${PYTHEAS_SYSTEMD_UNITDIR})
file(GLOB PYTHEAS_EXAMPLE_CONFIGS ${PROJECT_SOURCE_DIR}/config/*.yaml)
install(FILES ${PYTHEAS_EXAMPLE_CONFIGS}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pytheas/examples)
# Monitoring as operators run it: point Prometheus and Grafana at these.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/prometheus/prometheus.yml
              ${PROJECT_SOURCE_DIR}/packaging/prometheus/pytheas.rules.yml
              ${PROJECT_SOURCE_DIR}/packaging/prometheus/pytheas.rules.test.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pytheas/prometheus)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/grafana/pytheas.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pytheas/grafana)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pytheas)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pytheas/docs
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png" PATTERN "*.txt")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "pytheas")
set(CPACK_PACKAGE_VENDOR "Pytheas-ng")
set(CPACK_PACKAGE_CONTACT "Pytheas-ng maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Group-based exploration-exploitation for video QoE (Pytheas, NSDI 2017)")
set(CPACK_PACKAGE_DESCRIPTION
    "One binary: a node that picks decisions (CDN, bitrate, server) per session group and \
learns from reported quality online, a trace simulator and a replay client. The package \
installs a systemd unit (pytheas.service) running as the pytheas system user.")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
# Library dependencies from the binary itself (dpkg-shlibdeps); adduser for
# postinst; gnuplot for the PNG plots of simulate, replay and evaluate (their
# scripts are compiled into the binary).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, gnuplot-nox | gnuplot")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
    ${PROJECT_BINARY_DIR}/packaging/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
