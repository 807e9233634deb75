#include "sim/control_protocol.hpp"

#include <charconv>
#include <cmath>
#include <vector>

namespace wtc::sim {
namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start)
      words.push_back(line.substr(start, i - start));
  }
  return words;
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text) {
  double value = 0.0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

parsed_control_line fail(std::string why) {
  return {std::nullopt, std::move(why)};
}

parsed_control_line usage(std::string_view syntax) {
  return fail("usage: " + std::string(syntax));
}

}  // namespace

parsed_control_line parse_control_line(std::string_view line) {
  if (line.size() > max_control_line)
    return fail("line too long");
  const auto words = split_words(line);
  if (words.empty())
    return fail("empty command (try help)");
  const auto verb = words[0];
  control_request req;

  if (verb == "help" || verb == "quit") {
    if (words.size() != 1)
      return usage(verb);
    req.action = verb == "help" ? control_request::verb::help : control_request::verb::quit;
    return {req, {}};
  }
  if (verb == "status") {
    req.action = control_request::verb::status;
    if (words.size() > 2)
      return usage("status [rtu]");
    if (words.size() == 2) {
      req.rtu = parse_int(words[1]);
      if (!req.rtu)
        return usage("status [rtu]");
    }
    return {req, {}};
  }
  if (verb == "fault") {
    req.action = control_request::verb::fault;
    if (words.size() != 3)
      return usage("fault <rtu|all> <mode>");
    if (words[1] != "all") {
      req.rtu = parse_int(words[1]);
      if (!req.rtu)
        return usage("fault <rtu|all> <mode>");
    }
    const auto mode = parse_fault_mode(words[2]);
    if (!mode)
      return fail("unknown fault mode '" + std::string(words[2]) +
                  "' (modes: " + std::string(fault_mode_names()) + ")");
    req.fault = *mode;
    return {req, {}};
  }
  if (verb == "force") {
    req.action = control_request::verb::force;
    const auto rtu = words.size() == 4 ? parse_int(words[1]) : std::nullopt;
    const auto slot = words.size() == 4 ? parse_int(words[2]) : std::nullopt;
    auto value = words.size() == 4 ? parse_number(words[3]) : std::nullopt;
    if (words.size() == 4 && (words[3] == "on" || words[3] == "off"))
      value = words[3] == "on" ? 1.0 : 0.0;
    if (!rtu || !slot || !value)
      return usage("force <rtu> <slot> <value|on|off>");
    req.rtu = rtu;
    req.slot = *slot;
    req.value = *value;
    return {req, {}};
  }
  if (verb == "unforce") {
    req.action = control_request::verb::unforce;
    const auto rtu = words.size() == 3 ? parse_int(words[1]) : std::nullopt;
    const auto slot = words.size() == 3 ? parse_int(words[2]) : std::nullopt;
    if (!rtu || !slot)
      return usage("unforce <rtu> <slot>");
    req.rtu = rtu;
    req.slot = *slot;
    return {req, {}};
  }
  if (verb == "set") {
    req.action = control_request::verb::set_level;
    const bool shaped = words.size() == 5 && words[2] == "level";
    const auto rtu = shaped ? parse_int(words[1]) : std::nullopt;
    const auto slot = shaped ? parse_int(words[3]) : std::nullopt;
    const auto value = shaped ? parse_number(words[4]) : std::nullopt;
    if (!rtu || !slot || !value)
      return usage("set <rtu> level <slot> <metres>");
    req.rtu = rtu;
    req.slot = *slot;
    req.value = *value;
    return {req, {}};
  }
  return fail("unknown command '" + std::string(verb) + "' (try help)");
}

std::string control_help() {
  return "commands: status [rtu] | fault <rtu|all> <mode> | force <rtu> <slot> <value|on|off> | "
         "unforce <rtu> <slot> | set <rtu> level <slot> <metres> | help | quit; modes: " +
         std::string(fault_mode_names());
}

}  // namespace wtc::sim
