#include "sim/plant_model.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sim/register_layout.hpp"

namespace wtc::sim {
namespace {

namespace pc = plant_constants;

constexpr double pi = 3.14159265358979323846;
constexpr double seconds_per_hour = 3600.0;
constexpr float out_of_range_milliamps = 25.0F;  // NAMUR NE43: above 21 mA is a sensor fault
constexpr double saturation_low_ma = 3.8;        // NAMUR NE43 saturation band of a transmitter
constexpr double saturation_high_ma = 20.5;

using mk = module_kind;

// Engineering ranges are the register map's per signal type; the noise is what a decent
// transmitter shows.
const std::array<slot_definition, slot::count> slot_table{{
    {mk::analog_input, signal::level, "raw_tank_level", 0.0, 5.0, 0.005},
    {mk::analog_input, signal::level, "clear_well_level", 0.0, 5.0, 0.005},
    {mk::analog_input, signal::flow, "raw_water_flow", 0.0, 200.0, 0.3},
    {mk::analog_input, signal::flow, "treated_water_flow", 0.0, 200.0, 0.3},
    {mk::analog_input, signal::ph, "ph", 0.0, 14.0, 0.01},
    {mk::analog_input, signal::turbidity, "turbidity", 0.0, 10.0, 0.01},
    {mk::analog_input, signal::chlorine, "chlorine_residual", 0.0, 5.0, 0.005},
    {mk::analog_input, signal::temperature, "water_temperature", 0.0, 40.0, 0.02},
    {mk::discrete_output, signal::pump, "intake_pump", 0.0, 0.0, 0.0},
    {mk::discrete_output, signal::pump, "transfer_pump", 0.0, 0.0, 0.0},
    {mk::pwm, signal::dosing_pump, "ph_dosing_pump", 0.0, 0.0, 0.0},
    {mk::pwm, signal::dosing_pump, "chlorine_dosing_pump", 0.0, 0.0, 0.0},
    {mk::pwm, signal::valve, "outlet_valve", 0.0, 0.0, 0.0},
    {mk::analog_input, signal::pressure, "distribution_pressure", 0.0, 10.0, 0.01},
    {mk::analog_input, signal::flow, "transfer_flow", 0.0, 200.0, 0.3},
    {mk::empty, 0, "spare", 0.0, 0.0, 0.0},
}};

bool valid_slot(int slot_number) {
  return slot_number >= 1 && slot_number <= slot::count;
}

bool is_output(module_kind kind) {
  return kind == mk::discrete_output || kind == mk::pwm;
}

/// Fraction of the way a first-order lag with time constant `tau` moves in `h` seconds.
double lag_fraction(double h, double tau) {
  return 1.0 - std::exp(-h / tau);
}

/// A tank's level after `h` seconds of these flows; a full tank spills, an empty one stays empty.
double tank_level_after(double level_m, double inflow_m3h, double outflow_m3h, double area_m2,
                        double h) {
  const double change = (inflow_m3h - outflow_m3h) / seconds_per_hour * h / area_m2;
  return std::clamp(level_m + change, 0.0, pc::tank_height_m);
}

/// What the outlet valve passes at `opening_percent`: the network's draw lowers the pressure
/// downstream of the valve, so the same opening passes more at high demand (flow through a valve
/// goes with the square root of the pressure drop across it).
double outlet_valve_flow_m3h(double opening_percent, double demand_m3h) {
  return opening_percent / 100.0 * pc::outlet_valve_capacity_m3h *
         std::sqrt(std::max(0.0, demand_m3h) / pc::demand_mean_m3h);
}

/// The clear well feeds the network by gravity: static head less the pipe losses of the flow.
double distribution_pressure_bar(double clear_well_level_m, double outlet_flow_m3h) {
  return pc::bar_per_m * (pc::reservoir_elevation_m + clear_well_level_m) -
         pc::pipe_loss_bar_per_m3h2 * outlet_flow_m3h * outlet_flow_m3h;
}

void put_float(std::vector<std::uint16_t>& regs, std::uint16_t address, float value) {
  const auto pair = reg::split_float(value);
  regs[address] = pair.high;
  regs[address + 1U] = pair.low;
}

}  // namespace

std::string_view to_string(module_kind kind) {
  switch (kind) {
    case mk::empty:
      return "EMPTY";
    case mk::analog_input:
      return "AI";
    case mk::discrete_output:
      return "DO";
    case mk::pwm:
      return "PWM";
  }
  return "EMPTY";
}

const slot_definition& definition_of(int slot_number) {
  if (!valid_slot(slot_number))
    throw std::invalid_argument("no slot " + std::to_string(slot_number) + " (slots are 1 to " +
                                std::to_string(slot::count) + ")");
  return slot_table[static_cast<std::size_t>(slot_number - 1)];
}

std::optional<firmware_version> parse_firmware_version(std::string_view text) {
  std::array<std::uint16_t, 3> parts{};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      if (p == end || *p != '.')
        return std::nullopt;
      ++p;
    }
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc{} || next == p)
      return std::nullopt;
    p = next;
  }
  if (p != end)
    return std::nullopt;
  return firmware_version{parts[0], parts[1], parts[2]};
}

