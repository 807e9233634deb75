#pragma once

// A small water treatment plant behind one 16-slot WTC RTU: raw-water intake, raw-water tank,
// transfer pump, pH and chlorine dosing, clear well, outlet valve to distribution. Pure: no
// sockets, no threads, no clock; the caller advances it with step(). The same seed and the same
// sequence of calls give the same values. docs/simulator.md describes the plant and its numbers.

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

namespace wtc::sim {

/// Module type codes of the register map.
enum class module_kind : std::uint16_t {
  empty = 0,
  analog_input = 1,
  discrete_output = 2,
  pwm = 3
};

std::string_view to_string(module_kind kind);

/// Signal type codes of the register map: what an AI measures, what an output drives.
namespace signal {
constexpr std::uint16_t generic = 0;
constexpr std::uint16_t level = 1;
constexpr std::uint16_t flow = 2;
constexpr std::uint16_t ph = 3;
constexpr std::uint16_t turbidity = 4;
constexpr std::uint16_t chlorine = 5;
constexpr std::uint16_t pressure = 6;
constexpr std::uint16_t temperature = 7;
constexpr std::uint16_t pump = 1;
constexpr std::uint16_t valve = 2;
constexpr std::uint16_t dosing_pump = 3;
}  // namespace signal

/// The slot numbers of the plant's I/O.
namespace slot {
constexpr int raw_tank_level = 1;
constexpr int clear_well_level = 2;
constexpr int raw_water_flow = 3;
constexpr int treated_water_flow = 4;
constexpr int ph = 5;
constexpr int turbidity = 6;
constexpr int chlorine = 7;
constexpr int temperature = 8;
constexpr int intake_pump = 9;
constexpr int transfer_pump = 10;
constexpr int ph_dosing_pump = 11;
constexpr int chlorine_dosing_pump = 12;
constexpr int outlet_valve = 13;
constexpr int distribution_pressure = 14;
constexpr int transfer_flow = 15;
constexpr int spare = 16;
constexpr int count = 16;
}  // namespace slot

/// What sits in a slot. The engineering range and noise apply to AIs only.
struct slot_definition {
  module_kind module = module_kind::empty;
  std::uint16_t signal = 0;
  std::string_view name;
  double eng_min = 0.0;
  double eng_max = 0.0;
  double noise_sd = 0.0;  // standard deviation of the sensor noise, engineering units
};

/// The definition of `slot_number` (1 to slot::count).
const slot_definition& definition_of(int slot_number);

/// The plant's physical constants (docs/simulator.md gives the reasoning behind each).
namespace plant_constants {
constexpr double raw_tank_area_m2 = 20.0;
constexpr double clear_well_area_m2 = 30.0;
constexpr double tank_height_m = 5.0;
constexpr double initial_level_m = 2.5;
constexpr double dry_level_m = 0.05;  // below this a pump loses suction, the valve runs dry
constexpr double low_low_trip_m = 0.3;
constexpr double low_low_clear_m = 0.5;
constexpr double high_high_trip_m = 4.8;
constexpr double high_high_clear_m = 4.5;
constexpr double intake_pump_flow_m3h = 60.0;
constexpr double transfer_pump_flow_m3h = 50.0;
constexpr double outlet_valve_capacity_m3h = 120.0;  // at 100 % opening and mean demand
constexpr double pump_flow_tau_s = 3.0;
constexpr double valve_flow_tau_s = 2.0;
constexpr double demand_mean_m3h = 40.0;
constexpr double demand_swing = 0.25;  // fraction of the mean, peak of the daily sine
constexpr double demand_period_s = 3600.0;
constexpr double demand_noise_sd_m3h = 3.0;
constexpr double demand_noise_tau_s = 120.0;
constexpr double raw_ph_mean = 6.5;
constexpr double raw_ph_noise_sd = 0.05;
constexpr double raw_ph_noise_tau_s = 600.0;
constexpr double ph_gain_per_full_duty = 2.5;  // pH rise at 100 % caustic dosing
constexpr double ph_mixing_tau_s = 30.0;
constexpr double ph_probe_tau_s = 5.0;
constexpr double raw_turbidity_mean_ntu = 4.0;
constexpr double raw_turbidity_sd_ntu = 1.0;
constexpr double raw_turbidity_tau_s = 900.0;
constexpr double raw_turbidity_min_ntu = 0.2;
constexpr double filter_pass_fraction = 0.05;
constexpr double filter_floor_ntu = 0.1;
constexpr double filter_tau_s = 120.0;
constexpr double chlorine_decay_per_s = 1.0 / 300.0;
constexpr double chlorine_decay_per_ntu = 0.1;       // extra relative decay per NTU of turbidity
constexpr double chlorine_dose_per_s = 4.0 / 300.0;  // mg/L per second at 100 % dosing
constexpr double temperature_mean_c = 12.0;
constexpr double temperature_swing_c = 3.0;
constexpr double temperature_period_s = 86400.0;
constexpr double reservoir_elevation_m = 30.0;  // clear well above the distribution header
constexpr double bar_per_m = 0.0981;
constexpr double pipe_loss_bar_per_m3h2 = 1.5e-4;
constexpr double max_substep_s = 0.1;
// The operating point of a plant that starts in operation.
constexpr double initial_ph_duty_percent = 32.0;
constexpr double initial_chlorine_duty_percent = 25.0;
constexpr double initial_valve_percent = 40.0;
}  // namespace plant_constants

struct firmware_version {
  std::uint16_t major = 1;
  std::uint16_t minor = 2;
  std::uint16_t patch = 0;
};

/// "major.minor.patch", each a whole number up to 65535.
std::optional<firmware_version> parse_firmware_version(std::string_view text);

/// A fault of the RTU's analog inputs, seen in the register image.
enum class signal_fault { none, out_of_range, bad_quality };

/// The outcome of a holding-register write; the non-zero values are Modbus exception codes.
enum class write_status : std::uint8_t { accepted = 0, illegal_address = 2, illegal_value = 3 };

/// The true state of the process, before sensor noise.
struct process_state {
  double time_s = 0.0;
  double raw_tank_level_m = 0.0;
  double clear_well_level_m = 0.0;
  double intake_flow_m3h = 0.0;
  double transfer_flow_m3h = 0.0;
  double outlet_flow_m3h = 0.0;
  double demand_m3h = 0.0;
  double demand_deviation_m3h = 0.0;
  double raw_ph = 0.0;
  double ph_contact_tank = 0.0;
  double ph_at_probe = 0.0;
  double raw_turbidity_ntu = 0.0;
  double turbidity_ntu = 0.0;
  double chlorine_mg_l = 0.0;
  double temperature_c = 0.0;
  double pressure_bar = 0.0;
};

/// One slot as the RTU sees it after the last scan.
struct slot_state {
  double value = 0.0;  // AI: reported engineering value; outputs: applied output in percent
  std::uint16_t command = 0;
  std::uint16_t duty = 0;  // hundredths of a percent
  bool forced = false;
  double forced_value = 0.0;  // AI: engineering units; outputs: percent
  bool interlocked = false;
  bool running() const { return value > 0.0; }
};

class plant_model {
 public:
  struct config {
    std::uint64_t seed = 1;
    firmware_version firmware;
    // Pumps on, dosing and the outlet valve at a working point: a plant that runs by itself, as
    // the demo wants. Off: every output off, as a freshly powered RTU.
    bool start_in_operation = true;
  };

