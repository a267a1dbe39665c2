# miso_set_warnings(target): the project's warning set, errors in CI builds.
function(miso_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wold-style-cast)
  if(MISO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# miso_add_component(name SOURCES ... DEPS ...): one static library per component,
# includes rooted at src/, linked only to the components it may use.
function(miso_add_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(miso_${name} STATIC ${ARG_SOURCES})
  target_include_directories(miso_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(miso_${name} PUBLIC ${ARG_DEPS})
  miso_set_warnings(miso_${name})
endfunction()
