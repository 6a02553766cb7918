# Included at install time (install(CODE) in libbpf-ext/CMakeLists.txt):
# writes a pkg-config file with the prefix it is installed under, which
# `cmake --install --prefix` (make install PREFIX=...) may have changed since
# configuring. In: DME_PC_IN (the configured file, with %{prefix} left in),
# DME_PC_DIR (its directory, relative to the prefix or absolute).
file(READ "${DME_PC_IN}" text)
string(REPLACE "%{prefix}" "${CMAKE_INSTALL_PREFIX}" text "${text}")
if(IS_ABSOLUTE "${DME_PC_DIR}")
  set(dir "${DME_PC_DIR}")
else()
  set(dir "${CMAKE_INSTALL_PREFIX}/${DME_PC_DIR}")
endif()
get_filename_component(name "${DME_PC_IN}" NAME)
string(REGEX REPLACE "\\.in$" "" name "${name}")
set(dest "$ENV{DESTDIR}${dir}/${name}")
message(STATUS "Installing: ${dest}")
file(WRITE "${dest}" "${text}")
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
