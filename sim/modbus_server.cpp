#include "sim/modbus_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "sim/control_protocol.hpp"
#include "sim/modbus_frame.hpp"
#include "sim/plant_model.hpp"
#include "sim/register_layout.hpp"

namespace wtc::sim {
namespace {

using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr int listen_backlog = 16;
// A real RTU takes a handful of Modbus TCP connections; more would only let a leaking client
// exhaust the process's descriptors.
constexpr std::size_t max_clients_per_rtu = 8;
constexpr std::size_t max_control_clients = 8;
constexpr std::size_t max_control_output = 16U << 20;  // a client that never reads is dropped
constexpr std::size_t receive_chunk = 4096;
constexpr int max_catch_up_scans = 10;  // after a stall, skip ahead rather than race the plants

/// An owned file descriptor.
class fd_handle {
 public:
  fd_handle() = default;
  explicit fd_handle(int fd) : fd_(fd) {}
  ~fd_handle() { reset(); }
  fd_handle(fd_handle&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  fd_handle& operator=(fd_handle&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  fd_handle(const fd_handle&) = delete;
  fd_handle& operator=(const fd_handle&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct modbus_deleter {
  void operator()(modbus_t* ctx) const { modbus_free(ctx); }
};
struct mapping_deleter {
  void operator()(modbus_mapping_t* mapping) const { modbus_mapping_free(mapping); }
};
using modbus_ptr = std::unique_ptr<modbus_t, modbus_deleter>;
using mapping_ptr = std::unique_ptr<modbus_mapping_t, mapping_deleter>;

std::string errno_text(int err) {
  return std::strerror(err);
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::string peer_name(const sockaddr_in& peer) {
  std::array<char, INET_ADDRSTRLEN> text{};
  ::inet_ntop(AF_INET, &peer.sin_addr, text.data(), text.size());
  return std::string(text.data()) + ":" + std::to_string(ntohs(peer.sin_port));
}

std::uint16_t bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

bool is_transient(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

modbus_ptr new_context(const std::string& address, std::uint16_t port, std::uint8_t unit_id) {
  modbus_ptr ctx(modbus_new_tcp(address.c_str(), port));
  if (!ctx)
    throw std::runtime_error("libmodbus: cannot create a context for " + address + ": " +
                             modbus_strerror(errno));
  modbus_set_slave(ctx.get(), unit_id);
  // libmodbus sleeps for the response timeout before flushing after some malformed requests;
  // the shortest timeout keeps that from stalling the one serving thread.
  modbus_set_response_timeout(ctx.get(), 0, 1);
  return ctx;
}

json process_json(const process_state& p) {
  return {{"time_s", p.time_s},
          {"raw_tank_level_m", p.raw_tank_level_m},
          {"clear_well_level_m", p.clear_well_level_m},
          {"intake_flow_m3h", p.intake_flow_m3h},
          {"transfer_flow_m3h", p.transfer_flow_m3h},
          {"outlet_flow_m3h", p.outlet_flow_m3h},
          {"demand_m3h", p.demand_m3h},
          {"raw_ph", p.raw_ph},
          {"ph_contact_tank", p.ph_contact_tank},
          {"ph_at_probe", p.ph_at_probe},
          {"raw_turbidity_ntu", p.raw_turbidity_ntu},
          {"turbidity_ntu", p.turbidity_ntu},
          {"chlorine_mg_l", p.chlorine_mg_l},
          {"temperature_c", p.temperature_c},
          {"pressure_bar", p.pressure_bar}};
}

json slots_json(const plant_model& plant) {
  json slots = json::array();
  for (int s = 1; s <= slot::count; ++s) {
    const auto& def = definition_of(s);
    const auto& st = plant.slot_at(s);
    json j = {{"slot", s},
              {"name", def.name},
              {"module", to_string(def.module)},
              {"signal_type", def.signal}};
    if (def.module == module_kind::analog_input) {
      j["value"] = st.value;
      j["raw_ma"] = plant.raw_milliamps(s);
      j["quality"] = plant.quality_code(s);
      j["forced"] = st.forced;
    } else if (def.module != module_kind::empty) {
      j["command"] = st.command;
      j["duty"] = st.duty;
      j["output"] = st.value;
      j["forced"] = st.forced;
      j["interlocked"] = st.interlocked;
      j["running"] = st.running();
    }
    slots.push_back(std::move(j));
  }
  return slots;
}

}  // namespace

class modbus_server::state {
 public:
  explicit state(const simulator_config& cfg);
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  void run();
  void stop();
  std::string execute(const std::string& line);
  std::vector<std::uint16_t> ports() const;
  std::optional<std::uint16_t> control_port() const { return control_port_; }

 private:
  struct client_connection {
    fd_handle socket;
    std::string peer;
    std::vector<std::uint8_t> pending;  // the start of a frame not complete yet
    bool closing = false;               // closed at the end of the loop iteration
  };

  struct rtu {
    int index = 0;
    plant_model plant;
    std::uint16_t port = 0;
    modbus_ptr context;
    mapping_ptr mapping;
    fd_handle listener;
    std::vector<client_connection> clients;
    fault_mode fault = fault_mode::none;
    std::uint64_t requests = 0;
    bool accept_paused = false;  // out of descriptors: poll the listener again after the scan

    explicit rtu(plant_model::config plant_cfg) : plant(plant_cfg) {}
  };

  struct control_client {
    fd_handle socket;
    std::string input;
    std::string output;
    bool close_after_flush = false;
    bool closing = false;
  };

  struct task {
    std::string line;
    std::promise<std::string> reply;
  };

  enum class target_kind { rtu_client, rtu_listener, control_client, control_listener, wake };
  struct poll_target {
    target_kind kind;
    rtu* owner;
  };

  void listen(rtu& r);
  void render(rtu& r);
  void scan_all(clock_type::time_point& next_scan);
  void accept_clients(rtu& r);
  void read_client(rtu& r, client_connection& c);
  void handle_request(rtu& r, client_connection& c, const std::uint8_t* frame, std::size_t size);
  void send_reply(rtu& r, client_connection& c, const std::uint8_t* request, std::size_t size,
                  std::uint8_t exception);
  void set_fault(rtu& r, fault_mode mode);
  void accept_control_clients();
  void read_control_client(control_client& c);
  void flush_control_client(control_client& c);
  void run_posted_tasks();
  void sweep_closed();
  std::string run_command(const std::string& line, bool* quit);
  std::string status_reply(const control_request& req);
  rtu* rtu_at(const std::optional<int>& index, std::string* error);

  simulator_config cfg_;
  std::vector<std::unique_ptr<rtu>> rtus_;
  fd_handle control_listener_;
  std::optional<std::uint16_t> control_port_;
  std::vector<control_client> control_clients_;
  fd_handle wake_;
  // libmodbus writes replies to the socket of its context; for the faults that corrupt replies
  // it writes into this socket pair instead, and the server sends on what it reads back.
  std::array<fd_handle, 2> capture_;
  std::atomic<bool> stopping_{false};
  std::mutex tasks_mutex_;
  std::deque<task> tasks_;
  bool accepting_tasks_ = true;
};

modbus_server::state::state(const simulator_config& cfg) : cfg_(cfg) {
  wake_ = fd_handle(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  std::array<int, 2> pair{};
  if (!wake_ || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0)
    throw std::runtime_error("cannot create the server's internal descriptors: " +
                             errno_text(errno));
  capture_[0] = fd_handle(pair[0]);
  capture_[1] = fd_handle(pair[1]);
  set_nonblocking(capture_[1].get());

  for (int i = 0; i < cfg_.rtu_count; ++i) {
    plant_model::config plant_cfg;
    plant_cfg.seed = cfg_.seed + static_cast<std::uint64_t>(i);
    plant_cfg.firmware = cfg_.firmware;
    plant_cfg.start_in_operation = cfg_.start_in_operation;
    auto r = std::make_unique<rtu>(plant_cfg);
    r->index = i;
    r->port = cfg_.base_port == 0 ? 0 : static_cast<std::uint16_t>(cfg_.base_port + i);
    r->context = new_context(cfg_.bind_address, r->port, cfg_.unit_id);
    // Holding registers start at the command block, so reads below it are illegal addresses
    // as on the real RTU; input registers run from 0 to the last slot block.
    r->mapping.reset(modbus_mapping_new_start_address(0, 0, 0, 0, reg::command_base,
                                                      slot::count * reg::command_stride, 0,
                                                      reg::slot_data_address(slot::count + 1)));
    if (!r->mapping)
      throw std::runtime_error("libmodbus: cannot allocate a register mapping");
    listen(*r);
    if (!r->listener) {
      const int err = errno;
      throw std::runtime_error("cannot listen on " + cfg_.bind_address + ":" +
                               std::to_string(r->port) + ": " + errno_text(err));
    }
    render(*r);
    rtus_.push_back(std::move(r));
  }

  if (cfg_.control_port) {
    fd_handle s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    const int on = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(*cfg_.control_port);
    if (!s || ::bind(s.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(s.get(), listen_backlog) != 0)
      throw std::runtime_error("cannot listen for the control channel on 127.0.0.1:" +
                               std::to_string(*cfg_.control_port) + ": " + errno_text(errno));
    control_port_ = bound_port(s.get());
    control_listener_ = std::move(s);
  }

  for (auto& r : rtus_)
    set_fault(*r, cfg_.initial_fault);
}

std::vector<std::uint16_t> modbus_server::state::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& r : rtus_)
    out.push_back(r->port);
  return out;
}

void modbus_server::state::listen(rtu& r) {
  const int fd = modbus_tcp_listen(r.context.get(), listen_backlog);
  if (fd < 0)
    return;
  r.listener = fd_handle(fd);
  set_nonblocking(fd);
  if (r.port == 0) {
    // A re-listen after a drop must come back on the same port, so the context learns it.
    r.port = bound_port(fd);
    r.context = new_context(cfg_.bind_address, r.port, cfg_.unit_id);
  }
}

void modbus_server::state::render(rtu& r) {
  const auto inputs = r.plant.input_registers();
  std::copy(inputs.begin(), inputs.end(), r.mapping->tab_input_registers);
  const auto holding = r.plant.holding_registers();
  std::copy(holding.begin(), holding.end(), r.mapping->tab_registers);
}

void modbus_server::state::scan_all(clock_type::time_point& next_scan) {
  const double dt = std::chrono::duration<double>(cfg_.scan_period).count() * cfg_.time_scale;
  int scans = 0;
  const auto now = clock_type::now();
  while (next_scan <= now && scans < max_catch_up_scans) {
    for (auto& r : rtus_)
      r->plant.step(dt);
    next_scan += cfg_.scan_period;
    ++scans;
  }
  if (next_scan <= now) {
    spdlog::warn("simulator: scans fell behind by {} ms; skipping ahead",
                 std::chrono::duration_cast<std::chrono::milliseconds>(now - next_scan).count());
    next_scan = now + cfg_.scan_period;
  }
  if (scans == 0)
    return;
  for (auto& r : rtus_) {
    render(*r);
    r->accept_paused = false;
    if (!r->listener && r->fault != fault_mode::drop) {
      listen(*r);
      if (r->listener)
        spdlog::info("rtu {}: listening again on port {}", r->index, r->port);
    }
  }
}

void modbus_server::state::run() {
  auto next_scan = clock_type::now() + cfg_.scan_period;
  std::vector<pollfd> fds;
  std::vector<poll_target> targets;
  auto watch = [&](int fd, short events, target_kind kind, rtu* owner) {
    fds.push_back(pollfd{fd, events, 0});
    targets.push_back(poll_target{kind, owner});
  };

  while (!stopping_.load()) {
    fds.clear();
    targets.clear();
    // The order is the order of handling: Modbus traffic first, then the control channel,
    // whose commands may close sockets that must not be reused within this iteration.
    for (auto& r : rtus_)
      for (auto& c : r->clients)
        watch(c.socket.get(), POLLIN, target_kind::rtu_client, r.get());
    for (auto& r : rtus_)
      if (r->listener && !r->accept_paused)
        watch(r->listener.get(), POLLIN, target_kind::rtu_listener, r.get());
    for (auto& c : control_clients_)
      watch(
          c.socket.get(),
          static_cast<short>((c.close_after_flush ? 0 : POLLIN) | (c.output.empty() ? 0 : POLLOUT)),
          target_kind::control_client, nullptr);
    if (control_listener_)
      watch(control_listener_.get(), POLLIN, target_kind::control_listener, nullptr);
    watch(wake_.get(), POLLIN, target_kind::wake, nullptr);

    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_scan - clock_type::now());
    const int rc =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, wait.count())));
    if (rc < 0 && errno != EINTR) {
      spdlog::critical("simulator: poll failed: {}", errno_text(errno));
      break;
    }

    for (std::size_t i = 0; rc > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0)
        continue;
      const int fd = fds[i].fd;
      rtu* owner = targets[i].owner;
      switch (targets[i].kind) {
        case target_kind::rtu_client:
          for (auto& c : owner->clients)
            if (c.socket.get() == fd && !c.closing)
              read_client(*owner, c);
          break;
        case target_kind::rtu_listener:
          if (owner->listener.get() == fd)
            accept_clients(*owner);
          break;
        case target_kind::control_client:
          for (auto& c : control_clients_) {
            if (c.socket.get() != fd || c.closing)
              continue;
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) && !c.close_after_flush)
              read_control_client(c);
            else if (fds[i].revents & POLLERR)
              c.closing = true;
            if (!c.closing)
              flush_control_client(c);
          }
          break;
        case target_kind::control_listener:
          accept_control_clients();
          break;
        case target_kind::wake: {
          std::uint64_t count = 0;
          [[maybe_unused]] auto n = ::read(wake_.get(), &count, sizeof count);
          break;
        }
      }
    }
    run_posted_tasks();
    sweep_closed();
    if (clock_type::now() >= next_scan)
      scan_all(next_scan);
  }

