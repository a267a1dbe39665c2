// npy: being written
