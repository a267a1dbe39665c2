// placeholder: the `mcode` profile workload (written by a helper)
#pragma once
