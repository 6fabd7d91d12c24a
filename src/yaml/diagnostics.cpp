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
  redact_in(items_.back());
}

void Diagnostics::warn(Position position, std::string path, std::string message) {
  warnings_.push_back({std::move(position), std::move(path), std::move(message)});
  redact_in(warnings_.back());
}

void Diagnostics::add(Diagnostic d) {
  items_.push_back(std::move(d));
  redact_in(items_.back());
}

void Diagnostics::append(const Diagnostics& other) {
  for (const std::string& s : other.secrets_) redact(s);
  for (const Diagnostic& d : other.items_) add(d);
  for (const Diagnostic& d : other.warnings_) {
    warnings_.push_back(d);
    redact_in(warnings_.back());
  }
}

void Diagnostics::redact(const std::string& secret) {
  if (secret.size() < 3) return;
  register_secret(secret);
  // Messages quote values with " and \ escaped (decoder.cpp's quote()): that form is the secret too.
  if (secret.find_first_of("\"\\") != std::string::npos) {
    std::string escaped;
    for (char c : secret) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    register_secret(escaped);
  }
}

void Diagnostics::register_secret(const std::string& secret) {
  for (const std::string& s : secrets_) {
    if (s == secret) return;
  }
  secrets_.push_back(secret);
  // Longest first, so a secret that contains another is replaced whole.
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (Diagnostic& d : items_) redact_in(d);
  for (Diagnostic& d : warnings_) redact_in(d);
}

void Diagnostics::redact_in(Diagnostic& d) const {
  for (const std::string& s : secrets_) {
    for (std::size_t at = d.message.find(s); at != std::string::npos; at = d.message.find(s, at + 8)) {
      d.message.replace(at, s.size(), "<secret>");
    }
  }
}

bool is_secret_key(std::string_view key) {
  for (std::string_view name :
       {"password", "token", "credentials", "routing_key", "service_key", "api_key", "secret", "dsn"}) {
    if (key == name) return true;
    if (key.size() > name.size() && key.ends_with(name) && key[key.size() - name.size() - 1] == '_')
      return true;
  }
  return false;
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
