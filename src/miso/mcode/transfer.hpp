// placeholder: copying values between VM heaps (written by a helper)
#pragma once