  std::deque<task> unanswered;
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    accepting_tasks_ = false;
    unanswered.swap(tasks_);
  }
  for (auto& t : unanswered)
    t.reply.set_value("error the simulator has stopped");
  for (auto& r : rtus_)
    r->clients.clear();
  control_clients_.clear();
}

void modbus_server::state::stop() {
  stopping_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
}

std::string modbus_server::state::execute(const std::string& line) {
  std::future<std::string> reply;
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    if (!accepting_tasks_)
      return "error the simulator has stopped";
    tasks_.push_back(task{line, {}});
    reply = tasks_.back().reply.get_future();
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  return reply.get();
}

void modbus_server::state::run_posted_tasks() {
  std::deque<task> batch;
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    batch.swap(tasks_);
  }
  for (auto& t : batch) {
    bool quit = false;
    t.reply.set_value(run_command(t.line, &quit));
  }
}

void modbus_server::state::sweep_closed() {
  for (auto& r : rtus_) {
    auto& clients = r->clients;
    for (const auto& c : clients)
      if (c.closing)
        spdlog::debug("rtu {} (port {}): client {} disconnected", r->index, r->port, c.peer);
    clients.erase(std::remove_if(clients.begin(), clients.end(),
                                 [](const client_connection& c) { return c.closing; }),
                  clients.end());
  }
  control_clients_.erase(std::remove_if(control_clients_.begin(), control_clients_.end(),
                                        [](const control_client& c) { return c.closing; }),
                         control_clients_.end());
}

