// reduce: being written
