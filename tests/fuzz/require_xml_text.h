// The fuzz targets' invariant on what localrds writes or stores: UTF-8 made only of characters
// XML 1.0 carries; abort() (a finding for libFuzzer) otherwise.
#pragma once

#include <cstdlib>
#include <string>

#include "common/utf8.h"

namespace localrds {

inline void RequireXmlText(const std::string& s) {
  if (!IsValidUtf8(s) || !FirstNonXmlChar(s).empty()) std::abort();
}

}  // namespace localrds
