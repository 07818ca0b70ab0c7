# The layer check: fails (and so fails the build) when a source file includes a layer above its
# own, or a third-party header its layer must not see. Run by the `layer_check` target before
# anything is compiled, and by ctest on a planted upward include (tests/layer_check).
#   cmake -DROOT=<source dir> -P tools/check_layers.cmake
#
# Layers, bottom up; a file may include its own layer and the ones below it:
#   common < storage < core < runtime < postgres < state < engine < background < service
#          < api < cmd
# (emulator/<layer>/ for core … service). tests/, bench/, tools/ and pgext/ are outside.
if(NOT ROOT)
  message(FATAL_ERROR "check_layers.cmake: pass -DROOT=<source directory>")
endif()
set(LAYERS common storage core runtime postgres state engine background service api cmd)
# Third-party headers each layer may include (beyond the C++ standard library, the C library,
# nlohmann/json and OpenSSL, which any layer may use).
set(ALLOW_sqlite3 storage)
set(ALLOW_libpq-fe runtime)
set(ALLOW_boost api cmd)

function(layer_of path out)
  set(result "")
  if(path MATCHES "^emulator/([a-z]+)/")
    set(result "${CMAKE_MATCH_1}")
  elseif(path MATCHES "^(common|storage|api|cmd)/")
    set(result "${CMAKE_MATCH_1}")
  endif()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE sources RELATIVE "${ROOT}"
     "${ROOT}/common/*.h" "${ROOT}/common/*.cc" "${ROOT}/storage/*.h" "${ROOT}/storage/*.cc"
     "${ROOT}/emulator/*.h" "${ROOT}/emulator/*.cc" "${ROOT}/api/*.h" "${ROOT}/api/*.cc"
     "${ROOT}/cmd/*.h" "${ROOT}/cmd/*.cc")
set(violations "")
foreach(src ${sources})
  layer_of("${src}" own)
  list(FIND LAYERS "${own}" own_rank)
  if(own_rank LESS 0)
    string(APPEND violations "\n  ${src}: not in any layer (emulator/<layer>/ or a top folder)")
    continue()
  endif()
  file(STRINGS "${ROOT}/${src}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line ${includes})
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      set(target "${CMAKE_MATCH_1}")
      layer_of("${target}" their)
      if(their STREQUAL "")
        continue()
      endif()
      list(FIND LAYERS "${their}" their_rank)
      if(their_rank GREATER own_rank)
        string(APPEND violations "\n  ${src} (${own}) includes ${target} (${their}, above it)")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<([a-z0-9_-]+)[./]")
      set(lib "${CMAKE_MATCH_1}")
      if(DEFINED ALLOW_${lib})
        list(FIND ALLOW_${lib} "${own}" allowed)
        if(allowed LESS 0)
          string(APPEND violations "\n  ${src} (${own}) includes <${lib}…>, only for ${ALLOW_${lib}}")
        endif()
      endif()
    endif()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "layer check failed:${violations}")
endif()
