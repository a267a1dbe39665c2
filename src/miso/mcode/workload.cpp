// placeholder: the `mcode` profile workload (written by a helper)
#include "miso/mcode/workload.hpp"