plant_model::plant_model(config cfg) : config_(cfg), random_(cfg.seed) {
  process_.raw_tank_level_m = pc::initial_level_m;
  process_.clear_well_level_m = pc::initial_level_m;
  process_.raw_ph = pc::raw_ph_mean;
  process_.raw_turbidity_ntu = pc::raw_turbidity_mean_ntu;
  process_.temperature_c = pc::temperature_mean_c;
  process_.demand_m3h = pc::demand_mean_m3h;

  double ph_duty = 0.0;
  double chlorine_duty = 0.0;
  if (config_.start_in_operation) {
    auto run = [this](int s, std::uint16_t command, double duty_percent) {
      mutable_slot(s).command = command;
      mutable_slot(s).duty = static_cast<std::uint16_t>(duty_percent * 100.0);
    };
    run(slot::intake_pump, reg::command_on, 0.0);
    run(slot::transfer_pump, reg::command_on, 0.0);
    run(slot::ph_dosing_pump, reg::command_pwm, pc::initial_ph_duty_percent);
    run(slot::chlorine_dosing_pump, reg::command_pwm, pc::initial_chlorine_duty_percent);
    run(slot::outlet_valve, reg::command_pwm, pc::initial_valve_percent);
    ph_duty = pc::initial_ph_duty_percent;
    chlorine_duty = pc::initial_chlorine_duty_percent;
    // Start at the steady state of that operating point, so the demo shows no start-up swing.
    process_.intake_flow_m3h = pc::intake_pump_flow_m3h;
    process_.transfer_flow_m3h = pc::transfer_pump_flow_m3h;
    process_.outlet_flow_m3h =
        outlet_valve_flow_m3h(pc::initial_valve_percent, process_.demand_m3h);
  }
  process_.ph_contact_tank = pc::raw_ph_mean + pc::ph_gain_per_full_duty * ph_duty / 100.0;
  process_.ph_at_probe = process_.ph_contact_tank;
  process_.turbidity_ntu =
      pc::filter_pass_fraction * pc::raw_turbidity_mean_ntu + pc::filter_floor_ntu;
  const double decay =
      pc::chlorine_decay_per_s * (1.0 + pc::chlorine_decay_per_ntu * process_.turbidity_ntu);
  process_.chlorine_mg_l = pc::chlorine_dose_per_s * chlorine_duty / 100.0 / decay;
  process_.pressure_bar =
      distribution_pressure_bar(process_.clear_well_level_m, process_.outlet_flow_m3h);

  sample_sensors();
  evaluate_interlocks();
  apply_outputs();
}

void plant_model::step(double dt_s) {
  if (!(dt_s > 0.0))
    throw std::invalid_argument("step: the time step must be positive");
  const int substeps = static_cast<int>(std::ceil(dt_s / pc::max_substep_s));
  const double h = dt_s / substeps;
  for (int i = 0; i < substeps; ++i)
    advance(h);
  sample_sensors();
  evaluate_interlocks();
  apply_outputs();
  ++heartbeat_;  // wraps at 65535 as the register map says
}

