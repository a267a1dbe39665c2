// nn: being written
