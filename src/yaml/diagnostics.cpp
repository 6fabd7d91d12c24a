#include "tocsin/yaml/diagnostics.hpp"

#include <algorithm>
#include <tuple>

namespace tocsin::yaml {

std::string Diagnostic::to_string() const {
  std::string out = position.file;
  if (position.line > 0) {
    out += ':' + std::to_string(position.line);
    if (position.column > 0) out += ':' + std::to_string(position.column);
  }
  if (!out.empty()) out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

void Diagnostics::error(Position position, std::string path, std::string message) {
  items_.push_back({std::move(position), std::move(path), std::move(message)});
}

void Diagnostics::warn(Position position, std::string path, std::string message) {
  warnings_.push_back({std::move(position), std::move(path), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  warnings_.insert(warnings_.end(), other.warnings_.begin(), other.warnings_.end());
}

void Diagnostics::sort() {
  auto by_position = [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.position.file, a.position.line, a.position.column) <
           std::tie(b.position.file, b.position.line, b.position.column);
  };
  std::stable_sort(items_.begin(), items_.end(), by_position);
  std::stable_sort(warnings_.begin(), warnings_.end(), by_position);
}

std::string Diagnostics::to_string() const {
  std::string out;
  for (const Diagnostic& d : items_) {
    out += d.to_string();
    out += '\n';
  }
  return out;
}

std::string Diagnostics::warnings_to_string() const {
  std::string out;
  for (const Diagnostic& d : warnings_) {
    out += "warning: ";
    out += d.to_string();
    out += '\n';
  }
  return out;
}

}  // namespace tocsin::yaml
