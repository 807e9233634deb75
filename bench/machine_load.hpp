#pragma once

// What the rest of the shared machine is doing while a benchmark runs: the benchmarks print it
// beside their figures, since a busy neighbour moves every tail.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace wtc::bench {

/// The whole machine's busy CPU seconds so far (every core), from /proc/stat.
inline double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  in >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + sys + irq + softirq + steal) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg has them.
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0, five = 0, fifteen = 0;
  in >> one >> five >> fifteen;
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %.2f %.2f", one, five, fifteen);
  return text;
}

}  // namespace wtc::bench
