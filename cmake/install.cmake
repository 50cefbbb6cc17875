# cmake --install: the CLI, both libraries, the headers, a pkg-config file and a CMake package
# (find_package(onnxtrain): onnxtrain::onnxtrain, the shared library, and
# onnxtrain::onnxtrain_static).
include(GNUInstallDirs)
install(TARGETS onnxtrain_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS onnxtrain_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES "${OT_EMBED_STATIC}" DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/onnxtrain.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/onnxtrain DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

# The prefix is found from the .pc file's own place, so `cmake --install --prefix` anywhere
# works; a static link takes the dependencies from their own .pc files (Requires.private).
# A build with MPI links Open MPI's C library too (pkg-config's name for it: ompi-c).
set(OT_PC_MPI "")
if(MPI_C_FOUND)
  set(OT_PC_MPI " ompi-c")
endif()
configure_file(cmake/onnxtrain.pc.in "${CMAKE_BINARY_DIR}/onnxtrain.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/onnxtrain.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

include(CMakePackageConfigHelpers)
configure_package_config_file(cmake/onnxtrainConfig.cmake.in
  "${CMAKE_BINARY_DIR}/onnxtrainConfig.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/onnxtrain
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file("${CMAKE_BINARY_DIR}/onnxtrainConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${CMAKE_BINARY_DIR}/onnxtrainConfig.cmake" "${CMAKE_BINARY_DIR}/onnxtrainConfigVersion.cmake"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/onnxtrain)
