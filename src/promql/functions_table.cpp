// The one table of PromQL functions, merged from the families and sorted by name for find_function().

#include <algorithm>
#include <stdexcept>

#include "promql/functions.hpp"

namespace tocsin::promql {

namespace {

const std::vector<Function>& table() {
  // Built on first use (the first parse), never changed after: Call nodes keep pointers into it.
  static const std::vector<Function> functions = [] {
    std::vector<Function> all;
    for (auto family :
         {detail::math_functions, detail::rate_functions, detail::over_time_functions, detail::time_functions,
          detail::label_functions, detail::histogram_functions, detail::vector_functions}) {
      std::vector<Function> entries = family();
      all.insert(all.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
    }
    std::sort(all.begin(), all.end(), [](const Function& a, const Function& b) { return a.name < b.name; });
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].eval == nullptr) {
        throw std::logic_error("PromQL function without a callable: " + std::string(all[i].name));
      }
      if (i > 0 && all[i].name == all[i - 1].name) {
        throw std::logic_error("PromQL function defined twice: " + std::string(all[i].name));
      }
    }
    return all;
  }();
  return functions;
}

}  // namespace

const Function* find_function(std::string_view name) {
  const auto& functions = table();
  auto it = std::lower_bound(functions.begin(), functions.end(), name,
                             [](const Function& f, std::string_view n) { return f.name < n; });
  return it != functions.end() && it->name == name ? &*it : nullptr;
}

std::span<const Function> all_functions() { return table(); }

}  // namespace tocsin::promql
