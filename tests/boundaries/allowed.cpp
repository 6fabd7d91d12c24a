// Links tocsin_store: its headers and those of what it links (core) are visible.
#include "tocsin/core/labels.hpp"
#include "tocsin/store/store.hpp"

int boundary_probe_allowed() { return tocsin::is_valid_label_name("job") ? 0 : 1; }
