#pragma once
// npy: being written
