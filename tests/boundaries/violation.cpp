// Links only tocsin_store, which does not link rules: this include must not be found.
#include "tocsin/rules/group.hpp"

int boundary_probe_violation() { return 0; }
