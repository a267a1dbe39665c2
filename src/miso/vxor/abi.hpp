// Internal to VXOR (not a public header): the host side of plugin.h shared by the
// in-process loader and the isolated worker: conversions between miso_vxor_value and
// PluginValue, the miso_vxor_call result/error slot, the host table, and validation
// of a plugin's table.
// (H1 writes this first; H2's worker and isolated code use it.)
#pragma once