void modbus_server::state::accept_clients(rtu& r) {
  for (;;) {
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    fd_handle s(::accept4(r.listener.get(), reinterpret_cast<sockaddr*>(&peer), &length,
                          SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!s) {
      const int err = errno;
      if (err == ECONNABORTED)
        continue;
      if (!is_transient(err)) {
        // Out of descriptors or memory: the listener stays readable, so stop polling it until
        // the next scan rather than spin.
        spdlog::warn("rtu {} (port {}): cannot accept a client: {}", r.index, r.port,
                     errno_text(err));
        r.accept_paused = true;
      }
      return;
    }
    if (r.clients.size() >= max_clients_per_rtu) {
      spdlog::warn("rtu {} (port {}): refused a client from {}: {} connections already", r.index,
                   r.port, peer_name(peer), r.clients.size());
      continue;
    }
    const int on = 1;
    // Replies are small and clients wait for each one: Nagle would only add latency.
    ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    spdlog::debug("rtu {} (port {}): client {} connected", r.index, r.port, peer_name(peer));
    r.clients.push_back(client_connection{std::move(s), peer_name(peer), {}, false});
  }
}

void modbus_server::state::read_client(rtu& r, client_connection& c) {
  std::array<std::uint8_t, receive_chunk> chunk{};
  const ssize_t n = ::recv(c.socket.get(), chunk.data(), chunk.size(), 0);
  if (n < 0 && is_transient(errno))
    return;
  if (n <= 0) {
    c.closing = true;
    return;
  }
  c.pending.insert(c.pending.end(), chunk.begin(), chunk.begin() + n);

  std::size_t offset = 0;
  while (c.pending.size() - offset >= frame::header_size) {
    const auto size = frame::frame_size(c.pending.data() + offset);
    if (!size) {
      // Not Modbus TCP: nothing after this point can be framed, so the connection goes.
      spdlog::warn("rtu {} (port {}): malformed frame header from {}; closing the connection",
                   r.index, r.port, c.peer);
      c.closing = true;
      return;
    }
    if (c.pending.size() - offset < *size)
      break;
    handle_request(r, c, c.pending.data() + offset, *size);
    if (c.closing)
      return;
    offset += *size;
  }
  c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(offset));
}