void plant_model::advance(double h) {
  auto& p = process_;
  p.time_s += h;

  // Disturbances: Ornstein-Uhlenbeck processes (mean-reverting noise), discretised exactly so
  // the statistics do not depend on the step.
  auto wander = [this, h](double deviation, double sd, double tau) {
    const double keep = std::exp(-h / tau);
    return deviation * keep + sd * std::sqrt(1.0 - keep * keep) * gaussian(1.0);
  };
  p.demand_deviation_m3h =
      wander(p.demand_deviation_m3h, pc::demand_noise_sd_m3h, pc::demand_noise_tau_s);
  p.demand_m3h = std::max(
      0.0, pc::demand_mean_m3h *
                   (1.0 + pc::demand_swing * std::sin(2.0 * pi * p.time_s / pc::demand_period_s)) +
               p.demand_deviation_m3h);
  p.raw_ph = pc::raw_ph_mean +
             wander(p.raw_ph - pc::raw_ph_mean, pc::raw_ph_noise_sd, pc::raw_ph_noise_tau_s);
  p.raw_turbidity_ntu = std::max(
      pc::raw_turbidity_min_ntu,
      pc::raw_turbidity_mean_ntu + wander(p.raw_turbidity_ntu - pc::raw_turbidity_mean_ntu,
                                          pc::raw_turbidity_sd_ntu, pc::raw_turbidity_tau_s));

  // Flows follow the outputs with the lag of a pump spinning up or a valve stroking.
  const double intake_target =
      slot_at(slot::intake_pump).running() ? pc::intake_pump_flow_m3h : 0.0;
  const bool transfer_has_suction = p.raw_tank_level_m > pc::dry_level_m;
  const double transfer_target = slot_at(slot::transfer_pump).running() && transfer_has_suction
                                     ? pc::transfer_pump_flow_m3h
                                     : 0.0;
  const double outlet_target =
      p.clear_well_level_m > pc::dry_level_m
          ? outlet_valve_flow_m3h(slot_at(slot::outlet_valve).value, p.demand_m3h)
          : 0.0;
  p.intake_flow_m3h += (intake_target - p.intake_flow_m3h) * lag_fraction(h, pc::pump_flow_tau_s);
  p.transfer_flow_m3h +=
      (transfer_target - p.transfer_flow_m3h) * lag_fraction(h, pc::pump_flow_tau_s);
  p.outlet_flow_m3h += (outlet_target - p.outlet_flow_m3h) * lag_fraction(h, pc::valve_flow_tau_s);

  p.raw_tank_level_m = tank_level_after(p.raw_tank_level_m, p.intake_flow_m3h, p.transfer_flow_m3h,
                                        pc::raw_tank_area_m2, h);
  p.clear_well_level_m = tank_level_after(p.clear_well_level_m, p.transfer_flow_m3h,
                                          p.outlet_flow_m3h, pc::clear_well_area_m2, h);

  // pH: the contact tank relaxes toward the pH the caustic dose gives, the probe lags behind it.
  const double ph_target =
      p.raw_ph + pc::ph_gain_per_full_duty * slot_at(slot::ph_dosing_pump).value / 100.0;
  p.ph_contact_tank += (ph_target - p.ph_contact_tank) * lag_fraction(h, pc::ph_mixing_tau_s);
  p.ph_at_probe += (p.ph_contact_tank - p.ph_at_probe) * lag_fraction(h, pc::ph_probe_tau_s);

  const double filtered = pc::filter_pass_fraction * p.raw_turbidity_ntu + pc::filter_floor_ntu;
  p.turbidity_ntu += (filtered - p.turbidity_ntu) * lag_fraction(h, pc::filter_tau_s);

  // Chlorine: dosing adds, the water's demand (more with turbidity) consumes.
  const double dose = pc::chlorine_dose_per_s * slot_at(slot::chlorine_dosing_pump).value / 100.0;
  const double decay =
      pc::chlorine_decay_per_s * (1.0 + pc::chlorine_decay_per_ntu * p.turbidity_ntu);
  p.chlorine_mg_l = std::max(0.0, p.chlorine_mg_l + (dose - decay * p.chlorine_mg_l) * h);

  p.temperature_c =
      pc::temperature_mean_c +
      pc::temperature_swing_c * std::sin(2.0 * pi * p.time_s / pc::temperature_period_s);
  p.pressure_bar = distribution_pressure_bar(p.clear_well_level_m, p.outlet_flow_m3h);
}

double plant_model::true_value(int slot_number) const {
  const auto& p = process_;
  switch (slot_number) {
    case slot::raw_tank_level:
      return p.raw_tank_level_m;
    case slot::clear_well_level:
      return p.clear_well_level_m;
    case slot::raw_water_flow:
      return p.intake_flow_m3h;
    case slot::treated_water_flow:
      return p.outlet_flow_m3h;
    case slot::ph:
      return p.ph_at_probe;
    case slot::turbidity:
      return p.turbidity_ntu;
    case slot::chlorine:
      return p.chlorine_mg_l;
    case slot::temperature:
      return p.temperature_c;
    case slot::distribution_pressure:
      return p.pressure_bar;
    case slot::transfer_flow:
      return p.transfer_flow_m3h;
    default:
      return 0.0;
  }
}

