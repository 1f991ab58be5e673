// flisd --once (placeholder)
#include "daemon/options.h"
namespace flis {
int flisd_once(const DaemonOptions&) { return 1; }
}  // namespace flis
