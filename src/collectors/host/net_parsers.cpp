#include "collectors/host/net_parsers.hpp"

#include "collectors/host/text.hpp"

namespace tocsin::collectors::host {

namespace {

using text::Lines;
using text::next_field;
using text::quoted;
using text::to_double;
using text::to_i64;
using text::to_u64;

// "Proto:" -> "Proto"; empty when the field does not end with a colon.
std::string_view protocol_of(std::string_view field) {
  if (field.size() < 2 || field.back() != ':') return {};
  return field.substr(0, field.size() - 1);
}

}  // namespace

void parse_netstat(std::string_view text, std::vector<NetstatField>& out) {
  Lines lines(text);
  std::string_view names;
  while (lines.next(names)) {
    std::string_view name_rest = names;
    const std::string_view header = next_field(name_rest);
    if (header.empty()) continue;
    const std::string_view protocol = protocol_of(header);
    if (protocol.empty())
      throw ParseError(lines.number(), "expected \"Protocol: names...\", got " + quoted(names));
    std::string_view values;
    if (!lines.next(values)) {
      throw ParseError(lines.number(), std::string(protocol) + ": header without its line of values");
    }
    std::string_view value_rest = values;
    if (protocol_of(next_field(value_rest)) != protocol) {
      throw ParseError(lines.number(),
                       "expected the values of " + std::string(protocol) + ", got " + quoted(values));
    }
    for (;;) {
      const std::string_view name = next_field(name_rest);
      const std::string_view value = next_field(value_rest);
      if (name.empty() && value.empty()) break;
      if (name.empty() || value.empty()) {
        throw ParseError(lines.number(),
                         std::string(protocol) + ": " +
                             (name.empty() ? "more values than names" : "more names than values"));
      }
      NetstatField field;
      if (!to_double(value, field.value)) {
        throw ParseError(lines.number(), std::string(protocol) + " " + std::string(name) +
                                             ": invalid number " + quoted(value));
      }
      field.key.reserve(protocol.size() + 1 + name.size());
      field.key.append(protocol).append("_").append(name);
      out.push_back(std::move(field));
    }
  }
}

void parse_snmp6(std::string_view text, std::vector<NetstatField>& out) {
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view name = next_field(rest);
    const std::string_view value = next_field(rest);
    if (value.empty()) continue;
    const std::size_t six = name.find('6');
    if (six == std::string_view::npos) continue;
    NetstatField field;
    if (!to_double(value, field.value)) {
      throw ParseError(lines.number(), std::string(name) + ": invalid number " + quoted(value));
    }
    field.key.reserve(name.size() + 1);
    field.key.append(name.substr(0, six + 1)).append("_").append(name.substr(six + 1));
    out.push_back(std::move(field));
  }
}

std::vector<NetDevLine> parse_net_dev(std::string_view text) {
  std::vector<NetDevLine> out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (lines.number() <= 2) continue;  // "Inter-|   Receive ..." and " face |bytes ..."
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      if (text::trim(line).empty()) continue;
      throw ParseError(lines.number(), "expected \"device: counters...\", got " + quoted(line));
    }
    NetDevLine dev;
    dev.device = text::trim(line.substr(0, colon));
    if (dev.device.empty()) throw ParseError(lines.number(), "empty device name");
    std::string_view rest = line.substr(colon + 1);
    for (std::size_t i = 0; i < kNetDevColumns; ++i) {
      const std::string_view field = next_field(rest);
      if (field.empty()) {
        throw ParseError(lines.number(), std::string(dev.device) + ": expected " +
                                             std::to_string(kNetDevColumns) + " counters, got " +
                                             std::to_string(i));
      }
      if (!to_u64(field, dev.values[i])) {
        throw ParseError(lines.number(), std::string(dev.device) + ": invalid " +
                                             std::string(kNetDevNames[i]) + " " + quoted(field));
      }
    }
    out.push_back(dev);
  }
  return out;
}

Sockstat parse_sockstat(std::string_view text) {
  Sockstat out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view header = next_field(rest);
    if (header.empty()) continue;
    const std::string_view protocol = protocol_of(header);
    if (protocol.empty())
      throw ParseError(lines.number(), "expected \"PROTO: key value ...\", got " + quoted(line));
    SockstatProtocol entry;
    entry.protocol = std::string(protocol);
    for (;;) {
      const std::string_view key = next_field(rest);
      if (key.empty()) break;
      const std::string_view value = next_field(rest);
      if (value.empty())
        throw ParseError(lines.number(), entry.protocol + ": " + std::string(key) + " without a value");
      std::int64_t v = 0;
      if (!to_i64(value, v)) {
        throw ParseError(lines.number(),
                         entry.protocol + " " + std::string(key) + ": invalid number " + quoted(value));
      }
      entry.values.emplace_back(std::string(key), v);
    }
    if (entry.values.empty()) throw ParseError(lines.number(), entry.protocol + ": no values");
    if (entry.protocol == "sockets") {
      for (const auto& [k, v] : entry.values) {
        if (k == "used") out.sockets_used = v;
      }
    } else {
      out.protocols.push_back(std::move(entry));
    }
  }
  return out;
}

