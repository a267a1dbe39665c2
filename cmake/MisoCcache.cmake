# Use ccache when it is installed: rebuilds of unchanged sources cost nothing.
find_program(MISO_CCACHE ccache)
if(MISO_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${MISO_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${MISO_CCACHE})
endif()
