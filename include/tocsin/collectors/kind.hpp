#pragma once
// A collector kind as a plugin: what the config decoder and the daemon need to know of it, and
// nothing else. Each kind's folder (src/collectors/<kind>/) defines one Kind with define_kind(), and
// the registry (src/collectors/registry/) lists them; docs/architecture.md, "Adding a collector".

#include <spdlog/fwd.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/common.hpp"
#include "tocsin/collectors/spec.hpp"
#include "tocsin/core/labels.hpp"
#include "tocsin/yaml/decoder.hpp"

namespace tocsin::collectors {

struct Kind;

// One configured instance: its kind and the kind's own config struct, type-erased so that the
// config knows no kind.
struct Instance {
  const Kind* kind = nullptr;
  std::shared_ptr<const void> settings;
  // Where the block is in the config (for hints that name the instance), e.g. collectors.redis[0].
  yaml::Position position{};
  std::string path{};

  const config::CollectorCommon& common() const;
  // The kind's config struct; throws std::logic_error when the instance is of another type.
  template <typename T>
  const T& settings_as() const;
};

struct Kind {
  std::string_view name;  // the key under `collectors:`
  // Whether every series gets `target="<instance name>"` (host does not: one host per daemon, as
  // node_exporter has no such label).
  bool target_label = true;
  // Label names the collector itself sets on some series: refused as static `labels:`.
  std::span<const std::string_view> own_labels;

  // Decodes one instance block, reporting every error at its position; returns what it could read.
  // `default_interval` is the top-level interval, for checks of settings that must fit the cycle.
  std::shared_ptr<const void> (*decode)(const yaml::Node& block, Duration default_interval);
  const config::CollectorCommon& (*common)(const void* settings);
  // Builds a collector for an instance; throws std::invalid_argument for settings it cannot use
  // (the message names the instance and never holds a secret).
  std::unique_ptr<Collector> (*make)(const void* settings, std::shared_ptr<spdlog::logger> log);
  const std::type_info* settings_type;
  // The metric families the kind produces, for the hints of `tocsin check` and start-up (a rule
  // needing a family no collector produces, a collector whose families no rule reads): exact names,
  // or prefixes ending in '*' ("node_*"). Empty: any name (scrape's targets decide).
  std::span<const std::string_view> families{};
  // Families an instance's settings add (a postgres custom query's "<prefix>_*"); null: none.
  std::vector<std::string> (*settings_families)(const void* settings) = nullptr;
};

// The family patterns of an instance (its kind's and its settings'), as Kind::families; nullopt when
// it may produce any name.
std::optional<std::vector<std::string>> family_patterns(const Instance& instance);

inline const config::CollectorCommon& Instance::common() const { return kind->common(settings.get()); }

template <typename T>
const T& Instance::settings_as() const {
  if (*kind->settings_type != typeid(T)) throw std::logic_error("collector settings of another kind");
  return *static_cast<const T*>(settings.get());
}

// The labels the scheduler adds to every series of the instance: `target` (for kinds that have it)
// and the instance's static `labels:`. A label the collector already set on a sample is kept.
Labels identity_labels(const Instance& instance);
// Adds each of `identity` to every sample of `batch` that lacks that label.
void add_identity(store::Batch& batch, const Labels& identity);

// The scheduler's entry for an instance: the collector, its interval and deadline, its identity.
CollectorSpec make_spec(const Instance& instance, Duration default_interval,
                        std::shared_ptr<spdlog::logger> log);

// make_spec() of each instance, in order.
std::vector<CollectorSpec> make_specs(std::span<const Instance> instances, Duration default_interval,
                                      const std::shared_ptr<spdlog::logger>& log);

// Decodes a `collectors.<kind>` list into instances, checking what is common to every kind: names
// unique within the kind, static labels that clash with the collector's own.
std::vector<Instance> decode_instances(const Kind& kind, const yaml::Node& list, Duration default_interval);

// Defines a kind from its config struct T (decoded by `decode(const yaml::Node&, T&)`, found by
// argument-dependent lookup) and its factory. `Check`, when given, runs after decoding with the
// block, the settings and the top-level interval. `families` and `Families` as Kind::families and
// Kind::settings_families.
template <typename T, std::unique_ptr<Collector> (*Make)(const T&, std::shared_ptr<spdlog::logger>),
          void (*Check)(const yaml::Node&, const T&, Duration) = nullptr,
          std::vector<std::string> (*Families)(const T&) = nullptr>
constexpr Kind define_kind(std::string_view name, bool target_label,
                           std::span<const std::string_view> own_labels,
                           std::span<const std::string_view> families = {}) {
  return Kind{
      .name = name,
      .target_label = target_label,
      .own_labels = own_labels,
      .decode = [](const yaml::Node& block, Duration default_interval) -> std::shared_ptr<const void> {
        auto settings = std::make_shared<T>();
        decode(block, *settings);
        if constexpr (Check != nullptr) Check(block, *settings, default_interval);
        return settings;
      },
      .common = [](const void* settings) -> const config::CollectorCommon& {
        return static_cast<const T*>(settings)->common;
      },
      .make =
          [](const void* settings, std::shared_ptr<spdlog::logger> log) {
            return Make(*static_cast<const T*>(settings), std::move(log));
          },
      .settings_type = &typeid(T),
      .families = families,
      .settings_families =
          [] {
            std::vector<std::string> (*out)(const void*) = nullptr;
            if constexpr (Families != nullptr) {
              out = [](const void* settings) { return Families(*static_cast<const T*>(settings)); };
            }
            return out;
          }(),
  };
}

}  // namespace tocsin::collectors
