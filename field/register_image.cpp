#include "field/register_image.hpp"

#include <stdexcept>
#include <string>

namespace wtc::field {

void register_image::store(area where, std::uint16_t start, std::vector<std::uint16_t> words) {
  blocks_.push_back({where, start, std::move(words)});
}

const std::uint16_t* register_image::find(area where, std::uint16_t address, int count) const {
  // Newest first: a later read of the same addresses wins.
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) {
    const auto end = static_cast<long>(it->start) + static_cast<long>(it->words.size());
    if (it->where == where && address >= it->start && address + count <= end)
      return it->words.data() + (address - it->start);
  }
  return nullptr;
}

bool register_image::holds(area where, std::uint16_t address, int count) const {
  return find(where, address, count) != nullptr;
}

std::uint16_t register_image::word(area where, std::uint16_t address) const {
  const auto* words = find(where, address, 1);
  if (words == nullptr)
    throw std::out_of_range(std::string(to_string(where)) + " " + std::to_string(address) +
                            " was not read");
  return *words;
}

double register_image::value(const register_field& f) const {
  const auto* words = find(f.area, f.address, f.width());
  if (words == nullptr)
    throw std::out_of_range(std::string(to_string(f.area)) + " " + std::to_string(f.address) +
                            " was not read");
  return decode_value(words, f);
}

bool register_image::flag(const register_field& f) const {
  const std::uint16_t w = word(f.area, f.address);
  if (f.bit < 0)
    return w != 0;
  return ((w >> f.bit) & 1U) != 0;
}

}  // namespace wtc::field
