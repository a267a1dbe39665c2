// placeholder: copying values between VM heaps (written by a helper)
#include "miso/mcode/transfer.hpp"
