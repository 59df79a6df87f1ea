#include "tools/cli/output.h"

#include <algorithm>
#include <cstdio>

namespace lading::cli {


std::string FormatFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [label, value] : fields) width = std::max(width, label.size());
  std::string out;
  for (const auto& [label, value] : fields) {
    out += label;
    out += ':';
    out.append(width - label.size() + 2, ' ');
    out += value;
    out += '\n';
  }
  return out;
}

}  // namespace lading::cli