void plant_model::sample_sensors() {
  for (int s = 1; s <= slot::count; ++s) {
    const auto& def = definition_of(s);
    if (def.module != mk::analog_input)
      continue;
    // Draw for every sensor, forced or not, so forcing one slot leaves the noise of the others
    // unchanged and runs stay comparable.
    const double noisy =
        std::clamp(true_value(s) + gaussian(def.noise_sd), def.eng_min, def.eng_max);
    auto& st = mutable_slot(s);
    st.value = st.forced ? st.forced_value : noisy;
  }
}

void plant_model::evaluate_interlocks() {
  // The RTU acts on what its level inputs say (a forced level input trips the pumps too).
  const double raw = slot_at(slot::raw_tank_level).value;
  const double clear = slot_at(slot::clear_well_level).value;
  auto latch = [](bool& state, bool trip, bool clear_condition) {
    if (trip)
      state = true;
    else if (clear_condition)
      state = false;
  };
  latch(raw_tank_low_low_, raw <= pc::low_low_trip_m, raw >= pc::low_low_clear_m);
  latch(raw_tank_high_high_, raw >= pc::high_high_trip_m, raw <= pc::high_high_clear_m);
  latch(clear_well_high_high_, clear >= pc::high_high_trip_m, clear <= pc::high_high_clear_m);
  // The intake pump would overfill the raw-water tank; the transfer pump would run dry on its
  // suction side or overfill the clear well on its discharge side.
  mutable_slot(slot::intake_pump).interlocked = raw_tank_high_high_;
  mutable_slot(slot::transfer_pump).interlocked = raw_tank_low_low_ || clear_well_high_high_;
}

double plant_model::output_percent(int slot_number) const {
  const auto& st = slot_at(slot_number);
  if (st.interlocked)
    return 0.0;
  if (st.forced)
    return st.forced_value;
  switch (st.command) {
    case reg::command_on:
      return 100.0;
    case reg::command_pwm:
      return st.duty / 100.0;
    default:
      return 0.0;
  }
}

void plant_model::apply_outputs() {
  for (int s = 1; s <= slot::count; ++s)
    if (is_output(definition_of(s).module))
      mutable_slot(s).value = output_percent(s);
}

write_status plant_model::write_holding_registers(std::uint16_t address,
                                                  const std::vector<std::uint16_t>& values) {
  const int first = static_cast<int>(address) - reg::command_base;
  const int end = first + static_cast<int>(values.size());
  if (values.empty() || first < 0 || end > slot::count * reg::command_stride)
    return write_status::illegal_address;
  // Check every register before touching any, so a refused write changes nothing.
  for (int r = first; r < end; ++r) {
    const int s = r / reg::command_stride + 1;
    const auto module = definition_of(s).module;
    if (!is_output(module))
      return write_status::illegal_address;
    const std::uint16_t v = values[static_cast<std::size_t>(r - first)];
    const bool is_command = r % reg::command_stride == 0;
    if (is_command) {
      const std::uint16_t highest = module == mk::pwm ? reg::command_pwm : reg::command_on;
      if (v > highest)
        return write_status::illegal_value;
    } else if (v > reg::duty_full_scale) {
      return write_status::illegal_value;
    }
  }
  for (int r = first; r < end; ++r) {
    auto& st = mutable_slot(r / reg::command_stride + 1);
    const std::uint16_t v = values[static_cast<std::size_t>(r - first)];
    if (r % reg::command_stride == 0)
      st.command = v;
    else
      st.duty = v;
  }
  // The command takes effect at once (or not at all while interlocked), as on a real RTU whose
  // output image is written on receipt.
  apply_outputs();
  return write_status::accepted;
}

void plant_model::force(int slot_number, double value) {
  const auto& def = definition_of(slot_number);
  if (def.module == mk::empty)
    throw std::invalid_argument("slot " + std::to_string(slot_number) + " is empty");
  if (!std::isfinite(value))
    throw std::invalid_argument("the value must be a number");
  auto& st = mutable_slot(slot_number);
  if (def.module == mk::analog_input) {
    st.forced_value = value;
    st.value = value;
  } else if (def.module == mk::discrete_output) {
    st.forced_value = value != 0.0 ? 100.0 : 0.0;
  } else {
    if (value < 0.0 || value > 100.0)
      throw std::invalid_argument("a PWM slot is forced to a duty of 0 to 100 percent");
    st.forced_value = value;
  }
  st.forced = true;
  apply_outputs();
}

void plant_model::unforce(int slot_number) {
  if (definition_of(slot_number).module == mk::empty)
    throw std::invalid_argument("slot " + std::to_string(slot_number) + " is empty");
  auto& st = mutable_slot(slot_number);
  st.forced = false;
  // An AI shows the process again at the next scan; an output falls back to its command now.
  apply_outputs();
}