  plant_model() : plant_model(config{}) {}
  explicit plant_model(config cfg);

  /// One RTU scan: the process advances by `dt_s` seconds (in sub-steps of at most
  /// plant_constants::max_substep_s), the sensors are sampled, the interlocks evaluated, the
  /// outputs applied, and the heartbeat counts one.
  void step(double dt_s);

  /// A write of `values` from `address` on: applied as a whole or not at all.
  write_status write_holding_registers(std::uint16_t address,
                                       const std::vector<std::uint16_t>& values);

  /// Input registers from address 0 to the last slot's block, as docs/register-map.md lays out.
  std::vector<std::uint16_t> input_registers() const;
  /// Holding registers from reg::command_base on, two per slot (zero for non-output slots).
  std::vector<std::uint16_t> holding_registers() const;

  void set_signal_fault(signal_fault fault) { signal_fault_ = fault; }
  signal_fault current_signal_fault() const { return signal_fault_; }

  /// Holds a slot by hand: an AI at `value` engineering units, a DO off (0) or on (non-zero), a
  /// PWM at `value` percent. Interlocks still win over a forced output. Throws
  /// std::invalid_argument for an empty or unknown slot or a value outside what the slot takes.
  void force(int slot_number, double value);
  void unforce(int slot_number);
  /// Sets the true level of a tank (slot 1 or 2), in metres. Throws std::invalid_argument.
  void set_tank_level(int slot_number, double metres);

  const process_state& process() const { return process_; }
  const slot_state& slot_at(int slot_number) const;
  std::uint16_t heartbeat() const { return heartbeat_; }
  std::uint16_t status_word() const;
  /// What the register image carries for an AI slot: the loop current in mA and the quality.
  float raw_milliamps(int slot_number) const;
  std::uint16_t quality_code(int slot_number) const;
  std::uint16_t flags(int slot_number) const;

 private:
  void advance(double h);
  void sample_sensors();
  void evaluate_interlocks();
  void apply_outputs();
  double output_percent(int slot_number) const;
  double true_value(int slot_number) const;
  double gaussian(double sd);
  slot_state& mutable_slot(int slot_number);

  config config_;
  std::mt19937_64 random_;
  std::normal_distribution<double> unit_normal_{0.0, 1.0};
  process_state process_;
  std::array<slot_state, slot::count> slots_{};
  std::uint16_t heartbeat_ = 0;
  signal_fault signal_fault_ = signal_fault::none;
  // Interlock latches with hysteresis: set at the trip level, cleared at the clear level.
  bool raw_tank_low_low_ = false;
  bool raw_tank_high_high_ = false;
  bool clear_well_high_high_ = false;
};

}  // namespace wtc::sim