std::vector<SoftnetLine> parse_softnet(std::string_view text) {
  constexpr std::size_t kMinColumns = 9;
  std::vector<SoftnetLine> out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (text::trim(line).empty()) continue;
    std::string_view rest = line;
    std::uint64_t columns[3] = {};
    std::size_t count = 0;
    for (std::string_view field = next_field(rest); !field.empty(); field = next_field(rest), ++count) {
      if (count < 3 && (!to_u64(field, columns[count], 16) || columns[count] > 0xffffffffu)) {
        throw ParseError(lines.number(), "invalid hex counter " + quoted(field));
      }
    }
    if (count < kMinColumns) {
      throw ParseError(lines.number(), "expected at least " + std::to_string(kMinColumns) + " columns, got " +
                                           std::to_string(count));
    }
    out.push_back({static_cast<std::uint32_t>(columns[0]), static_cast<std::uint32_t>(columns[1]),
                   static_cast<std::uint32_t>(columns[2])});
  }
  return out;
}

std::vector<std::pair<std::string, std::uint64_t>> parse_arp(std::string_view text) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (text::trim(line).empty()) continue;
    std::string_view rest = line;
    std::string_view first;
    std::string_view last;
    std::size_t count = 0;
    for (std::string_view field = next_field(rest); !field.empty(); field = next_field(rest), ++count) {
      if (count == 0) first = field;
      last = field;
    }
    if (count < 6) throw ParseError(lines.number(), "expected 6 columns, got " + quoted(line));
    if (first == "IP") continue;
    bool found = false;
    for (auto& [device, entries] : out) {
      if (device == last) {
        ++entries;
        found = true;
        break;
      }
    }
    if (!found) out.emplace_back(std::string(last), 1);
  }
  return out;
}

UdpQueues parse_udp_queues(std::string_view text) {
  UdpQueues out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (lines.number() == 1) continue;  // header
    if (text::trim(line).empty()) continue;
    std::string_view rest = line;
    std::string_view queues;
    std::size_t count = 0;
    for (std::string_view field = next_field(rest); !field.empty(); field = next_field(rest), ++count) {
      if (count == 4) queues = field;
    }
    if (count < 10)
      throw ParseError(lines.number(), "expected at least 10 columns, got " + std::to_string(count));
    const std::size_t colon = queues.find(':');
    std::uint64_t tx = 0;
    std::uint64_t rx = 0;
    if (colon == std::string_view::npos || !to_u64(queues.substr(0, colon), tx, 16) ||
        !to_u64(queues.substr(colon + 1), rx, 16)) {
      throw ParseError(lines.number(), "invalid tx_queue:rx_queue " + quoted(queues));
    }
    out.tx += tx;
    out.rx += rx;
  }
  return out;
}

ConntrackStat parse_conntrack_stat(std::string_view text) {
  constexpr std::size_t kColumns = 17;
  ConntrackStat out;
  Lines lines(text);
  std::string_view line;
  bool header = false;
  while (lines.next(line)) {
    if (!header) {
      header = true;
      continue;
    }
    if (text::trim(line).empty()) continue;
    std::uint64_t values[kColumns] = {};
    std::string_view rest = line;
    std::size_t count = 0;
    for (std::string_view field = next_field(rest); !field.empty(); field = next_field(rest), ++count) {
      if (count < kColumns && !to_u64(field, values[count], 16)) {
        throw ParseError(lines.number(), "invalid hex counter " + quoted(field));
      }
    }
    if (count != kColumns) {
      throw ParseError(lines.number(),
                       "expected " + std::to_string(kColumns) + " columns, got " + std::to_string(count));
    }
    out.found += values[2];
    out.invalid += values[4];
    out.ignore += values[5];
    out.insert += values[8];
    out.insert_failed += values[9];
    out.drop += values[10];
    out.early_drop += values[11];
    out.search_restart += values[16];
  }
  if (!header) throw ParseError(0, "empty");
  return out;
}

}  // namespace tocsin::collectors::host