void plant_model::set_tank_level(int slot_number, double metres) {
  if (slot_number != slot::raw_tank_level && slot_number != slot::clear_well_level)
    throw std::invalid_argument("slot " + std::to_string(slot_number) +
                                " is not a tank level (slots " +
                                std::to_string(slot::raw_tank_level) + " and " +
                                std::to_string(slot::clear_well_level) + " are)");
  if (!(metres >= 0.0 && metres <= pc::tank_height_m))
    throw std::invalid_argument("a tank level is 0 to 5 m");
  if (slot_number == slot::raw_tank_level)
    process_.raw_tank_level_m = metres;
  else
    process_.clear_well_level_m = metres;
}

const slot_state& plant_model::slot_at(int slot_number) const {
  definition_of(slot_number);  // validates
  return slots_[static_cast<std::size_t>(slot_number - 1)];
}

slot_state& plant_model::mutable_slot(int slot_number) {
  definition_of(slot_number);
  return slots_[static_cast<std::size_t>(slot_number - 1)];
}

std::uint16_t plant_model::status_word() const {
  std::uint16_t word = 0;
  for (const auto& st : slots_) {
    if (st.interlocked)
      word |= reg::status_interlock;
    if (st.forced)
      word |= reg::status_forced;
  }
  return word;
}

float plant_model::raw_milliamps(int slot_number) const {
  const auto& def = definition_of(slot_number);
  if (def.module != mk::analog_input)
    throw std::invalid_argument("slot " + std::to_string(slot_number) + " is not an AI");
  if (signal_fault_ == signal_fault::out_of_range)
    return out_of_range_milliamps;
  const double fraction = (slot_at(slot_number).value - def.eng_min) / (def.eng_max - def.eng_min);
  // A forced value beyond the range saturates as a real transmitter's output does.
  return static_cast<float>(
      std::clamp(4.0 + 16.0 * fraction, saturation_low_ma, saturation_high_ma));
}

std::uint16_t plant_model::quality_code(int slot_number) const {
  if (definition_of(slot_number).module != mk::analog_input)
    return reg::quality_good;
  if (signal_fault_ == signal_fault::bad_quality)
    return reg::quality_bad;
  const float ma = raw_milliamps(slot_number);
  return ma < 4.0F || ma > 20.0F ? reg::quality_uncertain : reg::quality_good;
}

std::uint16_t plant_model::flags(int slot_number) const {
  const auto& st = slot_at(slot_number);
  std::uint16_t f = 0;
  if (st.interlocked)
    f |= reg::flag_interlocked;
  if (st.forced)
    f |= reg::flag_forced;
  if (is_output(definition_of(slot_number).module) && st.running())
    f |= reg::flag_running;
  return f;
}

std::vector<std::uint16_t> plant_model::input_registers() const {
  std::vector<std::uint16_t> regs(reg::slot_data_address(slot::count + 1), 0);
  regs[reg::vendor_id] = 0x002A;
  regs[reg::device_id] = 0x0405;
  regs[reg::firmware_major] = config_.firmware.major;
  regs[reg::firmware_minor] = config_.firmware.minor;
  regs[reg::firmware_patch] = config_.firmware.patch;
  regs[reg::slot_count] = slot::count;
  regs[reg::heartbeat] = heartbeat_;
  regs[reg::status] = status_word();
  for (int s = 1; s <= slot::count; ++s) {
    const auto& def = definition_of(s);
    const auto index = static_cast<std::uint16_t>(s - 1);
    regs[reg::module_type_base + index] = static_cast<std::uint16_t>(def.module);
    regs[reg::signal_type_base + index] = def.signal;
    if (def.module == mk::empty)
      continue;
    const auto base = reg::slot_data_address(s);
    const float value =
        def.module == mk::analog_input ? raw_milliamps(s) : static_cast<float>(slot_at(s).value);
    put_float(regs, base, value);
    regs[base + reg::quality_offset] = quality_code(s);
    regs[base + reg::flags_offset] = flags(s);
  }
  return regs;
}

std::vector<std::uint16_t> plant_model::holding_registers() const {
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(slot::count * reg::command_stride), 0);
  for (int s = 1; s <= slot::count; ++s) {
    if (!is_output(definition_of(s).module))
      continue;
    const auto offset = static_cast<std::size_t>((s - 1) * reg::command_stride);
    regs[offset] = slot_at(s).command;
    regs[offset + reg::duty_offset] = slot_at(s).duty;
  }
  return regs;
}

double plant_model::gaussian(double sd) {
  return sd * unit_normal_(random_);
}

}  // namespace wtc::sim