void modbus_server::state::handle_request(rtu& r, client_connection& c,
                                          const std::uint8_t* frame_bytes, std::size_t size) {
  ++r.requests;
  if (r.fault == fault_mode::freeze)
    return;
  // libmodbus reads a request's fields where its function says they are; zero padding keeps a
  // short frame from sending it past the end of the bytes received.
  std::array<std::uint8_t, frame::max_frame_size> request{};
  std::copy(frame_bytes, frame_bytes + size, request.begin());

  auto check = frame::check_request(request.data(), size, cfg_.unit_id);
  if (r.fault == fault_mode::exception) {
    check.exception = frame::exception_server_failure;
  } else if (check.exception == 0 && check.write) {
    const auto status = r.plant.write_holding_registers(check.write->address, check.write->values);
    if (status != write_status::accepted)
      check.exception = static_cast<std::uint8_t>(status);
  }
  send_reply(r, c, request.data(), size, check.exception);
  if (check.exception == 0 && check.write)
    render(r);  // the applied output and the running flag show at once
}

void modbus_server::state::send_reply(rtu& r, client_connection& c, const std::uint8_t* request,
                                      std::size_t size, std::uint8_t exception) {
  const bool corrupt = r.fault == fault_mode::garbage || r.fault == fault_mode::short_reply ||
                       r.fault == fault_mode::wrong_unit;
  modbus_t* ctx = r.context.get();
  modbus_set_socket(ctx, corrupt ? capture_[0].get() : c.socket.get());
  const int rc = exception != 0
                     ? modbus_reply_exception(ctx, request, exception)
                     : modbus_reply(ctx, request, static_cast<int>(size), r.mapping.get());
  modbus_set_socket(ctx, -1);
  if (rc < 0) {
    // Only a send to the client fails here: it has gone or stopped reading its replies.
    spdlog::debug("rtu {} (port {}): cannot reply to {}: {}", r.index, r.port, c.peer,
                  modbus_strerror(errno));
    c.closing = true;
    return;
  }
  if (!corrupt)
    return;
  std::vector<std::uint8_t> reply(frame::max_frame_size);
  const ssize_t n = ::recv(capture_[1].get(), reply.data(), reply.size(), 0);
  reply.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (r.fault == fault_mode::garbage)
    reply = frame::scrambled(std::move(reply));
  else if (r.fault == fault_mode::short_reply)
    reply = frame::truncated(std::move(reply));
  else
    reply = frame::with_other_unit(std::move(reply));
  if (reply.empty())
    return;
  const ssize_t sent = ::send(c.socket.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
  if (sent != static_cast<ssize_t>(reply.size()))
    c.closing = true;
}

void modbus_server::state::set_fault(rtu& r, fault_mode mode) {
  if (r.fault != mode)
    spdlog::info("rtu {} (port {}): fault {} -> {}", r.index, r.port, to_string(r.fault),
                 to_string(mode));
  r.fault = mode;
  r.plant.set_signal_fault(mode == fault_mode::out_of_range  ? signal_fault::out_of_range
                           : mode == fault_mode::bad_quality ? signal_fault::bad_quality
                                                             : signal_fault::none);
  render(r);
  if (mode == fault_mode::drop) {
    // Closing the listener makes new connections fail with "connection refused".
    r.listener.reset();
    for (auto& c : r.clients)
      c.closing = true;
  } else if (!r.listener) {
    listen(r);
    if (!r.listener)
      spdlog::warn("rtu {}: cannot listen on port {} again yet ({}); retrying every scan", r.index,
                   r.port, errno_text(errno));
  }
}

void modbus_server::state::accept_control_clients() {
  for (;;) {
    fd_handle s(::accept4(control_listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!s) {
      if (errno == ECONNABORTED)
        continue;
      return;
    }
    if (control_clients_.size() >= max_control_clients) {
      const std::string busy = "error too many control connections\n";
      [[maybe_unused]] auto n = ::send(s.get(), busy.data(), busy.size(), MSG_NOSIGNAL);
      continue;
    }
    control_clients_.push_back(control_client{std::move(s), {}, {}, false, false});
  }
}

void modbus_server::state::read_control_client(control_client& c) {
  std::array<char, receive_chunk> chunk{};
  const ssize_t n = ::recv(c.socket.get(), chunk.data(), chunk.size(), 0);
  if (n < 0 && is_transient(errno))
    return;
  if (n == 0 && !c.output.empty()) {
    c.close_after_flush = true;  // the client has said all it will; it still gets its replies
    return;
  }
  if (n <= 0) {
    c.closing = true;
    return;
  }
  c.input.append(chunk.data(), static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (auto newline = c.input.find('\n'); newline != std::string::npos;
       newline = c.input.find('\n', start)) {
    std::string line = c.input.substr(start, newline - start);
    start = newline + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    bool quit = false;
    c.output += run_command(line, &quit);
    c.output += '\n';
    if (quit) {
      c.close_after_flush = true;
      break;
    }
  }
  c.input.erase(0, start);
  if (!c.close_after_flush && c.input.size() > max_control_line) {
    c.output += "error line too long\n";
    c.close_after_flush = true;
  }
  if (c.output.size() > max_control_output)
    c.closing = true;
}

void modbus_server::state::flush_control_client(control_client& c) {
  while (!c.output.empty()) {
    const ssize_t n = ::send(c.socket.get(), c.output.data(), c.output.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (!is_transient(errno))
        c.closing = true;
      return;
    }
    c.output.erase(0, static_cast<std::size_t>(n));
  }
  if (c.close_after_flush)
    c.closing = true;
}

modbus_server::state::rtu* modbus_server::state::rtu_at(const std::optional<int>& index,
                                                        std::string* error) {
  if (!index || *index < 0 || *index >= static_cast<int>(rtus_.size())) {
    *error = "error no such rtu (0 to " + std::to_string(rtus_.size() - 1) + ")";
    return nullptr;
  }
  return rtus_[static_cast<std::size_t>(*index)].get();
}

std::string modbus_server::state::status_reply(const control_request& req) {
  auto describe = [](const rtu& r) {
    return json{{"index", r.index},
                {"port", r.port},
                {"fault", to_string(r.fault)},
                {"clients", r.clients.size()},
                {"requests", r.requests},
                {"heartbeat", r.plant.heartbeat()},
                {"status", r.plant.status_word()},
                {"process", process_json(r.plant.process())},
                {"slots", slots_json(r.plant)}};
  };
  if (req.rtu) {
    std::string error;
    rtu* r = rtu_at(req.rtu, &error);
    return r == nullptr ? error : "ok " + describe(*r).dump();
  }
  json all = json::array();
  for (const auto& r : rtus_)
    all.push_back(describe(*r));
  return "ok " + json{{"rtus", std::move(all)}}.dump();
}

std::string modbus_server::state::run_command(const std::string& line, bool* quit) {
  const auto parsed = parse_control_line(line);
  if (!parsed.request)
    return "error " + parsed.error;
  const auto& req = *parsed.request;
  using verb = control_request::verb;
  std::string error;
  try {
    switch (req.action) {
      case verb::help:
        return "ok " + control_help();
      case verb::quit:
        *quit = true;
        return "ok bye";
      case verb::status:
        return status_reply(req);
      case verb::fault: {
        if (!req.rtu) {
          for (auto& r : rtus_)
            set_fault(*r, req.fault);
          return "ok fault all " + std::string(to_string(req.fault));
        }
        rtu* r = rtu_at(req.rtu, &error);
        if (r == nullptr)
          return error;
        set_fault(*r, req.fault);
        return "ok fault " + std::to_string(r->index) + " " + std::string(to_string(req.fault));
      }
      case verb::force:
      case verb::unforce:
      case verb::set_level: {
        rtu* r = rtu_at(req.rtu, &error);
        if (r == nullptr)
          return error;
        std::string done;
        if (req.action == verb::force) {
          r->plant.force(req.slot, req.value);
          done = "forced";
        } else if (req.action == verb::unforce) {
          r->plant.unforce(req.slot);
          done = "unforced";
        } else {
          r->plant.set_tank_level(req.slot, req.value);
          done = "level set";
        }
        render(*r);
        spdlog::info("rtu {}: slot {} {} by the control channel", r->index, req.slot, done);
        return "ok " + done + " rtu " + std::to_string(r->index) + " slot " +
               std::to_string(req.slot);
      }
    }
  } catch (const std::invalid_argument& e) {
    return std::string("error ") + e.what();
  }
  return "error unknown command";
}

modbus_server::modbus_server(const simulator_config& cfg) : state_(std::make_unique<state>(cfg)) {}

modbus_server::~modbus_server() = default;

std::vector<std::uint16_t> modbus_server::ports() const {
  return state_->ports();
}

std::optional<std::uint16_t> modbus_server::control_port() const {
  return state_->control_port();
}

void modbus_server::run() {
  state_->run();
}

void modbus_server::stop() {
  state_->stop();
}

std::string modbus_server::execute(const std::string& line) {
  return state_->execute(line);
}

}  // namespace wtc::sim
