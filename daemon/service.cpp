// flisd service loop (placeholder)
#include "daemon/options.h"
namespace flis {
int flisd_serve(const DaemonOptions&) { return 1; }
}  // namespace flis
