# cmake -DBUILD_DIR=... -P check.cmake: the allowed probe builds; the violating one fails to find
# the header it may not see.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target boundary_probe_allowed
                RESULT_VARIABLE allowed_rc OUTPUT_VARIABLE allowed_out ERROR_VARIABLE allowed_out)
if(NOT allowed_rc EQUAL 0)
  message(FATAL_ERROR "the allowed probe does not build:\n${allowed_out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target boundary_probe_violation
                RESULT_VARIABLE violation_rc OUTPUT_VARIABLE violation_out ERROR_VARIABLE violation_out)
if(violation_rc EQUAL 0)
  message(FATAL_ERROR "a file of a target that links only tocsin_store included tocsin/rules/group.hpp and "
                      "compiled: the header boundaries are not enforced")
endif()
if(NOT violation_out MATCHES "tocsin/rules/group.hpp: No such file or directory")
  message(FATAL_ERROR "the violating probe failed for another reason:\n${violation_out}")
endif()
message(STATUS "header boundaries hold")
